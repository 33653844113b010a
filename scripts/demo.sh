#!/usr/bin/env bash
# `make demo`: train -> export -> run on the simulator, then say what happened.
set -euo pipefail
BIN=.venv/bin
echo "== 1/3 train (DDPG on Pendulum-v1) =="
$BIN/ddpg-control train
echo "== 2/3 export (ONNX, verified) =="
$BIN/ddpg-control export --onnx
echo "== 3/3 run on the PyBullet simulator (real time, 15 s, from hanging down) =="
status=0
$BIN/ddpg-control run --sim || status=$?
# The run's summary is above; turn its telemetry into a picture either way.
$BIN/ddpg-control plot
exit "$status"
