/*
 * uno_board.c - firmware in the loop: the unmodified ATmega328P image in simavr, on a simulated
 * Arduino Uno wired to the rig of rig_model.h, its UART on a pseudo-terminal.
 *
 *     uno-board [--start-angle-rad RAD] [--trace FILE.csv] [--driver-fault-at-s S] [--free-run]
 *               firmware.elf
 *
 * prints the pty path alone on its first stdout line (as `ddpg-control emulate` does); run
 * `ddpg-control run --device <path> --upright-offset-rad 3.141592653589793` against it (the
 * encoder counts from the hanging position, as a real incremental encoder does at power-up).
 * SIGTERM or SIGINT ends it with one summary line on stderr, `board: key=value ...`.
 *
 * The loop closes on the pins: PB1 (OC1A, D9) is sampled edge by edge into the average duty of
 * each 64 us physics step, PB0 (D8) is the direction and PD7 (D7) the driver's nSLEEP; the
 * physics integrates the motor and the pendulum every 64 us of simulated time and drives the
 * encoder lines PD2/PD3 (INT0/INT1) one quadrature edge per step at most. PD4 (nFAULT) is held
 * high by the driver's pull-up; --driver-fault-at-s S pulls it low from S seconds of simulated time
 * on, as a driver that tripped on over-current would (and the driver then drives no current).
 *
 * Time: the simulation is paced to the wall clock (it sleeps when ahead, by polling the pty);
 * when the host computer cannot keep up it lets the wall clock go rather than sprint to catch up,
 * and the summary says by how much (slipped_ms). --free-run drops the pacing: the simulation runs
 * as fast as it can, to measure that speed (cycles_per_wall_s).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <simavr/avr_extint.h>
#include <simavr/avr_ioport.h>
#include <simavr/avr_uart.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>
#include <simavr/sim_io.h>
#include <simavr/sim_irq.h>
#include <simavr/sim_time.h>

#include "frame_timing.h"
#include "rig_model.h"

#define F_CPU_HZ 16000000UL
#define PHYSICS_STEP_US 64U /* two PWM periods: the duty average has no beat */
#define TRACE_EVERY_STEPS 16U /* 1.024 ms */
#define PACE_EVERY_CYCLES (F_CPU_HZ / 4000U) /* the pty is served every 250 us */
#define WIRE_BUFFER 8192U
#define MAX_LAG_S 0.005
#define RAM_START 0x100U /* ATmega328P: SRAM after the 32 registers and 224 I/O addresses */
#define STACK_PAINT 0xA5U
#define PIND_ADDR 0x29U /* ATmega328P, data space */

typedef struct {
    avr_t *avr;
    rig_t rig;
    /* the PWM pin, integrated edge by edge */
    int pwm_level;
    avr_cycle_count_t pwm_since;
    avr_cycle_count_t pwm_high_cycles;
    avr_cycle_count_t step_started;
    int dir_level;
    int enable_level;
    double duty;
    /* the encoder lines */
    avr_irq_t *encoder_a, *encoder_b, *nfault;
    /* the driver's fault output: pulled low from driver_fault_at_s on (a negative time: never) */
    double driver_fault_at_s;
    int driver_fault;
    uint64_t encoder_edges;
    /* the serial link */
    avr_irq_t *uart_in;
    int uart_xoff;
    uint8_t to_avr[WIRE_BUFFER];
    size_t to_avr_len, to_avr_pos;
    uint8_t from_avr[WIRE_BUFFER];
    size_t from_avr_len;
    uint64_t bytes_in, bytes_out, bytes_lost;
    avr_cycle_count_t last_out_cycle, out_spacing_min; /* the UART model's TX pace */
    avr_cycle_count_t last_byte_in_cycle;
    frame_timing_t timing;
    /* events for the summary */
    avr_cycle_count_t bridge_off_cycle;
    uint64_t bridge_on_count, bridge_off_count;
    uint64_t steps;
    FILE *trace;
    uint16_t ram_static_end;
    void (*core_reset)(avr_t *avr); /* simavr's reset of the MCU core, chained */
    uint64_t resets;
} board_t;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void quiet_logger(avr_t *avr, const int level, const char *format, va_list ap)
{
    (void)avr;
    if (level <= LOG_WARNING) {
        fputs("simavr: ", stderr);
        vfprintf(stderr, format, ap);
    }
}

