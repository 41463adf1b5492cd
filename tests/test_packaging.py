"""What the installed package holds and needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Imports every module of both packages in a fresh interpreter, then names any
# module of the development-only dependencies that came along.
_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import simulator, treadmill_ctl
for package in (treadmill_ctl, simulator):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print(sorted(name for name in sys.modules if name.split(".")[0] == "pyftms"))
"""


def test_no_module_of_the_controller_or_the_simulator_needs_pyftms() -> None:
    """The pyftms client is a development extra (tests, benchmark), never a need."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.stdout.strip() == "[]"


def test_the_package_says_it_is_typed() -> None:
    assert (ROOT / "treadmill_ctl" / "py.typed").is_file()
