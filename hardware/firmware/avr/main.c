/*
 * main.c - the ATmega328P image: the core (src/) over the Uno's HAL, sleeping between events.
 *
 * The loop runs fw_poll, then sleeps in idle mode (timers and the UART keep running) until the
 * next interrupt: a received byte, an encoder edge or the 1.024 ms clock tick. Interrupts are
 * disabled from the check to the sleep instruction, and SEI takes effect after the instruction
 * that follows it, so a byte that arrives in between wakes the CPU instead of waiting a tick.
 */
#include <avr/interrupt.h>
#include <avr/sleep.h>

#include "board_uno.h"
#include "firmware.h"
#include "hal_avr.h"
#include "uart.h"

static fw_t fw;

int main(void)
{
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
    for (;;) {
        fw_poll(&fw);
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
