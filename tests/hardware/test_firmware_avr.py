"""Firmware in the loop: the ATmega328P image, unmodified, in simavr on the simulated Uno rig.

`make -C hardware/firmware avr board` builds the image (avr-gcc) and the board (libsimavr);
the board runs the image, bridges its UART to a pseudo-terminal and closes the loop on its pins
(PWM and direction in, motor and pendulum physics, quadrature encoder pulses out). The host is
`ddpg-control run --device`, as a user runs it. The board's exit summary tells what the motor
saw, its trace what the pendulum did, independently of what the firmware reported.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import serial

from hardware.drivers.ddpg.protocol import (
    Arm,
    ClearFault,
    Fault,
    FrameDecoder,
    Hello,
    HelloReply,
    Message,
    Query,
    State,
    Status,
    Torque,
    decode_frame,
    encode,
)
from tests.hardware.cli_runs import CLI, assert_held_upright, run_device
from tests.hardware.vectors import load

REPO = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO / "hardware" / "firmware"
BUILD = FIRMWARE_DIR / "build"
BOARD = BUILD / "uno-board"
IMAGE = BUILD / "avr" / "ddpg-fw-uno.elf"
#: The encoder counts from power-up, when the pendulum hangs: upright is half a turn away.
UPRIGHT_OFFSET = repr(math.pi)


@pytest.fixture(scope="module")
def avr_image() -> Path:
    """The AVR image and the board, built (incrementally) by the firmware Makefile."""
    result = subprocess.run(
        ["make", "-C", str(FIRMWARE_DIR), "avr", "avr-test-images", "board"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Program:\s+\d+ bytes", (BUILD / "avr" / "size.txt").read_text())
    return IMAGE


class BoardProcess:
    def __init__(self, image: Path, *options: str) -> None:
        self.proc = subprocess.Popen(
            [str(BOARD), *options, str(image)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = self.proc.stdout.readline().strip()
        assert self.port.startswith("/dev/"), self.finish()

    def finish(self, timeout_s: float = 5.0) -> dict[str, str]:
        """Stop it (if it still runs) and return its exit summary as a dict."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=timeout_s)
        match = re.search(r"^board: (.*)$", err, re.MULTILINE)
        assert match, f"no board summary in:\n{err}"
        return dict(item.split("=", 1) for item in match.group(1).split())


@pytest.fixture
def boards() -> Iterator[list[BoardProcess]]:
    started: list[BoardProcess] = []
    yield started
    for board in started:
        if board.proc.poll() is None:
            board.proc.kill()
            board.proc.wait()


@pytest.mark.slow
def test_swings_up_and_holds_through_the_avr_firmware_in_simavr(
    avr_image: Path, exported_policy: Path, boards: list[BoardProcess], tmp_path: Path
) -> None:
    trace = tmp_path / "board.csv"
    board = BoardProcess(avr_image, "--trace", str(trace))
    boards.append(board)
    telemetry = tmp_path / "device.csv"
    # Balanced, the pendulum settles where the policy's holding torque (0.1-0.2 N*m) meets
    # gravity and stays within one of the 2400 counts for seconds: the host's stuck-sensor
    # check (on, at its default) must not take that for a stuck encoder.
    options = ["--duration-s", "15", "--upright-offset-rad", UPRIGHT_OFFSET]
    result = run_device(board.port, exported_policy, *options, "--output", str(telemetry))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = board.finish()
    # what the firmware reported (its encoder count, through the protocol)
    assert_held_upright(telemetry)
    # what the pendulum did (the board's physics), over the last 5 s with the bridge on
    rig = np.genfromtxt(trace, delimiter=",", names=True)
    powered = rig[rig["bridge_enabled"] == 1]
    assert powered["time_s"][-1] - powered["time_s"][0] > 14.5
    held = powered[powered["time_s"] >= powered["time_s"][-1] - 5.0]
    assert np.all(np.abs(held["angle_rad"]) < 0.1), np.abs(held["angle_rad"]).max()
    # the host's two TORQUE 0 and DISARM on exit: the bridge is off, the motor at zero
    assert summary["bridge_enabled"] == "0" and summary["motor_torque_nm"] == "0.0000"
    assert int(summary["bridge_on"]) == 1 and int(summary["bridge_off"]) == 1
    assert int(summary["replies"]) >= 600 and summary["bytes_lost"] == "0"
    # RAM: static plus the deepest the stack reached (painted RAM the run never touched), with
    # at least a quarter of the ATmega328P's 2048 bytes never used
    assert int(summary["ram_static"]) + int(summary["stack_max"]) <= 1536, summary
    assert int(summary["ram_never_used"]) >= 512