/* simavr's own sleep callback usleeps whenever the AVR sleeps; the board paces itself */
static void no_sleep(avr_t *avr, avr_cycle_count_t how_long)
{
    (void)avr;
    (void)how_long;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* -- pins ---------------------------------------------------------------------------------- */

static void on_pwm_pin(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    board_t *b = param;
    int level = value & 1;
    if (level == b->pwm_level)
        return;
    avr_cycle_count_t now = b->avr->cycle;
    if (b->pwm_level)
        b->pwm_high_cycles += now - b->pwm_since;
    b->pwm_level = level;
    b->pwm_since = now;
}

static void on_dir_pin(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    ((board_t *)param)->dir_level = value & 1;
}

static void on_enable_pin(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    board_t *b = param;
    int level = value & 1;
    if (level == b->enable_level)
        return;
    b->enable_level = level;
    if (level) {
        b->bridge_on_count++;
    } else {
        b->bridge_off_count++;
        b->bridge_off_cycle = b->avr->cycle;
    }
}

/* -- physics ------------------------------------------------------------------------------- */

/* Drive the port D lines that the rig holds: encoder A (PD2) and B (PD3), push-pull, and the
 * driver's nFAULT (PD4), pulled up. They are declared as the port's external levels too, which
 * is what simavr re-reads when the firmware writes PORTD (it would otherwise apply the internal
 * pull-ups to these inputs and make an encoder edge out of every PORTD write). */
static void set_port_d_inputs(board_t *b, uint8_t ab)
{
    uint8_t a = (ab >> 1) & 1, bb = ab & 1, nfault = !b->driver_fault;
    avr_ioport_external_t ext = {
        .name = 'D',
        .mask = (1 << 2) | (1 << 3) | (1 << 4),
        .value = (uint8_t)((a << 2) | (bb << 3) | (nfault << 4)),
    };
    avr_ioctl(b->avr, AVR_IOCTL_IOPORT_SET_EXTERNAL('D'), &ext);
    avr_raise_irq(b->encoder_a, a);
    avr_raise_irq(b->encoder_b, bb);
    avr_raise_irq(b->nfault, nfault);
}

static void drive_encoder(board_t *b)
{
    int64_t target = rig_encoder_target(&b->rig);
    if (target == b->rig.encoder_counts)
        return;
    b->rig.encoder_counts += target > b->rig.encoder_counts ? 1 : -1; /* one edge per step */
    set_port_d_inputs(b, rig_quadrature_ab(b->rig.encoder_counts));
    b->encoder_edges++;
}

static avr_cycle_count_t physics_step(avr_t *avr, avr_cycle_count_t when, void *param)
{
    board_t *b = param;
    avr_cycle_count_t now = avr->cycle;
    avr_cycle_count_t high = b->pwm_high_cycles;
    if (b->pwm_level)
        high += now - b->pwm_since;
    avr_cycle_count_t span = now - b->step_started;
    b->duty = span ? (double)high / (double)span : 0.0;
    if (b->duty > 1.0)
        b->duty = 1.0;
    b->pwm_high_cycles = 0;
    b->pwm_since = now;
    b->step_started = now;

    if (!b->driver_fault && b->driver_fault_at_s >= 0.0
        && (double)now >= b->driver_fault_at_s * (double)F_CPU_HZ) {
        b->driver_fault = 1; /* and the driver, having tripped, stops driving the motor */
        set_port_d_inputs(b, rig_quadrature_ab(b->rig.encoder_counts));
    }
    int bridge_on = b->enable_level && !b->driver_fault;
    double torque = rig_motor_torque_nm(&b->rig, bridge_on, b->dir_level, b->duty);
    rig_step(&b->rig, torque, PHYSICS_STEP_US * 1e-6);
    drive_encoder(b);
    b->steps++;
    if (b->trace && b->steps % TRACE_EVERY_STEPS == 0) {
        double angle = remainder(b->rig.angle_rad, 2.0 * M_PI);
        fprintf(b->trace, "%.6f,%.6f,%.6f,%.4f,%d,%d,%.6f\n",
                (double)now / (double)F_CPU_HZ, angle, b->rig.velocity_rad_s,
                b->dir_level ? b->duty : -b->duty, b->enable_level,
                (int)b->rig.encoder_counts, torque);
    }
    return when + avr_usec_to_cycles(avr, PHYSICS_STEP_US);
}

/* A reset of the chip (its watchdog, or the reset pin) is not a reset of the rig: simavr's
 * avr_reset cancels every cycle timer, the physics step included, and clears the I/O registers,
 * the input pins' levels included. Put both back, as the world would be. */
static board_t *reset_board;

static void on_reset(avr_t *avr)
{
    board_t *b = reset_board;
    if (b->core_reset)
        b->core_reset(avr);
    if (avr->cycle == 0)
        return; /* power-up: main() sets things up */
    b->resets++;
    b->step_started = b->pwm_since = avr->cycle;
    b->pwm_high_cycles = 0;
    avr_cycle_timer_register_usec(avr, PHYSICS_STEP_US, physics_step, b);
    /* the pin IRQs notify only on a change, and the levels have not changed: write them back */
    uint8_t ab = rig_quadrature_ab(b->rig.encoder_counts);
    set_port_d_inputs(b, ab);
    avr->data[PIND_ADDR] = (uint8_t)((((ab >> 1) & 1) << 2) | ((ab & 1) << 3) | (!b->driver_fault << 4));
}

/* -- the serial link ----------------------------------------------------------------------- */

static void on_uart_out(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    board_t *b = param;
    b->bytes_out++;
    avr_cycle_count_t spacing = b->avr->cycle - b->last_out_cycle;
    if (b->bytes_out > 1 && (b->out_spacing_min == 0 || spacing < b->out_spacing_min))
        b->out_spacing_min = spacing;
    b->last_out_cycle = b->avr->cycle;
    frame_timing_reply_byte(&b->timing, (uint8_t)value, b->avr->cycle);
    if (b->from_avr_len < WIRE_BUFFER)
        b->from_avr[b->from_avr_len++] = (uint8_t)value;
    else
        b->bytes_lost++;
}

static void on_uart_xon(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)value;
    ((board_t *)param)->uart_xoff = 0;
}

