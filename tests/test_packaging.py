"""What the installed package holds and needs."""

from __future__ import annotations

from e2e_support import REPO, run_python

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
    done = run_python(_IMPORT_EVERYTHING)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_package_says_it_is_typed() -> None:
    assert (REPO / "treadmill_ctl" / "py.typed").is_file()
