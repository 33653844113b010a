"""The simulated plant: the PyBullet pendulum advanced in (wall-clock or virtual) time.

The control loop drives it through :class:`ddpg_control.runtime.contracts.Plant`, exactly as it
drives a serial motor driver; the hardware emulator puts it behind the serial protocol.
"""

from __future__ import annotations

import logging
import math
from collections import deque

import numpy as np

from ddpg_control.runtime.contracts import Clock, JointState, Plant, wrap_angle
from ddpg_control.runtime.errors import PlantError
from sim.actuator import noisy_torque
from sim.bullet_pendulum import PendulumBody
from sim.params import PendulumParams, SimConfigError
from sim.sensor import measure

logger = logging.getLogger(__name__)

#: Tolerance when deciding whether a physics step has elapsed, so a virtual clock that lands on
#: exact multiples of the period is not one step short through float rounding.
_STEP_EPSILON = 1e-9
#: Remainders shorter than this (seconds) are not simulated: they are float rounding.
_MIN_PARTIAL_S = 1e-9


class SimPlant(Plant):
    """A :class:`~ddpg_control.runtime.contracts.Plant` backed by the PyBullet pendulum.

    Time comes from ``clock`` and starts at construction: :meth:`read` (and :meth:`apply`)
    advance the physics from where it stopped to ``clock.now()``, holding the last applied
    torque (zero-order hold, after ``params.action_latency_s``). It takes whole physics steps
    (``params.physics_dt_s``) and, when ``now`` falls between two, one shorter step to land on
    it, after which whole steps continue from there. So with a real monotonic clock the state
    is the state at the moment of reading, whatever the loop's phase or jitter; with a virtual
    clock ticking in multiples of the control period there are only whole steps and the plant
    reproduces the env step for step.

    The reading goes through the same sensor and actuator models as the env (:mod:`sim.sensor`,
    :mod:`sim.actuator`): measurement delay, Gaussian noise (drawn from a generator seeded by
    ``seed``), encoder counts; ``velocity_rad_s`` is NaN when ``params.reports_velocity`` is
    false (the loop then needs the policy's velocity estimator). ``angle_rad`` is wrapped to
    [-pi, pi); ``timestamp_s`` is the simulated time on the ``clock``'s time base. ``status`` is
    always 0 (a simulator has no faults).

    :meth:`apply` clips to ``max_torque_nm`` and refuses non-finite torques (zero torque is
    applied and :class:`~ddpg_control.runtime.errors.PlantError` raised). Every torque actually
    applied is recorded in :attr:`applied_torques_nm`, for safety tests; the record keeps the latest
    ``record_limit`` torques, so a long session (the emulator at 1 kHz for hours) does not grow.
    """

    def __init__(
        self,
        params: PendulumParams | None = None,
        *,
        clock: Clock,
        start_angle_rad: float = math.pi,
        start_velocity_rad_s: float = 0.0,
        render: bool = False,
        seed: int | None = None,
        record_limit: int = 100_000,
    ) -> None:
        if record_limit < 1:
            raise SimConfigError(f"record_limit must be at least 1, got {record_limit}")
        if params is None:
            params = PendulumParams()
        if not isinstance(params, PendulumParams):
            raise SimConfigError(f"params must be a PendulumParams, got {type(params).__name__}")
        if not (math.isfinite(start_angle_rad) and math.isfinite(start_velocity_rad_s)):
            raise SimConfigError(
                f"start state must be finite, got ({start_angle_rad!r}, {start_velocity_rad_s!r})"
            )
        self._params = params
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self._body = PendulumBody(params, gui=render)
        self._body.reset_state(start_angle_rad, start_velocity_rad_s)
        self._body.rng = self._rng
        self._torque_nm = 0.0
        self._applied: deque[float] = deque(maxlen=record_limit)
        self._start_s = clock.now()
        self._grid_start_s = self._start_s  # whole physics steps are counted from here
        self._steps_done = 0
        self._closed = False

    @property
    def max_torque_nm(self) -> float:
        return self._params.max_torque_nm

    @property
    def params(self) -> PendulumParams:
        return self._params

    @property
    def applied_torques_nm(self) -> tuple[float, ...]:
        """The latest torques applied (after clipping), in order; stop() records 0.0."""
        return tuple(self._applied)

    @property
    def torque_nm(self) -> float:
        """The torque being held now."""
        return self._torque_nm

    @property
    def sim_time_s(self) -> float:
        """Simulated time reached, on the clock's time base."""
        return self._grid_start_s + self._steps_done * self._params.physics_dt_s

    def true_state(self) -> tuple[float, float]:
        """The simulated ``(angle_rad, velocity_rad_s)`` at ``clock.now()``, without noise."""
        self._check_open()
        self._advance_to_now()
        angle_rad, velocity_rad_s = self._body.state()
        return wrap_angle(angle_rad), velocity_rad_s

    def _check_open(self) -> None:
        if self._closed:
            raise PlantError("the simulated plant is closed; create a new SimPlant")

    def _advance_to_now(self) -> None:
        dt = self._params.physics_dt_s
        now_s = self._clock.now()
        target_steps = math.floor((now_s - self._grid_start_s) / dt + _STEP_EPSILON)
        if target_steps > self._steps_done:
            self._body.advance(self._torque_nm, target_steps - self._steps_done)
            self._steps_done = target_steps
        remainder_s = now_s - self.sim_time_s
        if remainder_s > _MIN_PARTIAL_S:
            self._body.advance_partial(self._torque_nm, min(remainder_s, dt))
            self._grid_start_s, self._steps_done = now_s, 0

    def read(self) -> JointState:
        self._check_open()
        self._advance_to_now()
        angle_rad, velocity_rad_s = measure(*self._body.measured_state(), self._params, self._rng)
        return JointState(
            angle_rad=wrap_angle(angle_rad),
            velocity_rad_s=velocity_rad_s,
            timestamp_s=self.sim_time_s,
            status=0,
        )

    def apply(self, torque_nm: float) -> None:
        self._check_open()
        torque = float(torque_nm)
        if not math.isfinite(torque):
            self._hold(0.0)
            raise PlantError(f"refusing non-finite torque {torque_nm!r}; zero torque applied")
        limit = self._params.max_torque_nm
        self._hold(min(max(torque, -limit), limit))

    def _hold(self, torque_nm: float) -> None:
        # Physics up to now ran with the previous torque; the new one holds from here on.
        self._advance_to_now()
        self._torque_nm = noisy_torque(torque_nm, self._params, self._rng)
        self._applied.append(torque_nm)

    def stop(self) -> None:
        if not self._closed:
            self._hold(0.0)

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            self._body.close()
            logger.debug("simulated plant closed after %.3f s", self.sim_time_s - self._start_s)
