"""Differential test: random sessions through the Python DdpgDevice and the C core, bytewise.

A seeded generator writes a long session in the shared vector format (hardware/
protocol_vectors.txt): requests of every kind with random arguments (NaN and infinite torques,
out-of-range ARMs, unknown types, wrong lengths, other versions), garbage, corrupted and split
frames, and time jumps past the resync timeout and the watchdog. The Python device's replies
become the expected ``reply`` lines; the C vector runner (built with ASan + UBSan) must then
produce exactly the same bytes.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hardware.drivers.ddpg.crc import crc16_ccitt_false
from hardware.drivers.ddpg.emulator import answer
from hardware.drivers.ddpg.protocol import FrameDecoder
from tests.hardware.c_device import FIRMWARE
from tests.hardware.test_vectors import ScriptedJoint, _device
from tests.hardware.vectors import Session

STEPS = 4000
CONFIG = (
    "max_torque_nm=1.5 counts_per_rev=4096 watchdog_min_ms=10 watchdog_max_ms=1000 "
    "firmware=0.2.0 protocol_version=1"
)


def _frame(version: int, message_type: int, seq: int, payload: bytes) -> bytes:
    body = bytes((version, len(payload), message_type)) + seq.to_bytes(2, "little") + payload
    return b"\xa5\x5a" + body + crc16_ccitt_false(body).to_bytes(2, "little")


def _f32(rng: np.random.Generator) -> bytes:
    kind = rng.integers(8)
    if kind == 0:
        return struct.pack("<f", float("nan"))
    if kind == 1:
        return struct.pack("<f", float(rng.choice([np.inf, -np.inf])))
    if kind == 2:
        return rng.integers(0, 256, 4, dtype=np.uint8).tobytes()  # any bit pattern
    return struct.pack("<f", float(rng.uniform(-3.0, 3.0)))


def _request(rng: np.random.Generator, seq: int) -> bytes:
    version = 1 if rng.random() > 0.03 else int(rng.integers(0, 256))
    kind = int(rng.integers(20))
    if kind < 8:
        return _frame(version, 0x03, seq, _f32(rng))  # TORQUE
    if kind < 10:
        timeout_ms = int(rng.choice([5, 10, 50, 100, 1000, 1001, int(rng.integers(0, 65536))]))
        return _frame(version, 0x02, seq, struct.pack("<H", timeout_ms) + _f32(rng))  # ARM
    if kind < 16:
        return _frame(version, int(rng.choice([0x01, 0x04, 0x04, 0x05, 0x06])), seq, b"")
    if kind < 18:  # a wrong length for a known type
        length = int(rng.integers(1, 20))
        payload = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        return _frame(version, int(rng.choice([0x01, 0x02, 0x03, 0x04])), seq, payload)
    message_type = int(rng.choice([0x00, 0x07, 0x42, 0x81, 0x82, 0x83, 0xFF]))
    return _frame(version, message_type, seq, bytes(int(rng.integers(0, 8))))


def _chunk(rng: np.random.Generator, seq: int, pending: bytearray) -> bytes:
    """What arrives in one step: requests, maybe noise, maybe half of a frame (the rest later)."""
    data = bytearray(pending)
    pending.clear()
    for _ in range(int(rng.integers(1, 4))):
        frame = bytearray(_request(rng, seq))
        roll = rng.random()
        if roll < 0.08:  # corrupted
            bit = int(rng.integers(len(frame) * 8))
            frame[bit // 8] ^= 1 << (bit % 8)
        elif roll < 0.12:  # noise first
            data += rng.integers(0, 256, int(rng.integers(1, 12)), dtype=np.uint8).tobytes()
        elif roll < 0.18:  # split: the rest comes with the next step
            cut = int(rng.integers(1, len(frame)))
            pending += frame[cut:]
            frame = frame[:cut]
        data += frame
        seq += 1
    return bytes(data)


def _hex(data: bytes) -> str:
    return data.hex(" ")


def _write_session(path: Path, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    session = Session("differential", dict(item.split("=") for item in CONFIG.split()))
    device, joint = _device(session)
    assert isinstance(joint, ScriptedJoint)
    decoder = FrameDecoder(version=device.config.protocol_version, keep_raw=True)
    lines = ["session differential", f"config {CONFIG}"]
    time_us, counts, pending = 0, 0, bytearray()
    seen = {"replies": 0, "nacks": 0, "limited": 0, "watchdog": 0}
    for step in range(STEPS):
        time_us += int(rng.choice([0, 200, 1000, 5000, 20_000, 40_000, 150_000]))
        counts += int(rng.integers(-300, 301))  # under a quarter turn per step
        velocity = float(rng.integers(-640, 641)) / 64.0  # exact in f32
        joint.counts, joint.velocity_rad_s = counts, velocity
        lines.append(f"at {time_us} {counts} {velocity!r}")
        data = _chunk(rng, step * 4, pending)
        lines.append(f"send {_hex(data)}")
        for reply in answer(decoder, device, data, time_us / 1e6):
            lines.append(f"reply {_hex(reply)}")
            seen["replies"] += 1
            seen["nacks"] += reply[4] == 0x83
            seen["limited"] += reply[4] == 0x82 and bool(reply[23] & 0x04)
            seen["watchdog"] += reply[4] == 0x82 and bool(reply[24] & 0x01)
        lines.append("silence")
    path.write_text("\n".join(lines) + "\n")
    return seen


@pytest.fixture(scope="module")
def vector_runner() -> Path:
    result = subprocess.run(
        ["make", "-C", str(FIRMWARE), "build/test_vectors"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return FIRMWARE / "build" / "test_vectors"


@pytest.mark.parametrize("seed", [1, 2])
def test_random_sessions_get_the_same_bytes_from_python_and_c(
    seed: int, vector_runner: Path, tmp_path: Path
) -> None:
    path = tmp_path / f"differential-{seed}.txt"
    seen = _write_session(path, seed)
    # the session exercises what it claims to: NACKs, clipping, watchdog trips
    assert seen["replies"] > STEPS and seen["nacks"] > 200
    assert seen["limited"] > 50 and seen["watchdog"] > 20
    result = subprocess.run([str(vector_runner), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert ", 0 failures" in result.stdout
