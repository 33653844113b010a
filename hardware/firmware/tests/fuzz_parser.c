/*
 * fuzz_parser.c - random and mutated frames through the whole core (receiver + device), under
 * ASan + UBSan, with invariants checked after every item:
 *   - the receiver never buffers more than 73 bytes;
 *   - every reply is one CRC-valid device -> host frame of the right size;
 *   - the torque handed to the HAL is finite (the fake HAL aborts otherwise), within the armed
 *     limit, and zero whenever the device is not armed; the output stage is on only while armed;
 *   - a valid request sent after 20 ms of silence gets exactly one reply, with its seq.
 * Usage: fuzz_parser N SEED. A seeded xorshift makes a failure reproducible.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crc16.h"
#include "fake_hal.h"
#include "firmware.h"
#include "wire.h"

int check_failures, check_count;

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint32_t below(uint32_t n)
{
    return rnd() % n;
}

static float random_float(void)
{
    switch (below(6)) {
    case 0:
        return NAN;
    case 1:
        return below(2) ? INFINITY : -INFINITY;
    case 2: { /* any bit pattern: subnormals, NaN payloads, huge values */
        uint8_t b[4];
        wire_put_u32(b, rnd());
        return wire_get_f32(b);
    }
    default:
        return ((float)below(20001) - 10000.0f) / 2000.0f; /* -5 .. 5 N*m */
    }
}

/* a valid frame of a random type (mostly requests), random payload */
static uint8_t valid_frame(uint8_t *out, uint16_t seq)
{
    static const uint8_t types[] = {FW_MSG_HELLO,  FW_MSG_ARM,         FW_MSG_TORQUE,
                                    FW_MSG_TORQUE, FW_MSG_TORQUE,      FW_MSG_QUERY,
                                    FW_MSG_DISARM, FW_MSG_CLEAR_FAULT, FW_MSG_ARM,
                                    FW_MSG_STATE,  0x07,               0xFF};
    uint8_t type = types[below(sizeof types)];
    uint8_t payload[FW_MAX_PAYLOAD];
    uint8_t length = 0;
    if (type == FW_MSG_ARM) {
        wire_put_u16(payload, (uint16_t)(below(4) ? 5 + below(1100) : rnd()));
        wire_put_f32(payload + 2, random_float());
        length = FW_LEN_ARM;
    } else if (type == FW_MSG_TORQUE) {
        wire_put_f32(payload, random_float());
        length = FW_LEN_TORQUE;
    } else if (type == FW_MSG_STATE) {
        length = FW_LEN_STATE;
        for (uint8_t i = 0; i < length; i++)
            payload[i] = (uint8_t)rnd();
    }
    if (below(20) == 0) { /* a wrong length */
        length = (uint8_t)below(FW_MAX_PAYLOAD + 1);
        for (uint8_t i = 0; i < length; i++)
            payload[i] = (uint8_t)rnd();
    }
    uint8_t version = below(30) ? FW_PROTOCOL_VERSION : (uint8_t)rnd();
    return frame_encode(out, version, type, seq, payload, length);
}

