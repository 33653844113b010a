"""Per-tick telemetry of a control run: where rows go, the CSV format, summaries.

The loop hands each tick's row to a :class:`TelemetrySink`: :class:`TelemetryRecorder` keeps
every row in memory (tests, benches, short runs);
:class:`~ddpg_control.runtime.telemetry_writer.TelemetryWriter` streams them to a CSV file as
the run goes. One CSV per run, one row per executed tick, columns :data:`COLUMNS`:

=================  =====================================================================
``time_s``         when the tick started, seconds since the run's first deadline
``angle_rad``      joint angle read this tick (0 = upright, counter-clockwise positive)
``velocity_rad_s`` joint velocity read this tick
``torque_cmd_nm``  torque the policy asked for
``torque_sent_nm`` torque the safety layer let through to the plant
``read_s``         time spent reading the plant
``infer_s``        time spent building the observation and asking the policy
``write_s``        time spent in the safety layer and writing the plant
``lateness_s``     tick start minus its deadline (how late the loop woke up)
=================  =====================================================================

Values are written as ``%.9g``. Every row ends with a newline, so a last line without one is a
write cut short (the process was killed mid-write): :meth:`Telemetry.read_csv` drops it.
"""

from __future__ import annotations

import io
import logging
import math
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.contracts import wrap_angle
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.files import replacing

COLUMNS: tuple[str, ...] = (
    "time_s",
    "angle_rad",
    "velocity_rad_s",
    "torque_cmd_nm",
    "torque_sent_nm",
    "read_s",
    "infer_s",
    "write_s",
    "lateness_s",
)

#: A run "holds upright" when the angle stays within this of 0 over the hold window.
UPRIGHT_TOLERANCE_RAD = 0.1
HOLD_WINDOW_S = 5.0

#: The CSV's first line, and the format of each row after it.
CSV_HEADER = ",".join(COLUMNS) + "\n"
CSV_ROW_FORMAT = ",".join(["%.9g"] * len(COLUMNS)) + "\n"

FloatArray = npt.NDArray[np.float64]

log = logging.getLogger(__name__)


class TelemetrySink(Protocol):
    """Where the control loop puts one row per tick (the values of :data:`COLUMNS`).

    ``record`` is called inside the tick, after the torque is written, with the row's values in
    :data:`COLUMNS` order (positional only, so a sink may take them as one tuple, ``*row``): it
    must be cheap and must never wait for I/O. ``close`` is called once the plant is at zero
    torque and closed, on every exit path; it makes sure every recorded row is where the sink
    promises, or raises.
    """

    def record(
        self,
        time_s: float,
        angle_rad: float,
        velocity_rad_s: float,
        torque_cmd_nm: float,
        torque_sent_nm: float,
        read_s: float,
        infer_s: float,
        write_s: float,
        lateness_s: float,
        /,
    ) -> None: ...

    def close(self) -> None: ...


class TelemetryRecorder:
    """A sink that keeps every row in memory (``array('d')`` per column, 72 bytes a row), for
    tests, benches and short runs; :meth:`freeze` gives them back as :class:`Telemetry`."""

    def __init__(self) -> None:
        self._columns: dict[str, array[float]] = {name: array("d") for name in COLUMNS}
        self._arrays = tuple(self._columns.values())

    def __len__(self) -> int:
        return len(self._columns["time_s"])

    def record(self, *row: float) -> None:
        for column, value in zip(self._arrays, row, strict=True):
            column.append(value)

    def close(self) -> None:
        """Nothing to flush: the rows stay in memory."""

    def freeze(self) -> Telemetry:
        return Telemetry({k: np.asarray(v, dtype=np.float64) for k, v in self._columns.items()})


@dataclass(frozen=True)
class Telemetry:
    """Telemetry columns as float64 arrays of equal length."""

    columns: dict[str, FloatArray]

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.columns]
        if missing:
            raise ConfigError(f"telemetry lacks column(s) {', '.join(missing)}")
        lengths = {len(self.columns[c]) for c in COLUMNS}
        if len(lengths) > 1:
            raise ConfigError(f"telemetry columns differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.columns["time_s"])

    def __getitem__(self, name: str) -> FloatArray:
        return self.columns[name]

    def write_csv(self, path: Path) -> Path:
        """Write every row at once, atomically (``path`` holds all of it or its old content)."""
        table = np.column_stack([self.columns[c] for c in COLUMNS]).tolist() if len(self) else []
        with replacing(path) as tmp, tmp.open("w", encoding="utf-8") as f:
            f.write(CSV_HEADER)
            f.writelines(CSV_ROW_FORMAT % tuple(row) for row in table)
        return path

    @classmethod
    def read_csv(cls, path: Path) -> Telemetry:
        """Read a telemetry CSV; a last line cut short (no newline) is dropped."""
        try:
            with path.open(encoding="utf-8") as f:
                header = f.readline().strip().split(",")
                text = f.read()
            rows = text[: text.rfind("\n") + 1]
            if len(rows) < len(text):
                log.info("%s: dropped a last line cut short: %r", path, text[len(rows) :])
            data = (
                np.loadtxt(io.StringIO(rows), delimiter=",", ndmin=2, dtype=np.float64)
                if rows.strip()
                else np.zeros((0, len(header)))
            )
        except FileNotFoundError:
            raise ConfigError(
                f"telemetry file '{path}' does not exist: 'ddpg-control run' writes one "
                "per run under the run directory's telemetry/ folder"
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"'{path}' is not a telemetry CSV ({exc})") from None
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ConfigError(
                f"'{path}' is not a telemetry CSV: missing column(s) {', '.join(missing)}"
            )
        if data.shape[1] != len(header):
            raise ConfigError(f"'{path}': rows have {data.shape[1]} values, header {len(header)}")
        return cls({name: data[:, header.index(name)].copy() for name in COLUMNS})


@dataclass(frozen=True, slots=True)
class Stats:
    """p50 / p99 / max of a sample (NaN when the sample is empty)."""

    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: FloatArray) -> Stats:
        if len(values) == 0:
            return cls(math.nan, math.nan, math.nan)
        p50, p99 = np.percentile(values, [50.0, 99.0])
        return cls(float(p50), float(p99), float(np.max(values)))

    def format_us(self) -> str:
        return f"p50 {self.p50 * 1e6:8.1f}  p99 {self.p99 * 1e6:8.1f}  max {self.max * 1e6:8.1f} us"


