"""The layout of minigrad/: each floor imports only from its own room and the rooms below it.

The floors, from the top down (README, "Where the code lives")::

    minigrad/  the package root, the top floor: __init__ (every public name), __main__, the command
               line (cli, _startup, seed, plot, examples/) and sklearn (scikit-learn estimators)
    training   fit, trainer, callbacks, history, progress, metrics, errors, convergence
    io         save and load
    optim      optimizers, schedules, clipping, the L2 penalty
    nn         Module, Parameter, layers, losses, init, gradcheck, the block-wise driver
    backend    which array library and device

The root's modules are users of the library (README documents minigrad.cli, minigrad.plot,
minigrad.seed, minigrad.examples and minigrad.sklearn as module paths): they may import any room,
and no room imports them, nor the package itself.  So no two floors import each other.  A module
outside the rooms and the root's list (a new minigrad/foo.py, a folder that is no room) is in no
floor: move it into the room of its layer, or add it to ROOT_MODULES when it is a user of the library.
Imports under ``if TYPE_CHECKING:`` are annotations (the modules use ``from __future__ import
annotations``) and do not count; imports inside functions do.

``python tests/test_layout.py`` prints the floors and the imports between them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"
ROOMS = ("training", "io", "optim", "nn", "backend")
ROOT = "(root)"
# The top floor: the modules at the package root (examples/ with the modules in it).
ROOT_MODULES = ("__init__", "__main__", "cli", "_startup", "seed", "plot", "examples", "sklearn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def room_of(module: str) -> str:
    """ROOT for the package and the modules of the root's list, else the folder under minigrad/."""
    parts = module.split(".")
    return ROOT if len(parts) == 1 or parts[1] in ROOT_MODULES else parts[1]


def floor_of(room: str) -> int:
    """0 for the top floor (the package root), 1 for training, larger further down; -1 for no floor."""
    return 0 if room == ROOT else ROOMS.index(room) + 1 if room in ROOMS else -1


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str) -> list[tuple[int, str]]:
    """(line, minigrad module) for each import of *module* that runs, at its top or in a function."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "minigrad")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] == "minigrad":
                for alias in node.names:  # `from minigrad import backend` imports the module minigrad.backend
                    sub = f"{base}.{alias.name}"
                    found.append((node.lineno, sub if sub in MODULES else base))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def upward_imports(modules: list[str] | None = None) -> list[str]:
    """'module:line imports target, and its floor is above' for each import of a room that points up."""
    bad = []
    for module in MODULES if modules is None else modules:
        room = room_of(module)
        if room == ROOT:  # the top floor may import any room
            continue
        for line, target in imports_of(module):
            to = room_of(target)
            if to != room and floor_of(to) < floor_of(room):
                where = "the package root" if to == ROOT else to
                bad.append(f"{module}:{line} imports {target}, and {where} is above {room}")
    return bad


def homeless(modules: list[str] | None = None) -> list[str]:
    """The modules in neither a room nor the root's list."""
    return [m for m in (MODULES if modules is None else modules) if floor_of(room_of(m)) < 0]


def test_every_module_is_in_a_room_or_the_root() -> None:
    assert homeless() == [], (
        f"modules in no room of {ROOMS} and not in ROOT_MODULES (move each into the room of its layer): {homeless()}"
    )


def test_every_room_is_a_package_that_says_what_it_holds() -> None:
    for room in ROOMS:
        init = PACKAGE / room / "__init__.py"
        assert init.is_file(), f"{init} is missing"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no docstring"


def test_the_root_modules_are_where_readme_names_them() -> None:
    for name in ROOT_MODULES:
        assert (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file(), name


def test_no_import_points_to_a_floor_above() -> None:
    assert upward_imports() == []


PROBE = """from typing import TYPE_CHECKING

import minigrad.backend._array
from minigrad import backend
from minigrad.nn import module

if TYPE_CHECKING:
    from minigrad.training.trainer import Trainer
    from minigrad.cli import main


def late() -> None:
    from minigrad.training import fit
    from minigrad import sklearn
    import minigrad.cli
    from minigrad.examples import digits
    from minigrad import Linear
"""


def test_the_check_reports_an_import_from_above(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An nn module importing training or the root is reported; downward, same-room and type-only imports are not."""
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    monkeypatch.setitem(MODULES, "minigrad.nn.probe", probe)
    assert upward_imports(["minigrad.nn.probe"]) == [
        "minigrad.nn.probe:13 imports minigrad.training.fit, and training is above nn",
        "minigrad.nn.probe:14 imports minigrad.sklearn, and the package root is above nn",
        "minigrad.nn.probe:15 imports minigrad.cli, and the package root is above nn",
        "minigrad.nn.probe:16 imports minigrad.examples.digits, and the package root is above nn",
        "minigrad.nn.probe:17 imports minigrad, and the package root is above nn",
    ]
    # The same imports from the root's modules are allowed: the root is the top floor.
    monkeypatch.setitem(MODULES, "minigrad.cli", probe)
    assert upward_imports(["minigrad.cli"]) == []
    assert floor_of(ROOT) == 0 < floor_of("training") and room_of("minigrad.__main__") == ROOT


def test_the_check_reports_a_module_in_no_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new flat module or a folder that is no room is reported; a room's and the root's modules are not."""
    stray = tmp_path / "stray.py"
    stray.write_text("", encoding="utf-8")
    for name in ("minigrad.helpers", "minigrad.utils.arrays", "minigrad.nn.new_layer"):
        monkeypatch.setitem(MODULES, name, stray)
    assert homeless(
        ["minigrad.helpers", "minigrad.utils.arrays", "minigrad.nn.new_layer", "minigrad.examples.digits"]
    ) == [
        "minigrad.helpers",
        "minigrad.utils.arrays",
    ]


def main() -> int:
    print("floors from the top down; the root imports any room, a room only itself and the rooms below it:")
    for room in (ROOT, *ROOMS):
        members = [m for m in MODULES if room_of(m) == room]
        uses: dict[str, int] = {}
        for m in members:
            for _, target in imports_of(m):
                if room_of(target) != room:
                    uses[room_of(target)] = uses.get(room_of(target), 0) + 1
        listed = ", ".join(f"{r} ({n})" for r, n in sorted(uses.items(), key=lambda e: floor_of(e[0])))
        print(f"  {floor_of(room)}  {room:<9} {len(members):>2} modules  imports from: {listed or '-'}")
    bad = upward_imports()
    for line in bad:
        print("UP   " + line)
    for line in homeless():
        print("NO ROOM   " + line)
    if not bad and not homeless():
        print("no import points to a floor above (imports under TYPE_CHECKING are not counted)")
    return 1 if bad or homeless() else 0


if __name__ == "__main__":
    sys.exit(main())
