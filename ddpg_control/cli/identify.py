"""``ddpg-control identify TELEMETRY.csv [...]``: fit the rig's model to excitation telemetry.

Prints each parameter with its uncertainty and the fit's residual, writes a ``params.toml``
(``--output``) that ``train``, ``eval``, ``run --sim`` and ``emulate`` read with ``--params``,
and a PNG overlaying the measured and the re-simulated trajectories. The model and the fit are
in :mod:`sim.identification`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import (
    MEANINGS,
    add_output_argument,
    file_to_write,
    positive_float,
    positive_int,
)
from ddpg_control.runtime.errors import ConfigError

if TYPE_CHECKING:
    from sim.identification import Identification, Recording

METHODS = ("prediction-error", "filtered-derivatives")


HELP = "fit mass, length, damping, friction, torque scale/offset and latency to telemetry"
DESCRIPTION = (
    "Fit the simulator's pendulum and motor model to telemetry recorded by "
    "'ddpg-control excite': inertia and gravity torque (as mass and length of a uniform "
    "rod), viscous damping, Coulomb friction, torque scale and offset, and the latency "
    "from writing a torque to its effect. Motion cannot tell the torque scale from the "
    "mass (both scale every torque): give --mass-kg (weigh the pendulum) or the torque "
    "scale is assumed to be --rig-torque-scale. Writes params.toml and a PNG."
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("identify", help=HELP, description=DESCRIPTION)
    parser.add_argument("telemetry", type=Path, nargs="+", help="telemetry CSV file(s)")
    add_output_argument(
        parser,
        "the params.toml to write",
        "params.toml beside the first telemetry file",
        type=file_to_write,
    )
    parser.add_argument(
        "--plot",
        type=file_to_write,
        default=None,
        metavar="FILE",
        help=MEANINGS["--plot"] + " (a PNG overlaying measured and re-simulated motion; "
        "default: beside --output)",
    )
    parser.add_argument(
        "--mass-kg",
        type=positive_float,
        default=None,
        metavar="KG",
        help="the pendulum's weighed mass, kg; then the torque scale is fitted",
    )
    parser.add_argument(
        "--rig-torque-scale",
        type=positive_float,
        default=1.0,
        metavar="SCALE",
        help="the rig's torque scale (torque produced per torque commanded) to assume when "
        "--mass-kg is not given (default: %(default)s)",
    )
    parser.add_argument(
        "--gravity-m-s2",
        type=positive_float,
        default=9.81,
        metavar="M_S2",
        help="gravity, m/s^2, printed as assumed (default: %(default)s, a rig on Earth; the "
        "emulator and the simulator's presets use 10, as Pendulum-v1 does)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default=METHODS[0],
        help="prediction-error: simulate ahead from each measured state and fit by nonlinear "
        "least squares; filtered-derivatives: linear least squares on low-passed derivatives, "
        "fast but cruder (default: %(default)s)",
    )
    parser.add_argument(
        "--compare", action="store_true", help="also fit with the other method and print both"
    )
    parser.add_argument(
        "--horizon",
        type=positive_int,
        default=20,
        metavar="PERIODS",
        help="prediction-error: control periods simulated from each measured state "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--control-period-s",
        type=positive_float,
        default=0.05,
        metavar="SECONDS",
        help="control period written to params.toml for training, s (default: %(default)s)",
    )
    parser.add_argument(
        "--rig-torque-limit-nm",
        type=positive_float,
        default=2.0,
        metavar="NM",
        help="the rig's actuator limit written to params.toml (what a policy is trained for), "
        "N*m (default: %(default)s)",
    )
    parser.set_defaults(handler=run)


def read_recording(path: Path) -> Recording:
    """A telemetry CSV as a checked :class:`~sim.identification.Recording`."""
    import io

    import numpy as np

    from sim.identification import IdentificationError, recording_from_columns

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"telemetry file '{path}' does not exist; 'ddpg-control excite' writes one"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IdentificationError(f"cannot read '{path}': {exc}") from None
    header, _, body = text.partition("\n")
    names = [c.strip() for c in header.split(",")]
    body = body[: body.rfind("\n") + 1]  # a last line cut short is dropped
    try:
        data = (
            np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2, dtype=np.float64)
            if body.strip()
            else np.zeros((0, len(names)))
        )
    except ValueError as exc:
        raise IdentificationError(
            f"'{path}' is not a telemetry CSV ({exc}); record one with 'ddpg-control excite'"
        ) from None
    if data.shape[1] != len(names):
        raise IdentificationError(
            f"'{path}': rows have {data.shape[1]} values, header {len(names)}"
        )
    return recording_from_columns(str(path), {n: data[:, i] for i, n in enumerate(names)})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: The name the console and the picture give the fit's figure of merit.
FREE_RMS_NAME = "free re-simulation over the whole file, rms angle error"


def free_rms_angle_rad(recording: Recording, result: Identification) -> float:
    """RMS angle error (rad) of the fitted model re-simulated freely over ``recording`` from its
    first measured state with the torque recorded."""
    import numpy as np

    from sim.identification import simulate_recording

    angle, _ = simulate_recording(result.fit.ratios, recording, physics_dt_s=0.001)
    return float(np.sqrt(np.mean((angle - recording.angle_rad) ** 2)))


def _report(result: Identification, recording: Recording, rms: float) -> list[str]:
    from sim.identification import FITTED_FIELDS

    fit = result.fit
    lines = [f"== identified ({fit.method}, {result.duration_s:.1f} s of data) =="]
    for name in FITTED_FIELDS:
        value, std = float(getattr(result.params, name)), result.std[name]
        rel = f"({std / abs(value):.1%})" if abs(value) > std else ""
        lines.append(f"  {name:24s} {value:+.5g} +- {std:.2g} {rel}")
    for name, (value, std) in result.derived.items():
        lines.append(f"  {name:24s} {value:+.5g} +- {std:.2g}")
    lines.append(f"  scale set by: {result.anchor.describe()}")
    lines.append(
        f"  gravity: {result.anchor.gravity_m_s2:g} m/s^2 assumed (--gravity-m-s2; the emulator "
        "and the simulator's presets use 10)"
    )
    lines.append(
        f"  latency: {result.params.action_latency_s * 1e3:.2f} ms (action_latency_s) after the "
        f"loop's own read-to-write of {result.write_delay_s * 1e3:.2f} ms"
    )
    lines.append(f"  fit: {Path(recording.name).name}: {FREE_RMS_NAME} {rms:.3g} rad")
    one_step = f"one step ahead explains {fit.explained:.4%} of the measured velocity change"
    if math.isfinite(fit.rms_angle_rad):
        one_step = (
            f"over the fitting horizon rms residual {fit.rms_angle_rad:.3g} rad, "
            f"{fit.rms_velocity_rad_s:.3g} rad/s; " + one_step
        )
    lines.append(f"  prediction: {one_step}")
    lines.extend(f"  note: {note}" for note in result.notes)
    return lines


def _provenance(args: argparse.Namespace, result: Identification, rms: float) -> dict[str, Any]:
    from ddpg_control import __version__

    fit = result.fit
    return {
        "written_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "tool": f"ddpg-control {__version__} identify",
        "files": [str(p.resolve()) for p in args.telemetry],
        "sha256": [_sha256(p) for p in args.telemetry],
        "duration_s": result.duration_s,
        "method": fit.method,
        "scale_from": result.anchor.describe(),
        "rms_angle_rad": fit.rms_angle_rad,
        "rms_velocity_rad_s": fit.rms_velocity_rad_s,
        "explained": fit.explained,
        "free_rms_angle_rad": rms,
        "loop_write_delay_s": result.write_delay_s,
    }


def plot_fit(recording: Recording, result: Identification, out_path: Path, rms: float) -> Path:
    """Measured against re-simulated (from the first measured state, the torque recorded);
    ``rms``: :func:`free_rms_angle_rad` of the same, for the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from sim.identification import simulate_recording

    angle, velocity = simulate_recording(result.fit.ratios, recording, physics_dt_s=0.001)
    t = recording.sample_s - recording.sample_s[0]
    down = np.round(np.median(recording.angle_rad) / (2 * math.pi) - 0.5) * 2 * math.pi + math.pi
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True, constrained_layout=True)
    ax_a, ax_v, ax_u = axes
    ax_a.plot(t, recording.angle_rad - down, label="measured", lw=1.4)
    ax_a.plot(t, angle - down, "--", label="re-simulated (fitted model)", lw=1.2)
    ax_a.set_ylabel("angle from hanging\ndown (rad)")
    ax_a.legend(loc="upper right")
    ax_v.plot(t, recording.velocity_rad_s, lw=1.4)
    ax_v.plot(t, velocity, "--", lw=1.2)
    ax_v.set_ylabel("velocity (rad/s)")
    ax_u.step(t, recording.torque_nm, where="post", lw=1.0, color="tab:green")
    ax_u.set_ylabel("torque sent (N*m)")
    ax_u.set_xlabel("time (s)")
    p = result.params
    ax_a.set_title(
        f"{Path(recording.name).name}: {FREE_RMS_NAME} {rms:.3g} rad\n"
        f"m {p.mass_kg:.3g} kg, l {p.length_m:.3g} m, damping "
        f"{p.joint_damping_nm_s_rad:.3g}, friction {p.joint_friction_nm:.3g} N*m, scale "
        f"{p.torque_scale:.3g}, latency {p.action_latency_s * 1e3:.2f} ms"
    )
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path


