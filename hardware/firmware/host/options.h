/* options.h - the host device's command line: the options of `ddpg-control emulate`. */
#ifndef DDPG_FW_HOST_OPTIONS_H
#define DDPG_FW_HOST_OPTIONS_H

#include <stdint.h>

typedef struct {
    double duration_s;         /* 0: until SIGINT/SIGTERM */
    double start_angle_rad;    /* pi: hanging down */
    double max_torque_nm;      /* 2 */
    uint32_t counts_per_rev;   /* 16384 */
    uint32_t seed;             /* for injected faults */
    int protocol_version;      /* 1 */
    double latency_ms;         /* delay every reply */
    double drop_rate;          /* share of replies dropped */
    double corrupt_rate;       /* share of replies with one bit flipped */
    double disconnect_after_s; /* < 0: never; seconds after the first ARM: hang up */
    double stuck_after_s;      /* < 0: never; seconds after the first ARM: freeze the sensor */
} host_options_t;

/* 0: parsed; 1: --help printed (exit 0); 2: error printed to stderr (exit 2). */
int options_parse(int argc, char **argv, host_options_t *out);

#endif /* DDPG_FW_HOST_OPTIONS_H */
