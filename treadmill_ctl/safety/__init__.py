"""The safety governor: limits as data, and the pure state machine that applies them.

Everything here is synchronous and free of I/O; time is passed in. The session
runner feeds :class:`SafetyGovernor` requests and observations and writes the
commands it decides. One idea per module: ``limits`` (the table of defaults and hard
ceilings, the treadmill's ranges), ``validity`` (the one check of every number handed
in), ``envelope`` (caps), ``ramp`` (rates as the treadmill receives them), ``drive``
(the one place belt commands are made), ``turnaround``, ``failsafe`` (actions by
severity, latch causes, the gate every command leaves through), ``watchdogs`` (the
detectors, and their panel) and ``governor`` (the state machine over them).
"""

from treadmill_ctl.safety.decisions import (
    COMMAND_TYPES,
    Alarm,
    Command,
    Cue,
    Decision,
    Refused,
    SendIncline,
    SendPause,
    SendSpeed,
    SendStart,
    SendStop,
    StateChanged,
    TargetLimited,
    Utterance,
)
from treadmill_ctl.safety.failsafe import CAUSES, LATCH_CLEARS, Action, Cause
from treadmill_ctl.safety.governor import SafetyGovernor
from treadmill_ctl.safety.limits import (
    ABSOLUTE_BOUNDS,
    HARD_CEILINGS,
    Limits,
    MachineRanges,
    Override,
)
from treadmill_ctl.safety.observations import (
    BeltData,
    ControlLost,
    LinkDown,
    LinkUp,
    Observation,
    SafetyKeyPulled,
    SpeedWritten,
    StartedByUser,
    StoppedByUser,
    TargetSpeedChanged,
)
from treadmill_ctl.safety.requests import (
    EmergencyStop,
    End,
    Pause,
    Rearm,
    Request,
    RequestSource,
    Resume,
    SetTarget,
    Start,
)
from treadmill_ctl.safety.states import (
    ClearCondition,
    CueKind,
    Direction,
    GovernorState,
    LatchReason,
)

__all__ = [
    "ABSOLUTE_BOUNDS",
    "CAUSES",
    "COMMAND_TYPES",
    "HARD_CEILINGS",
    "LATCH_CLEARS",
    "Action",
    "Alarm",
    "BeltData",
    "Cause",
    "ClearCondition",
    "Command",
    "ControlLost",
    "Cue",
    "CueKind",
    "Decision",
    "Direction",
    "EmergencyStop",
    "End",
    "GovernorState",
    "LatchReason",
    "Limits",
    "LinkDown",
    "LinkUp",
    "MachineRanges",
    "Observation",
    "Override",
    "Pause",
    "Rearm",
    "Refused",
    "Request",
    "RequestSource",
    "Resume",
    "SafetyGovernor",
    "SafetyKeyPulled",
    "SendIncline",
    "SendPause",
    "SendSpeed",
    "SendStart",
    "SendStop",
    "SetTarget",
    "SpeedWritten",
    "Start",
    "StartedByUser",
    "StateChanged",
    "StoppedByUser",
    "TargetLimited",
    "TargetSpeedChanged",
    "Utterance",
]
