"""Input and output: :func:`minigrad.save` and :func:`minigrad.load` (``serialization``).

Parameters, buffers and optimizer state go to a ``.npz`` file, written atomically and read back
without pickle by ``_archive``.  It imports optim, nn and backend.
"""