static void on_uart_xoff(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)value;
    ((board_t *)param)->uart_xoff = 1;
}

static void feed_uart(board_t *b)
{
    while (b->to_avr_pos < b->to_avr_len && !b->uart_xoff) {
        uint8_t byte = b->to_avr[b->to_avr_pos++];
        b->bytes_in++;
        b->last_byte_in_cycle = b->avr->cycle;
        frame_timing_request_byte(&b->timing, byte, b->avr->cycle);
        avr_raise_irq(b->uart_in, byte);
    }
    if (b->to_avr_pos == b->to_avr_len)
        b->to_avr_pos = b->to_avr_len = 0;
}

static void pump_pty(board_t *b, int master, int wait_ms)
{
    if (b->from_avr_len) {
        ssize_t n = write(master, b->from_avr, b->from_avr_len);
        if (n > 0) {
            memmove(b->from_avr, b->from_avr + n, b->from_avr_len - (size_t)n);
            b->from_avr_len -= (size_t)n;
        }
    }
    struct pollfd pfd = {.fd = master, .events = POLLIN};
    if (b->to_avr_len < WIRE_BUFFER && poll(&pfd, 1, wait_ms) > 0 && (pfd.revents & POLLIN)) {
        ssize_t n = read(master, b->to_avr + b->to_avr_len, WIRE_BUFFER - b->to_avr_len);
        if (n > 0)
            b->to_avr_len += (size_t)n;
    }
    feed_uart(b);
}

static int open_pty(int *slave_out, char *path, size_t path_size)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master) || ptsname_r(master, path, path_size))
        return -1;
    /* keep a slave open: the master then never reads EOF/EIO between two hosts */
    int slave = open(path, O_RDWR | O_NOCTTY);
    if (slave < 0)
        return -1;
    struct termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    fcntl(master, F_SETFL, O_NONBLOCK);
    *slave_out = slave;
    return master;
}

