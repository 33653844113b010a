/*
 * motor.h - torque out through a PH/EN H-bridge: Timer1 PWM on D9, direction on D8, the
 * driver's nSLEEP on D7 as the output-stage enable, its nFAULT on D4.
 */
#ifndef DDPG_FW_AVR_MOTOR_H
#define DDPG_FW_AVR_MOTOR_H

#include <stdbool.h>

/* Pins driven low (output stage off, PWM low), Timer1 at 20 kHz, nFAULT pull-up on. */
void motor_init(void);

/* The torque to produce, N*m (finite, already limited by the core). */
void motor_set_torque(float torque_nm);

/* Output stage on or off. Off: nSLEEP low (the bridge floats, no current), PWM low. */
void motor_enable(bool on);

/* Recompute duty and direction from the torque target and the joint velocity (back-EMF). Call
 * every tick and whenever the target changes. */
void motor_update(float velocity_rad_s);

/* True while the driver pulls nFAULT low (over-current, over-temperature or under-voltage
 * lockout on DRV887x-class drivers). */
bool motor_driver_fault(void);

#endif /* DDPG_FW_AVR_MOTOR_H */
