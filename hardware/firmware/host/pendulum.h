/*
 * pendulum.h - the host build's plant: Gymnasium Pendulum-v1 (a uniform rod about one end,
 * theta = 0 upright, positive counter-clockwise), integrated like the env (semi-implicit Euler,
 * velocity clamped) in fixed 1 ms steps with the torque held between steps.
 */
#ifndef DDPG_FW_HOST_PENDULUM_H
#define DDPG_FW_HOST_PENDULUM_H

typedef struct {
    double gravity_m_s2;       /* 10 */
    double mass_kg;            /* 1 */
    double length_m;           /* 1 */
    double max_torque_nm;      /* 2: the motor can do no more */
    double max_velocity_rad_s; /* 8 */
    double dt_s;               /* 0.001 */
} pendulum_params_t;

typedef struct {
    pendulum_params_t params;
    double angle_rad; /* unwrapped: the encoder counts turns */
    double velocity_rad_s;
    double torque_nm;
    double time_s; /* simulated time reached */
} pendulum_t;

pendulum_params_t pendulum_v1_params(void);
void pendulum_init(pendulum_t *p, const pendulum_params_t *params, double angle_rad, double now_s);
/* Advance in whole steps up to now_s (at most one step behind it). */
void pendulum_advance_to(pendulum_t *p, double now_s);
/* Hold this torque from now on (clipped to max_torque_nm). Advance to now first. */
void pendulum_set_torque(pendulum_t *p, double torque_nm);

#endif /* DDPG_FW_HOST_PENDULUM_H */