def _query(port: str) -> State:
    decoder = FrameDecoder()
    with serial.serial_for_url(port, timeout=0.5) as link:
        link.write(encode(Query(), 7))
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            for packet in decoder.feed(link.read(64)):
                if packet.seq == 7 and isinstance(packet.message, State):
                    return packet.message
    raise AssertionError("the firmware did not answer QUERY")


def test_sigkill_of_the_host_trips_the_avr_watchdog_in_simavr(
    avr_image: Path, exported_policy: Path, boards: list[BoardProcess]
) -> None:
    board = BoardProcess(avr_image)
    boards.append(board)
    host = subprocess.Popen(
        [*CLI, "run", "--device", board.port, "--policy", str(exported_policy), "--quiet"]
        + ["--upright-offset-rad", UPRIGHT_OFFSET],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert host.stderr is not None
    for line in host.stderr:  # "running ..." is printed once the policy is loaded
        if line.startswith("running"):
            break
    time.sleep(1.5)  # swinging, with torque on
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    time.sleep(0.3)  # the 100 ms watchdog in simulated time, which never runs ahead of ours
    state = _query(board.port)  # the firmware's own account, through the protocol
    assert state.status & Status.FAULT and not state.status & Status.ARMED
    assert state.faults == Fault.WATCHDOG and state.torque_nm == 0.0
    summary = board.finish()
    # what the motor saw: the bridge switched off once, 100 ms (+ one 1.024 ms tick and the
    # loop's latency) of simulated time after the last TORQUE ended on the RX line
    assert int(summary["torque_frames"]) >= 20  # it was swinging: ~30 commands in 1.5 s
    assert summary["bridge_enabled"] == "0" and summary["motor_torque_nm"] == "0.0000"
    assert int(summary["bridge_off"]) == 1
    assert 100.0 <= float(summary["bridge_off_after_last_torque_ms"]) <= 103.0, summary


def _read_frame(link: serial.Serial) -> bytes:
    """One whole reply frame as it came off the wire, or b"" if none came within the timeout."""
    head = link.read(4)
    if len(head) < 4:
        return head
    return head + link.read(head[3] + 5)


def test_the_avr_build_of_the_core_answers_the_shared_vectors(
    avr_image: Path, boards: list[BoardProcess]
) -> None:
    """The shared session with no timing in it (hardware/protocol_vectors.txt), replayed to the
    8-bit build: unknown types, wrong lengths and other versions get the same bytes as from the
    host build and the Python device. (The other sessions time the watchdog and the resync
    timeout to the microsecond, which a wall-clock-paced simulator cannot replay.)"""
    (session,) = [s for s in load().sessions if s.name == "unknown_and_malformed"]
    assert [step for kind, step in session.steps if kind == "at"] == [(0, 0, 0.0)]
    board = BoardProcess(avr_image)
    boards.append(board)
    checked = 0
    with serial.serial_for_url(board.port, timeout=0.3) as link:
        for kind, data in session.steps:
            if kind == "send":
                assert isinstance(data, bytes)
                link.write(data)
            elif kind == "reply":
                assert isinstance(data, bytes)
                got = _read_frame(link)
                expected = decode_frame(data).message
                if isinstance(expected, HelloReply):  # the Uno's encoder, not the vectors'
                    assert got[:7] == data[:7]  # version, length, type, seq
                    assert decode_frame(got).message == replace(expected, counts_per_rev=2400)
                else:
                    assert got == data, (got.hex(" "), data.hex(" "))
                checked += 1
            elif kind == "silence":
                assert link.read(1) == b""
                checked += 1
    assert checked == 7


def test_the_drivers_fault_line_latches_over_current_and_stops_the_bridge(
    avr_image: Path, boards: list[BoardProcess]
) -> None:
    """The board pulls nFAULT (D4) low 1 s into the simulation, as a driver that tripped on
    over-current does: the firmware latches OVER_CURRENT, disarms and switches the bridge off,
    and CLEAR_FAULT does not clear a fault whose line is still low."""
    board = BoardProcess(avr_image, "--driver-fault-at-s", "1.0")
    boards.append(board)
    with serial.serial_for_url(board.port, timeout=0.5) as link:

        def request(message: Message, seq: int) -> Message:
            link.write(encode(message, seq))
            packet = decode_frame(_read_frame(link))
            assert packet.seq == seq
            return packet.message

        assert isinstance(request(Hello(), 1), HelloReply)
        armed = request(Arm(1000, 2.0), 2)
        assert isinstance(armed, State) and armed.status & Status.ARMED
        states = []
        for i in range(40):  # 2 s at 20 Hz
            states.append(request(Torque(0.5), 3 + i))
            time.sleep(0.05)
        first = states[0]
        assert isinstance(first, State) and first.status == Status.ARMED
        assert first.torque_nm == 0.5
        last = states[-1]
        assert isinstance(last, State)
        assert last.faults == Fault.OVER_CURRENT and last.status == Status.FAULT
        assert last.torque_nm == 0.0
        cleared = request(ClearFault(), 50)
        assert isinstance(cleared, State) and cleared.faults == Fault.OVER_CURRENT
    summary = board.finish()
    assert summary["driver_fault"] == "1" and summary["bridge_enabled"] == "0"
    assert int(summary["bridge_on"]) == 1 and int(summary["bridge_off"]) == 1
    assert summary["motor_torque_nm"] == "0.0000"


def test_a_hung_main_loop_is_reset_by_the_avrs_own_watchdog(
    avr_image: Path, boards: list[BoardProcess]
) -> None:
    """The test image's main loop stops once armed (``UNO_TEST_HANG_WHEN_ARMED``): the AVR's
    hardware watchdog (60 ms) resets the chip, which comes back disarmed with the bridge off,
    while the rig (the board) carries on."""
    board = BoardProcess(avr_image.with_name("ddpg-fw-uno-hang.elf"))
    boards.append(board)
    with serial.serial_for_url(board.port, timeout=0.3) as link:
        link.write(encode(Hello(), 1))
        assert isinstance(decode_frame(_read_frame(link)).message, HelloReply)
        link.write(encode(Arm(1000, 2.0), 2))
        armed = decode_frame(_read_frame(link)).message
        assert isinstance(armed, State) and armed.status == Status.ARMED
        link.write(encode(Query(), 3))
        assert _read_frame(link) == b""  # hung: no answer
        time.sleep(0.2)
        link.reset_input_buffer()
        link.write(encode(Query(), 4))
        packet = decode_frame(_read_frame(link))
    assert packet.seq == 4 and isinstance(packet.message, State)
    assert packet.message.status == 0 and packet.message.faults == 0  # a fresh, disarmed chip
    summary = board.finish()
    assert summary["resets"] == "1" and summary["bridge_enabled"] == "0"
    assert int(summary["bridge_off"]) == 1 and summary["motor_torque_nm"] == "0.0000"


def test_the_board_says_what_is_wrong_with_its_arguments(tmp_path: Path, avr_image: Path) -> None:
    for argv, message in [
        ([str(tmp_path / "missing.elf")], "error: cannot read the AVR image"),
        (["--start-angle-rad", "up", str(avr_image)], "error: --start-angle-rad takes radians"),
        (["--driver-fault-at-s", "-1", str(avr_image)], "error: --driver-fault-at-s takes seconds"),
        ([], "usage: uno-board"),
    ]:
        result = subprocess.run([str(BOARD), *argv], capture_output=True, text=True, timeout=10)
        assert result.returncode == 2 and result.stderr.startswith(message), result.stderr
        assert result.stdout == ""
