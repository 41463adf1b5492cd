"""The BlueZ tests run only inside the test guest (``make test-bluez``).

They share the end-to-end witnesses of ``tests/`` (the record and trace readers), and
each test leaves its files (record, trace, terminals, logs) in
``$BLUEZ_RESULTS/<test>`` so the host can read them after the guest is gone.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture
def out(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Where this test's record, trace and logs go: tmpfs while it runs, then kept.

    The programs write on the guest's tmpfs (the shared folder costs a round trip
    to the host per write); at the end everything is copied to ``$BLUEZ_RESULTS``.
    """
    yield tmp_path
    root = os.environ.get("BLUEZ_RESULTS")
    if root:
        shutil.copytree(tmp_path, Path(root) / request.node.name, dirs_exist_ok=True)
