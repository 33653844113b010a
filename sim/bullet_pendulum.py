"""The pendulum as a PyBullet multibody, shared by the Gymnasium env and the real-time plant.

How PyBullet reproduces ``Pendulum-v1`` (and why each setting is needed):

* One revolute link on a fixed base, built with ``createMultiBody`` (reduced coordinates,
  Featherstone). Its inertial frame sits at ``l/2`` along the rod with inertia ``m l^2 / 12``
  about the centre of mass, so the pivot inertia is ``m l^2 / 3`` and gravity acts with lever
  ``l/2``: the equation of motion is exactly Pendulum-v1's
  ``theta_ddot = 3 g / (2 l) sin(theta) + 3 / (m l^2) u``.
* Bullet's multibody step is semi-implicit Euler: it adds ``theta_ddot * dt`` to the joint
  velocity, clamps the velocity to the link's ``maxJointVelocity``, then advances the angle by
  ``velocity * dt``. With ``dt`` equal to the control period (0.05 s, one sub-step) and
  ``maxJointVelocity = 8`` that is Pendulum-v1's update, clip included, computed by PyBullet.
* PyBullet adds things Pendulum-v1 has not: every joint gets a velocity motor (target 0) that
  brakes it, and every link gets linear/angular damping 0.04. Both are switched off here; the
  velocity motor is then reused, with its force limit set to ``joint_friction_nm``, as the
  joint's Coulomb friction (zero in the default preset). ``bullet_defaults=True`` keeps them on;
  it exists so a test can show they break the match.
* Pendulum-v1 multiplies the float32 action by ``3 / (m l^2)`` in float32 arithmetic. The torque
  handed to PyBullet is rounded the same way (a relative change below 1e-7 N*m, far under any
  actuator's resolution), which keeps the angle within 4e-12 rad of Pendulum-v1 over an episode.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import sys
import weakref

import numpy as np
import numpy.typing as npt

from sim.actuator import MotorResponse, Pushes
from sim.params import PendulumParams, SimConfigError
from sim.quiet_import import import_pybullet
from sim.sensor import DelayLine

pybullet = import_pybullet()

_JOINT = 0
_ROD_COLOUR = (0.80, 0.30, 0.30, 1.0)
_AXLE_COLOUR = (0.10, 0.10, 0.10, 1.0)
_GOAL_COLOUR = (0.75, 0.75, 0.75, 1.0)
#: Below this speed (rad/s) the joint counts as stuck and friction holds up to ``stiction_nm``.
STICK_VELOCITY_RAD_S = 1e-3


def _pendulum_v1_torque(torque_nm: float, params: PendulumParams) -> float:
    """The motor's torque for a command (``torque_scale * command + torque_offset_nm``), rounded
    so that PyBullet's ``torque / I_pivot`` equals Pendulum-v1's float32 term."""
    torque_nm = params.torque_scale * torque_nm + params.torque_offset_nm
    gain = 3.0 / (params.mass_kg * params.length_m**2)
    acceleration = float(np.float32(gain) * np.float32(torque_nm))
    return acceleration * params.pivot_inertia_kg_m2


def _disconnect(client_id: int) -> None:
    with contextlib.suppress(pybullet.error):  # already gone
        pybullet.disconnect(physicsClientId=client_id)


class PendulumBody:
    """One PyBullet physics client holding one pendulum. Call :meth:`close` when done.

    Each instance owns its own physics client (DIRECT, or GUI when asked) and passes its id to
    every PyBullet call, so any number of pendulums live side by side and closing one frees its
    client. A pendulum dropped without :meth:`close` is disconnected when garbage collected.
    The angle is kept unwrapped (as Pendulum-v1 keeps it); callers wrap it if they need to.
    """

    def __init__(
        self, params: PendulumParams, *, gui: bool = False, bullet_defaults: bool = False
    ) -> None:
        if gui and sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            # PyBullet's GUI ends the whole process when it cannot reach an X server.
            raise SimConfigError(
                "the PyBullet window needs a display (DISPLAY is not set); "
                "use render_mode='rgb_array' (or record a GIF) on a headless machine"
            )
        client_id = pybullet.connect(pybullet.GUI if gui else pybullet.DIRECT)
        if client_id < 0:
            raise SimConfigError(
                "could not start a PyBullet physics client"
                + (": is a display available? Use render_mode='rgb_array'" if gui else "")
            )
        self._cid = int(client_id)
        if gui:
            # Face the pendulum as the rgb_array camera does (from -y, +x to the right).
            pybullet.configureDebugVisualizer(pybullet.COV_ENABLE_GUI, 0, physicsClientId=self._cid)
            pybullet.resetDebugVisualizerCamera(
                cameraDistance=3.0 * params.length_m,
                cameraYaw=0.0,
                cameraPitch=0.0,
                cameraTargetPosition=[0.0, 0.0, 0.0],
                physicsClientId=self._cid,
            )
        self._finalizer = weakref.finalize(self, _disconnect, self._cid)
        self._bullet_defaults = bullet_defaults
        self._params = params
        self._body = -1
        self._built_length_m = math.nan
        self._pending: collections.deque[float] = collections.deque()
        self._partial_s = 0.0  # time run in partial steps since the latency line last moved
        #: Draws for pushes; the owner (env or plant) sets its own seeded generator.
        self.rng = np.random.default_rng(0)
        self._motor = MotorResponse(params)
        self._pushes = Pushes(params)
        self._delay = DelayLine(0)
        self._friction_nm = 0.0
        self.configure(params)

    @property
    def client_id(self) -> int:
        """The PyBullet physics client id this pendulum owns."""
        return self._cid

    @property
    def body_id(self) -> int:
        """The PyBullet body id of the pendulum (its joint and link are index 0)."""
        return self._body

    @property
    def params(self) -> PendulumParams:
        return self._params

    @property
    def is_open(self) -> bool:
        return self._finalizer.alive

    def _check_open(self) -> None:
        if not self._finalizer.alive:
            raise RuntimeError("the PyBullet pendulum is closed; create a new one")

    def _build(self, length_m: float) -> None:
        cid = self._cid
        if self._body >= 0:
            pybullet.resetSimulation(physicsClientId=cid)
        rod = pybullet.createVisualShape(
            pybullet.GEOM_CAPSULE,
            radius=0.04,
            length=length_m,
            rgbaColor=_ROD_COLOUR,
            visualFramePosition=[0.0, 0.0, length_m / 2.0],
            physicsClientId=cid,
        )
        axle = pybullet.createVisualShape(
            pybullet.GEOM_CYLINDER,
            radius=0.06,
            length=0.12,
            rgbaColor=_AXLE_COLOUR,
            visualFrameOrientation=pybullet.getQuaternionFromEuler([math.pi / 2.0, 0.0, 0.0]),
            physicsClientId=cid,
        )
        # A thin grey line behind the pendulum marks the goal: upright.
        goal = pybullet.createVisualShape(
            pybullet.GEOM_BOX,
            halfExtents=[0.008, 0.005, length_m / 2.0],
            rgbaColor=_GOAL_COLOUR,
            visualFramePosition=[0.0, 0.15, length_m / 2.0],
            physicsClientId=cid,
        )
        pybullet.createMultiBody(baseMass=0.0, baseVisualShapeIndex=goal, physicsClientId=cid)
        # theta = 0 points the rod up (+z). The joint axis is -y, so seen from -y (where the
        # renderer's camera sits, +x to the right) a positive angle turns the rod counter-clockwise.
        self._body = pybullet.createMultiBody(
            baseMass=0.0,
            baseVisualShapeIndex=axle,
            linkMasses=[self._params.mass_kg],
            linkCollisionShapeIndices=[-1],
            linkVisualShapeIndices=[rod],
            linkPositions=[[0.0, 0.0, 0.0]],
            linkOrientations=[[0.0, 0.0, 0.0, 1.0]],
            linkInertialFramePositions=[[0.0, 0.0, length_m / 2.0]],
            linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]],
            linkParentIndices=[0],
            linkJointTypes=[pybullet.JOINT_REVOLUTE],
            linkJointAxis=[[0.0, -1.0, 0.0]],
            physicsClientId=cid,
        )
        self._built_length_m = length_m

    def configure(self, params: PendulumParams) -> None:
        """Apply ``params`` (mass, inertia, damping, friction, limits, time step).

        A new length moves the centre of mass, which PyBullet cannot change in place, so the
        body is rebuilt (the joint state is reset to zero; call :meth:`reset_state` after).
        """
        self._check_open()
        cid = self._cid
        self._params = params
        self._motor = MotorResponse(params)
        self._pushes = Pushes(params)
        self._delay = DelayLine(params.measurement_delay_substeps)
        if params.length_m != self._built_length_m:
            self._build(params.length_m)
        body = self._body
        m, length = params.mass_kg, params.length_m
        pybullet.setGravity(0.0, 0.0, -params.gravity_m_s2, physicsClientId=cid)
        pybullet.setTimeStep(params.physics_dt_s, physicsClientId=cid)
        pybullet.setPhysicsEngineParameter(numSubSteps=0, physicsClientId=cid)
        # One changeDynamics call per group: PyBullet silently drops localInertiaDiagonal when
        # it is combined with the damping arguments in a single call.
        inertia = m * length**2 / 12.0
        pybullet.changeDynamics(body, _JOINT, mass=m, physicsClientId=cid)
        pybullet.changeDynamics(
            body, _JOINT, localInertiaDiagonal=[inertia, inertia, inertia], physicsClientId=cid
        )
        pybullet.changeDynamics(
            body, _JOINT, maxJointVelocity=params.max_velocity_rad_s, physicsClientId=cid
        )
        if self._bullet_defaults:
            return
        pybullet.changeDynamics(
            body, _JOINT, linearDamping=0.0, angularDamping=0.0, physicsClientId=cid
        )
        pybullet.changeDynamics(
            body, _JOINT, jointDamping=params.joint_damping_nm_s_rad, physicsClientId=cid
        )
        # The velocity motor with target 0 and a force limit is Coulomb friction with stiction.
        self._set_friction(params.joint_friction_nm)

    def _set_friction(self, force_nm: float) -> None:
        """PyBullet turns the force limit into an impulse limit with the time step current at
        this call, so it is set again whenever the time step changes."""
        self._friction_nm = force_nm
        if self._bullet_defaults:
            return
        pybullet.setJointMotorControl2(
            self._body,
            _JOINT,
            pybullet.VELOCITY_CONTROL,
            targetVelocity=0.0,
            force=force_nm,
            physicsClientId=self._cid,
        )

    def _update_stiction(self) -> None:
        """Breakaway friction: ``stiction_nm`` holds a stuck joint, ``joint_friction_nm`` brakes
        a moving one (only when stiction exceeds the sliding friction)."""
        params = self._params
        if params.stiction_nm <= params.joint_friction_nm or self._bullet_defaults:
            return
        velocity = pybullet.getJointState(self._body, _JOINT, physicsClientId=self._cid)[1]
        wanted = (
            params.stiction_nm if abs(velocity) < STICK_VELOCITY_RAD_S else params.joint_friction_nm
        )
        if wanted != self._friction_nm:
            self._set_friction(wanted)

    def reset_state(self, angle_rad: float, velocity_rad_s: float) -> None:
        """Put the joint at a state and forget torques still in the latency line."""
        self._check_open()
        pybullet.resetJointState(
            self._body,
            _JOINT,
            targetValue=angle_rad,
            targetVelocity=velocity_rad_s,
            physicsClientId=self._cid,
        )
        self._pending = collections.deque([0.0] * self._params.latency_substeps)
        self._partial_s = 0.0
        self._motor.reset()
        self._pushes.reset()
        self._delay.reset(angle_rad, velocity_rad_s)

    def state(self) -> tuple[float, float]:
        """``(angle_rad, velocity_rad_s)``, angle unwrapped."""
        self._check_open()
        angle, velocity = pybullet.getJointState(self._body, _JOINT, physicsClientId=self._cid)[:2]
        return float(angle), float(velocity)

    def measured_state(self) -> tuple[float, float]:
        """``(angle_rad, velocity_rad_s)`` as the sensor sees it: ``measurement_delay_s`` ago
        (whole physics steps), before noise and quantisation (:func:`sim.sensor.measure`)."""
        if self._delay.delay_steps == 0:
            return self.state()
        return self._delay.delayed()

    def _step(self, command_nm: float, duration_s: float | None = None) -> None:
        """One physics step: the motor's response to ``command_nm``, pushes, friction."""
        cid, params = self._cid, self._params
        produced = self._motor.step(command_nm)
        applied = _pendulum_v1_torque(produced, params) + self._pushes.step(self.rng)
        self._update_stiction()
        pybullet.setJointMotorControl2(
            self._body, _JOINT, pybullet.TORQUE_CONTROL, force=applied, physicsClientId=cid
        )
        if duration_s is None:
            pybullet.stepSimulation(physicsClientId=cid)
        else:
            pybullet.setTimeStep(duration_s, physicsClientId=cid)
            try:
                self._set_friction(self._friction_nm)  # the impulse limit of a shorter step
                pybullet.stepSimulation(physicsClientId=cid)
            finally:
                pybullet.setTimeStep(params.physics_dt_s, physicsClientId=cid)
                self._set_friction(self._friction_nm)
        if self._delay.delay_steps:
            self._delay.push(*self.state())

    def advance(self, torque_nm: float, substeps: int) -> None:
        """Run ``substeps`` physics steps with ``torque_nm`` commanded (after any latency)."""
        self._check_open()
        pending = self._pending
        command = torque_nm
        for _ in range(substeps):
            applied = command
            if pending:
                pending.append(command)
                applied = pending.popleft()
            self._step(applied)

    def advance_partial(self, torque_nm: float, duration_s: float) -> None:
        """One physics step shorter than ``physics_dt_s`` (to land exactly on a read time).

        The torque applied is the one due now (the head of the latency line). Partial steps add
        up: each time they reach ``physics_dt_s`` the latency line moves one step, so latency
        holds in time (to within a step) however often a real-time reader splits the steps.
        Friction's impulse limit is scaled to the shorter step. The motor response, pushes and
        the measurement delay line advance as for a whole step (an approximation only a
        wall-clock plant meets: in virtual time the plant takes whole steps).
        """
        self._check_open()
        if not 0.0 < duration_s <= self._params.physics_dt_s:
            raise ValueError(f"a partial step must be in (0, physics_dt_s], got {duration_s!r}")
        applied = self._pending[0] if self._pending else torque_nm
        self._step(applied, duration_s)
        self._partial_s += duration_s
        if self._partial_s >= self._params.physics_dt_s * (1.0 - 1e-9):
            self._partial_s -= self._params.physics_dt_s
            if self._pending:
                self._pending.append(torque_nm)
                self._pending.popleft()

    def render_rgb(self, width: int, height: int) -> npt.NDArray[np.uint8]:
        """A frame (height x width x 3, uint8) from a camera in front of the pendulum."""
        self._check_open()
        extent = 1.2 * self._params.length_m + 0.15
        view = pybullet.computeViewMatrix(
            cameraEyePosition=[0.0, -4.0, 0.0],
            cameraTargetPosition=[0.0, 0.0, 0.0],
            cameraUpVector=[0.0, 0.0, 1.0],
        )
        fov_deg = math.degrees(2.0 * math.atan(extent / 4.0))
        projection = pybullet.computeProjectionMatrixFOV(
            fov=fov_deg, aspect=width / height, nearVal=0.1, farVal=10.0
        )
        _, _, rgba, _, _ = pybullet.getCameraImage(
            width,
            height,
            viewMatrix=view,
            projectionMatrix=projection,
            renderer=pybullet.ER_TINY_RENDERER,
            lightDirection=[0.0, -1.0, 1.0],
            physicsClientId=self._cid,
        )
        frame = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)
        return np.ascontiguousarray(frame[:, :, :3])

    def close(self) -> None:
        """Disconnect the physics client. Safe to call more than once."""
        self._finalizer()
