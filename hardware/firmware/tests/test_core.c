/*
 * test_core.c - unit tests of the C core beyond the shared vectors: the HAL calls (output
 * enable, torque never beyond the limit), fault inputs, clock wrap-around, the receiver's
 * bounds, pipelining, the velocity estimator, configuration checks. Built with ASan + UBSan.
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "crc16.h"
#include "fake_hal.h"
#include "firmware.h"
#include "velocity.h"
#include "wire.h"

int check_failures, check_count;

static fw_t fw;

static void start(uint32_t now_us)
{
    device_config_t c = FW_DEFAULT_CONFIG;
    fake_reset();
    fake.now_us = now_us;
    fake.output_enabled = true; /* fw_init must switch it off */
    fake.torque_nm = 9.0f;
    CHECK(fw_init(&fw, &c));
    CHECK(!fake.output_enabled && fake.torque_nm == 0.0f);
}

static void send(uint8_t type, uint16_t seq, const uint8_t *payload, uint8_t length)
{
    uint8_t frame[FW_MAX_FRAME];
    uint8_t n = frame_encode(frame, FW_PROTOCOL_VERSION, type, seq, payload, length);
    for (uint8_t i = 0; i < n; i++)
        fw_receive(&fw, frame[i]);
}

static void arm(uint16_t seq, uint16_t timeout_ms, float limit_nm)
{
    uint8_t p[FW_LEN_ARM];
    wire_put_u16(p, timeout_ms);
    wire_put_f32(p + 2, limit_nm);
    send(FW_MSG_ARM, seq, p, FW_LEN_ARM);
}

static void torque(uint16_t seq, float nm)
{
    uint8_t p[FW_LEN_TORQUE];
    wire_put_f32(p, nm);
    send(FW_MSG_TORQUE, seq, p, FW_LEN_TORQUE);
}

/* the last reply's type, seq, status and faults */
static uint8_t last_type(void)
{
    return fake.n_replies ? fake.replies[fake.n_replies - 1][4] : 0;
}
static uint8_t last_status(void)
{
    return fake.replies[fake.n_replies - 1][FW_HEADER_SIZE + 16];
}
static uint8_t last_faults(void)
{
    return fake.replies[fake.n_replies - 1][FW_HEADER_SIZE + 17];
}

static void test_crc_check_value_and_encoder(void)
{
    const uint8_t digits[] = "123456789";
    CHECK(crc16_update(FW_CRC16_INIT, digits, 9) == 0x29B1u);
    CHECK(crc16_update(FW_CRC16_INIT, digits, 0) == 0xFFFFu);
    uint8_t f[FW_MAX_FRAME], payload[FW_MAX_PAYLOAD];
    memset(payload, 0x5A, sizeof payload);
    CHECK(frame_encode(f, 1, 0x7F, 0xBEEF, payload, FW_MAX_PAYLOAD) == FW_MAX_FRAME);
    CHECK(f[0] == 0xA5 && f[1] == 0x5A && f[3] == 64 && f[5] == 0xEF && f[6] == 0xBE);
}

static void test_arm_enables_the_output_and_disarm_or_fault_disables_it(void)
{
    start(0);
    arm(1, 100, 1.0f);
    CHECK(last_type() == FW_MSG_STATE && fake.output_enabled && fw.device.armed);
    torque(2, 0.5f);
    CHECK(fake.torque_nm == 0.5f);
    send(FW_MSG_DISARM, 3, NULL, 0);
    CHECK(!fake.output_enabled && fake.torque_nm == 0.0f && !fw.device.armed);
    arm(4, 100, 1.0f);
    torque(5, -0.25f);
    fake.now_us = 100001; /* 100.001 ms after the last TORQUE */
    fw_tick(&fw);
    CHECK(!fake.output_enabled && fake.torque_nm == 0.0f);
    CHECK(fw.device.faults == FW_FAULT_WATCHDOG && fw.device.stats.watchdog_trips == 1);
}

