"""Layers and losses: what a model is made of, as ``torch.nn``.

- ``module``, ``parameter``, ``sequential``: Module (forward, backward, modes, state), Parameter;
- layers: ``linear``, ``activations``, ``dropout``, ``normalization``, ``flatten`` (``_erf`` for GELU);
- losses: ``losses``, ``output_losses``; ``init``: weight initialisations, as ``torch.nn.init``;
- ``gradcheck``: backward against finite differences; ``summary``: the table of a model's layers;
- ``blockwise``, ``dask_blocks``: a model and a loss run over row blocks (large NumPy, Dask arrays).

It imports backend only.
"""
