"""The table behind ``Module.summary``: each layer, its output shape and its number of parameters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.nn.module import Module
from minigrad.nn.sequential import Sequential


def _rows(module: Module, name: str, depth: int) -> list[tuple[str, Module, bool]]:
    """``(label, module, is_leaf)`` for *module* and, for a Sequential, its layers, depth first."""
    if not isinstance(module, Sequential):
        return [(name, module, True)]
    rows: list[tuple[str, Module, bool]] = [(name, module, False)] if depth > 0 else []
    for i, layer in enumerate(module):
        rows.extend(_rows(layer, f"{name}.{i}" if name else str(i), depth + 1))
    return rows


def summary_lines(model: Module, input_shape: tuple[int, ...] | None) -> list[str]:
    """The lines of :meth:`Module.summary`'s table (see there)."""
    rows = _rows(model, "", 0)
    if not rows:  # an empty Sequential
        rows = [("", model, True)]
    shapes: dict[int, str] = {}
    if input_shape is not None:
        if not isinstance(input_shape, tuple) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in input_shape
        ):
            raise ValueError(f"input_shape must be a tuple of positive integers, e.g. (1, 3), got {input_shape!r}")
        modes = model._modes()
        model.train(False)
        try:
            xp = model.xp
            if xp is np:
                h: Any = np.zeros(input_shape, dtype=model.dtype)
            else:  # a moved model: zeros of its library, on its device
                h = xp.zeros(input_shape, dtype=model.dtype, device=model.device)
            for i, (_, layer, leaf) in enumerate(rows):
                if leaf:
                    h = layer(h)
                    shapes[i] = str(tuple(h.shape))
        finally:
            Module._restore_modes(modes)
    labels = [
        f"{'  ' * label.count('.')}{label}  {type(layer).__name__}" if label else type(layer).__name__
        for label, layer, _ in rows
    ]
    counts = [layer.num_parameters() if leaf else None for _, layer, leaf in rows]
    name_w = max(len("layer"), *(len(s) for s in labels)) + 4
    shape_w = max(len("output shape"), *(len(s) for s in shapes.values())) + 4 if shapes else 0
    count_w = max(len("parameters"), *(len(str(c)) for c in counts if c is not None))
    header = "layer".ljust(name_w) + ("output shape".ljust(shape_w) if shapes else "") + "parameters".rjust(count_w)
    rule = "-" * len(header)
    lines = [header, rule]
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        shape = shapes.get(i, "").ljust(shape_w) if shapes else ""
        lines.append((label.ljust(name_w) + shape + ("" if count is None else str(count)).rjust(count_w)).rstrip())
    lines += [rule, f"total parameters: {model.num_parameters()}"]
    buffers = sum(math.prod(b.shape) for _, b in model.named_buffers())
    if buffers:
        lines.append(f"buffers (not trained): {buffers} numbers")
    return lines
