"""The physical treadmill: belt, incline motor, safety key, console and control point.

:class:`TreadmillModel` is pure: no asyncio, no wall clock. Time is passed in with
:meth:`TreadmillModel.advance` (an absolute time on the caller's clock) or
:meth:`TreadmillModel.step` (a duration), and everything physical (belt speed ramps,
distance, elapsed time, heart rate, scheduled faults, the min-speed snap-back) is
integrated exactly over that time, however large the step.

The GATT server feeds control point writes to :meth:`TreadmillModel.handle_control_point`
and sends back the response and status notifications of the :class:`ControlOutcome`;
status events that happen by themselves (console buttons, safety key, faults,
snap-back) wait in an outbox drained with :meth:`TreadmillModel.take_status_events`.
The wire values (:meth:`TreadmillModel.treadmill_data_frames` and the ranges) honour
the encoding quirks, so the server needs no treadmill knowledge of its own.
"""

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from simulator.encoding import (
    ControlPointOp,
    ControlPointRequest,
    ControlPointResponse,
    FitnessMachineFeature,
    FitnessMachineStatus,
    MachineFeature,
    RejectedRequest,
    ResultCode,
    StopControl,
    SupportedInclinationRange,
    SupportedSpeedRange,
    TargetSettingFeature,
    TrainingStatus,
    TrainingStatusCode,
    TreadmillData,
    decode_control_point,
)
from simulator.errors import SimulatorError
from simulator.faults import MODEL_FAULTS, Fault, FaultKind, FaultSchedule
from simulator.quirks import Quirk

KMH_PER_MPH: Final = 1.609344
"""One mile per hour in km/h: the belt speed of an ``mph`` machine is wire value x this."""

DEFAULT_CLIENT: Final[Hashable] = "client"
"""The client identity used when the caller tracks only one connection."""

_EPSILON: Final = 1e-9


class MachineState(StrEnum):
    """What the machine is doing, as its console would show it."""

    IDLE = "idle"
    """No workout running; the belt is stopped or coasting to a stop."""
    RUNNING = "running"
    """The belt runs toward the target speed; elapsed time counts."""
    PAUSED = "paused"
    """Paused by the user: the belt stops, the target is kept for a resume."""
    STOPPED_BY_SAFETY_KEY = "stopped_by_safety_key"
    """The safety key is out: the belt stops fast and nothing starts it."""


@dataclass(frozen=True, slots=True)
class MachineConfig:
    """The machine's build: ranges, motors and optional sensors.

    Attributes:
        min_speed_kmh: Lowest target speed the belt accepts.
        max_speed_kmh: Highest target speed.
        speed_increment_kmh: Target speed resolution (console +/- step too).
        min_incline_pct: Lowest deck incline.
        max_incline_pct: Highest deck incline.
        incline_increment_pct: Incline resolution.
        accel_kmh_per_s: How fast the belt speeds up toward its target.
        decel_kmh_per_s: How fast it slows down toward a lower target.
        stop_decel_kmh_per_s: How fast it slows down on stop or pause.
        safety_key_decel_kmh_per_s: How fast it stops when the safety key is pulled.
        incline_rate_pct_per_s: Incline motor speed.
        start_speed_kmh: The speed a start from idle goes to when no target is set.
        heart_rate: Whether the machine has a heart rate sensor (and reports it).
        resting_heart_rate_bpm: Heart rate of the simulated person at rest.
        heart_rate_time_constant_s: How slowly the heart rate follows the effort.
        stride_m: Step length, for the step count of the ``step-count-bit13`` quirk.
        snapback_delay_s: How long a below-minimum target lasts on a
            ``min-speed-snapback`` machine before it snaps back to the minimum.
    """

    min_speed_kmh: float = 0.5
    max_speed_kmh: float = 16.0
    speed_increment_kmh: float = 0.1
    min_incline_pct: float = 0.0
    max_incline_pct: float = 15.0
    incline_increment_pct: float = 0.5
    accel_kmh_per_s: float = 1.5
    decel_kmh_per_s: float = 1.5
    stop_decel_kmh_per_s: float = 3.0
    safety_key_decel_kmh_per_s: float = 5.0
    incline_rate_pct_per_s: float = 0.5
    start_speed_kmh: float = 1.0
    heart_rate: bool = True
    resting_heart_rate_bpm: float = 70.0
    heart_rate_time_constant_s: float = 15.0
    stride_m: float = 0.7
    snapback_delay_s: float = 3.0

    def __post_init__(self) -> None:
        positive = (
            "speed_increment_kmh",
            "incline_increment_pct",
            "accel_kmh_per_s",
            "decel_kmh_per_s",
            "stop_decel_kmh_per_s",
            "safety_key_decel_kmh_per_s",
            "incline_rate_pct_per_s",
            "heart_rate_time_constant_s",
            "stride_m",
        )
        for name in positive:
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise SimulatorError(f"machine config: {name} must be > 0, got {value!r}")
        if not 0 <= self.min_speed_kmh <= self.max_speed_kmh:
            raise SimulatorError("machine config: need 0 <= min_speed_kmh <= max_speed_kmh")
        if self.min_incline_pct > self.max_incline_pct:
            raise SimulatorError("machine config: min_incline_pct above max_incline_pct")
        if self.snapback_delay_s < 0:
            raise SimulatorError("machine config: snapback_delay_s must be >= 0")


