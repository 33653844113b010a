/* pendulum.c - Pendulum-v1 dynamics: theta'' = 3 g / (2 l) sin(theta) + 3 / (m l^2) u. */
#include "pendulum.h"

#include <math.h>

pendulum_params_t pendulum_v1_params(void)
{
    pendulum_params_t p = {10.0, 1.0, 1.0, 2.0, 8.0, 0.001};
    return p;
}

void pendulum_init(pendulum_t *p, const pendulum_params_t *params, double angle_rad, double now_s)
{
    p->params = *params;
    p->angle_rad = angle_rad;
    p->velocity_rad_s = 0.0;
    p->torque_nm = 0.0;
    p->time_s = now_s;
}

static void step(pendulum_t *p)
{
    const pendulum_params_t *c = &p->params;
    double accel = 3.0 * c->gravity_m_s2 / (2.0 * c->length_m) * sin(p->angle_rad) +
                   3.0 / (c->mass_kg * c->length_m * c->length_m) * p->torque_nm;
    double v = p->velocity_rad_s + accel * c->dt_s;
    if (v > c->max_velocity_rad_s)
        v = c->max_velocity_rad_s;
    if (v < -c->max_velocity_rad_s)
        v = -c->max_velocity_rad_s;
    p->velocity_rad_s = v;
    p->angle_rad += v * c->dt_s;
    p->time_s += c->dt_s;
}

void pendulum_advance_to(pendulum_t *p, double now_s)
{
    /* a stalled process (suspended, overloaded machine) catches up at most 1 s at once */
    if (now_s - p->time_s > 1.0)
        p->time_s = now_s - 1.0;
    while (p->time_s + p->params.dt_s <= now_s)
        step(p);
}

void pendulum_set_torque(pendulum_t *p, double torque_nm)
{
    double limit = p->params.max_torque_nm;
    p->torque_nm = torque_nm > limit ? limit : (torque_nm < -limit ? -limit : torque_nm);
}