static void test_torque_never_exceeds_the_armed_limit(void)
{
    static const float asks[] = {3.0f, -3.0f, 1e30f, -1e30f, 0.7f, -0.69f, 2.0f, 1.5f};
    start(0);
    arm(1, 1000, 0.7f);
    for (unsigned i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        torque((uint16_t)(2 + i), asks[i]);
        CHECK(fabsf(fake.torque_nm) <= 0.7f);
        CHECK(fw.device.torque_limited == (fabsf(asks[i]) > 0.7f));
    }
    /* the hardware limit wins over a (tolerated) rounding excess in ARM */
    arm(20, 1000, 2.0000019f);
    CHECK(last_type() == FW_MSG_STATE && fw.device.torque_limit_nm == 2.0f);
    arm(21, 1000, 2.01f);
    CHECK(last_type() == FW_MSG_NACK);
}

static void test_fault_inputs_latch_and_disarm(void)
{
    start(0);
    arm(1, 100, 1.0f);
    torque(2, 1.0f);
    fake.fault_bits = FW_FAULT_OVER_CURRENT;
    fw_tick(&fw);
    CHECK(!fw.device.armed && !fake.output_enabled && fake.torque_nm == 0.0f);
    CHECK(fw.device.faults == FW_FAULT_OVER_CURRENT);
    /* cleared while still present: latched again at once, and the STATE says so */
    send(FW_MSG_CLEAR_FAULT, 3, NULL, 0);
    CHECK(last_type() == FW_MSG_STATE && last_faults() == FW_FAULT_OVER_CURRENT);
    CHECK((last_status() & FW_STATUS_FAULT) != 0);
    fake.fault_bits = 0;
    fw_tick(&fw); /* gone, but latched */
    CHECK(fw.device.faults == FW_FAULT_OVER_CURRENT);
    send(FW_MSG_CLEAR_FAULT, 4, NULL, 0);
    CHECK(last_faults() == 0 && fw.device.faults == 0);
    /* a port reporting the watchdog bit as an input cannot fake a trip */
    fake.fault_bits = FW_FAULT_WATCHDOG;
    fw_tick(&fw);
    CHECK(fw.device.faults == 0);
}

static void test_watchdog_across_the_clock_wrap(void)
{
    start(0xFFFFFF00u); /* 256 us before hal_micros wraps */
    arm(1, 10, 1.0f);
    fake.now_us = 0xFFFFFF00u + 9000u; /* wrapped: 9 ms later */
    fw_tick(&fw);
    CHECK(fw.device.armed);
    torque(2, 0.5f);
    fake.now_us += 10000u;
    fw_tick(&fw);
    CHECK(fw.device.armed);
    fake.now_us += 1u;
    fw_tick(&fw);
    CHECK(!fw.device.armed && fw.device.faults == FW_FAULT_WATCHDOG);
    /* the STATE timestamp counts from start, across the wrap */
    send(FW_MSG_QUERY, 3, NULL, 0);
    CHECK(wire_get_u32(&fake.replies[fake.n_replies - 1][FW_HEADER_SIZE + 12]) == 19001u);
}

static void test_pipelined_requests_are_answered_in_order_one_write_each(void)
{
    uint8_t stream[4 * FW_MAX_FRAME];
    uint8_t p[FW_LEN_TORQUE];
    size_t n = 0;
    start(0);
    wire_put_f32(p, 0.1f);
    n += frame_encode(stream + n, 1, FW_MSG_HELLO, 10, NULL, 0);
    n += frame_encode(stream + n, 1, FW_MSG_TORQUE, 11, p, FW_LEN_TORQUE);
    n += frame_encode(stream + n, 1, FW_MSG_QUERY, 12, NULL, 0);
    n += frame_encode(stream + n, 1, 0x42, 13, NULL, 0);
    fake.input = stream;
    fake.input_n = n;
    fw_poll(&fw);
    CHECK(fake.n_replies == 4);
    CHECK(fake.replies[0][4] == FW_MSG_HELLO_REPLY && fake.replies[0][5] == 10);
    CHECK(fake.replies[1][4] == FW_MSG_STATE && fake.replies[1][5] == 11);
    CHECK(fake.replies[2][4] == FW_MSG_STATE && fake.replies[2][5] == 12);
    CHECK(fake.replies[3][4] == FW_MSG_NACK && fake.replies[3][5] == 13);
    CHECK(fw.device.stats.requests == 4 && fw.rx.stats.frames == 4);
}

