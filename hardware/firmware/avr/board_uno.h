/*
 * board_uno.h - the Arduino Uno rig: pins, encoder, motor and H-bridge constants.
 *
 * Everything a builder changes for their own rig is here (docs/firmware.md, "Wiring").
 *
 *   Uno pin  AVR pin   function
 *   D0 / D1  PD0/PD1   UART RX/TX to the USB bridge (1,000,000 baud, U2X, UBRR0 = 1)
 *   D2       PD2 INT0  encoder channel A
 *   D3       PD3 INT1  encoder channel B
 *   D4       PD4       driver nFAULT, open drain, active low (internal pull-up on)
 *   D7       PD7       driver nSLEEP: high = output stage on. Pull it down with 10 kOhm on the
 *                      board: the AVR's pins float from reset until the firmware drives them
 *   D8       PB0       driver PH / DIR: high = positive torque (counts increase)
 *   D9       PB1 OC1A  driver EN / PWM, 31.25 kHz, Timer1 fast PWM 9-bit (mode 6)
 *   D13      PB5       on-board LED: lit while the output stage is on
 *
 * The motor model (docs/firmware.md, "Torque to duty"): a brushed DC motor behind a gearbox,
 * constants at the output shaft, driven by a PH/EN H-bridge that brakes (both low sides on)
 * during the PWM off time, so the average winding voltage is duty * supply. With the electrical
 * time constant L/R far below a control period and far above the 32 us PWM period, the current
 * follows i = (V - Ke * omega) / R, the torque is Kt * i.
 */
#ifndef DDPG_FW_BOARD_UNO_H
#define DDPG_FW_BOARD_UNO_H

/* Encoder: 600 lines, quadrature x4, on the output shaft. */
#define BOARD_COUNTS_PER_REV 2400UL

/* Motor at the output shaft and its supply. Kt = Ke in SI units (N*m/A = V*s/rad). With these a
 * 2 N*m torque takes 2.5 A and 5 V across the winding, plus 6.4 V of back-EMF at 8 rad/s: the
 * full torque is available up to 8 rad/s at 12 V. */
#define BOARD_TORQUE_CONSTANT_NM_A 0.8f
#define BOARD_WINDING_RESISTANCE_OHM 2.0f
#define BOARD_SUPPLY_V 12.0f
#define BOARD_MAX_TORQUE_NM 2.0f

/* PWM: Timer1 fast PWM 9-bit, 16 MHz / 512 = 31.25 kHz, above hearing; 512 duty steps. */
#define BOARD_PWM_TOP 511U

#endif /* DDPG_FW_BOARD_UNO_H */
