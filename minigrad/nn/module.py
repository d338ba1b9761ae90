"""Module: the base class of layers and models (forward, backward, parameters)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn.parameter import Parameter


class Module:
    """Base class of everything with a forward and a backward pass.

    A module maps an input ``x`` to an output ``y = f(x; θ)`` in ``forward``
    and, given ``dL/dy`` in ``backward``, *adds* ``dL/dθ`` to each parameter's
    ``grad`` and, when asked, returns ``dL/dx`` (the chain rule, one layer at
    a time).  ``forward`` keeps only what ``backward`` needs, overwriting it
    each call.

    The contract of ``backward(grad_output, *, need_input_grad=False)``: it
    always adds the parameter gradients; it returns ``dL/dx`` when
    ``need_input_grad`` is True, and None otherwise (the input gradient is
    then not computed).  As in PyTorch, where the data does not require a
    gradient, the outermost call, ``model.backward(loss_fn.backward())``,
    computes no ``dL/dX`` that nobody reads.  Whoever needs the input
    gradient asks for it: a module made of sub-modules passes
    ``need_input_grad=True`` to every sub-module whose input comes from
    another sub-module, and its own flag to the one that receives its own
    input (as :class:`~minigrad.Sequential` does); :func:`~minigrad.gradcheck`
    asks for it to check it.  A layer that returns ``dL/dx`` even when not
    asked is still correct, only slower.

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
        ...     def backward(self, grad_output, *, need_input_grad=False):
        ...         self.scale.grad += (grad_output * self.x).sum(axis=0)
        ...         return grad_output * self.scale.data if need_input_grad else None
        >>> layer = Scale(2)
        >>> layer(np.array([[1.0, 2.0], [3.0, 4.0]]))
        array([[1., 2.],
               [3., 4.]])
        >>> layer.backward(np.ones((2, 2))) is None  # the parameter gradient only
        True
        >>> layer.scale.grad, [name for name, _ in layer.named_parameters()]
        (array([4., 6.]), ['scale'])
        >>> layer.backward(np.ones((2, 2)), need_input_grad=True)  # adds again, and returns dL/dx
        array([[1., 1.],
               [1., 1.]])
        >>> layer.scale.grad
        array([ 8., 12.])
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

    #: The buffers among ``_buffer_names`` whose values cannot be negative,
    #: such as a variance: :meth:`load_state_dict` and :func:`minigrad.load`
    #: refuse a value < 0 (see :func:`check_buffer_value`).
    _nonnegative_buffer_names: ClassVar[tuple[str, ...]] = ()

    #: True in training mode (the default), False in evaluation mode; set by
    #: :meth:`train` and :meth:`eval`.  A class attribute, so a subclass that
    #: never calls ``super().__init__()`` starts in training mode too.
    training: bool = True

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Compute the output for input *x*."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Add d loss / d θ to each parameter's ``grad``; return d loss / d input if *need_input_grad*.

        Args:
            grad_output: d loss / d output of the last ``forward``.
            need_input_grad: True to compute and return d loss / d input;
                False (the default: the input is the data, which needs no
                gradient) to skip it and return None.  A module made of
                sub-modules passes True to every sub-module whose input
                comes from another one (see the class docstring).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, x: ArrayLike) -> NDArray[Any]:
        return self.forward(x)

    # -- modes --------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Put this module and every sub-module in training mode (``mode=False``: evaluation); return it.

        Layers that behave differently while training read ``self.training``:
        :class:`~minigrad.Dropout` zeroes activations only in training mode, and
        :class:`~minigrad.BatchNorm1d` normalises with the batch's statistics in
        training mode and with its running statistics in evaluation mode.  The
        other layers ignore the mode.  As ``torch.nn.Module.train``.

        Example:
            >>> import minigrad as mg
            >>> model = mg.Sequential(mg.Linear(2, 2), mg.Dropout(0.5, rng=0))
            >>> model.eval() is model, model.training, model[1].training
            (True, False, False)
            >>> model.train().training, model[1].training
            (True, True)
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for module in self._module_list():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Put this module and every sub-module in evaluation mode; return it (``train(False)``)."""
        return self.train(False)

    def _modes(self) -> list[tuple[Module, bool]]:
        """Every module (as :meth:`modules`) with its current mode, for putting the modes back later."""
        return [(m, m.training) for m in self._module_list()]

    @staticmethod
    def _restore_modes(modes: list[tuple[Module, bool]]) -> None:
        for m, mode in modes:
            m.training = mode

    # -- sub-modules --------------------------------------------------------

    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules: the attributes that hold a Module, in assignment order."""
        for value in vars(self).values():
            if isinstance(value, Module):
                yield value

    def modules(self) -> Iterator[Module]:
        """Yield this module and then every sub-module below it, depth first, each instance once.

        Example:
            >>> import minigrad as mg
            >>> model = mg.Sequential(mg.Linear(2, 3), mg.ReLU(), mg.Sequential(mg.Linear(3, 1)))
            >>> [type(m).__name__ for m in model.modules()]
            ['Sequential', 'Linear', 'ReLU', 'Sequential', 'Linear']
        """
        yield from self._module_list()

    def _module_list(self) -> list[Module]:
        """:meth:`modules` as a list (predict switches modes on every call: this is the quick walk)."""
        found: list[Module] = [self]
        seen = {id(self)}
        default_children = Module.children

        def walk(module: Module) -> None:
            # (the default children() inlined: predict walks the modules on every call)
            if type(module).children is default_children:
                children: Any = [v for v in vars(module).values() if isinstance(v, Module)]
            else:
                children = module.children()
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    found.append(child)
                    walk(child)

        walk(self)
        return found

    def num_parameters(self) -> int:
        """The number of trainable numbers: the total size of ``parameters()`` (buffers not counted).

        Example:
            >>> import minigrad as mg
            >>> mg.Sequential(mg.Linear(3, 4), mg.ReLU(), mg.Linear(4, 1)).num_parameters()
            21
        """
        return sum(math.prod(p.data.shape) for p in self.parameters())  # (shape: a torch tensor's size is a method)

    def summary(self, input_shape: tuple[int, ...] | None = None, *, print_fn: Any = print) -> None:
        """Print a table of the layers, their output shapes and parameter counts (as Keras' ``summary``).

        With *input_shape* (the full shape of an input, batch axis first) a
        forward pass on zeros of that shape, in evaluation mode, finds each
        layer's output shape; the modes are put back afterwards and, as with
        ``forward``, what layers keep for ``backward`` is overwritten.  Rows
        are the layers of a :class:`~minigrad.Sequential` (nested ones
        indented) or the module itself.

        Args:
            input_shape: e.g. ``(1, 3)``; None leaves out the output shapes.
            print_fn: called with each line of the table (default ``print``).

        Example:
            >>> import minigrad as mg
            >>> model = mg.Sequential(mg.Linear(3, 4), mg.ReLU(), mg.Linear(4, 1))
            >>> model.summary((8, 3))
            layer        output shape    parameters
            ---------------------------------------
            0  Linear    (8, 4)                  16
            1  ReLU      (8, 4)                   0
            2  Linear    (8, 1)                   5
            ---------------------------------------
            total parameters: 21
        """
        from minigrad.nn.summary import summary_lines

        for line in summary_lines(self, input_shape):
            print_fn(line)

    def predict(self, x: ArrayLike, batch_size: int | None = None) -> NDArray[Any]:
        """Return ``forward(x)`` in evaluation mode, computed ``batch_size`` rows at a time.

        The model runs in evaluation mode (:meth:`eval`: no dropout, batch
        norm with its running statistics), and every module's mode is put back
        as it was afterwards, also on error.

        For inputs too large for one pass: row blocks ``x[i:i+batch_size]``
        (views, never copies of *x*) go through ``forward`` one after the other
        and their outputs are written into one preallocated array, so the
        intermediate activations never exceed one block.  Rows are independent,
        so the result equals ``forward(x)`` up to floating-point rounding.
        ``batch_size=None`` is a single ``forward(x)``.  Like ``forward``, it
        overwrites what layers keep for ``backward``.  A Dask array gives a
        lazy Dask array, one block of outputs per row block (see
        :func:`minigrad.nn.dask_blocks.predict_lazy`); *batch_size* is then ignored.

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
            from minigrad.nn.dask_blocks import predict_lazy

            return predict_lazy(self, x)  # type: ignore[no-any-return]
        _array.refuse_masked(x, "x")
        modules = self._module_list()
        modes = [m.training for m in modules]
        if not any(modes):
            return self._predict(x, batch_size)
        for m in modules:
            m.training = False
        try:
            return self._predict(x, batch_size)
        finally:
            for m, mode in zip(modules, modes, strict=True):
                m.training = mode

    def _predict(self, x: ArrayLike, batch_size: int | None) -> NDArray[Any]:
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
        """Return ``{name: copy}`` of every parameter, then every buffer; later training does not change it.

        Buffers (``named_buffers``: running statistics, step counters) follow
        the parameters, as in PyTorch; ``parameters()`` never holds them.  The
        copies are arrays of the module's library and device.
        """
        state = {name: backend.copy(p.data, p.xp) for name, p in self.named_parameters()}
        for name, b in self.named_buffers():
            state[name] = backend.copy(b, backend.namespace_of(b))
        return state

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike]) -> None:
        """Copy arrays from *state_dict* into the parameters and buffers, all or nothing.

        Every name, shape and value is checked before anything is written:
        a missing or unexpected name raises KeyError, a wrong shape, a
        non-numeric array or a NaN/inf raises ValueError (a whole-number
        buffer such as ``num_batches_tracked`` also needs a whole number
        ≥ 0, and a variance such as ``running_var`` a value ≥ 0: see
        :func:`check_buffer_value`), and in each case the module is left
        exactly as it was.

        Values may be arrays of the module's library, NumPy arrays or lists
        (a saved state): they are copied into the module's library and device.
        An array of a third library raises TypeError.
        """
        targets: dict[str, NDArray[Any]] = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if missing or unexpected:
            raise KeyError(
                f"state_dict does not match {type(self).__name__}: missing keys {missing}, unexpected keys {unexpected}"
            )
        params = dict(self.named_parameters())
        nonnegative = nonnegative_buffers(self)
        checked: list[tuple[Any, Any, Any]] = []
        for name, target in targets.items():
            p = params.get(name)
            if p is None:  # a buffer: checked on the host, then put where the buffer lives
                value = _checked_buffer_value(name, state_dict[name], target, nonnegative=name in nonnegative)
                checked.append((None, target, value))
                continue
            value = _state_value(state_dict[name], p, name)
            if tuple(value.shape) != tuple(p.data.shape):
                raise ValueError(
                    f"shape mismatch for {name!r}: the module has {p.shape}, the state_dict has {tuple(value.shape)}"
                )
            if p.xp is np:
                _array.check_finite(value, f"state_dict[{name!r}]")
            else:
                backend.check_finite(value, p.xp, f"state_dict[{name!r}]")
            checked.append((p, p.data, value))
        for _, target, value in checked:
            if isinstance(target, np.ndarray):
                _array.copy_into(target, value)
            else:
                target[...] = value

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


def nonnegative_buffers(module: Module) -> set[str]:
    """The dotted names (as in ``named_buffers``) of *module*'s buffers that cannot be negative.

    A buffer is one when the module holding it lists it in
    ``_nonnegative_buffer_names`` (BatchNorm1d's ``running_var``).

    Example:
        >>> import minigrad as mg
        >>> sorted(nonnegative_buffers(mg.Sequential(mg.Linear(2, 3), mg.BatchNorm1d(3))))
        ['1.running_var']
    """
    ids = {
        id(value)
        for m in module.modules()
        for name in m._nonnegative_buffer_names
        if (value := getattr(m, name, None)) is not None
    }
    return {name for name, b in module.named_buffers() if id(b) in ids}


def check_buffer_value(label: str, value: NDArray[Any], *, nonnegative: bool) -> None:
    """The rule every buffer value that is loaded into a module passes; ValueError naming *label* otherwise.

    *value* is a NumPy array of the buffer's dtype and shape.  It must be

    - finite (a float buffer: no NaN, no inf);
    - ≥ 0 for an integer buffer (a count, such as ``num_batches_tracked``);
    - ≥ 0 for a buffer its module lists in ``_nonnegative_buffer_names``
      (a variance, such as ``running_var``; 0 is allowed).

    :meth:`Module.load_state_dict` and :func:`minigrad.load` both apply it,
    before anything is written.

    Example:
        >>> import numpy as np
        >>> check_buffer_value("state_dict['running_var']", np.array([1.0, 0.0]), nonnegative=True)
        >>> check_buffer_value("state_dict['running_var']", np.array([1.0, -0.5]), nonnegative=True)
        Traceback (most recent call last):
        ...
        ValueError: state_dict['running_var'] must be >= 0 (a statistic such as a variance), got -0.5 at index 1: ...
    """
    flat = value.reshape(-1)
    if value.dtype.kind == "f" and not np.isfinite(flat).all():
        i = int(np.argmin(np.isfinite(flat)))
        raise ValueError(f"{label} contains NaN or infinity ({flat[i]} at index {i}); a buffer must be finite")
    count = value.dtype.kind in "iu"
    if (count or nonnegative) and flat.size and flat.min() < 0:
        i = int(np.argmin(flat))
        what = "a count" if count else "a statistic such as a variance"
        raise ValueError(
            f"{label} must be >= 0 ({what}), got {flat[i]} at index {i}: training never makes a negative one, "
            "so this state is damaged or was edited by hand"
        )


def _checked_buffer_value(name: str, raw: Any, target: Any, *, nonnegative: bool) -> Any:
    """A state_dict entry for the buffer *target*, checked on the host and moved to the buffer's library and device."""
    if isinstance(target, np.ndarray):
        return _checked_state_value(name, raw, target, nonnegative)
    ns = backend.namespace_of(target)
    lib = backend.library_of(raw)
    if lib not in (None, "numpy", backend.library_name(ns)):
        raise TypeError(
            f"state_dict[{name!r}] is an array of {lib}, the module's buffers are of {backend.library_name(ns)}"
        )
    host_target = backend.to_numpy(target)
    value = _checked_state_value(
        name, raw if lib in (None, "numpy") else backend.to_numpy(raw), host_target, nonnegative
    )
    return backend.move(value, ns, backend.device_of(target))


def _checked_state_value(name: str, raw: ArrayLike, target: NDArray[Any], nonnegative: bool) -> NDArray[Any]:
    """*raw* as an array of *target*'s dtype and shape that passes :func:`check_buffer_value`."""
    label = f"state_dict[{name!r}]"
    if target.dtype.kind in "iu":
        value = np.asarray(raw)
        if value.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold real numbers, got dtype {value.dtype}")
        if value.dtype.kind == "f":
            check_buffer_value(label, value, nonnegative=False)  # (finite, before it is rounded)
            if not np.array_equal(value, np.round(value)):
                raise ValueError(f"{label} must hold whole numbers, got {value!r}")
        info = np.iinfo(target.dtype)
        if value.size and (value.min() < info.min or value.max() > info.max):
            raise ValueError(f"{label} must hold whole numbers that fit {target.dtype}, got {value!r}")
        value = value.astype(target.dtype)
    else:
        try:
            value = _array.as_float_array(raw, target.dtype, name)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
    if value.shape != target.shape:
        raise ValueError(
            f"shape mismatch for {name!r}: the module has {target.shape}, the state_dict has {value.shape}"
        )
    check_buffer_value(label, value, nonnegative=nonnegative)
    return value
