/*
 * hal_host.h - the host port: hal.h on a pseudo-terminal, with the pendulum as the motor and
 * encoder, and the emulator's fault injection (late, dropped, corrupted replies; hang-up; stuck
 * sensor) applied where a real link or sensor would fail: in the HAL, under an unmodified core.
 */
#ifndef DDPG_FW_HAL_HOST_H
#define DDPG_FW_HAL_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "options.h"

typedef struct {
    uint32_t replies_dropped;
    uint32_t replies_corrupted;
    bool disconnected;
    bool stuck;
    double torque_nm; /* what the physics holds */
} host_link_stats_t;

/* Open the pty and start the clock and the physics; the slave path is returned. NULL on error
 * (the reason printed on stderr). */
const char *host_open(const host_options_t *options);
void host_close(void);
double host_now_s(void);
/* Wait up to ``max_wait_s`` for input (pty or ``extra_fd`` >= 0); return true if extra_fd is
 * readable. */
bool host_wait(double max_wait_s, int extra_fd);
/* Advance the physics, send replies that are due, apply scheduled faults. */
void host_service(void);
host_link_stats_t host_stats(void);

#endif /* DDPG_FW_HAL_HOST_H */
