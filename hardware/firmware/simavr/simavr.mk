# simavr.mk - firmware in the loop: the Uno board model that runs the AVR image in simavr,
# included by hardware/firmware/Makefile.
#   make board      $(BUILD)/uno-board (links libsimavr)

BOARD_BIN := $(BUILD)/uno-board
BOARD_SRC := simavr/uno_board.c simavr/rig_model.c simavr/frame_timing.c
BOARD_HDR := $(wildcard simavr/*.h)
BOARD_CFLAGS := -std=gnu99 -Wall -Wextra -Wshadow -Werror -O2 -Isimavr
BOARD_LIBS := -lsimavr -lm

.PHONY: board
all: board
board: $(BOARD_BIN)

$(BOARD_BIN): $(BOARD_SRC) $(BOARD_HDR) simavr/simavr.mk | $(BUILD)
	$(CC) $(BOARD_CFLAGS) -o $@ $(BOARD_SRC) $(BOARD_LIBS)
