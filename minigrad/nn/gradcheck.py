"""gradcheck: compare a module's backward with central finite differences.

Anyone writing a layer writes ``backward`` by hand, and a wrong sign or a
missing transpose still trains, only worse.  ``gradcheck`` catches it: it
turns the module into the scalar function ::

    f(x, θ) = sum(G * module(x))          G = grad_output, fixed

whose exact gradients are what ``backward(G, need_input_grad=True)``
returns (``df/dx``) and adds to each ``parameter.grad`` (``df/dθ``), and
estimates every entry of those gradients independently by central
differences ::

    df/du ≈ (f(u + ε) - f(u - ε)) / (2 ε)       error O(ε²)

one input or parameter entry ``u`` at a time.  An entry passes when
``|analytic - numerical| <= atol + rtol * |numerical|``.

Writing your own layer
----------------------
Subclass :class:`~minigrad.Module`, implement ``forward`` (caching what
backward needs) and ``backward`` (adding to each ``p.grad`` and, when
``need_input_grad`` is True, returning the input gradient), build it in
float64 and call ``gradcheck`` on a small random input away from any kinks
(``|x|`` not near 0 for ReLU).  ``gradcheck`` asks for the input gradient
(``need_input_grad=True``) and checks it with the parameters' gradients::

    >>> import numpy as np, minigrad as mg
    >>> class Square(mg.Module):
    ...     def forward(self, x):
    ...         self.x = np.asarray(x, dtype=float)
    ...         return self.x ** 2
    ...     def backward(self, grad_output, *, need_input_grad=False):
    ...         return grad_output * 2 * self.x if need_input_grad else None
    >>> mg.gradcheck(Square(), np.array([[1.0, -2.0]]), rng=0)
    True
    >>> class BadSquare(Square):
    ...     def backward(self, grad_output, *, need_input_grad=False):
    ...         return grad_output * self.x          # forgot the 2
    >>> mg.gradcheck(BadSquare(), np.array([[1.0, -2.0]]), raise_exception=False, rng=0)
    False

Use float64 throughout: with float32 the rounding error of ``f`` divided by
``2 ε`` swamps the comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn.module import Module

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """A module's backward disagrees with finite differences (raised by :func:`gradcheck`).

    Attributes:
        name: ``"input"`` or the parameter's name (``"0.weight"``).
        index: the index of the worst entry within that array.
        analytic: the gradient from ``backward`` at that index.
        numerical: the central-difference estimate at that index.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> class Double(mg.Module):
        ...     def forward(self, x):
        ...         return 2 * np.asarray(x, dtype=float)
        ...     def backward(self, grad_output, *, need_input_grad=False):
        ...         return grad_output          # wrong: should be 2 * grad_output
        >>> try:
        ...     mg.gradcheck(Double(), np.array([[1.0]]), grad_output=np.array([[1.0]]))
        ... except GradcheckError as err:
        ...     print(err.name, err.index, err.analytic, round(err.numerical, 6))
        input (0, 0) 1.0 2.0
    """

    def __init__(self, message: str, name: str, index: tuple[int, ...], analytic: float, numerical: float) -> None:
        super().__init__(message)
        self.name = name
        self.index = index
        self.analytic = analytic
        self.numerical = numerical


def _objective(forward: Any, xp: Any, grad_output: NDArray[Any]) -> float:
    out = np.asarray(forward()) if xp is np else forward()
    if tuple(out.shape) != tuple(grad_output.shape):
        raise ValueError(
            f"module output has shape {tuple(out.shape)}, grad_output has shape {tuple(grad_output.shape)}"
        )
    return float(xp.sum(grad_output * out))


def _numerical(f: Any, arr: NDArray[Any], eps: float) -> NDArray[Any]:
    """Central differences of ``f()`` with respect to every entry of *arr*, perturbed in place and restored."""
    grad = np.zeros(tuple(arr.shape), dtype=np.float64)
    for index in np.ndindex(tuple(arr.shape)):
        original = float(arr[index])  # a number, not a view (a torch index is a view)
        arr[index] = original + eps
        f_plus = f()
        arr[index] = original - eps
        f_minus = f()
        arr[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def _compare(
    name: str, analytic: NDArray[Any], numerical: NDArray[Any], atol: float, rtol: float
) -> GradcheckError | None:
    diff = np.abs(analytic - numerical)
    bad = ~(diff <= atol + rtol * np.abs(numerical))  # NaN counts as a failure
    if not bad.any():
        return None
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numerical)), np.finfo(np.float64).tiny)
    rel = np.where(bad, diff / scale, -1.0)
    rel = np.where(np.isnan(rel), np.inf, rel)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), analytic.shape))
    a, n = float(analytic[index]), float(numerical[index])
    message = (
        f"gradcheck failed for {name!r} at index {index}: analytic {a!r}, numerical {n!r}, "
        f"relative error {float(rel[index]):.3g} ({int(bad.sum())} of {bad.size} entries outside "
        f"atol={atol:g} + rtol={rtol:g} * |numerical|)"
    )
    return GradcheckError(message, name, index, a, n)


def gradcheck(
    module: Module,
    x: ArrayLike,
    *,
    grad_output: ArrayLike | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_exception: bool = True,
    rng: int | np.random.Generator | None = None,
    train: bool | None = None,
) -> bool:
    r"""Check ``module.backward`` against central finite differences, on the input and every parameter.

    With ``G = grad_output`` and ``f(x, θ) = sum(G * module(x))``, the
    analytic gradients are what ``backward(G, need_input_grad=True)`` returns
    (for ``x``) and adds to ``p.grad`` (for each parameter ``p``); each entry
    ``u`` is compared with

    ::

        (f(u + eps) - f(u - eps)) / (2 eps)

    and passes when ``|analytic - numerical| <= atol + rtol * |numerical|``.
    The cost is two forward passes per input and parameter entry: use small
    shapes.

    On a module moved to another library (``module.to(torch)``) the forward
    and backward passes run there, on arrays of that library, and the
    gradients are compared on NumPy copies.

    The module is left as it was: parameter values are restored exactly,
    parameter gradients are put back to what they held before the call, and
    a last forward on ``x`` refreshes its cache.  ``x`` is not modified.

    Random layers: every forward pass of the check draws the same random
    numbers, so ``f`` is one function (a :class:`~minigrad.Dropout` keeps one
    mask).  Before each forward the state of every ``numpy.random.Generator``
    held as ``rng`` by the module or a sub-module is put back to what it was
    at the call; afterwards those generators are where one forward leaves
    them.  With ``train=True`` or ``False`` the check runs in that mode (see
    :meth:`~minigrad.Module.train`) and every module's mode is put back
    afterwards.  A :class:`~minigrad.BatchNorm1d` in training mode updates
    its running statistics at every forward: save and restore its
    ``state_dict`` around the check if they matter.

    Args:
        module: a float64 module (parameters, if any, in float64).
        x: the input, converted to float64.
        grad_output: ``G``, shaped like the output; by default drawn from
            N(0, 1) with ``rng`` so that every output entry counts.
        eps: the finite-difference step, > 0.
        atol, rtol: absolute and relative tolerances, ≥ 0.
        raise_exception: raise :class:`GradcheckError` on a mismatch
            (default) instead of returning False.
        rng: int seed or ``numpy.random.Generator`` for the default ``G``.
        train: run in training (True) or evaluation (False) mode; None
            keeps the module's modes.

    Returns:
        True when every entry passes; False on a mismatch when
        ``raise_exception`` is False.

    Raises:
        GradcheckError: on a mismatch (when ``raise_exception``); the message
            names the input or parameter, the index of the worst entry, both
            values and the relative error ``|a - n| / max(|a|, |n|)``.
        ValueError: a float32 module, a bad ``grad_output`` shape, or
            non-positive ``eps``.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> model = mg.Sequential(mg.Linear(3, 4, rng=0), mg.Tanh(), mg.Linear(4, 2, rng=1))
        >>> mg.gradcheck(model, np.random.default_rng(0).normal(size=(5, 3)), rng=0)
        True
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    if not (atol >= 0 and rtol >= 0):
        raise ValueError(f"atol and rtol must be >= 0, got atol={atol}, rtol={rtol}")
    params = list(module.named_parameters())
    for name, p in params:
        if backend.dtype_name(p.data.dtype) != "float64":
            raise ValueError(
                f"gradcheck needs a float64 module, but parameter {name!r} is {backend.dtype_name(p.data.dtype)}: "
                "float32 rounding swamps finite differences"
            )
    modes = module._modes()
    if train is not None:
        module.train(train)
    try:
        return _check(module, params, x, grad_output, eps, atol, rtol, raise_exception, rng)
    finally:
        Module._restore_modes(modes)


