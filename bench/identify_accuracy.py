"""How well each parameter is identified, against excitation length and sensor noise.

Records the unseen rig (bench/unseen_rig.toml, noise scaled by --noise) with the real loop and
PyBullet plant in virtual time, excited as ``excite --rate-hz 20 --torque-nm 1.5`` does, then
fits it with both methods. Prints a markdown table of |error| (relative; latency in ms) and the
prediction-error fit's own one-sigma figure beside it.

    .venv/bin/python bench/identify_accuracy.py --durations 10 30 60 --noise 0 1 4
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ddpg_control.runtime.control_loop import LoopConfig, run_loop
from ddpg_control.runtime.excitation import Excitation, ExcitationConfig
from ddpg_control.runtime.timing import SimulatedClock
from sim.identification import Anchor, identify, recording_from_columns
from sim.params import PendulumParams
from sim.params_file import load_params_file, with_fine_physics
from sim.plant import SimPlant

RIG = Path(__file__).with_name("unseen_rig.toml")
SHOWN = (
    ("length_m", "length"),
    ("joint_damping_nm_s_rad", "damping"),
    ("joint_friction_nm", "friction"),
    ("torque_scale", "torque scale"),
    ("torque_offset_nm", "offset"),
    ("action_latency_s", "latency"),
)


def error(name: str, got: float, true: float) -> str:
    if name == "action_latency_s":
        return f"{abs(got - true) * 1e3:.2f} ms"
    return f"{abs(got / true - 1.0):.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 1.0, 4.0])
    parser.add_argument("--period", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rig = with_fine_physics(load_params_file(RIG).params)
    print(
        f"rig: {RIG.name}; noise 1x = {rig.angle_noise_std_rad} rad, "
        f"{rig.velocity_noise_std_rad_s} rad/s; loop {1 / args.period:g} Hz, virtual time\n"
    )
    header = "| s | noise | method | " + " | ".join(label for _, label in SHOWN) + " | fit s |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for duration_s in args.durations:
        for noise in args.noise:
            params = rig.with_changes(
                angle_noise_std_rad=rig.angle_noise_std_rad * noise,
                velocity_noise_std_rad_s=rig.velocity_noise_std_rad_s * noise,
            )
            clock = SimulatedClock()
            plant = SimPlant(params, clock=clock, seed=args.seed)
            config = ExcitationConfig(duration_s=duration_s, period_s=args.period, torque_nm=1.5)
            loop = LoopConfig(period_s=args.period, duration_s=duration_s, warm_up_calls=0)
            result = run_loop(plant, Excitation(config, 2.0), clock, loop)
            assert result.telemetry is not None
            recording = recording_from_columns("rig", dict(result.telemetry.columns))
            for method in ("prediction-error", "filtered-derivatives"):
                started = time.monotonic()
                fit = identify(
                    [recording],
                    base=with_fine_physics(PendulumParams()),
                    anchor=Anchor(rig.gravity_m_s2, mass_kg=rig.mass_kg),
                    method=method,
                )
                cells = []
                for name, _ in SHOWN:
                    cell = error(name, getattr(fit.params, name), getattr(rig, name))
                    if method == "prediction-error":
                        sigma = fit.std[name]
                        cell += (
                            f" (σ {sigma * 1e3:.2f} ms)"
                            if name == "action_latency_s"
                            else f" (σ {sigma / getattr(rig, name):.1%})"
                        )
                    cells.append(cell)
                print(
                    f"| {duration_s:g} | {noise:g}x | {method} | "
                    + " | ".join(cells)
                    + f" | {time.monotonic() - started:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
