/*
 * firmware.h - the core's public API: what a port's main() calls.
 *
 *     static fw_t fw;
 *     int main(void) {
 *         board_init();                        // clocks, UART, timers, encoder IRQ: the port's own
 *         device_config_t cfg = FW_DEFAULT_CONFIG;
 *         cfg.max_torque_nm = 0.5f;            // what your motor and H-bridge can do
 *         cfg.counts_per_rev = 2400;           // 600-line encoder, x4 quadrature
 *         if (!fw_init(&fw, &cfg)) for (;;) {} // invalid configuration: stay off
 *         for (;;) fw_poll(&fw);               // at least every millisecond
 *     }
 *
 * fw_poll = every waiting byte through fw_receive, then fw_tick. A port that takes bytes in its
 * own loop (or a test) calls fw_receive and fw_tick itself. Everything runs in the caller's
 * context; nothing here is reentrant or called from an interrupt.
 */
#ifndef DDPG_FW_FIRMWARE_H
#define DDPG_FW_FIRMWARE_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "frame.h"
#include "protocol_defs.h"

#define FW_FIRMWARE_MAJOR 0u
#define FW_FIRMWARE_MINOR 2u
#define FW_FIRMWARE_PATCH 0u

/* The Python emulator's defaults (hardware/device.py DeviceConfig). */
#define FW_DEFAULT_CONFIG                                                                        \
    {                                                                                            \
        2.0f, 16384u, 10u, 1000u, FW_FIRMWARE_MAJOR, FW_FIRMWARE_MINOR, FW_FIRMWARE_PATCH,       \
            FW_PROTOCOL_VERSION                                                                  \
    }

typedef struct {
    frame_rx_t rx;
    device_t device;
} fw_t;

/* Check the configuration, switch the output off, zero the torque. false: invalid config. */
bool fw_init(fw_t *fw, const device_config_t *config);

/* One received byte: frames it completes are answered through hal_uart_write. */
void fw_receive(fw_t *fw, uint8_t byte);

/* Watchdog and fault inputs (hal_fault_inputs). */
void fw_tick(fw_t *fw);

/* Drain hal_uart_read, answering what completes, then fw_tick. */
void fw_poll(fw_t *fw);

#endif /* DDPG_FW_FIRMWARE_H */