static void test_receiver_never_holds_more_than_one_frame(void)
{
    frame_rx_t rx;
    frame_t f;
    frame_rx_init(&rx);
    for (unsigned i = 0; i < 1000; i++) { /* pushes without draining: still bounded */
        frame_rx_push(&rx, i % 2 ? 0x5A : 0xA5, 0);
        CHECK(rx.n <= FW_MAX_FRAME);
    }
    while (frame_rx_next(&rx, &f)) {
    }
    CHECK(rx.n <= FW_MAX_FRAME);
    /* a header with length 65 is not a frame: one byte dropped, the rest rescanned */
    frame_rx_init(&rx);
    const uint8_t bad[] = {0xA5, 0x5A, 0x01, 65};
    for (unsigned i = 0; i < sizeof bad; i++)
        frame_rx_push(&rx, bad[i], 0);
    CHECK(!frame_rx_next(&rx, &f) && rx.stats.bad_length == 1);
    /* a half frame then 20.001 ms of silence: discarded, counted */
    frame_rx_init(&rx);
    const uint8_t half[] = {0xA5, 0x5A, 0x01, 0x40, 0x00};
    for (unsigned i = 0; i < sizeof half; i++)
        frame_rx_push(&rx, half[i], 1000u * i);
    frame_rx_push(&rx, 0xA5, 4000u + FW_RESYNC_TIMEOUT_US + 1u);
    CHECK(rx.stats.timeouts == 1 && rx.n == 1);
}

static void test_invalid_configurations_are_refused(void)
{
    device_config_t c = FW_DEFAULT_CONFIG;
    fake_reset();
    c.max_torque_nm = NAN;
    CHECK(!fw_init(&fw, &c));
    c = (device_config_t)FW_DEFAULT_CONFIG;
    c.counts_per_rev = 0;
    CHECK(!fw_init(&fw, &c));
    c = (device_config_t)FW_DEFAULT_CONFIG;
    c.watchdog_min_ms = 500;
    c.watchdog_max_ms = 100;
    CHECK(!fw_init(&fw, &c));
    CHECK(!fake.output_enabled && fake.torque_nm == 0.0f);
}

static void test_velocity_estimator(void)
{
    velocity_estimator_t v;
    velocity_init(&v, 4096);
    CHECK(velocity_rad_s(&v) == 0.0f);
    /* 4096 counts/s = one turn per second = 2 pi rad/s, sampled every ms */
    for (uint32_t i = 0; i < 50; i++)
        velocity_update(&v, (int32_t)(4 * i) + 1000, 0xFFFFFFF0u + 1000u * i);
    CHECK(fabsf(velocity_rad_s(&v) - 6.2831853f * 4000.0f / 4096.0f) < 1e-3f);
    /* across the i32 count wrap, backwards */
    velocity_init(&v, 4096);
    for (uint32_t i = 0; i < 20; i++)
        velocity_update(&v, (int32_t)(0x80000000u + 10u - i), 1000u * i); /* wraps at i = 11 */
    CHECK(fabsf(velocity_rad_s(&v) + 6.2831853f * 1000.0f / 4096.0f) < 1e-3f);
}

int main(void)
{
    test_crc_check_value_and_encoder();
    test_arm_enables_the_output_and_disarm_or_fault_disables_it();
    test_torque_never_exceeds_the_armed_limit();
    test_fault_inputs_latch_and_disarm();
    test_watchdog_across_the_clock_wrap();
    test_pipelined_requests_are_answered_in_order_one_write_each();
    test_receiver_never_holds_more_than_one_frame();
    test_invalid_configurations_are_refused();
    test_velocity_estimator();
    printf("test_core: %d checks, %d failures\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}
