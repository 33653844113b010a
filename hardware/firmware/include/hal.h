/*
 * hal.h - the only platform seam of the firmware core.
 *
 * A port (the host build in host/, the ATmega328P in avr/, your MCU) implements every function
 * below once, as plain functions linked into the image. The core calls them; nothing else in the
 * core touches hardware, clocks or interrupts. All are called from the main loop (fw_poll), never
 * from an interrupt, so a port may take a critical section inside them.
 *
 * Units and signs (hardware/PROTOCOL.md section 3, "Angle, velocity and torque"):
 *   angle_rad = counts * 2 pi / counts_per_rev; velocity is d(angle)/dt, positive when counts
 *   increase; a positive torque drives the counts up. Wire the encoder (or swap its A/B channels)
 *   so that this holds: the host calibrates the upright offset and the direction, not the sign
 *   between torque and counts.
 */
#ifndef DDPG_FW_HAL_H
#define DDPG_FW_HAL_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* -- time ----------------------------------------------------------------------------------- */

/* Microseconds since boot, free running, wrapping at 2^32 (every 71.6 minutes). Monotonic up to
 * the wrap; the core only ever takes differences of it. Resolution of a few us is plenty. */
uint32_t hal_micros(void);

/* -- the serial link ------------------------------------------------------------------------ */

/* The next received byte (0..255), or -1 if none is waiting. Never blocks. A port buffers what
 * arrives between two fw_poll calls (a 128-byte ring filled by the RX interrupt is enough at
 * 1 Mbaud with fw_poll running every 1 ms: 100 bytes arrive per ms). */
int hal_uart_read(void);

/* Send one whole reply frame (n <= 73 bytes). The core calls it exactly once per reply, with the
 * complete frame, so a port may treat a call as one packet (the host build's fault injection
 * drops, delays or corrupts whole replies this way). It may block until the bytes are queued. */
void hal_uart_write(const uint8_t *data, uint8_t n);

/* -- the joint ------------------------------------------------------------------------------ */

/* Multi-turn encoder position, counts_per_rev counts per output-shaft turn. Read atomically (on
 * an 8-bit MCU the encoder interrupt updates it: copy it with interrupts off). */
int32_t hal_encoder_counts(void);

/* Joint velocity, rad/s, same sign as d(counts)/dt. A port with only an encoder computes it with
 * velocity_estimator (include/velocity.h) updated from its own tick; a simulator may return the
 * true velocity. */
float hal_velocity_rad_s(void);

/* Apply this torque, N*m, already limited and zeroed by the core: |torque_nm| <= max_torque_nm of
 * the firmware configuration, 0.0f whenever disarmed or faulted, always finite. A port turns it
 * into PWM duty and direction (motor constant, supply voltage, back-EMF). Called at every TORQUE
 * and whenever the torque changes, and with 0.0f before hal_output_enable(false). */
void hal_torque_set(float torque_nm);

/* Switch the output stage (H-bridge enable, driver enable pin) on or off. On at ARM, off at
 * DISARM, CLEAR_FAULT and any fault. A port must keep it off from reset until the first call. */
void hal_output_enable(bool on);

/* Fault conditions present right now, as PROTOCOL.md fault bits (FW_FAULT_ENCODER,
 * FW_FAULT_OVER_TEMPERATURE, FW_FAULT_UNDER_VOLTAGE, FW_FAULT_OVER_CURRENT from protocol_defs.h).
 * The core latches any bit it sees (polled every fw_tick) until CLEAR_FAULT. A port without
 * such sensors returns 0. */
uint8_t hal_fault_inputs(void);

#ifdef __cplusplus
}
#endif

#endif /* DDPG_FW_HAL_H */
