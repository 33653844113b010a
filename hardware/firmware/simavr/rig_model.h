/*
 * rig_model.h - the physical rig the simulated Uno drives: H-bridge, DC motor, pendulum, encoder.
 *
 * The pendulum is Gymnasium Pendulum-v1's: a uniform rod, m = 1 kg, l = 1 m, g = 10 m/s^2,
 * turning about one end (I = m l^2 / 3), theta = 0 upright, counter-clockwise positive:
 *
 *     theta'' = 3 g / (2 l) * sin(theta) + 3 / (m l^2) * torque
 *
 * The motor is the one avr/board_uno.h describes (Kt = Ke = 0.8 N*m/A at the output shaft,
 * R = 2 Ohm, 12 V supply), behind a PH/EN H-bridge that brakes during the PWM off time: with the
 * output stage on, the winding sees the average voltage +-duty * V_supply and carries
 * i = (V - Ke * omega) / R (inductance neglected: L/R is far below a control period); with it off
 * (nSLEEP low) the bridge floats and no current flows. The encoder counts 2400 per turn from
 * the angle at power-up, A leading B for increasing counts (counter-clockwise).
 */
#ifndef DDPG_RIG_MODEL_H
#define DDPG_RIG_MODEL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double mass_kg, length_m, gravity_m_s2;
    double torque_constant_nm_a, resistance_ohm, supply_v;
    uint32_t counts_per_rev;
} rig_params_t;

/* The rig of avr/board_uno.h on the Pendulum-v1 pendulum. */
rig_params_t rig_default_params(void);

typedef struct {
    rig_params_t params;
    double angle_rad; /* physics angle: 0 upright, counter-clockwise positive */
    double velocity_rad_s;
    double torque_nm; /* motor torque during the last step */
    double start_angle_rad;
    int64_t encoder_counts; /* what the encoder has output so far (its A/B state) */
} rig_t;

void rig_init(rig_t *rig, const rig_params_t *params, double start_angle_rad);

/* Motor torque for a bridge state: enabled (nSLEEP high), direction pin, duty 0..1. */
double rig_motor_torque_nm(const rig_t *rig, bool enabled, bool positive, double duty);

/* Advance dt_s with this motor torque (semi-implicit Euler). */
void rig_step(rig_t *rig, double torque_nm, double dt_s);

/* The count the encoder disk is at now (floor of the angle travelled since power-up). */
int64_t rig_encoder_target(const rig_t *rig);

/* Quadrature state of a count: A << 1 | B, going 00 -> 10 -> 11 -> 01 as counts increase. */
uint8_t rig_quadrature_ab(int64_t counts);

#endif /* DDPG_RIG_MODEL_H */
