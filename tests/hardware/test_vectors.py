"""The shared vectors (hardware/protocol_vectors.txt) against the Python codec and DdpgDevice.

hardware/firmware/tests/test_vectors.c checks the same file against the C core, so the two devices
and the codec answer every vector byte for byte alike.
"""

from __future__ import annotations

import math
import re

import pytest

from ddpg_control.runtime.contracts import JointState, Plant
from hardware.drivers.ddpg.crc import crc16_ccitt_false, crc16_reference
from hardware.drivers.ddpg.device import DdpgDevice, DdpgDeviceConfig
from hardware.drivers.ddpg.emulator import answer
from hardware.drivers.ddpg.protocol import FrameDecoder, decode_frame, encode
from tests.hardware.test_protocol import PROTOCOL_MD
from tests.hardware.vectors import Session, load

VECTORS = load()


class ScriptedJoint(Plant):
    """The encoder reads what the vector's ``at`` line says; torques are recorded."""

    def __init__(self, counts_per_rev: int) -> None:
        self.counts_per_rev = counts_per_rev
        self.counts = 0
        self.velocity_rad_s = 0.0
        self.torques_nm: list[float] = []

    @property
    def max_torque_nm(self) -> float:
        return math.inf

    def read(self) -> JointState:
        angle = self.counts * 2.0 * math.pi / self.counts_per_rev
        return JointState(angle, self.velocity_rad_s, 0.0, 0)

    def apply(self, torque_nm: float) -> None:
        self.torques_nm.append(torque_nm)

    def stop(self) -> None:
        self.apply(0.0)

    def close(self) -> None:
        pass


def test_the_file_has_every_kind_of_vector() -> None:
    assert len(VECTORS.crcs) >= 4 and len(VECTORS.frames) >= 9
    assert {s.name for s in VECTORS.sessions} >= {"section5", "receiving", "torque_rules"}


@pytest.mark.parametrize(("crc", "data"), VECTORS.crcs)
def test_crc_vectors(crc: int, data: bytes) -> None:
    assert crc16_ccitt_false(data) == crc == crc16_reference(data)


@pytest.mark.parametrize(("message_type", "seq", "frame"), VECTORS.frames)
def test_frame_vectors_decode_and_reencode(message_type: int, seq: int, frame: bytes) -> None:
    packet = decode_frame(frame)
    assert packet.seq == seq and frame[4] == message_type
    assert encode(packet.message, packet.seq) == frame  # type: ignore[arg-type]


def _device(session: Session) -> tuple[DdpgDevice, ScriptedJoint]:
    cfg = session.config
    major, minor, patch = (int(x) for x in cfg["firmware"].split("."))
    config = DdpgDeviceConfig(
        max_torque_nm=float(cfg["max_torque_nm"]),
        counts_per_rev=int(cfg["counts_per_rev"]),
        watchdog_min_ms=int(cfg["watchdog_min_ms"]),
        watchdog_max_ms=int(cfg["watchdog_max_ms"]),
        firmware_version=(major, minor, patch),
        protocol_version=int(cfg["protocol_version"]),
    )
    joint = ScriptedJoint(config.counts_per_rev)
    return DdpgDevice(joint, config, 0.0), joint


@pytest.mark.parametrize("session", VECTORS.sessions, ids=lambda s: s.name)
def test_sessions_through_the_virtual_device(session: Session) -> None:
    device, joint = _device(session)
    decoder = FrameDecoder(version=device.config.protocol_version, keep_raw=True)
    now_s, sent = 0.0, []
    for number, (kind, arg) in enumerate(session.steps):
        where = f"{session.name} step {number}"
        if kind == "at":
            time_us, joint.counts, joint.velocity_rad_s = arg  # type: ignore[misc]
            now_s = time_us / 1e6
        elif kind == "send":
            assert isinstance(arg, bytes)
            sent += answer(decoder, device, arg, now_s)
        elif kind == "reply":
            assert sent, f"{where}: no reply, expected {arg.hex(' ')}"  # type: ignore[union-attr]
            assert sent.pop(0) == arg, where
        else:
            assert sent == [], f"{where}: expected silence, got {[f.hex(' ') for f in sent]}"
    assert sent == []


def test_protocol_md_section_5_prints_the_section5_session() -> None:
    text = PROTOCOL_MD.read_text()
    section = text[text.index("## 5.") : text.index("## 6.")]
    printed = [
        bytes.fromhex(line)
        for line in re.findall(r"^ {7}((?:[0-9a-f]{2} )*[0-9a-f]{2})$", section, re.M)
    ]
    session = next(s for s in VECTORS.sessions if s.name == "section5")
    frames = [arg for kind, arg in session.steps if kind in ("send", "reply")]
    assert printed == frames
