/* options.c - parse and validate the command line; one clear line per bad value. */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: ddpg-fw-host [options]\n"
    "\n"
    "The reference firmware core (hardware/firmware) on a pseudo-terminal, with the Pendulum-v1\n"
    "physics behind its HAL, in real time. Prints the pty path alone on the first line of\n"
    "stdout; pass it to 'ddpg-control run --device'. Runs until SIGINT/SIGTERM, --duration-s,\n"
    "or (after --fault disconnect) until its watchdog has tripped; then prints an 'emulator:'\n"
    "summary on stderr. A line 'status' on stdin prints the same fields on stdout at once.\n"
    "\n"
    "options:\n"
    "  --duration-s S                seconds to run; 0 = until a signal (default 0)\n"
    "  --start-angle-rad RAD         start angle, 0 = upright (default pi)\n"
    "  --device-torque-limit-nm NM   device torque limit, N*m (default 2)\n"
    "  --counts-per-rev N            encoder counts per turn (default 16384)\n"
    "  --protocol-version V          pretend to speak another version, 0..255 (default 1)\n"
    "  --seed N                      seed for injected faults (default 0)\n"
    "fault injection:\n"
    "  --latency-ms MS               delay every reply\n"
    "  --drop-rate P                 drop this share of replies, 0..1\n"
    "  --corrupt-rate P              flip a bit in this share of replies, 0..1\n"
    "  --fault KIND[@S]              S seconds after the first ARM (default 0): disconnect\n"
    "                                (hang up) or stuck-sensor (freeze the sensor)\n"
    "  -h, --help                    show this help\n";

static int bad(const char *option, const char *value, const char *why)
{
    fprintf(stderr, "ddpg-fw-host: error: %s %s: %s\n", option, value, why);
    return 2;
}

static int number(const char *option, const char *text, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v))
        return bad(option, text, "not a finite number");
    if (v < lo || v > hi) {
        char why[96];
        snprintf(why, sizeof why, "must lie in [%g, %g]", lo, hi);
        return bad(option, text, why);
    }
    *out = v;
    return 0;
}

/* --fault KIND[@SECONDS]: disconnect or stuck-sensor, at SECONDS after the first ARM. */
static int fault(const char *option, const char *text, host_options_t *o)
{
    const char *at = strchr(text, '@');
    size_t kind_length = at ? (size_t)(at - text) : strlen(text);
    double seconds = 0.0;
    if (at) {
        int rc = number(option, at + 1, 0.0, 1e9, &seconds);
        if (rc)
            return rc;
    }
    if (kind_length == strlen("disconnect") && !strncmp(text, "disconnect", kind_length))
        o->disconnect_after_s = seconds;
    else if (kind_length == strlen("stuck-sensor") && !strncmp(text, "stuck-sensor", kind_length))
        o->stuck_after_s = seconds;
    else
        return bad(option, text, "this device injects disconnect, stuck-sensor");
    return 0;
}

static int whole(const char *option, const char *text, double lo, double hi, double *out)
{
    int rc = number(option, text, lo, hi, out);
    if (rc == 0 && floor(*out) != *out)
        return bad(option, text, "not a whole number");
    return rc;
}

int options_parse(int argc, char **argv, host_options_t *o)
{
    host_options_t d = {0.0, 3.14159265358979, 2.0, 16384u, 0u, 1, 0.0, 0.0, 0.0, -1.0, -1.0};
    *o = d;
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            if (strncmp(name, "--", 2) != 0)
                return bad("argument", name, "unexpected (see --help)");
            return bad(name, "", "needs a value (see --help)");
        }
        const char *v = argv[++i];
        double x = 0.0;
        int rc;
        if (!strcmp(name, "--duration-s"))
            rc = number(name, v, 0.0, 1e9, &o->duration_s);
        else if (!strcmp(name, "--start-angle-rad"))
            rc = number(name, v, -1e6, 1e6, &o->start_angle_rad);
        else if (!strcmp(name, "--device-torque-limit-nm")) {
            rc = number(name, v, 0.0, 1e6, &o->max_torque_nm);
            if (rc == 0 && o->max_torque_nm <= 0.0)
                rc = bad(name, v, "must be > 0");
        } else if (!strcmp(name, "--counts-per-rev")) {
            rc = whole(name, v, 1.0, 2147483647.0, &x);
            o->counts_per_rev = (uint32_t)x;
        } else if (!strcmp(name, "--protocol-version")) {
            rc = whole(name, v, 0.0, 255.0, &x);
            o->protocol_version = (int)x;
        } else if (!strcmp(name, "--seed")) {
            rc = whole(name, v, 0.0, 4294967295.0, &x);
            o->seed = (uint32_t)x;
        } else if (!strcmp(name, "--latency-ms"))
            rc = number(name, v, 0.0, 1e6, &o->latency_ms);
        else if (!strcmp(name, "--drop-rate"))
            rc = number(name, v, 0.0, 1.0, &o->drop_rate);
        else if (!strcmp(name, "--corrupt-rate"))
            rc = number(name, v, 0.0, 1.0, &o->corrupt_rate);
        else if (!strcmp(name, "--fault"))
            rc = fault(name, v, o);
        else
            return bad("option", name, "unknown (see --help)");
        if (rc)
            return rc;
    }
    return 0;
}
