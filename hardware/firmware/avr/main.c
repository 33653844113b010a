/*
 * main.c - the ATmega328P image: the core (src/) over the Uno's HAL, sleeping between events.
 *
 * The loop runs fw_poll, then sleeps in idle mode (timers and the UART keep running) until the
 * next interrupt: a received byte, an encoder edge or the 1.024 ms clock tick. Interrupts are
 * disabled from the check to the sleep instruction, and SEI takes effect after the instruction
 * that follows it, so a byte that arrives in between wakes the CPU instead of waiting a tick.
 *
 * The AVR's own watchdog (60 ms) resets the chip if the loop ever stops coming round (at least
 * once per 1.024 ms tick): from reset the pins float and the pull-down on nSLEEP keeps the
 * bridge off, and the host sees a disarmed device. (The protocol's watchdog, in the core, is
 * the one that guards against a silent host.)
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#include "board_uno.h"
#include "firmware.h"
#include "hal_avr.h"
#include "uart.h"

static fw_t fw;

int main(void)
{
    MCUSR = 0; /* after a watchdog reset the watchdog stays on until this and wdt_disable */
    wdt_disable();
    hal_avr_init();
    sei();
    device_config_t config = FW_DEFAULT_CONFIG;
    config.max_torque_nm = BOARD_MAX_TORQUE_NM;
    config.counts_per_rev = BOARD_COUNTS_PER_REV;
    if (!fw_init(&fw, &config)) {
        for (;;) {
            /* an invalid board_uno.h: the output stays off */
        }
    }
    set_sleep_mode(SLEEP_MODE_IDLE);
    wdt_enable(WDTO_60MS);
    for (;;) {
        wdt_reset();
        fw_poll(&fw);
#ifdef UNO_TEST_HANG_WHEN_ARMED
        /* a test image only (avr.mk: ddpg-fw-uno-hang.elf): the main loop dies once armed */
        while (fw.device.armed) {
        }
#endif
        cli();
        if (!uart_rx_pending()) {
            sleep_enable();
            sei();
            sleep_cpu();
            sleep_disable();
        }
        sei();
    }
}
