"""Module: the base class of layers and models (forward, backward, parameters)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import _array, backend
from minigrad.parameter import Parameter


class Module:
    """Base class of everything with a forward and a backward pass.

    A module maps an input ``x`` to an output ``y = f(x; θ)`` in ``forward``
    and, given ``dL/dy`` in ``backward``, *adds* ``dL/dθ`` to each parameter's
    ``grad`` and returns ``dL/dx`` (the chain rule, one layer at a time).
    ``forward`` keeps only what ``backward`` needs, overwriting it each call.

    Parameters and sub-modules are ordinary attributes; ``named_parameters``
    finds them in the order they were assigned, which is also the order of
    ``parameters()``, ``state_dict()`` and the optimizer's state.

    Subclasses implement ``forward`` and ``backward``.

    Example:
        A layer that scales its input by a learned vector ``s``,
        ``y = x * s`` (row-wise), with ``dL/ds = sum_rows(g * x)`` and
        ``dL/dx = g * s``:

        >>> import numpy as np, minigrad as mg
        >>> class Scale(mg.Module):
        ...     def __init__(self, n):
        ...         self.scale = mg.Parameter(np.ones(n))
        ...     def forward(self, x):
        ...         self.x = np.asarray(x, dtype=float)
        ...         return self.x * self.scale.data
        ...     def backward(self, grad_output, *, need_input_grad=True):
        ...         self.scale.grad += (grad_output * self.x).sum(axis=0)
        ...         return grad_output * self.scale.data if need_input_grad else None
        >>> layer = Scale(2)
        >>> layer(np.array([[1.0, 2.0], [3.0, 4.0]]))
        array([[1., 2.],
               [3., 4.]])
        >>> layer.backward(np.ones((2, 2)))
        array([[1., 1.],
               [1., 1.]])
        >>> layer.scale.grad, [name for name, _ in layer.named_parameters()]
        (array([4., 6.]), ['scale'])
        >>> mg.gradcheck(layer, np.array([[1.0, 2.0], [3.0, 4.0]]), rng=0)
        True
        >>> state = layer.state_dict(); layer.scale.data[...] = 5.0
        >>> layer.load_state_dict(state); layer.scale.data
        array([1., 1.])
    """

    #: The array namespace (the Python Array API standard's ``xp``) that this
    #: module's parameters, buffers and outputs belong to.  NumPy unless the
    #: model was moved to another library; layers compute with ``xp = self.xp``
    #: and standard functions (``xp.matmul``, ``xp.sum``, ``xp.exp``, ...), and
    #: a NumPy-only fast path is taken only under ``if xp is np``.
    xp: Any = np

    #: The device of this module's arrays (``"cpu"`` for NumPy), set by :meth:`to`.
    device: Any = "cpu"

    #: Names of the attributes that hold this module's buffers: arrays that are
    #: part of its state (saved, loaded, moved with the model) but are not
    #: trained, such as a batch norm's running statistics.  An attribute may
    #: hold None (no buffer).
    _buffer_names: ClassVar[tuple[str, ...]] = ()

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Compute the output for input *x*."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = True) -> NDArray[Any] | None:
        """Accumulate parameter gradients and return d loss / d input.

        Args:
            grad_output: d loss / d output of the last ``forward``.
            need_input_grad: when False the input gradient is not computed and
                None is returned; ``fit`` uses this for the first layer, whose
                input (the data) needs no gradient.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, x: ArrayLike) -> NDArray[Any]:
        return self.forward(x)

    def predict(self, x: ArrayLike, batch_size: int | None = None) -> NDArray[Any]:
        """Return ``forward(x)``, computed ``batch_size`` rows at a time.

        For inputs too large for one pass: row blocks ``x[i:i+batch_size]``
        (views, never copies of *x*) go through ``forward`` one after the other
        and their outputs are written into one preallocated array, so the
        intermediate activations never exceed one block.  Rows are independent,
        so the result equals ``forward(x)`` up to floating-point rounding.
        ``batch_size=None`` is a single ``forward(x)``.  Like ``forward``, it
        overwrites what layers keep for ``backward``.  A Dask array gives a
        lazy Dask array, one block of outputs per row block (see
        :func:`minigrad.dask_blocks.predict_lazy`); *batch_size* is then ignored.

        Args:
            x: input of shape ``(N, ...)``; converted to the module's dtype.
            batch_size: rows per forward pass, ≥ 1, or None for one pass.

        Example:
            >>> import numpy as np, minigrad as mg
            >>> layer = mg.Linear(2, 1, rng=0)
            >>> x = np.arange(10.0).reshape(5, 2)
            >>> np.allclose(layer.predict(x, batch_size=2), layer(x))
            True
        """
        if type(x).__module__.startswith("dask."):  # a Dask array: a lazy Dask array of predictions
            from minigrad.dask_blocks import predict_lazy

            return predict_lazy(self, x)  # type: ignore[no-any-return]
        _array.refuse_masked(x, "x")
        if batch_size is None:
            return self.forward(x)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be None or a positive integer, got {batch_size!r}")
        if self.xp is not np:
            return self._predict_blocks(x, batch_size)  # type: ignore[no-any-return]
        # An array is sliced as it is and each block converted by forward, so a
        # dtype conversion never copies all of x at once; other inputs are converted here.
        xa = x if isinstance(x, np.ndarray) else _array.as_float_array(x, self.dtype, "x")
        if xa.ndim == 0:
            raise ValueError("predict needs an input with a leading sample axis, got a scalar")
        n = xa.shape[0]
        if n <= batch_size:
            return self.forward(xa)
        out: NDArray[Any] | None = None
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            block = self.forward(xa[start:stop])
            if block.ndim == 0 or block.shape[0] != stop - start:
                raise ValueError(
                    f"{type(self).__name__}.forward returned shape {block.shape} for {stop - start} rows; "
                    "predict needs one output row per input row"
                )
            if out is None:
                out = _array.empty((n, *block.shape[1:]), block.dtype)
            elif block.shape[1:] != out.shape[1:]:
                raise ValueError(f"{type(self).__name__}.forward returned blocks of different shapes")
            out[start:stop] = block
        assert out is not None
        return out

    def _predict_blocks(self, x: ArrayLike, batch_size: int) -> Any:
        """:meth:`predict` on a library other than NumPy: the blocks' outputs joined by ``xp.concat``."""
        xp = self.xp
        xa: Any = x if backend.library_of(x) is not None else backend.as_float(x, xp, self.dtype, self.device, "x")
        if xa.ndim == 0:
            raise ValueError("predict needs an input with a leading sample axis, got a scalar")
        n = xa.shape[0]
        if n <= batch_size:
            return self.forward(xa)
        blocks: list[Any] = []
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            block = self.forward(xa[start:stop, ...])
            if block.ndim == 0 or block.shape[0] != stop - start:
                raise ValueError(
                    f"{type(self).__name__}.forward returned shape {tuple(block.shape)} for {stop - start} rows; "
                    "predict needs one output row per input row"
                )
            if blocks and block.shape[1:] != blocks[0].shape[1:]:
                raise ValueError(f"{type(self).__name__}.forward returned blocks of different shapes")
            blocks.append(block)
        return xp.concat(blocks, axis=0)

    # -- array library and device ---------------------------------------------

    def to(self, xp: Any, device: Any = None) -> Module:
        """Move the module into the array library *xp* (and onto *device*); return the module.

        *xp* is the library module itself: ``numpy``, ``torch``, ``cupy``,
        ``array_api_strict`` (or any namespace of the Python Array API
        standard).  Its standard namespace is resolved once, here (for torch
        and CuPy through array-api-compat, ``pip install minigrad[array]``),
        and set as ``xp`` on this module and every sub-module, with *device*
        (None: the library's default device, e.g. torch's CPU).

        Every parameter's ``data`` and ``grad``, every buffer
        (``named_buffers``) and every other array a module keeps (the arrays
        its forward cached for backward) are copied into the new library; the
        :class:`Parameter` objects stay the same objects, so an optimizer
        built before keeps working, and creates its state (momentum, Adam's
        moments) in the new library at its next step.  State an optimizer
        already made stays where it was made (``fit`` says so):
        ``optimizer.load_state_dict(optimizer.state_dict())`` moves it into
        the parameters' library.  Tied parameters stay tied.

        From then on the model's inputs, outputs and gradients are arrays of
        that library; data of another library is a TypeError (lists are
        converted).  float32 stays float32.

        Args:
            xp: the array library module (or a standard namespace).
            device: a device of that library (``"cuda"``, ``"cuda:1"``,
                ``torch.device(...)``), or None for its default.

        Raises:
            TypeError: *xp* is not an array library.
            ImportError: array-api-compat is needed (torch, CuPy) and missing.

        Example:
            >>> import numpy as np, minigrad as mg
            >>> model = mg.Linear(2, 1, rng=0)
            >>> model.to(np) is model, model.xp is np, model.device
            (True, True, 'cpu')
        """
        ns = backend.namespace(xp)
        moved: set[int] = set()
        for module in self.modules():
            for name, value in list(vars(module).items()):
                if isinstance(value, Parameter):
                    if id(value) not in moved:
                        moved.add(id(value))
                        value.data = backend.move(value.data, ns, device)
                        value._grad = backend.move(value._grad, ns, device)
                        value.xp = ns
                elif backend.library_of(value) is not None and not isinstance(value, np.generic):
                    setattr(module, name, backend.move(value, ns, device))
        resolved = device
        for p in self.parameters():
            resolved = backend.device_of(p.data)
            break
        if resolved is None:
            resolved = "cpu" if ns is np else backend.device_of(ns.zeros(1))
        for module in self.modules():
            module.xp = ns
            module.device = resolved
        return self

    def __getstate__(self) -> dict[str, Any]:
        """For pickle and deepcopy: the attributes, with a namespace set by :meth:`to` stored as its library's name."""
        state = dict(vars(self))
        if "xp" in state:
            state["xp"] = backend.library_name(state["xp"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("xp"), str):
            state = {**state, "xp": backend.namespace(state["xp"])}
        vars(self).update(state)

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in the order they were assigned (as ``torch.nn.Module.children``)."""
        for value in vars(self).values():
            if isinstance(value, Module):
                yield value

    def modules(self) -> Iterator[Module]:
        """This module, then every sub-module, depth first (as ``torch.nn.Module.modules``)."""
        yield self
        for child in self.children():
            yield from child.modules()

    # -- parameters ---------------------------------------------------------

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` for this module and its sub-modules.

        Names are dotted attribute paths, as in PyTorch (``"0.weight"`` for the
        weight of a Sequential's first layer).
        """
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, NDArray[Any]]]:
        """Yield ``(name, array)`` for this module's buffers, then its sub-modules', with dotted names."""
        for name in self._buffer_names:
            value = getattr(self, name, None)
            if value is not None:
                yield prefix + name, value
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield from value.named_buffers(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        """All parameters, in ``named_parameters`` order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zeros."""
        for p in self.parameters():
            p.zero_grad()

    @property
    def dtype(self) -> Any:
        """The dtype of the first parameter (float64 for a module without any), a dtype of the module's library."""
        for p in self.parameters():
            return p.data.dtype
        return np.dtype(np.float64) if self.xp is np else self.xp.float64

    # -- state --------------------------------------------------------------

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """Return ``{name: copy of parameter data}``; later training does not change it.

        The copies are arrays of the module's library and device.
        """
        return {name: backend.copy(p.data, p.xp) for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike]) -> None:
        """Copy arrays from *state_dict* into the parameters, all or nothing.

        Every name, shape and value is checked before anything is written:
        a missing or unexpected name raises KeyError, a wrong shape, a
        non-numeric array or a NaN/inf raises ValueError, and in each case
        the module is left exactly as it was.

        Values may be arrays of the module's library, NumPy arrays or lists
        (a saved state): they are copied into the module's library and device.
        An array of a third library raises TypeError.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if missing or unexpected:
            raise KeyError(
                f"state_dict does not match {type(self).__name__}: missing keys {missing}, unexpected keys {unexpected}"
            )
        checked: list[tuple[Parameter, NDArray[Any]]] = []
        for name, p in own.items():
            value = _state_value(state_dict[name], p, name)
            if tuple(value.shape) != tuple(p.data.shape):
                raise ValueError(
                    f"shape mismatch for {name!r}: the module has {p.shape}, the state_dict has {tuple(value.shape)}"
                )
            if p.xp is np:
                _array.check_finite(value, f"state_dict[{name!r}]")
            else:
                backend.check_finite(value, p.xp, f"state_dict[{name!r}]")
            checked.append((p, value))
        for p, value in checked:
            if p.xp is np:
                _array.copy_into(p.data, value)
            else:
                p.data[...] = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _state_value(value: Any, p: Parameter, name: str) -> Any:
    """A state_dict entry as an array of *p*'s library and dtype (ValueError: no numbers; TypeError: 3rd library)."""
    xp = p.xp
    try:
        if xp is np:
            return _array.as_float_array(value, p.data.dtype, name)
        if backend.library_of(value) == "numpy":  # a saved state: copied into the module's library
            value = _array.as_float_array(value, np.dtype(backend.dtype_name(p.data.dtype)), name)
            return backend.move(value, xp, backend.device_of(p.data))
        return backend.as_float(value, xp, p.data.dtype, backend.device_of(p.data), name)
    except TypeError as exc:
        if backend.library_of(value) not in (None, "numpy", backend.library_name(xp)):
            raise
        raise ValueError(str(exc)) from None