/* -- main ---------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: uno-board [--start-angle-rad RAD] [--trace FILE.csv] "
                    "[--driver-fault-at-s S] [--free-run] firmware.elf\n");
    return 2;
}

static void print_summary(board_t *b, double wall_s, double max_lag_s, double slipped_s)
{
    avr_t *avr = b->avr;
    double sim_s = (double)avr->cycle / (double)F_CPU_HZ;
    double last_in_s = (double)b->last_byte_in_cycle / (double)F_CPU_HZ;
    /* the watchdog's reaction: from the end of the last TORQUE on the RX line to nSLEEP low */
    uint64_t torque_at = b->timing.last_torque_cycle;
    double off_after_ms = -1.0;
    if (b->bridge_off_count && torque_at && b->bridge_off_cycle >= torque_at)
        off_after_ms = (double)(b->bridge_off_cycle - torque_at) * 1e3 / F_CPU_HZ;
    frame_timing_stats_t lat = frame_timing_stats(&b->timing, F_CPU_HZ);
    uint32_t untouched = 0;
    while (b->ram_static_end + untouched <= avr->ramend
           && avr->data[b->ram_static_end + untouched] == STACK_PAINT)
        untouched++;
    uint32_t stack_room = avr->ramend + 1U - b->ram_static_end;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu_s = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6
                   + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6;
    fprintf(stderr,
            "board: sim_s=%.3f wall_s=%.3f speed=%.3f cycles_per_wall_s=%.0f max_lag_ms=%.1f "
            "slipped_ms=%.1f cpu_s=%.3f sim_s_per_cpu_s=%.2f tx_byte_cycles_min=%llu "
            "bytes_in=%llu bytes_out=%llu bytes_lost=%llu replies=%u reply_start_us_p50=%.1f "
            "reply_us_p50=%.1f "
            "reply_us_p99=%.1f reply_us_max=%.1f encoder_edges=%llu bridge_enabled=%d "
            "bridge_on=%llu bridge_off=%llu duty=%.4f motor_torque_nm=%.4f angle_rad=%.4f "
            "velocity_rad_s=%.4f last_byte_in_s=%.4f torque_frames=%u bridge_off_after_last_torque_ms=%.2f "
            "driver_fault=%d resets=%llu ram_static=%u stack_max=%u ram_never_used=%u state=%d\n",
            sim_s, wall_s, wall_s > 0 ? sim_s / wall_s : 0.0,
            wall_s > 0 ? (double)avr->cycle / wall_s : 0.0, max_lag_s * 1e3, slipped_s * 1e3, cpu_s,
            cpu_s > 0 ? sim_s / cpu_s : 0.0, (unsigned long long)b->out_spacing_min,
            (unsigned long long)b->bytes_in, (unsigned long long)b->bytes_out,
            (unsigned long long)b->bytes_lost, lat.count, lat.start_p50_us, lat.p50_us, lat.p99_us, lat.max_us,
            (unsigned long long)b->encoder_edges, b->enable_level,
            (unsigned long long)b->bridge_on_count, (unsigned long long)b->bridge_off_count,
            b->dir_level ? b->duty : -b->duty, b->rig.torque_nm,
            remainder(b->rig.angle_rad, 2.0 * M_PI), b->rig.velocity_rad_s, last_in_s,
            b->timing.torque_frames, off_after_ms, b->driver_fault, (unsigned long long)b->resets,
            (unsigned)(b->ram_static_end - RAM_START), stack_room - untouched, untouched,
            avr->state);
}

