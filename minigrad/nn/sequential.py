"""Sequential: a stack of modules applied one after the other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

from numpy.typing import ArrayLike, NDArray

from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter


class Sequential(Module):
    r"""A chain of modules, as ``torch.nn.Sequential``: the output of each is the input of the next.

    For layers ``f_1, …, f_k``, forward is function composition and backward
    is the chain rule applied in reverse::

        h_0 = x,   h_i = f_i(h_{i-1}),   y = h_k
        g_k = dL/dy,   g_{i-1} = f_i.backward(g_i)   (i = k, …, 1),   dL/dx = g_0

    Each layer's ``backward`` adds its own parameter gradients on the way.
    Every layer after the first is asked for its input gradient
    (``need_input_grad=True``: the next layer down needs it); the first layer
    gets the Sequential's own flag.  So ``model.backward(g)``, with the
    default ``need_input_grad=False``, never computes the gradient with
    respect to the data, and ``model.backward(g, need_input_grad=True)``
    returns ``dL/dx = g_0``.

    Parameters are named as in PyTorch, by the layer's position:
    ``"0.weight"``, ``"0.bias"``, ``"2.weight"``, …; ``parameters()``,
    ``state_dict()`` and the optimizer's state follow that order.

    A module instance may appear only once: each layer keeps the input of its
    last forward for backward, so a layer used twice would lose the first.

    Args:
        *layers: the modules, in the order they are applied.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> model = Sequential(mg.Linear(3, 4, rng=0), mg.ReLU(), mg.Linear(4, 1, rng=1))
        >>> len(model), model[1]
        (3, ReLU())
        >>> [name for name, _ in model.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
        >>> model(np.ones((5, 3))).shape
        (5, 1)
        >>> model.backward(np.ones((5, 1))) is None  # parameter gradients only
        True
        >>> model.backward(np.ones((5, 1)), need_input_grad=True).shape
        (5, 3)
    """

    def __init__(self, *layers: Module) -> None:
        seen: set[int] = set()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Modules, got {type(layer).__name__} at position {i}")
            if id(layer) in seen:
                raise ValueError(
                    f"the same {type(layer).__name__} instance appears twice in Sequential (position {i}); "
                    "create a separate layer for each position"
                )
            seen.add(id(layer))
        self._layers: tuple[Module, ...] = tuple(layers)
        if layers and all(layer.xp is layers[0].xp for layer in layers):  # layers moved by to(): so is the stack
            self.xp = layers[0].xp
            self.device = layers[0].device

    def append(self, module: Module) -> Sequential:
        """Add *module* at the end and return this Sequential, as ``torch.nn.Sequential.append``.

        Example:
            >>> import minigrad as mg
            >>> model = mg.Sequential(mg.Linear(2, 3)).append(mg.ReLU())
            >>> len(model), model[-1]
            (2, ReLU())
        """
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append takes a Module, got {type(module).__name__}")
        if any(layer is module for layer in self._layers):
            raise ValueError(
                f"this {type(module).__name__} instance is already in the Sequential; create a separate layer"
            )
        self._layers = (*self._layers, module)
        if all(layer.xp is module.xp for layer in self._layers):  # as in __init__: moved layers, a moved stack
            self.xp = module.xp
            self.device = module.device
        return self

    # -- the stack ----------------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        """The layer at *index*, or a new Sequential sharing the layers of a slice."""
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def children(self) -> Iterator[Module]:
        """The layers, in order."""
        return iter(self._layers)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` with names ``"<position>.<name in the layer>"``."""
        for i, layer in enumerate(self._layers):
            yield from layer.named_parameters(f"{prefix}{i}.")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, NDArray[Any]]]:
        """Yield ``(name, array)`` for every layer's buffers, named ``"<position>.<name in the layer>"``."""
        for i, layer in enumerate(self._layers):
            yield from layer.named_buffers(f"{prefix}{i}.")

    # -- forward and backward -----------------------------------------------

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Apply every layer in order and return the last output."""
        h: Any = x
        for layer in self._layers:
            h = layer(h)
        return h  # type: ignore[no-any-return]

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Back-propagate *grad_output* through the layers in reverse; return ``dL/dx`` if asked, else None."""
        if not self._layers:
            return grad_output if need_input_grad else None
        g = grad_output
        for i in range(len(self._layers) - 1, 0, -1):
            grad_input = self._layers[i].backward(g, need_input_grad=True)  # the layer below needs it
            if grad_input is None:
                raise RuntimeError(f"layer {i} ({type(self._layers[i]).__name__}).backward returned None")
            g = grad_input
        return self._layers[0].backward(g, need_input_grad=need_input_grad)

    def __repr__(self) -> str:
        if not self._layers:
            return "Sequential()"
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self._layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