static size_t mutate(uint8_t *buf, size_t n, size_t cap)
{
    switch (below(4)) {
    case 0: { /* flip 1..3 bits */
        uint32_t flips = 1 + below(3);
        while (flips--) {
            uint32_t bit = below((uint32_t)n * 8);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        return n;
    }
    case 1: /* truncate */
        return below((uint32_t)n);
    case 2: /* replace a byte */
        buf[below((uint32_t)n)] = (uint8_t)rnd();
        return n;
    default: /* insert a byte (often a sync byte) */
        if (n < cap) {
            size_t at = below((uint32_t)n + 1);
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = below(2) ? FW_SYNC0 : (uint8_t)rnd();
            return n + 1;
        }
        return n;
    }
}

static fw_t fw;
static size_t checked_replies;

static void check_invariants(void)
{
    CHECK(fw.rx.n <= FW_MAX_FRAME);
    CHECK(isfinite(fake.torque_nm));
    CHECK(fabsf(fake.torque_nm) <= fw.device.config.max_torque_nm);
    if (fw.device.armed)
        CHECK(fabsf(fake.torque_nm) <= fw.device.torque_limit_nm);
    else
        CHECK(fake.torque_nm == 0.0f);
    CHECK(fake.output_enabled == fw.device.armed);
    CHECK(!fw.device.armed || fw.device.faults == 0);
    for (; checked_replies < fake.n_replies; checked_replies++) {
        const uint8_t *r = fake.replies[checked_replies];
        uint8_t n = fake.reply_n[checked_replies];
        uint8_t length = r[3];
        uint8_t want = r[4] == FW_MSG_HELLO_REPLY ? FW_LEN_HELLO_REPLY
                       : r[4] == FW_MSG_STATE     ? FW_LEN_STATE
                       : r[4] == FW_MSG_NACK      ? FW_LEN_NACK
                                                  : 0xFF;
        CHECK(r[0] == FW_SYNC0 && r[1] == FW_SYNC1 && r[2] == FW_PROTOCOL_VERSION);
        CHECK(length == want && n == FW_HEADER_SIZE + length + FW_CRC_SIZE);
        CHECK(crc16_update(FW_CRC16_INIT, r + 2, (size_t)(5 + length)) ==
              wire_get_u16(r + FW_HEADER_SIZE + length));
    }
    if (fake.n_replies > FAKE_MAX_REPLIES - 8) {
        fake_take_replies();
        checked_replies = 0;
    }
}

static void feed(const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (below(50) == 0)
            fake.now_us += below(3000); /* bytes trickling in, sometimes with gaps */
        fw_receive(&fw, bytes[i]);
    }
}

int main(int argc, char **argv)
{
    unsigned long n_items = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    rng_state = 0x2545F4914F6CDD1Dull ^ (argc > 2 ? strtoull(argv[2], NULL, 10) : 1);
    device_config_t config = FW_DEFAULT_CONFIG;
    fake_reset();
    fw_init(&fw, &config);
    unsigned long random_items = 0, mutated = 0, clean = 0, answered = 0;
    uint8_t buf[2 * FW_MAX_FRAME];
    for (unsigned long item = 0; item < n_items; item++) {
        uint16_t seq = (uint16_t)rnd();
        uint32_t kind = below(10);
        fake.counts = (int32_t)rnd();
        fake.velocity_rad_s = random_float();
        if (kind < 3) { /* random bytes, half of them behind a plausible header */
            size_t n = below(90);
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)rnd();
            if (n > 4 && below(2)) {
                buf[0] = FW_SYNC0, buf[1] = FW_SYNC1, buf[2] = FW_PROTOCOL_VERSION;
                buf[3] = (uint8_t)below(80);
            }
            feed(buf, n);
            random_items++;
        } else if (kind < 8) { /* valid frames with a mutation */
            size_t n = valid_frame(buf, seq);
            n = mutate(buf, n, sizeof buf);
            feed(buf, n);
            mutated++;
        } else { /* a valid request after 20 ms of silence: exactly one reply, its seq */
            size_t n = valid_frame(buf, seq);
            bool answerable = buf[2] == FW_PROTOCOL_VERSION || (buf[4] == FW_MSG_HELLO && buf[3] == 0);
            size_t before = fake.total_replies;
            fake.now_us += FW_RESYNC_TIMEOUT_US + 1u + below(200000); /* may trip the watchdog */
            feed(buf, n);
            size_t got = fake.total_replies - before;
            CHECK(got == (answerable ? 1u : 0u));
            if (got == 1 && fake.n_replies)
                CHECK(wire_get_u16(fake.replies[fake.n_replies - 1] + 5) == seq);
            answered += got;
            clean++;
        }
        if (below(4) == 0) {
            fake.now_us += below(5000);
            fake.fault_bits = (uint8_t)(below(200) == 0 ? 1u << below(5) : 0u);
            fw_tick(&fw);
        }
        check_invariants();
        if (check_failures > 20)
            break;
    }
    printf("fuzz_parser: %lu items (%lu random, %lu mutated frames, %lu clean frames, %lu "
           "answered), %lu replies, %lu frames delivered, %lu bad CRC, %lu timeouts, "
           "%lu watchdog trips, %d failures\n",
           n_items, random_items, mutated, clean, answered, (unsigned long)fake.total_replies,
           (unsigned long)fw.rx.stats.frames, (unsigned long)fw.rx.stats.bad_crc,
           (unsigned long)fw.rx.stats.timeouts, (unsigned long)fw.device.stats.watchdog_trips,
           check_failures);
    return check_failures ? 1 : 0;
}
