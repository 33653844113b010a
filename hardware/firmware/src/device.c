/* device.c - command set, watchdog, fault latching (PROTOCOL.md sections 3 and 4). */
#include "device.h"

#include <math.h>
#include <string.h>

#include "hal.h"
#include "wire.h"

/* ARM accepts a limit this much above max_torque_nm (float rounding of the host's value). */
#define LIMIT_TOLERANCE 1.000001f

bool device_init(device_t *d, const device_config_t *config, uint32_t now_us)
{
    memset(d, 0, sizeof *d);
    d->config = *config;
    d->start_us = now_us;
    d->last_feed_us = now_us;
    hal_torque_set(0.0f);
    hal_output_enable(false);
    return isfinite(config->max_torque_nm) && config->max_torque_nm > 0.0f &&
           config->counts_per_rev > 0u && config->watchdog_min_ms > 0u &&
           config->watchdog_min_ms <= config->watchdog_max_ms;
}

static void set_torque(device_t *d, float torque_nm)
{
    d->applied_torque_nm = torque_nm;
    hal_torque_set(torque_nm);
}

/* Torque zero, output off: what DISARM, CLEAR_FAULT and every fault do. */
static void disarm(device_t *d)
{
    d->armed = false;
    d->torque_limited = false;
    set_torque(d, 0.0f);
    hal_output_enable(false);
}

static void latch(device_t *d, uint8_t faults)
{
    d->faults |= faults;
    disarm(d);
}

void device_tick(device_t *d, uint32_t now_us, uint8_t fault_inputs)
{
    fault_inputs &= (uint8_t)(FW_FAULT_ALL & ~FW_FAULT_WATCHDOG);
    if (fault_inputs && (d->armed || (d->faults & fault_inputs) != fault_inputs))
        latch(d, fault_inputs);
    if (d->armed && (uint32_t)(now_us - d->last_feed_us) > d->watchdog_timeout_us) {
        d->stats.watchdog_trips++;
        latch(d, FW_FAULT_WATCHDOG);
    }
}

static uint8_t nack(device_t *d, const frame_t *req, uint8_t code, uint8_t *reply)
{
    uint8_t payload[FW_LEN_NACK] = {req->type, code};
    d->stats.nacks++;
    return frame_encode(reply, d->config.protocol_version, FW_MSG_NACK, req->seq, payload,
                        FW_LEN_NACK);
}

static uint8_t hello_reply(const device_t *d, const frame_t *req, uint8_t *reply)
{
    const device_config_t *c = &d->config;
    uint8_t p[FW_LEN_HELLO_REPLY];
    p[0] = c->protocol_version;
    p[1] = FW_PROTOCOL_MINOR;
    p[2] = c->firmware_major;
    p[3] = c->firmware_minor;
    p[4] = c->firmware_patch;
    wire_put_f32(p + 5, c->max_torque_nm);
    wire_put_u32(p + 9, c->counts_per_rev);
    wire_put_u16(p + 13, c->watchdog_min_ms);
    wire_put_u16(p + 15, c->watchdog_max_ms);
    return frame_encode(reply, c->protocol_version, FW_MSG_HELLO_REPLY, req->seq, p,
                        FW_LEN_HELLO_REPLY);
}

/* The STATE reply, sampled after the request was processed. */
static uint8_t state_reply(const device_t *d, const frame_t *req, uint32_t now_us, uint8_t *reply)
{
    uint8_t p[FW_LEN_STATE];
    uint8_t status = 0;
    if (d->armed)
        status |= FW_STATUS_ARMED;
    if (d->faults)
        status |= FW_STATUS_FAULT;
    if (d->torque_limited)
        status |= FW_STATUS_TORQUE_LIMITED;
    wire_put_u32(p, (uint32_t)hal_encoder_counts());
    wire_put_f32(p + 4, hal_velocity_rad_s());
    wire_put_f32(p + 8, d->applied_torque_nm);
    wire_put_u32(p + 12, now_us - d->start_us);
    p[16] = status;
    p[17] = d->faults;
    return frame_encode(reply, d->config.protocol_version, FW_MSG_STATE, req->seq, p,
                        FW_LEN_STATE);
}

