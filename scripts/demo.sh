#!/usr/bin/env bash
# `make demo`: train -> export -> run on the simulator, then say what happened.
set -euo pipefail
BIN=.venv/bin
echo "== 1/3 train (DDPG on Pendulum-v1) =="
$BIN/ddpg-control train
echo "== 2/3 export (ONNX, verified) =="
$BIN/ddpg-control export --onnx
echo "== 3/3 run on the PyBullet simulator (real time) =="
$BIN/ddpg-control run --sim
