/*
 * velocity.h - joint velocity from encoder counts, for ports whose sensor gives only a position.
 *
 * A port calls velocity_update every millisecond or so (from its timer or from hal_fault_inputs,
 * which fw_tick polls) and returns velocity_rad_s() from hal_velocity_rad_s(). The estimate is the
 * count difference across a sliding window of VELOCITY_WINDOW samples, divided by their time
 * difference: with 16384 counts/rev sampled every 1 ms over 8 samples the resolution is 0.055 rad/s
 * and the lag half the window (4 ms).
 */
#ifndef DDPG_FW_VELOCITY_H
#define DDPG_FW_VELOCITY_H

#include <stdint.h>

#define VELOCITY_WINDOW 8u

typedef struct {
    int32_t counts[VELOCITY_WINDOW];
    uint32_t stamps_us[VELOCITY_WINDOW];
    uint8_t head;   /* next slot to write */
    uint8_t filled; /* samples held, up to VELOCITY_WINDOW */
    float rad_per_count;
    float velocity_rad_s;
} velocity_estimator_t;

void velocity_init(velocity_estimator_t *v, uint32_t counts_per_rev);
void velocity_update(velocity_estimator_t *v, int32_t counts, uint32_t now_us);
float velocity_rad_s(const velocity_estimator_t *v);

#endif /* DDPG_FW_VELOCITY_H */
