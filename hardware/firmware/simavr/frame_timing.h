/*
 * frame_timing.h - the device's reply time, measured in simulated CPU cycles on the UART.
 *
 * Both byte streams are cut into frames by their envelope (A5 5A, version, length: PROTOCOL.md
 * section 2). A request "arrives" when its last byte has finished on the RX line (the UART model
 * delivers a byte one byte-time after the previous one); its reply is "done" when its last byte
 * has finished on the TX line (one byte-time after the firmware wrote it to UDR0). Replies are
 * matched to requests in order, as the protocol answers them. The time between the two is what a
 * host would see on the wire of a real 16 MHz Uno, minus the USB bridge.
 */
#ifndef DDPG_FRAME_TIMING_H
#define DDPG_FRAME_TIMING_H

#include <stdint.h>

#define FRAME_TIMING_MAX_SAMPLES 65536U
#define FRAME_TIMING_QUEUE 64U

typedef struct {
    uint8_t header[5]; /* sync, sync, version, length, type */
    uint16_t have; /* bytes of the current frame seen */
    uint16_t size; /* its full size once the length byte is in, else 0 */
} frame_splitter_t;

typedef struct {
    frame_splitter_t requests, replies;
    uint64_t cycles_per_byte;
    uint64_t rx_line_free;                      /* cycle the RX line finishes its last byte */
    uint64_t pending[FRAME_TIMING_QUEUE];       /* arrival cycles of unanswered requests */
    uint16_t pending_head, pending_count;
    uint32_t samples[FRAME_TIMING_MAX_SAMPLES]; /* reply times, cycles */
    uint32_t starts[FRAME_TIMING_MAX_SAMPLES];  /* request in to the reply's first byte, cycles */
    uint64_t reply_started;                     /* cycle of the current reply's first byte */
    uint32_t count;
    uint64_t last_torque_cycle; /* arrival of the last TORQUE request (type 0x03) */
    uint32_t torque_frames;
} frame_timing_t;

typedef struct {
    uint32_t count;
    double p50_us, p99_us, max_us; /* request in to reply out, both on the wire */
    double start_p50_us;           /* request in to the firmware writing the reply's first byte */
} frame_timing_stats_t;

/* 1 Mbaud at 16 MHz as simavr 1.6 times it: 176 cycles a byte. */
void frame_timing_init(frame_timing_t *t);
void frame_timing_request_byte(frame_timing_t *t, uint8_t byte, uint64_t cycle);
void frame_timing_reply_byte(frame_timing_t *t, uint8_t byte, uint64_t cycle);
frame_timing_stats_t frame_timing_stats(const frame_timing_t *t, uint64_t cpu_hz);

#endif /* DDPG_FRAME_TIMING_H */
