/* velocity.c - count differences over a sliding window of samples. */
#include "velocity.h"

#include <string.h>

void velocity_init(velocity_estimator_t *v, uint32_t counts_per_rev)
{
    memset(v, 0, sizeof *v);
    v->rad_per_count = 6.2831853f / (float)counts_per_rev;
}

void velocity_update(velocity_estimator_t *v, int32_t counts, uint32_t now_us)
{
    uint8_t oldest = v->filled < VELOCITY_WINDOW ? 0u : v->head;
    if (v->filled) {
        uint32_t dt_us = now_us - v->stamps_us[oldest];
        if (dt_us) {
            /* the difference wraps correctly even when the count itself wraps */
            int32_t dcounts = (int32_t)((uint32_t)counts - (uint32_t)v->counts[oldest]);
            v->velocity_rad_s = (float)dcounts * v->rad_per_count * 1e6f / (float)dt_us;
        }
    }
    v->counts[v->head] = counts;
    v->stamps_us[v->head] = now_us;
    v->head = (uint8_t)((v->head + 1u) % VELOCITY_WINDOW);
    if (v->filled < VELOCITY_WINDOW)
        v->filled++;
}

float velocity_rad_s(const velocity_estimator_t *v)
{
    return v->velocity_rad_s;
}
