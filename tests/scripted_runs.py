"""The scripted dry runs the history and export tests read, run once per test session.

A pytest plugin (``pytest_plugins = ["scripted_runs"]``): each fixture runs the demo
profile once with a scripted person (``person_runs``) and hands the record and the
simulator's trace to every test that asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from person_runs import (
    DEMO,
    PAUSE_AT_S,
    PAUSE_FOR_S,
    START_AFTER_S,
    STOP_AT_S,
    Script,
    ScriptedRun,
    run_with_person,
)

if TYPE_CHECKING:
    from pathlib import Path


def _scripted(folder: Path, name: str, script: Script) -> ScriptedRun:
    record, trace = folder / f"{name}.jsonl", folder / f"{name}.trace.jsonl"
    summary, person = run_with_person(DEMO, record=record, trace=trace, script=script)
    return ScriptedRun(record, trace, summary, tuple(person.presses))


@pytest.fixture(scope="session")
def paused_run(tmp_path_factory: pytest.TempPathFactory) -> ScriptedRun:
    """The demo, started after a 5 s wait, paused 4 s in its first segment, then to its end."""
    script = Script(start_after_s=START_AFTER_S, pause_at_s=PAUSE_AT_S, pause_for_s=PAUSE_FOR_S)
    return _scripted(tmp_path_factory.mktemp("paused"), "paused", script)


@pytest.fixture(scope="session")
def stopped_run(tmp_path_factory: pytest.TempPathFactory) -> ScriptedRun:
    """The demo with an emergency stop at 20 s, a re-arm 6 s later, a start 3 s after that."""
    script = Script(start_after_s=START_AFTER_S, stop_at_s=STOP_AT_S)
    return _scripted(tmp_path_factory.mktemp("stopped"), "stopped", script)