int main(int argc, char **argv)
{
    double start_angle = M_PI;
    const char *trace_path = NULL, *elf_path = NULL;
    int pacing = 1;
    double driver_fault_at_s = -1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--start-angle-rad") && i + 1 < argc) {
            char *end;
            start_angle = strtod(argv[++i], &end);
            if (*end || !isfinite(start_angle)) {
                fprintf(stderr, "error: --start-angle-rad takes radians, got %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--driver-fault-at-s") && i + 1 < argc) {
            char *end;
            driver_fault_at_s = strtod(argv[++i], &end);
            if (*end || !isfinite(driver_fault_at_s) || driver_fault_at_s < 0.0) {
                fprintf(stderr, "error: --driver-fault-at-s takes seconds >= 0, got %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--free-run")) {
            pacing = 0;
        } else if (!strcmp(argv[i], "--trace") && i + 1 < argc) {
            trace_path = argv[++i];
        } else if (argv[i][0] == '-' || elf_path) {
            return usage();
        } else {
            elf_path = argv[i];
        }
    }
    if (!elf_path)
        return usage();

    avr_global_logger_set(quiet_logger);
    elf_firmware_t firmware;
    memset(&firmware, 0, sizeof firmware);
    if (access(elf_path, R_OK) || elf_read_firmware(elf_path, &firmware)) {
        fprintf(stderr, "error: cannot read the AVR image %s\n", elf_path);
        return 2;
    }
    static board_t board;
    board_t *b = &board;
    b->avr = avr_make_mcu_by_name("atmega328p");
    if (!b->avr) {
        fprintf(stderr, "error: this simavr has no atmega328p\n");
        return 2;
    }
    avr_init(b->avr);
    b->avr->log = LOG_WARNING;
    b->avr->frequency = F_CPU_HZ;
    avr_load_firmware(b->avr, &firmware);
    b->avr->frequency = F_CPU_HZ;
    b->avr->sleep = no_sleep;
    /* Paint the RAM above .data + .bss (the C runtime touches only those): whatever is still
     * paint at the end was never reached by the stack. */
    b->ram_static_end = (uint16_t)(RAM_START + firmware.datasize + firmware.bsssize);
    for (uint32_t a = b->ram_static_end; a <= b->avr->ramend; a++)
        b->avr->data[a] = STACK_PAINT;

    rig_params_t params = rig_default_params();
    rig_init(&b->rig, &params, start_angle);
    frame_timing_init(&b->timing);
    if (trace_path) {
        b->trace = fopen(trace_path, "w");
        if (!b->trace) {
            fprintf(stderr, "error: cannot write the trace %s\n", trace_path);
            return 2;
        }
        fputs("time_s,angle_rad,velocity_rad_s,duty,bridge_enabled,encoder_counts,torque_nm\n",
              b->trace);
    }

    /* the serial link: no console echo, no polling sleep */
    uint32_t flags = 0;
    avr_ioctl(b->avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(uint32_t)(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
    avr_ioctl(b->avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    b->uart_in = avr_io_getirq(b->avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
    avr_irq_register_notify(avr_io_getirq(b->avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                            on_uart_out, b);
    avr_irq_register_notify(avr_io_getirq(b->avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON),
                            on_uart_xon, b);
    avr_irq_register_notify(avr_io_getirq(b->avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF),
                            on_uart_xoff, b);

    /* the H-bridge inputs */
    avr_irq_register_notify(avr_io_getirq(b->avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 1), on_pwm_pin, b);
    avr_irq_register_notify(avr_io_getirq(b->avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 0), on_dir_pin, b);
    avr_irq_register_notify(avr_io_getirq(b->avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 7), on_enable_pin,
                            b);
    /* The firmware uses INT0/INT1 on any change, never the low-level mode that is theirs from
     * reset until it sets EICRA. simavr emulates a held low level by polling the pin on every
     * cycle, forever once started: with the encoder lines low at count 0 that would cost most
     * of the simulation's time, so the (unused) strict level triggering is off. */
    avr_extint_set_strict_lvl_trig(b->avr, 0, 0);
    avr_extint_set_strict_lvl_trig(b->avr, 1, 0);
    /* the encoder lines at the state of count 0; nFAULT high until --driver-fault-at-s */
    b->encoder_a = avr_io_getirq(b->avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 2);
    b->encoder_b = avr_io_getirq(b->avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 3);
    b->nfault = avr_io_getirq(b->avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 4);
    b->driver_fault_at_s = driver_fault_at_s;
    set_port_d_inputs(b, rig_quadrature_ab(0));
    avr_cycle_timer_register_usec(b->avr, PHYSICS_STEP_US, physics_step, b);
    reset_board = b;
    b->core_reset = b->avr->reset;
    b->avr->reset = on_reset;

    char path[128];
    int slave = -1;
    int master = open_pty(&slave, path, sizeof path);
    if (master < 0) {
        fprintf(stderr, "error: cannot open a pseudo-terminal: %s\n", strerror(errno));
        return 2;
    }
    printf("%s\n", path);
    fflush(stdout);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* Paced to the wall clock, never sprinting: when the host computer falls behind by more than
     * MAX_LAG_S, the simulation lets the wall clock go (counted in slipped_s) instead of running
     * fast to catch up, which would stretch the host's command gaps in simulated time and trip
     * the firmware's watchdog. */
    double wall_start = now_s(), wall_base = wall_start, max_lag_s = 0.0, slipped_s = 0.0;
    avr_cycle_count_t next_pace = PACE_EVERY_CYCLES;
    int state = cpu_Running;
    while (!stop_requested && state != cpu_Done && state != cpu_Crashed) {
        state = avr_run(b->avr);
        if (b->avr->cycle < next_pace)
            continue;
        next_pace = b->avr->cycle + PACE_EVERY_CYCLES;
        double sim_s = (double)b->avr->cycle / (double)F_CPU_HZ;
        double ahead_s = sim_s - (now_s() - wall_base);
        if (!pacing) {
            ahead_s = 0.0;
        } else if (ahead_s < -MAX_LAG_S) {
            if (-ahead_s > max_lag_s)
                max_lag_s = -ahead_s;
            slipped_s += -ahead_s - MAX_LAG_S;
            wall_base += -ahead_s - MAX_LAG_S;
        }
        /* ahead of the wall clock: wait on the pty until it catches up (or a byte comes) */
        int wait_ms = ahead_s > 0.001 ? (int)(ahead_s * 1e3) : 0;
        pump_pty(b, master, wait_ms);
    }
    if (state == cpu_Crashed)
        fprintf(stderr, "error: the AVR crashed at pc=0x%04x\n", (unsigned)b->avr->pc);
    print_summary(b, now_s() - wall_start, max_lag_s, slipped_s);
    if (b->trace)
        fclose(b->trace);
    close(slave);
    close(master);
    return state == cpu_Crashed ? 1 : 0;
}