@dataclass(frozen=True)
class RunSummary:
    """What the end-of-run report says."""

    ticks: int
    missed_deadlines: int
    period_s: float
    elapsed_s: float
    lateness: Stats
    read: Stats
    infer: Stats
    write: Stats
    final_angle_rad: float
    holding_upright: bool

    @property
    def achieved_rate_hz(self) -> float:
        return self.ticks / self.elapsed_s if self.elapsed_s > 0 else math.nan

    @property
    def long_enough_to_judge(self) -> bool:
        """True when the run lasted the whole hold window, so "holding upright" can be said."""
        return self.ticks > 0 and self.elapsed_s >= HOLD_WINDOW_S - 1e-9

    def hold_verdict(self) -> str:
        """Whether the run held upright, in words that are true however long the run was.

        ``holding_upright`` of a run shorter than the window says only that every reading was
        within the tolerance: too short to call it holding, and the verdict says so.
        """
        band = f"|angle| < {UPRIGHT_TOLERANCE_RAD} rad"
        if self.ticks == 0:
            return "no readings"
        if self.long_enough_to_judge:
            if self.holding_upright:
                return f"holding upright: {band} over the last {HOLD_WINDOW_S:g} s"
            return f"not holding upright: {band} was broken within the last {HOLD_WINDOW_S:g} s"
        short = (
            f"{self.elapsed_s:.2f} s is too short to judge holding (it takes {HOLD_WINDOW_S:g} s)"
        )
        if self.holding_upright:
            return f"{band} for the whole run; {short}"
        return f"{band} broken during the run; {short}"

    def lines(self, verdict: bool = True) -> list[str]:
        """The summary's lines; ``verdict=False`` leaves out whether it held upright (for runs
        that do not try to balance, such as an excitation)."""
        scheduled = self.ticks + self.missed_deadlines
        miss_pct = 100.0 * self.missed_deadlines / scheduled if scheduled else 0.0
        final = f"final angle  {self.final_angle_rad:+.3f} rad"
        return [
            f"ticks        {self.ticks} in {self.elapsed_s:.2f} s "
            f"({self.achieved_rate_hz:.1f} Hz achieved, {1.0 / self.period_s:.1f} Hz asked)",
            f"missed       {self.missed_deadlines} deadlines ({miss_pct:.3f}%)",
            f"lateness     {self.lateness.format_us()}",
            f"read         {self.read.format_us()}",
            f"infer        {self.infer.format_us()}",
            f"write        {self.write.format_us()}",
            f"{final} ({self.hold_verdict()})" if verdict else final,
        ]


def holding_upright(
    telemetry: Telemetry,
    window_s: float = HOLD_WINDOW_S,
    tolerance_rad: float = UPRIGHT_TOLERANCE_RAD,
) -> bool:
    """True when every reading in the last ``window_s`` of the run is within tolerance of 0."""
    if len(telemetry) == 0:
        return False
    t = telemetry["time_s"]
    recent = telemetry["angle_rad"][t >= t[-1] - window_s]
    return bool(all(abs(wrap_angle(float(a))) < tolerance_rad for a in recent))


def summarize(telemetry: Telemetry, missed_deadlines: int, period_s: float) -> RunSummary:
    n = len(telemetry)
    elapsed_s = float(telemetry["time_s"][-1]) + period_s if n else 0.0
    return RunSummary(
        ticks=n,
        missed_deadlines=missed_deadlines,
        period_s=period_s,
        elapsed_s=elapsed_s,
        lateness=Stats.of(telemetry["lateness_s"]),
        read=Stats.of(telemetry["read_s"]),
        infer=Stats.of(telemetry["infer_s"]),
        write=Stats.of(telemetry["write_s"]),
        final_angle_rad=wrap_angle(float(telemetry["angle_rad"][-1])) if n else math.nan,
        holding_upright=holding_upright(telemetry),
    )
