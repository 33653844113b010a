# ddpg-control: `make demo` and `make test` set everything up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench clean toolchains firmware firmware-test

setup: $(STAMP)

# torch is pinned here (not in pyproject) so pip takes the CPU build that this kind of machine
# ships instead of pulling the newest CUDA build; users elsewhere keep the open `torch>=2.3`.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.*"
	$(BIN)/pip install --quiet -e ".[dev,dynamixel,moteus,foxglove,ray]"
	touch $(STAMP)

demo: setup
	@bash scripts/demo.sh

test: lint firmware-test
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

# lint-imports checks the layer contracts in pyproject.toml ([tool.importlinter]).
lint: setup
	$(BIN)/ruff check ddpg_control sim hardware export tests bench
	$(BIN)/ruff format --check ddpg_control sim hardware export tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache

# Debian toolchains for hardware/firmware (host build, C tests, AVR image, simavr), installed when
# missing. Ports append their packages to FW_APT_PACKAGES.
FW_APT_PACKAGES := gcc make libc6-dev gcc-avr avr-libc simavr libsimavr-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
toolchains:
	@missing=$$(for p in $(FW_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

# the C host device (and the ports' images); see docs/firmware.md
firmware: toolchains
	$(MAKE) -C hardware/firmware all

# C unit tests and shared vectors under ASan+UBSan, and the parser fuzz (150,000 frames)
firmware-test: firmware
	$(MAKE) -C hardware/firmware test

bench: setup
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	@echo "benchmarks are run one by one; see docs/benchmarks.md for the commands"

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache *.egg-info
