/* hal_host.c - hal.h for a Linux host: pty, CLOCK_MONOTONIC, Pendulum-v1, fault injection. */
#include "hal_host.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hal.h"
#include "pendulum.h"
#include "protocol_defs.h"

#define PENDING_MAX 64

typedef struct {
    double due_s;
    uint8_t n;
    uint8_t bytes[FW_MAX_FRAME];
} pending_t;

static struct {
    host_options_t opt;
    int master, slave;
    double t0_s;
    pendulum_t pendulum;
    uint8_t in[256];
    size_t in_n, in_pos;
    uint64_t rng;
    bool armed_once;
    double armed_at_s;
    int32_t stuck_counts;
    float stuck_velocity;
    pending_t pending[PENDING_MAX]; /* in order of due time: the latency is the same for all */
    unsigned pending_head, pending_n;
    host_link_stats_t stats;
} H = {.master = -1, .slave = -1};

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double host_now_s(void)
{
    return monotonic_s() - H.t0_s;
}

static double uniform(void) /* xorshift64*: [0, 1) */
{
    H.rng ^= H.rng >> 12;
    H.rng ^= H.rng << 25;
    H.rng ^= H.rng >> 27;
    return (double)((H.rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

const char *host_open(const host_options_t *options)
{
    H.opt = *options;
    H.t0_s = monotonic_s();
    H.rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)options->seed * 0xD1B54A32D192ED03ull);
    pendulum_params_t params = pendulum_v1_params();
    params.max_torque_nm = options->max_torque_nm;
    pendulum_init(&H.pendulum, &params, options->start_angle_rad, 0.0);
    H.master = posix_openpt(O_RDWR | O_NOCTTY);
    if (H.master < 0 || grantpt(H.master) || unlockpt(H.master)) {
        fprintf(stderr, "ddpg-fw-host: error: cannot open a pseudo-terminal: %s\n", strerror(errno));
        return NULL;
    }
    const char *path = ptsname(H.master);
    H.slave = path ? open(path, O_RDWR | O_NOCTTY) : -1;
    struct termios tio;
    if (H.slave < 0 || tcgetattr(H.slave, &tio)) {
        fprintf(stderr, "ddpg-fw-host: error: cannot open the pty slave: %s\n", strerror(errno));
        return NULL;
    }
    cfmakeraw(&tio); /* no echo, no line editing, before any host opens it */
    tcsetattr(H.slave, TCSANOW, &tio);
    fcntl(H.master, F_SETFL, fcntl(H.master, F_GETFL) | O_NONBLOCK);
    return path;
}

void host_close(void)
{
    if (H.master >= 0)
        close(H.master);
    if (H.slave >= 0)
        close(H.slave);
    H.master = H.slave = -1;
}

bool host_wait(double max_wait_s, int extra_fd)
{
    struct pollfd fds[2];
    nfds_t n = 0;
    if (H.pending_n) {
        double until_due = H.pending[H.pending_head].due_s - host_now_s();
        if (until_due < max_wait_s)
            max_wait_s = until_due > 0 ? until_due : 0;
    }
    if (H.master >= 0)
        fds[n++] = (struct pollfd){.fd = H.master, .events = POLLIN};
    if (extra_fd >= 0)
        fds[n++] = (struct pollfd){.fd = extra_fd, .events = POLLIN};
    struct timespec ts = {0, (long)(max_wait_s * 1e9)};
    if (ppoll(fds, n, &ts, NULL) <= 0)
        return false;
    return extra_fd >= 0 && (fds[n - 1].revents & (POLLIN | POLLHUP));
}

/* -- hal.h -------------------------------------------------------------------------------- */

uint32_t hal_micros(void)
{
    return (uint32_t)(uint64_t)llround(host_now_s() * 1e6);
}

int hal_uart_read(void)
{
    if (H.in_pos == H.in_n) {
        if (H.master < 0)
            return -1;
        ssize_t got = read(H.master, H.in, sizeof H.in);
        if (got <= 0) /* nothing waiting (EAGAIN), or no host has the port open (EIO) */
            return -1;
        H.in_n = (size_t)got;
        H.in_pos = 0;
    }
    return H.in[H.in_pos++];
}

static void write_now(const uint8_t *data, uint8_t n)
{
    if (H.master >= 0 && write(H.master, data, n) < 0 && errno != EAGAIN)
        fprintf(stderr, "ddpg-fw-host: write: %s\n", strerror(errno));
}

void hal_uart_write(const uint8_t *data, uint8_t n)
{
    if (H.stats.disconnected)
        return;
    if (H.opt.drop_rate > 0 && uniform() < H.opt.drop_rate) {
        H.stats.replies_dropped++;
        return;
    }
    uint8_t frame[FW_MAX_FRAME];
    memcpy(frame, data, n);
    if (H.opt.corrupt_rate > 0 && uniform() < H.opt.corrupt_rate) {
        unsigned bit = (unsigned)(uniform() * n * 8);
        frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        H.stats.replies_corrupted++;
    }
    if (H.opt.latency_ms <= 0) {
        write_now(frame, n);
        return;
    }
    if (H.pending_n == PENDING_MAX) { /* the host is far behind: like a full UART FIFO */
        H.stats.replies_dropped++;
        return;
    }
    pending_t *p = &H.pending[(H.pending_head + H.pending_n++) % PENDING_MAX];
    p->due_s = host_now_s() + H.opt.latency_ms / 1000.0;
    p->n = n;
    memcpy(p->bytes, frame, n);
}

int32_t hal_encoder_counts(void)
{
    if (H.stats.stuck)
        return H.stuck_counts;
    pendulum_advance_to(&H.pendulum, host_now_s());
    double counts = round(H.pendulum.angle_rad * H.opt.counts_per_rev / (2.0 * M_PI));
    if (counts > 2147483647.0)
        counts = 2147483647.0;
    if (counts < -2147483648.0)
        counts = -2147483648.0;
    return (int32_t)counts;
}

float hal_velocity_rad_s(void)
{
    if (H.stats.stuck)
        return H.stuck_velocity;
    pendulum_advance_to(&H.pendulum, host_now_s());
    return (float)H.pendulum.velocity_rad_s;
}

void hal_torque_set(float torque_nm)
{
    pendulum_advance_to(&H.pendulum, host_now_s()); /* the old torque held until now */
    pendulum_set_torque(&H.pendulum, torque_nm);
}

void hal_output_enable(bool on)
{
    if (on && !H.armed_once) {
        H.armed_once = true;
        H.armed_at_s = host_now_s(); /* fault schedules count from the first ARM */
    }
}

uint8_t hal_fault_inputs(void)
{
    return 0; /* the simulated rig has no temperature, supply or current sensors */
}

/* -- the host's own loop ------------------------------------------------------------------- */

void host_service(void)
{
    double now = host_now_s();
    pendulum_advance_to(&H.pendulum, now);
    while (H.pending_n && H.pending[H.pending_head].due_s <= now) {
        pending_t *p = &H.pending[H.pending_head];
        write_now(p->bytes, p->n);
        H.pending_head = (H.pending_head + 1) % PENDING_MAX;
        H.pending_n--;
    }
    if (!H.armed_once)
        return;
    double since_arm = now - H.armed_at_s;
    if (H.opt.stuck_after_s >= 0 && since_arm >= H.opt.stuck_after_s && !H.stats.stuck) {
        H.stuck_counts = hal_encoder_counts();
        H.stuck_velocity = hal_velocity_rad_s();
        H.stats.stuck = true;
        fprintf(stderr, "ddpg-fw-host: fault injection: the position sensor is stuck from now on\n");
    }
    if (H.opt.disconnect_after_s >= 0 && since_arm >= H.opt.disconnect_after_s &&
        !H.stats.disconnected) {
        fprintf(stderr, "ddpg-fw-host: fault injection: disconnecting the host\n");
        H.stats.disconnected = true;
        H.pending_n = 0;
        host_close();
    }
}

host_link_stats_t host_stats(void)
{
    host_link_stats_t s = H.stats;
    s.torque_nm = H.pendulum.torque_nm;
    return s;
}
