"""The heart-rate cues fit where they are said, measured with espeak-ng's own rendering.

Each sentence is rendered the way the cue player says it (units as words, the real
key named) by espeak-ng at the player's rate, and its length read from the wav;
without espeak-ng the rate model (which overestimates) answers. Measured at 150
words a minute: an alarm 3.8 s, a zone step 3.4 s, the wait 7.0 s and the refusal
15.3 s with a long strap name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pytest
from speech_support import real_duration_s

from treadmill_ctl.ftms.heart_rate_link import HeartRateLink
from treadmill_ctl.safety import LatchReason, Limits
from treadmill_ctl.safety.failsafe import CAUSES
from treadmill_ctl.safety.heart_rate import ZoneController
from treadmill_ctl.session.clock import LoopClock
from treadmill_ctl.session.heart_rate import CONFIRM_WINDOW_S, STRAP_GRACE_S, HeartRateSession
from treadmill_ctl.session.speech import SpokenKeys, name_keys, spoken

if TYPE_CHECKING:
    from treadmill_ctl.session.events import Cue

KEYS: Final = SpokenKeys(start="Enter", resume="p")
LONG_STRAP_NAME: Final = "Polar H10 8C4A2B1D"
ZONE_STEP_INTERVAL_S: Final = 10.0
"""The zone guide changes the speed at most this often (ZoneController's default)."""


def said_s(text: str) -> float:
    """How long the person hears ``text`` for, as the cue player says it."""
    return real_duration_s(name_keys(spoken(text), KEYS))


def zone_step_sentences() -> list[str]:
    """What the guide says for its longest speeds, up and down."""
    said = []
    for speed_kmh, rate_bpm in ((12.4, 80.0), (12.5, 160.0)):
        guide = ZoneController(zone_bpm=(105, 120), max_speed_kmh=12.5, now_s=-100.0)
        step = guide.update(0.0, rate_bpm, speed_kmh)
        assert step is not None
        said.append(step.said)
    assert said == ["Faster: 12.5 km/h.", "Slower: 12.3 km/h."]
    return said


def refusals() -> list[str]:
    """The two refusals of a start, for a strap with a long name."""
    cues: list[Cue] = []
    session = HeartRateSession(
        limits=Limits(heart_rate_max_bpm=140),
        link=HeartRateLink(LONG_STRAP_NAME, clock=LoopClock()),
        confirmed_without=False,
        emit=lambda *_, **__: None,
        cue=cues.append,
    )
    waiting = session.start_refusal(0.0, by_person=True)
    refused = session.start_refusal(STRAP_GRACE_S + 1, by_person=True)
    assert waiting is not None
    assert refused is not None
    return [waiting, refused]


@pytest.mark.parametrize("text", zone_step_sentences())
def test_a_zone_step_is_said_well_before_the_next_can_come(text: str) -> None:
    assert said_s(text) <= ZONE_STEP_INTERVAL_S / 2


@pytest.mark.parametrize("reason", [LatchReason.HEART_RATE, LatchReason.HEART_RATE_UNKNOWN])
def test_a_heart_rate_alarm_is_heard_whole_while_the_belt_ramps_down(
    reason: LatchReason,
) -> None:
    limits = Limits()
    # a 4 km/h walk ramps down to the starting speed in this long, then stops
    ramp_s = (4.0 - limits.starting_speed_kmh) / limits.deceleration_kmh_per_s
    text = CAUSES[reason].alarm
    assert text.startswith("The belt slows to a stop")  # the action first
    assert said_s(text) <= ramp_s


def test_the_wait_is_heard_within_the_straps_grace() -> None:
    waiting, _ = refusals()
    assert LONG_STRAP_NAME in waiting
    assert said_s(waiting) <= STRAP_GRACE_S


def test_the_refusal_leaves_time_to_press_again_within_the_window() -> None:
    _, refused = refusals()
    assert "press Enter again" in name_keys(spoken(refused), KEYS)
    # heard whole, with at least 10 s of the confirmation window left to press
    assert said_s(refused) <= CONFIRM_WINDOW_S - 10