static bool arm(device_t *d, const uint8_t *payload, uint32_t now_us, uint8_t *code)
{
    const device_config_t *c = &d->config;
    uint16_t timeout_ms = wire_get_u16(payload);
    float limit_nm = wire_get_f32(payload + 2);
    bool valid = timeout_ms >= c->watchdog_min_ms && timeout_ms <= c->watchdog_max_ms &&
                 isfinite(limit_nm) && limit_nm > 0.0f &&
                 limit_nm <= c->max_torque_nm * LIMIT_TOLERANCE;
    if (!valid) { /* arguments first: wrong in any state */
        *code = FW_NACK_BAD_ARGUMENT;
        return false;
    }
    if (d->faults) {
        *code = FW_NACK_FAULTED;
        return false;
    }
    d->torque_limit_nm = limit_nm < c->max_torque_nm ? limit_nm : c->max_torque_nm;
    d->watchdog_timeout_us = (uint32_t)timeout_ms * 1000u;
    d->last_feed_us = now_us;
    d->torque_limited = false;
    set_torque(d, 0.0f);
    d->armed = true;
    hal_output_enable(true);
    return true;
}

/* false: non-finite, NACK BAD_ARGUMENT (torque zero, watchdog not fed, ARMED kept). */
static bool torque(device_t *d, float torque_nm, uint32_t now_us)
{
    d->stats.torque_commands++;
    d->stats.last_torque_command_nm = torque_nm;
    d->stats.any_torque_command = true;
    if (!isfinite(torque_nm)) {
        d->torque_limited = false;
        set_torque(d, 0.0f);
        return false;
    }
    if (!d->armed) { /* disarmed or faulted: zero, and the STATE without ARMED says so */
        d->torque_limited = false;
        set_torque(d, 0.0f);
        return true;
    }
    float limit = d->torque_limit_nm;
    float clipped = torque_nm > limit ? limit : (torque_nm < -limit ? -limit : torque_nm);
    d->last_feed_us = now_us;
    d->torque_limited = clipped != torque_nm;
    set_torque(d, clipped);
    return true;
}

static bool length_ok(uint8_t type, uint8_t length)
{
    switch (type) {
    case FW_MSG_ARM:
        return length == FW_LEN_ARM;
    case FW_MSG_TORQUE:
        return length == FW_LEN_TORQUE;
    default:
        return length == 0u;
    }
}

uint8_t device_handle(device_t *d, const frame_t *req, uint32_t now_us, uint8_t *reply)
{
    d->stats.requests++;
    device_tick(d, now_us, hal_fault_inputs());
    if (req->version != d->config.protocol_version) {
        d->stats.foreign_version++;
        /* HELLO never changes: answered in any version, in ours, so the host can say why */
        if (req->type == FW_MSG_HELLO && req->length == 0u)
            return hello_reply(d, req, reply);
        return 0;
    }
    uint8_t code = FW_NACK_UNKNOWN_TYPE;
    switch (req->type) {
    case FW_MSG_HELLO:
    case FW_MSG_ARM:
    case FW_MSG_TORQUE:
    case FW_MSG_QUERY:
    case FW_MSG_DISARM:
    case FW_MSG_CLEAR_FAULT:
        break;
    default: /* a newer host's message, or a device -> host type */
        return nack(d, req, FW_NACK_UNKNOWN_TYPE, reply);
    }
    if (!length_ok(req->type, req->length))
        return nack(d, req, FW_NACK_BAD_ARGUMENT, reply);
    switch (req->type) {
    case FW_MSG_HELLO:
        return hello_reply(d, req, reply);
    case FW_MSG_ARM:
        if (!arm(d, req->payload, now_us, &code))
            return nack(d, req, code, reply);
        break;
    case FW_MSG_TORQUE:
        if (!torque(d, wire_get_f32(req->payload), now_us))
            return nack(d, req, FW_NACK_BAD_ARGUMENT, reply);
        break;
    case FW_MSG_DISARM:
        disarm(d);
        break;
    case FW_MSG_CLEAR_FAULT:
        d->faults = 0;
        disarm(d);
        device_tick(d, now_us, hal_fault_inputs()); /* a fault still present latches again */
        break;
    default: /* QUERY */
        break;
    }
    return state_reply(d, req, now_us, reply);
}
