/*
 * device.h - the command set, the watchdog and fault latching: PROTOCOL.md sections 3 and 4.
 *
 * A state machine over CRC-valid frames. It reads time only from its ``now_us`` arguments and
 * touches the hardware only through hal.h (torque out, output enable, encoder, velocity), so the
 * unit tests drive it with a fake HAL and scripted time. hardware/device.py is the same machine
 * in Python; the shared vectors (tests/hardware/vectors.txt) hold both to the same bytes.
 */
#ifndef DDPG_FW_DEVICE_H
#define DDPG_FW_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"

/* What the device reports in HELLO_REPLY and enforces. */
typedef struct {
    float max_torque_nm;       /* hardware limit, > 0 */
    uint32_t counts_per_rev;   /* encoder counts per output-shaft turn, > 0 */
    uint16_t watchdog_min_ms;  /* ARM accepts watchdog timeouts in [min, max], 0 < min <= max */
    uint16_t watchdog_max_ms;
    uint8_t firmware_major;
    uint8_t firmware_minor;
    uint8_t firmware_patch;
    uint8_t protocol_version; /* FW_PROTOCOL_VERSION; another value only to test a host */
} device_config_t;

/* Counters for a debugger, a status LED or the host build's exit summary. */
typedef struct {
    uint32_t requests;        /* frames answered or ignored by the device (CRC-valid) */
    uint32_t torque_commands; /* TORQUE frames, finite or not */
    float last_torque_command_nm;
    bool any_torque_command;
    uint32_t watchdog_trips;
    uint32_t nacks;
    uint32_t foreign_version; /* frames of another version, dropped (or HELLO answered) */
} device_stats_t;

typedef struct {
    device_config_t config;
    bool armed;
    uint8_t faults; /* latched FW_FAULT_* bits */
    bool torque_limited;
    float torque_limit_nm;
    uint32_t watchdog_timeout_us;
    uint32_t last_feed_us;
    float applied_torque_nm;
    uint32_t start_us; /* STATE timestamps count from here */
    device_stats_t stats;
} device_t;

/* false (and the device unusable) if the configuration is invalid. Output off, torque zero. */
bool device_init(device_t *d, const device_config_t *config, uint32_t now_us);

/* Run the watchdog and latch the fault inputs. Call at least every millisecond. */
void device_tick(device_t *d, uint32_t now_us, uint8_t fault_inputs);

/* Process one CRC-valid frame received at ``now_us``. Writes the reply frame into ``reply``
 * (FW_MAX_FRAME bytes) and returns its size, or 0 when the frame gets no reply (another protocol
 * version, except HELLO). Runs device_tick first. */
uint8_t device_handle(device_t *d, const frame_t *request, uint32_t now_us, uint8_t *reply);

#endif /* DDPG_FW_DEVICE_H */