def run(args: argparse.Namespace) -> int:
    from sim import PYBULLET_ENV_ID
    from sim.identification import FITTED_FIELDS, Anchor, identify
    from sim.params import PendulumParams
    from sim.params_file import params_toml, with_fine_physics, write_params_file

    recordings = [read_recording(Path(p)) for p in args.telemetry]
    base = with_fine_physics(
        PendulumParams(
            control_period_s=args.control_period_s, max_torque_nm=args.rig_torque_limit_nm
        )
    )
    anchor = Anchor(
        gravity_m_s2=args.gravity_m_s2, mass_kg=args.mass_kg, torque_scale=args.rig_torque_scale
    )
    methods = [args.method] + ([m for m in METHODS if m != args.method] if args.compare else [])
    results = [
        identify(recordings, base=base, anchor=anchor, method=m, horizon=args.horizon)
        for m in methods
    ]
    rms = [free_rms_angle_rad(recordings[0], r) for r in results]
    for result, result_rms in zip(results, rms, strict=True):
        print("\n".join(_report(result, recordings[0], result_rms)))
    result = results[0]
    output = args.output or Path(args.telemetry[0]).parent / "params.toml"
    text = params_toml(
        result.params,
        std={name: result.std[name] for name in FITTED_FIELDS},
        provenance=_provenance(args, result, rms[0]),
    )
    write_params_file(output, text)
    print(f"params: {output}")
    plot_path = args.plot or output.with_suffix(".png")
    plot_fit(recordings[0], result, plot_path, rms[0])
    print(f"plot:   {plot_path}")
    print(
        f"  train on it: ddpg-control train --env {PYBULLET_ENV_ID} --params {output} --randomize"
    )
    return 0
