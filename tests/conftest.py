"""What every test shares: hypothesis profiles, the property-test marker and the fakes.

The fakes (tests/fakes.py) stand only for what is outside the code under test: the
``control`` fixture is the session as the dashboard, the hotkeys and the MQTT bridge
see it (a SessionControl that records each request), for tests of those front ends
on their own.

Hypothesis runs derandomized by default, so `make test` gives the same result on
every run and every machine: the examples come from a fixed seed and no database of
earlier failures changes what runs. `make fuzz` loads the ``fuzz`` profile instead
(``HYPOTHESIS_PROFILE=fuzz``): many more examples (5000 each, or
``HYPOTHESIS_FUZZ_EXAMPLES``), drawn at random, failures kept in ``.hypothesis/`` to
replay. A failure found that way is kept as an ``@example`` (or a plain test), never
left to chance.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from fakes import RecordingControl
from hypothesis import HealthCheck, is_hypothesis_test, settings
from hypothesis.database import DirectoryBasedExampleDatabase

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

settings.register_profile(
    "default",
    derandomize=True,
    database=None,
    deadline=None,  # timing never decides a result: a loaded machine passes or fails alike
    suppress_health_check=[HealthCheck.too_slow],  # the same, for the health checks
    max_examples=200,
    stateful_step_count=60,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
    deadline=None,
    max_examples=int(os.environ.get("HYPOTHESIS_FUZZ_EXAMPLES", "5000")),
    stateful_step_count=100,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "property: a hypothesis property test or state machine (make fuzz runs them)"
    )


def pytest_collection_modifyitems(items: Sequence[pytest.Item]) -> None:
    """Mark every property test (``@given`` or a state machine) for ``-m property``."""
    for item in items:
        if isinstance(item, pytest.Function) and is_hypothesis_test(item.obj):
            item.add_marker(pytest.mark.property)


@pytest.fixture
def control() -> RecordingControl:
    """A fresh recording SessionControl."""
    return RecordingControl()


@pytest.fixture
def make_control() -> Callable[[], RecordingControl]:
    """Makes recording SessionControls, for tests that need more than one."""
    return RecordingControl
