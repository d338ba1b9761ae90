"""The array libraries the backend tests run on, and the helpers they share.

:class:`ArrayLibrary` names a library and a device, makes test data there from
NumPy arrays, reads results back, and asserts that an output belongs to the
library and device of the input: a silent conversion (to NumPy, or to another
dtype) fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from minigrad import backend

#: What the ``xp`` fixture runs on by default: CPU libraries only.
DEFAULT_LIBRARIES = ("numpy", "array_api_strict", "torch")


@dataclass(frozen=True)
class ArrayLibrary:
    """An array library module and a device (None: the library's default)."""

    name: str
    module: Any
    device: Any

    @classmethod
    def load(cls, spec: str) -> ArrayLibrary:
        """``"torch"``, ``"torch:cuda"``, ``"cupy"``, ...; skips the test when the library (or device) is missing."""
        name, _, device = spec.partition(":")
        module = pytest.importorskip(name)
        if name != "numpy":
            pytest.importorskip("array_api_compat")
        if name == "torch" and device.startswith("cuda") and not module.cuda.is_available():
            pytest.skip("torch has no CUDA device here")
        if name == "torch" and not device:
            # Tiny tensors: threads only add overhead, and on a busy machine torch's thread pool waits
            # milliseconds per product (as tests/test_torch_parity.py sets too).
            module.set_num_threads(1)
        if name == "cupy":
            try:
                module.cuda.runtime.getDeviceCount()
            except Exception:  # pragma: no cover - depends on the machine
                pytest.skip("CuPy finds no CUDA device here")
        return cls(name, module, device or None)

    def __repr__(self) -> str:
        return self.name if self.device is None else f"{self.name}:{self.device}"

    @property
    def ns(self) -> Any:
        """The standard namespace minigrad computes with."""
        return backend.namespace(self.module)

    def to(self, model: Any) -> Any:
        """``model.to(library, device=...)``."""
        return model.to(self.module, device=self.device)

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """The NumPy data *a* as an array of this library (float64 unless *a* or *dtype* says otherwise)."""
        host = np.asarray(a, dtype=dtype)
        if self.name == "numpy":
            return host.copy()
        return self.ns.asarray(host, copy=True, device=self.device)

    def numpy(self, a: Any) -> np.ndarray[Any, Any]:
        """The values of an array of this library, as NumPy."""
        self.check(a)
        return np.array(backend.to_numpy(a), copy=True)

    def check(self, a: Any, dtype: str | None = None) -> None:
        """Fail unless *a* is an array of this library (on its device, of *dtype* when given)."""
        got = backend.library_of(a)
        assert got == self.name, f"expected a {self.name} array, got {type(a).__module__}.{type(a).__name__}"
        if self.device is not None:
            assert str(backend.device_of(a)).startswith(str(self.device)), (
                f"expected device {self.device}, got {backend.device_of(a)}"
            )
        if dtype is not None:
            assert backend.dtype_name(a.dtype) == dtype, f"expected {dtype}, got {a.dtype}"

    def other(self) -> ArrayLibrary:
        """Another installed library than this one (for the bad-input tests); skips the test when there is none."""
        for name in ("torch", "array_api_strict", "numpy"):
            if name == self.name:
                continue
            try:
                module = __import__(name)
                if name != "numpy":
                    __import__("array_api_compat")
            except ImportError:
                continue
            return ArrayLibrary(name, module, None)
        pytest.skip("needs a second array library (torch or array-api-strict)")
