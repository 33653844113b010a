# avr.mk - the ATmega328P image (Arduino Uno, 16 MHz), included by hardware/firmware/Makefile.
#   make avr        $(BUILD)/avr/ddpg-fw-uno.elf and .hex, and its flash/RAM use (avr-size)
#   make flash-uno PORT=/dev/ttyACM0    write the .hex with avrdude through the Uno's bootloader
#   make avr-test-images    $(BUILD)/avr/ddpg-fw-uno-hang.elf: the image with a main loop that
#                   hangs once armed, for the test of the AVR's own watchdog (never flash it)

AVR_CC ?= avr-gcc
AVR_OBJCOPY ?= avr-objcopy
AVR_SIZE ?= avr-size
AVR_MCU := atmega328p
AVR_BUILD := $(BUILD)/avr
AVR_ELF := $(AVR_BUILD)/ddpg-fw-uno.elf
AVR_HEX := $(AVR_BUILD)/ddpg-fw-uno.hex
AVR_SRC := avr/main.c avr/hal_avr.c avr/uart.c avr/clock.c avr/encoder.c avr/motor.c
AVR_HDR := $(wildcard avr/*.h)
# -fshort-enums etc. are avr-gcc's defaults; -Os and section GC keep the image small.
AVR_CFLAGS := -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Werror \
	-mmcu=$(AVR_MCU) -DF_CPU=16000000UL -Os -ffunction-sections -fdata-sections \
	-Iinclude -Iavr
AVR_LDFLAGS := -mmcu=$(AVR_MCU) -Wl,--gc-sections

.PHONY: avr flash-uno avr-test-images
all: avr
avr: $(AVR_HEX) $(AVR_BUILD)/size.txt

$(AVR_ELF): $(FW_CORE_SRC) $(AVR_SRC) $(FW_CORE_HDR) $(AVR_HDR) avr/avr.mk
	mkdir -p $(AVR_BUILD)
	$(AVR_CC) $(AVR_CFLAGS) $(AVR_LDFLAGS) -o $@ $(FW_CORE_SRC) $(AVR_SRC)

AVR_HANG_ELF := $(AVR_BUILD)/ddpg-fw-uno-hang.elf
avr-test-images: $(AVR_HANG_ELF)
$(AVR_HANG_ELF): $(FW_CORE_SRC) $(AVR_SRC) $(FW_CORE_HDR) $(AVR_HDR) avr/avr.mk
	mkdir -p $(AVR_BUILD)
	$(AVR_CC) $(AVR_CFLAGS) -DUNO_TEST_HANG_WHEN_ARMED $(AVR_LDFLAGS) -o $@ $(FW_CORE_SRC) $(AVR_SRC)

$(AVR_HEX): $(AVR_ELF)
	$(AVR_OBJCOPY) -O ihex -R .eeprom $< $@

# flash = .text + .data, RAM = .data + .bss (the stack takes the rest of the 2048 bytes)
$(AVR_BUILD)/size.txt: $(AVR_ELF)
	$(AVR_SIZE) --format=avr --mcu=$(AVR_MCU) $< | tee $@

PORT ?= /dev/ttyACM0
flash-uno: $(AVR_HEX)
	avrdude -p $(AVR_MCU) -c arduino -P $(PORT) -b 115200 -D -U flash:w:$(AVR_HEX):i