def _random_layers(module: Module) -> list[tuple[np.random.Generator, Any]]:
    """Each generator held as ``rng`` by *module* or a sub-module, with its state now."""
    found: list[tuple[np.random.Generator, Any]] = []
    for m in module.modules():
        gen = getattr(m, "rng", None)
        if isinstance(gen, np.random.Generator) and all(gen is not g for g, _ in found):
            found.append((gen, gen.bit_generator.state))
    return found


def _check(
    module: Module,
    params: list[tuple[str, Any]],
    x: ArrayLike,
    grad_output: ArrayLike | None,
    eps: float,
    atol: float,
    rtol: float,
    raise_exception: bool,
    rng: int | np.random.Generator | None,
) -> bool:
    xp = module.xp
    generators = _random_layers(module)

    def run(xa: Any) -> Any:
        """``module(xa)`` with every random layer's generator put back first: the same draws each time."""
        for gen, state in generators:
            gen.bit_generator.state = state
        return module(xa)

    if xp is np:
        xa = _array.copy(_array.as_float_array(x, np.dtype(np.float64), "x"))
        out = np.asarray(run(xa))
    else:
        xa = backend.copy(backend.as_float(x, xp, xp.float64, module.device, "x"), xp)
        out = run(xa)
    if grad_output is None:
        g = _array.normal(_array.as_rng(rng), 0.0, 1.0, tuple(out.shape), np.dtype(np.float64))
        if xp is not np:
            g = backend.move(g, xp, module.device)
    elif xp is np:
        g = _array.as_float_array(grad_output, np.dtype(np.float64), "grad_output")
    else:
        g = backend.as_float(grad_output, xp, xp.float64, module.device, "grad_output")
    if tuple(g.shape) != tuple(out.shape):
        raise ValueError(f"grad_output has shape {tuple(g.shape)}, the module's output has shape {tuple(out.shape)}")

    saved_grads = [backend.copy(p.grad, xp) for _, p in params]
    try:
        for _, p in params:
            p.zero_grad()
        analytic_x = module.backward(g, need_input_grad=True)
        if analytic_x is None:
            raise ValueError(f"{type(module).__name__}.backward returned None with need_input_grad=True")
        analytic_x = np.asarray(analytic_x) if xp is np else analytic_x
        if tuple(analytic_x.shape) != tuple(xa.shape):
            raise ValueError(
                f"backward returned an input gradient of shape {tuple(analytic_x.shape)}, expected {tuple(xa.shape)}"
            )
        analytic = [("input", analytic_x, xa)] + [(name, backend.copy(p.grad, xp), p.data) for name, p in params]

        def f() -> float:
            return _objective(lambda: run(xa), xp, g)

        error: GradcheckError | None = None
        for name, grad, arr in analytic:
            error = _compare(name, backend.to_numpy(grad), _numerical(f, arr, eps), atol, rtol)
            if error is not None:
                break
    finally:
        for (_, p), saved in zip(params, saved_grads, strict=True):
            p.grad = saved
        run(xa)
    if error is None:
        return True
    if raise_exception:
        raise error
    return False
