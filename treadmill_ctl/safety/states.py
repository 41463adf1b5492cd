"""The names the governor thinks in: directions, states, latch reasons and cues."""

from __future__ import annotations

from enum import Enum, IntEnum, StrEnum

__all__ = [
    "ClearCondition",
    "CueKind",
    "Direction",
    "GovernorState",
    "LatchReason",
]


class Direction(StrEnum):
    """Which way the person faces. FTMS has no direction: this picks limits and cues."""

    FORWARD = "forward"
    BACKWARD = "backward"


class GovernorState(StrEnum):
    """Where the session is, as the governor sees it.

    IDLE: not started yet, or re-armed after a latch; waits for the person's start.
    RUNNING: the belt moves and ramps toward the target.
    TURNING_AROUND: slowing to the turn-around speed, then holding it with a countdown.
    PAUSED: the belt is paused (by the person, the console, a zero-speed turn-around or
        a zero target); only the person's resume moves it again.
    ENDING: a normal end, ramping down before the final stop.
    LATCHED: a safety stop; the only command is stop, leaving it needs a re-arm.
    FINISHED: the session ended with a stop; nothing moves the belt again.
    """

    IDLE = "idle"
    RUNNING = "running"
    TURNING_AROUND = "turning_around"
    PAUSED = "paused"
    ENDING = "ending"
    LATCHED = "latched"
    FINISHED = "finished"


class LatchReason(IntEnum):
    """Why the governor latched a stop, ordered by severity (the highest is reported).

    Several causes may be active at once (a lost link, then stale data); like PX4's
    failsafe, the most severe one names the latch, and each has its declared way to
    clear in :data:`~treadmill_ctl.safety.failsafe.CAUSES`. None clears on its own.
    """

    HEART_RATE = 1
    """The robust heart rate stayed above the ceiling (a controlled ramp-down first)."""
    HEART_RATE_UNKNOWN = 2
    """No valid heart rate with a ceiling set (a controlled ramp-down first)."""
    UNREQUESTED_SPEED_CHANGE = 3
    STALE_DATA = 4
    CONTROL_LOST = 5
    LINK_LOST = 6
    STOP_NOT_CONFIRMED = 7
    SAFETY_KEY = 8
    EMERGENCY_STOP = 9

    @property
    def label(self) -> str:
        """The reason as the record, MQTT and the screen spell it (``"stale_data"``).

        The value is the severity, for ordering; the label is what leaves the program.
        """
        return self.name.lower()


class ClearCondition(Enum):
    """What it takes to leave a latch. Never automatic (EN 957-6)."""

    PERSON_REARMS = "the person re-arms"
    PERSON_REARMS_WITH_LINK_UP = "the link is up again and the person re-arms"


class CueKind(StrEnum):
    """What a cue tells the person; the UI picks words, sounds or speech for each.

    One vocabulary for every cue the person gets: the governor gives the first
    group (its decisions), the session adds the rest (what it says about the plan,
    the treadmill's range and the heart rate, and the governor's alarms).
    """

    STARTING = "starting"
    RESUMING = "resuming"
    PAUSED = "paused"
    TURN_AROUND_SLOWING = "turn_around_slowing"
    TURN_AROUND_COUNTDOWN = "turn_around_countdown"
    TURN_AROUND_DONE = "turn_around_done"
    PRESS_RESUME = "press_resume"
    ENDING = "ending"
    FINISHED = "finished"
    REARMED = "rearmed"
    CONSOLE = "console"
    # the session's own
    BEFORE_START = "before_start"
    """What to do before pressing start (the side rails, the safety key)."""
    SEGMENT = "segment"
    """The profile's own words for a segment, as it begins."""
    HEADS_UP = "heads_up"
    """What comes next, said to end before the segment does (SAFETY.md rule 10)."""
    SPEED_FLOOR = "speed_floor"
    """A speed raised to the treadmill's slowest (SAFETY.md rule 12)."""
    HEART_RATE = "heart_rate"
    """The heart rate is missing, lost, or gone on without (SAFETY.md rules 13, 14)."""
    HEART_RATE_ZONE = "heart_rate_zone"
    """A step of the heart-rate guide (SAFETY.md rule 15)."""
    ALARM = "alarm"
    """The governor's alarm: the person must act now (urgent)."""
