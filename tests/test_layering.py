"""The layering never-rules of docs/ARCHITECTURE.md, read from the source's imports.

Every import counts, including those under ``TYPE_CHECKING``: an annotation that
names a type of a higher layer is an arrow back up all the same.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    """The absolute module names one file imports (relative imports made absolute)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(_ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module is not None:
                names.add(node.module)
    return names


def _files(folder: str) -> list[Path]:
    return sorted((_ROOT / folder).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


def test_the_errors_module_imports_nothing_of_the_project() -> None:
    """errors.py sits below every layer, so not even a type comes from above."""
    imported = _imports(_ROOT / "treadmill_ctl" / "errors.py")
    assert {name for name in imported if _top(name) == "treadmill_ctl"} == set()


@pytest.mark.parametrize("path", _files("treadmill_ctl/safety"), ids=lambda path: path.name)
def test_the_safety_package_imports_only_the_standard_library(path: Path) -> None:
    """The governor's package: the standard library, itself, and the project's errors."""
    allowed_own = ("treadmill_ctl.safety", "treadmill_ctl.errors")
    for name in _imports(path):
        if _top(name) == "treadmill_ctl":
            assert name.startswith(allowed_own), f"{path.name} imports {name}"
        else:
            assert _top(name) in sys.stdlib_module_names or name == "__future__", (
                f"{path.name} imports {name}"
            )


@pytest.mark.parametrize("path", _files("simulator"), ids=lambda path: path.name)
def test_the_simulator_never_imports_the_controller(path: Path) -> None:
    """The simulator is a second FTMS implementation: sharing code would hide a bug."""
    assert not any(_top(name) == "treadmill_ctl" for name in _imports(path))


@pytest.mark.parametrize(
    "path",
    [*_files("treadmill_ctl/ui"), *_files("treadmill_ctl/telemetry")],
    ids=lambda path: str(path.relative_to(_ROOT)),
)
def test_the_dashboard_and_telemetry_never_talk_to_the_link(path: Path) -> None:
    """ui/ and telemetry/ see the session's events, never the FTMS layer."""
    reaching = [name for name in _imports(path) if name.startswith("treadmill_ctl.ftms")]
    assert reaching == []