@dataclass(frozen=True, slots=True)
class ControlOutcome:
    """What a control point write did: the answer and the status it caused.

    Attributes:
        request: The decoded request, or the rejection of an undecodable write.
        result: The result code to answer with.
        statuses: Fitness Machine Status notifications to send, in order, after
            the response (empty when the request failed).
    """

    request: ControlPointRequest | RejectedRequest
    result: ResultCode
    statuses: tuple[FitnessMachineStatus, ...] = ()

    @property
    def op_code(self) -> int:
        """The request op code as written (echoed in the response)."""
        if isinstance(self.request, RejectedRequest):
            return self.request.op_code
        return int(self.request.op)

    @property
    def response(self) -> ControlPointResponse:
        """The control point response ``80 <op> <result>``."""
        return ControlPointResponse(self.op_code, self.result)


class TreadmillModel:
    """A simulated FTMS treadmill, advanced with explicit time.

    Args:
        config: The machine's ranges and motors.
        quirks: Deviations from the specification to imitate (see
            :class:`~simulator.quirks.Quirk`); the model honours ``start-toggles``,
            ``needs-start``, ``mph``, ``min-speed-snapback``, ``stop-unannounced``,
            ``ignores-stop``, ``step-count-bit13`` and ``split-records``.
        faults: Scheduled faults; the model applies ``safety-key`` and
            ``console-speed`` at their time, produces frozen frames while ``frozen``
            is active and answers "operation failed" while ``cp-reject`` is active.
        start_s: The caller's clock at session time 0 (fault times are relative to it).
    """

    def __init__(
        self,
        config: MachineConfig | None = None,
        *,
        quirks: Iterable[Quirk] = (),
        faults: FaultSchedule | None = None,
        start_s: float = 0.0,
    ) -> None:
        self.config: Final = config if config is not None else MachineConfig()
        self.quirks: Final = frozenset(quirks)
        self.faults: Final = faults if faults is not None else FaultSchedule()
        self._start_s = start_s
        self._now_s = start_s
        self._state = MachineState.IDLE
        self._safety_key_in = True
        self._belt_kmh = 0.0
        self._target_kmh = 0.0
        self._incline_pct = max(self.config.min_incline_pct, min(0.0, self.config.max_incline_pct))
        self._target_incline_pct = self._incline_pct
        self._distance_m = 0.0
        self._elapsed_s = 0.0
        self._steps = 0.0
        self._heart_rate_bpm = self.config.resting_heart_rate_bpm
        self._controller: Hashable | None = None
        self._snapback_at_s: float | None = None
        self._frozen_frames: list[bytes] | None = None
        self._outbox: list[FitnessMachineStatus] = []
        # The model keeps its own queue of the faults it applies, so a server that
        # drains the schedule's due() for every kind cannot take them away.
        self._pending_faults = [f for f in self.faults.faults if f.kind in MODEL_FAULTS]

    # -- observable state ---------------------------------------------------

    @property
    def now_s(self) -> float:
        """The model's time on the caller's clock."""
        return self._now_s

    @property
    def session_s(self) -> float:
        """Seconds since the session started (the time fault specs refer to)."""
        return self._now_s - self._start_s

    @property
    def state(self) -> MachineState:
        """What the machine is doing."""
        return self._state

    @property
    def belt_speed_kmh(self) -> float:
        """How fast the belt really moves (km/h, whatever the wire unit)."""
        return self._belt_kmh

    @property
    def target_speed_kmh(self) -> float:
        """The target speed the machine holds (km/h; 0 when none)."""
        return self._target_kmh

    @property
    def incline_pct(self) -> float:
        """The deck's real incline."""
        return self._incline_pct

    @property
    def target_incline_pct(self) -> float:
        """The incline the motor is moving toward."""
        return self._target_incline_pct

    @property
    def distance_m(self) -> float:
        """Distance the belt has travelled since the last reset."""
        return self._distance_m

    @property
    def elapsed_s(self) -> float:
        """Workout time: counts while the machine is running."""
        return self._elapsed_s

    @property
    def step_count(self) -> int:
        """Steps taken, from distance and stride length."""
        return int(self._steps)

    @property
    def heart_rate_bpm(self) -> int | None:
        """The person's heart rate, or None when the machine has no sensor."""
        return round(self._heart_rate_bpm) if self._reports_heart_rate else None

    @property
    def _reports_heart_rate(self) -> bool:
        return self.config.heart_rate and Quirk.NO_HEART_RATE not in self.quirks

    @property
    def safety_key_in(self) -> bool:
        """Whether the safety key is in place."""
        return self._safety_key_in

    @property
    def controller(self) -> Hashable | None:
        """The client that holds control, or None."""
        return self._controller

    def has_control(self, client: Hashable = DEFAULT_CLIENT) -> bool:
        """Whether ``client`` holds control of the machine."""
        return self._controller is not None and self._controller == client

    # -- time -----------------------------------------------------------------

    def advance(self, now_s: float) -> None:
        """Bring the machine to time ``now_s`` on the caller's clock.

        A time earlier than the model's own is ignored (the machine cannot go back).
        """
        if now_s > self._now_s:
            self.step(now_s - self._now_s)

    def step(self, dt_s: float) -> None:
        """Let ``dt_s`` seconds pass, applying every event due on the way at its time.

        Raises:
            SimulatorError: ``dt_s`` is negative or not finite.
        """
        if not math.isfinite(dt_s) or dt_s < 0:
            raise SimulatorError(f"model step: dt_s must be a finite number >= 0, got {dt_s!r}")
        end_s = self._now_s + dt_s
        while True:
            next_event_s = self._next_event_s()
            if next_event_s is None or next_event_s > end_s:
                break
            self._integrate(max(0.0, next_event_s - self._now_s))
            self._now_s = max(self._now_s, next_event_s)
            self._fire_events()
        self._integrate(end_s - self._now_s)
        self._now_s = end_s

    def _next_event_s(self) -> float | None:
        candidates: list[float] = []
        if self._pending_faults:
            candidates.append(self._start_s + self._pending_faults[0].at_s)
        if self._snapback_at_s is not None:
            candidates.append(self._snapback_at_s)
        return min(candidates) if candidates else None

    def _fire_events(self) -> None:
        session_s = self.session_s
        while self._pending_faults and self._pending_faults[0].at_s <= session_s + _EPSILON:
            self._apply_fault(self._pending_faults.pop(0))
        if self._snapback_at_s is not None and self._snapback_at_s <= self._now_s + _EPSILON:
            self._snapback_at_s = None
            wire_minimum = self.speed_range().minimum_kmh
            if self._target_kmh < self._speed_from_wire(wire_minimum) - _EPSILON:
                self._target_kmh = self._speed_from_wire(wire_minimum)
                self._emit(FitnessMachineStatus.target_speed_changed(wire_minimum))

    def _apply_fault(self, fault: Fault) -> None:
        if fault.kind is FaultKind.SAFETY_KEY:
            self.pull_safety_key()
        elif fault.kind is FaultKind.CONSOLE_SPEED and fault.speed_kmh is not None:
            self.console_set_speed(fault.speed_kmh)

    def _belt_goal_kmh(self) -> float:
        return self._target_kmh if self._state is MachineState.RUNNING else 0.0

    def _belt_rate(self, goal_kmh: float) -> float:
        if goal_kmh > self._belt_kmh:
            return self.config.accel_kmh_per_s
        if self._state is MachineState.STOPPED_BY_SAFETY_KEY:
            return self.config.safety_key_decel_kmh_per_s
        if self._state is MachineState.RUNNING:
            return self.config.decel_kmh_per_s
        return self.config.stop_decel_kmh_per_s

    def _integrate(self, dt_s: float) -> None:
        """Integrate the physics over ``dt_s`` with no event in between (exact)."""
        if dt_s <= 0:
            return
        goal = self._belt_goal_kmh()
        rate = self._belt_rate(goal)
        v0 = self._belt_kmh
        ramp_s = abs(goal - v0) / rate
        if ramp_s >= dt_s:
            v1 = v0 + math.copysign(rate * dt_s, goal - v0)
            distance_km = (v0 + v1) / 2 * dt_s / 3600
        else:
            v1 = goal
            distance_km = ((v0 + goal) / 2 * ramp_s + goal * (dt_s - ramp_s)) / 3600
        self._belt_kmh = v1
        self._distance_m += distance_km * 1000
        self._steps += distance_km * 1000 / self.config.stride_m
        if self._state is MachineState.RUNNING:
            self._elapsed_s += dt_s
        if self._state is not MachineState.STOPPED_BY_SAFETY_KEY:
            gap = self._target_incline_pct - self._incline_pct
            move = min(abs(gap), self.config.incline_rate_pct_per_s * dt_s)
            self._incline_pct += math.copysign(move, gap)
        effort_bpm = (
            self.config.resting_heart_rate_bpm
            + 9.0 * self._belt_kmh
            + 0.8 * max(self._incline_pct, 0.0) * self._belt_kmh
        )
        effort_bpm = min(effort_bpm, 200.0)
        blend = 1 - math.exp(-dt_s / self.config.heart_rate_time_constant_s)
        self._heart_rate_bpm += (effort_bpm - self._heart_rate_bpm) * blend

    # -- wire units -----------------------------------------------------------

    def _wire_speed(self, kmh: float) -> float:
        """A km/h speed as the machine writes it (mph on an ``mph`` machine)."""
        value = kmh / KMH_PER_MPH if Quirk.MPH in self.quirks else kmh
        return round(value, 2)

    def _speed_from_wire(self, value: float) -> float:
        return value * KMH_PER_MPH if Quirk.MPH in self.quirks else value

    def speed_range(self) -> SupportedSpeedRange:
        """Supported Speed Range (0x2AD4), in wire units.

        An ``mph`` machine states its range in mph, on its own 0.1-unit grid: the
        configured km/h range converted and rounded inward to the increment, which
        stays the configured number (a console steps in tenths of its own unit).
        """
        increment = self.config.speed_increment_kmh
        if Quirk.MPH not in self.quirks:
            return SupportedSpeedRange(
                self.config.min_speed_kmh, self.config.max_speed_kmh, increment
            )
        lo = math.ceil(self.config.min_speed_kmh / KMH_PER_MPH / increment - _EPSILON)
        hi = math.floor(self.config.max_speed_kmh / KMH_PER_MPH / increment + _EPSILON)
        return SupportedSpeedRange(round(lo * increment, 2), round(hi * increment, 2), increment)

    def _quantise_wire_speed(self, wire_value: float) -> float:
        """Clamp a wire speed into the range and onto its increment grid."""
        wire_range = self.speed_range()
        lo, hi = wire_range.minimum_kmh, wire_range.maximum_kmh
        clamped = min(max(wire_value, lo), hi)
        steps = round((clamped - lo) / wire_range.increment_kmh)
        return min(round(lo + steps * wire_range.increment_kmh, 2), hi)

    def inclination_range(self) -> SupportedInclinationRange:
        """Supported Inclination Range (0x2AD5)."""
        return SupportedInclinationRange(
            self.config.min_incline_pct,
            self.config.max_incline_pct,
            self.config.incline_increment_pct,
        )

    def feature(self) -> FitnessMachineFeature:
        """Fitness Machine Feature (0x2ACC): what the data carries, what can be set."""
        machine = (
            MachineFeature.TOTAL_DISTANCE | MachineFeature.INCLINATION | MachineFeature.ELAPSED_TIME
        )
        if self._reports_heart_rate:
            machine |= MachineFeature.HEART_RATE_MEASUREMENT
        target = TargetSettingFeature.SPEED_TARGET | TargetSettingFeature.INCLINATION_TARGET
        return FitnessMachineFeature(machine, target)

    def training_status(self) -> TrainingStatus:
        """Training Status (0x2AD3): manual mode while running, idle otherwise."""
        if self._state is MachineState.RUNNING:
            return TrainingStatus(TrainingStatusCode.MANUAL_MODE)
        return TrainingStatus(TrainingStatusCode.IDLE)

    def treadmill_data(self) -> TreadmillData:
        """The current Treadmill Data record (one whole record, wire units)."""
        incline = round(self._incline_pct, 1)
        return TreadmillData(
            speed_kmh=self._wire_speed(self._belt_kmh),
            total_distance_m=min(int(self._distance_m), 0xFFFFFF),
            inclination_pct=incline,
            ramp_angle_deg=round(math.degrees(math.atan(incline / 100)), 1),
            heart_rate_bpm=self.heart_rate_bpm,
            elapsed_s=min(int(self._elapsed_s), 0xFFFF),
            step_count=(
                min(self.step_count, 0xFFFFFF) if Quirk.STEP_COUNT_BIT13 in self.quirks else None
            ),
        )

    def treadmill_data_frames(self) -> list[bytes]:
        """The Treadmill Data notification payloads to send now (one or two).

        Two with ``split-records`` (the first with More Data set). While a
        ``frozen`` fault is active, the frames captured at its onset are returned
        again and again, byte-identical, elapsed time included.
        """
        if self.faults.is_active(FaultKind.FROZEN, self.session_s):
            if self._frozen_frames is None:
                self._frozen_frames = self._fresh_frames()
            return list(self._frozen_frames)
        self._frozen_frames = None
        return self._fresh_frames()

    def _fresh_frames(self) -> list[bytes]:
        record = self.treadmill_data()
        if Quirk.SPLIT_RECORDS in self.quirks:
            return [bytes(part) for part in record.split()]
        return [bytes(record)]

    # -- status outbox ----------------------------------------------------------

    def _emit(self, status: FitnessMachineStatus) -> None:
        self._outbox.append(status)

    def take_status_events(self) -> list[FitnessMachineStatus]:
        """Status notifications that happened by themselves since the last call.

        Console buttons, the safety key, faults and the snap-back put their status
        here; the server notifies them (``bytes(status)``) and the list empties.
        Statuses caused by a control point write are in its :class:`ControlOutcome`.
        """
        statuses, self._outbox = self._outbox, []
        return statuses

    # -- control point ------------------------------------------------------------

    def handle_control_point(
        self, data: bytes, *, client: Hashable = DEFAULT_CLIENT
    ) -> ControlOutcome:
        """Carry out one control point write, as the machine would.

        Args:
            data: The bytes written to 0x2AD9.
            client: Who wrote them (e.g. the connection handle), for control
                permission; one client can use the default.

        Returns:
            The result code and the status notifications the request caused.
            Arbitrary bytes never raise.
        """
        request = decode_control_point(data)
        if isinstance(request, RejectedRequest):
            return ControlOutcome(request, request.result)
        if self.faults.is_active(FaultKind.CP_REJECT, self.session_s):
            return ControlOutcome(request, ResultCode.OPERATION_FAILED)
        if request.op is ControlPointOp.REQUEST_CONTROL:
            if self._controller is not None and self._controller != client:
                return ControlOutcome(request, ResultCode.CONTROL_NOT_PERMITTED)
            self._controller = client
            return ControlOutcome(request, ResultCode.SUCCESS)
        if not self.has_control(client):
            return ControlOutcome(request, ResultCode.CONTROL_NOT_PERMITTED)
        result, statuses = self._carry_out(request)
        return ControlOutcome(
            request, result, tuple(statuses) if result is ResultCode.SUCCESS else ()
        )

    def _carry_out(
        self, request: ControlPointRequest
    ) -> tuple[ResultCode, list[FitnessMachineStatus]]:
        match request.op:
            case ControlPointOp.RESET:
                return self._reset()
            case ControlPointOp.SET_TARGET_SPEED:
                return self._set_target_speed(request.speed_kmh or 0.0)
            case ControlPointOp.SET_TARGET_INCLINATION:
                return self._set_target_incline(request.incline_pct or 0.0)
            case ControlPointOp.START_OR_RESUME:
                return self._start_from_control_point()
            case ControlPointOp.STOP_OR_PAUSE:
                return self._stop_from_control_point(request.stop_control or StopControl.STOP)
            case _:  # pragma: no cover - decode_control_point only yields the above
                return ResultCode.OP_CODE_NOT_SUPPORTED, []

    def _reset(self) -> tuple[ResultCode, list[FitnessMachineStatus]]:
        if self._state is not MachineState.STOPPED_BY_SAFETY_KEY:
            self._state = MachineState.IDLE
        self._target_kmh = 0.0
        self._snapback_at_s = None
        self._target_incline_pct = max(self.config.min_incline_pct, 0.0)
        self._distance_m = 0.0
        self._elapsed_s = 0.0
        self._steps = 0.0
        self._controller = None
        return ResultCode.SUCCESS, [FitnessMachineStatus.reset()]

    def _set_target_speed(self, wire_value: float) -> tuple[ResultCode, list[FitnessMachineStatus]]:
        if not self._safety_key_in:
            return ResultCode.OPERATION_FAILED, []
        if Quirk.NEEDS_START in self.quirks and self._state is not MachineState.RUNNING:
            return ResultCode.OPERATION_FAILED, []
        wire_range = self.speed_range()
        snapback = False
        if wire_value > wire_range.maximum_kmh + _EPSILON:
            return ResultCode.INVALID_PARAMETER, []
        if wire_value < wire_range.minimum_kmh - _EPSILON:
            if Quirk.MIN_SPEED_SNAPBACK not in self.quirks:
                return ResultCode.INVALID_PARAMETER, []
            snapback = True
        else:
            wire_value = self._quantise_wire_speed(wire_value)
        self._target_kmh = self._speed_from_wire(wire_value)
        self._snapback_at_s = self._now_s + self.config.snapback_delay_s if snapback else None
        return ResultCode.SUCCESS, [FitnessMachineStatus.target_speed_changed(wire_value)]

    def _set_target_incline(
        self, incline_pct: float
    ) -> tuple[ResultCode, list[FitnessMachineStatus]]:
        if not self._safety_key_in:
            return ResultCode.OPERATION_FAILED, []
        lo, hi, inc = (
            self.config.min_incline_pct,
            self.config.max_incline_pct,
            self.config.incline_increment_pct,
        )
        if not lo - _EPSILON <= incline_pct <= hi + _EPSILON:
            return ResultCode.INVALID_PARAMETER, []
        quantised = min(round(lo + round((incline_pct - lo) / inc) * inc, 1), hi)
        self._target_incline_pct = quantised
        return ResultCode.SUCCESS, [FitnessMachineStatus.target_incline_changed(quantised)]

    def _start_from_control_point(self) -> tuple[ResultCode, list[FitnessMachineStatus]]:
        if not self._safety_key_in:
            return ResultCode.OPERATION_FAILED, []
        if self._state is MachineState.RUNNING:
            if Quirk.START_TOGGLES in self.quirks:
                self._state = MachineState.PAUSED
                return ResultCode.SUCCESS, [FitnessMachineStatus.stopped_by_user(StopControl.PAUSE)]
            return ResultCode.SUCCESS, []
        return ResultCode.SUCCESS, self._start()

    def _stop_from_control_point(
        self, control: StopControl
    ) -> tuple[ResultCode, list[FitnessMachineStatus]]:
        if Quirk.IGNORES_STOP in self.quirks:
            # The faulty machine claims to obey, and the belt runs on.
            return ResultCode.SUCCESS, [FitnessMachineStatus.stopped_by_user(control)]
        return ResultCode.SUCCESS, self._stop(control)

    def _start(self) -> list[FitnessMachineStatus]:
        """Start or resume the belt (the caller checked the safety key)."""
        if self._target_kmh < _EPSILON:
            start = self._quantise_wire_speed(self._wire_speed(self.config.start_speed_kmh))
            self._target_kmh = self._speed_from_wire(start)
        self._state = MachineState.RUNNING
        return [FitnessMachineStatus.started_by_user()]

    def _stop(self, control: StopControl) -> list[FitnessMachineStatus]:
        if control is StopControl.PAUSE:
            if self._state is not MachineState.RUNNING:
                return []
            self._state = MachineState.PAUSED
            return [FitnessMachineStatus.stopped_by_user(StopControl.PAUSE)]
        if self._state not in (MachineState.RUNNING, MachineState.PAUSED):
            return []
        self._state = MachineState.IDLE
        self._target_kmh = 0.0
        self._snapback_at_s = None
        return [FitnessMachineStatus.stopped_by_user(StopControl.STOP)]

    def client_disconnected(self, client: Hashable = DEFAULT_CLIENT) -> None:
        """Forget ``client``'s control: FTMS control does not survive a disconnect."""
        if self._controller is not None and self._controller == client:
            self._controller = None

    def revoke_control(self) -> None:
        """Take control away from the client, announcing it with status 0xFF."""
        if self._controller is not None:
            self._controller = None
            self._emit(FitnessMachineStatus.control_permission_lost())

    # -- the person at the machine ----------------------------------------------------

    def press_start(self) -> None:
        """The console start button: starts or resumes the belt (status 0x04)."""
        if self._safety_key_in and self._state is not MachineState.RUNNING:
            for status in self._start():
                self._emit(status)

    def press_stop(self) -> None:
        """The console stop button: status 0x02 0x01, unless ``stop-unannounced``."""
        statuses = self._stop(StopControl.STOP)
        if Quirk.STOP_UNANNOUNCED not in self.quirks:
            for status in statuses:
                self._emit(status)

    def press_pause(self) -> None:
        """The console pause button: status 0x02 0x02."""
        for status in self._stop(StopControl.PAUSE):
            self._emit(status)

    def press_speed_up(self) -> None:
        """The console + key: one increment up while running (status 0x05)."""
        if self._state is MachineState.RUNNING:
            self._console_set_wire_speed(
                self._wire_speed(self._target_kmh) + self.speed_range().increment_kmh
            )

    def press_speed_down(self) -> None:
        """The console - key: one increment down while running (status 0x05)."""
        if self._state is MachineState.RUNNING:
            self._console_set_wire_speed(
                self._wire_speed(self._target_kmh) - self.speed_range().increment_kmh
            )

    def console_set_speed(self, speed_kmh: float) -> None:
        """Someone sets a speed on the console: the belt goes there by itself.

        The speed (real km/h, whatever the wire unit) is clamped to the machine's
        range and quantised to its increment; the change is announced with status
        0x05 in wire units.
        """
        self._console_set_wire_speed(self._wire_speed(speed_kmh))

    def _console_set_wire_speed(self, wire_value: float) -> None:
        if not self._safety_key_in:
            return
        quantised = self._quantise_wire_speed(wire_value)
        self._target_kmh = self._speed_from_wire(quantised)
        self._snapback_at_s = None
        self._emit(FitnessMachineStatus.target_speed_changed(quantised))

    def pull_safety_key(self) -> None:
        """The clip comes off: the belt stops fast and status 0x03 is sent."""
        if not self._safety_key_in:
            return
        self._safety_key_in = False
        self._state = MachineState.STOPPED_BY_SAFETY_KEY
        self._target_kmh = 0.0
        self._snapback_at_s = None
        self._emit(FitnessMachineStatus.stopped_by_safety_key())

    def insert_safety_key(self) -> None:
        """The clip goes back: the machine is idle again; nothing starts by itself."""
        if self._safety_key_in:
            return
        self._safety_key_in = True
        self._state = MachineState.IDLE
