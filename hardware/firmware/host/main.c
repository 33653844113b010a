/*
 * main.c - the host device: the firmware core, unmodified, on a pseudo-terminal.
 *
 * The loop is a firmware main loop: fw_poll every millisecond (or as soon as bytes arrive). It
 * prints the pty path alone on stdout's first line, like `ddpg-control emulate`, and the same
 * exit summary on stderr, so the serial end-to-end tests run against either device.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "firmware.h"
#include "hal_host.h"
#include "options.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int signum)
{
    (void)signum;
    stop_requested = 1;
}

/* Space-separated key=value, the keys of hardware/emulator.py's summary. */
static void summary(FILE *out, const char *prefix, const fw_t *fw)
{
    const device_t *d = &fw->device;
    const frame_rx_stats_t *rx = &fw->rx.stats;
    host_link_stats_t link = host_stats();
    char last[32] = "none";
    if (d->stats.any_torque_command)
        snprintf(last, sizeof last, "%.4f", (double)d->stats.last_torque_command_nm);
    fprintf(out,
            "%s: requests=%lu torque_commands=%lu last_torque_command_nm=%s "
            "applied_torque_nm=%.4f armed=%d watchdog_trips=%lu faults=0x%02x "
            "replies_dropped=%lu replies_corrupted=%lu bad_frames=%lu physics_torque_nm=%.4f "
            "disconnected=%d\n",
            prefix, (unsigned long)d->stats.requests, (unsigned long)d->stats.torque_commands, last,
            (double)d->applied_torque_nm, d->armed ? 1 : 0, (unsigned long)d->stats.watchdog_trips,
            d->faults, (unsigned long)link.replies_dropped, (unsigned long)link.replies_corrupted,
            (unsigned long)(rx->bad_crc + rx->bad_length + rx->timeouts + d->stats.foreign_version),
            link.torque_nm, link.disconnected ? 1 : 0);
    fflush(out);
}

/* "status" lines on stdin print a summary on stdout: how tests look inside a running device. */
static int serve_stdin(const fw_t *fw)
{
    char line[64];
    ssize_t n = read(STDIN_FILENO, line, sizeof line - 1);
    if (n <= 0)
        return -1; /* closed: stop watching it */
    line[n] = '\0';
    if (strstr(line, "status"))
        summary(stdout, "status", fw);
    return STDIN_FILENO;
}

int main(int argc, char **argv)
{
    host_options_t opt;
    int rc = options_parse(argc, argv, &opt);
    if (rc)
        return rc == 1 ? 0 : 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* A microcontroller is never descheduled; on a loaded PC ask, best effort, to be woken
     * first, so a TORQUE waiting in the pty is not read after its watchdog window. */
    if (setpriority(PRIO_PROCESS, 0, -10) != 0)
        errno = 0;

    const char *path = host_open(&opt);
    if (!path)
        return 3;
    static fw_t fw;
    device_config_t config = FW_DEFAULT_CONFIG;
    config.max_torque_nm = (float)opt.max_torque_nm;
    config.counts_per_rev = opt.counts_per_rev;
    config.protocol_version = (uint8_t)opt.protocol_version;
    if (!fw_init(&fw, &config)) {
        fprintf(stderr, "ddpg-fw-host: error: invalid device configuration\n");
        return 2;
    }
    printf("%s\n", path);
    fflush(stdout);

    int stdin_fd = isatty(STDIN_FILENO) ? -1 : STDIN_FILENO; /* never a person's keystrokes */
    uint32_t trips = 0;
    while (!stop_requested) {
        if (host_wait(0.001, stdin_fd))
            stdin_fd = serve_stdin(&fw);
        fw_poll(&fw);
        host_service();
        if (fw.device.stats.watchdog_trips != trips) {
            trips = fw.device.stats.watchdog_trips;
            fprintf(stderr, "ddpg-fw-host: watchdog: no TORQUE within %lu ms; torque zero, "
                            "fault latched\n",
                    (unsigned long)(fw.device.watchdog_timeout_us / 1000u));
        }
        if (host_stats().disconnected && !fw.device.armed)
            break; /* hung up, and the watchdog has made the motor safe */
        if (opt.duration_s > 0 && host_now_s() >= opt.duration_s)
            break;
    }
    host_close();
    summary(stderr, "emulator", &fw);
    return 0;
}
