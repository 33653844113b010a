/*
 * rig_model.c - the motor, pendulum and encoder of rig_model.h.
 */
#include "rig_model.h"

#include <math.h>

rig_params_t rig_default_params(void)
{
    rig_params_t p = {
        .mass_kg = 1.0,
        .length_m = 1.0,
        .gravity_m_s2 = 10.0,
        .torque_constant_nm_a = 0.8,
        .resistance_ohm = 2.0,
        .supply_v = 12.0,
        .counts_per_rev = 2400,
    };
    return p;
}

void rig_init(rig_t *rig, const rig_params_t *params, double start_angle_rad)
{
    rig->params = *params;
    rig->angle_rad = start_angle_rad;
    rig->start_angle_rad = start_angle_rad;
    rig->velocity_rad_s = 0.0;
    rig->torque_nm = 0.0;
    rig->encoder_counts = 0;
}

double rig_motor_torque_nm(const rig_t *rig, bool enabled, bool positive, double duty)
{
    if (!enabled)
        return 0.0;
    const rig_params_t *p = &rig->params;
    double volts = (positive ? duty : -duty) * p->supply_v;
    double amps = (volts - p->torque_constant_nm_a * rig->velocity_rad_s) / p->resistance_ohm;
    return p->torque_constant_nm_a * amps;
}

void rig_step(rig_t *rig, double torque_nm, double dt_s)
{
    const rig_params_t *p = &rig->params;
    double accel = 3.0 * p->gravity_m_s2 / (2.0 * p->length_m) * sin(rig->angle_rad)
                   + 3.0 / (p->mass_kg * p->length_m * p->length_m) * torque_nm;
    rig->torque_nm = torque_nm;
    rig->velocity_rad_s += accel * dt_s;
    rig->angle_rad += rig->velocity_rad_s * dt_s;
}

int64_t rig_encoder_target(const rig_t *rig)
{
    double turns = (rig->angle_rad - rig->start_angle_rad) / (2.0 * M_PI);
    return (int64_t)floor(turns * (double)rig->params.counts_per_rev);
}

uint8_t rig_quadrature_ab(int64_t counts)
{
    static const uint8_t ab[4] = {0x0, 0x2, 0x3, 0x1};
    return ab[counts & 3];
}
