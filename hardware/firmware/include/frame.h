/*
 * frame.h - frames: a byte-at-a-time receiver that resynchronises, and the encoder.
 *
 * The receiver follows PROTOCOL.md "Receiving": it skips bytes until A5 5A, drops one byte and
 * rescans when the length is over 64 or the CRC fails, and discards a partial frame when its next
 * byte comes more than FW_RESYNC_TIMEOUT_US after the previous one. It only delimits and checks
 * the CRC; version, type and length are the device's business (device.h). It never holds more
 * than FW_MAX_FRAME bytes.
 *
 *     frame_rx_push(&rx, byte, now_us);
 *     while (frame_rx_next(&rx, &frame)) handle(&frame);
 */
#ifndef DDPG_FW_FRAME_H
#define DDPG_FW_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol_defs.h"

/* A CRC-valid frame. ``payload`` points into the receiver's buffer: valid until the next
 * frame_rx_push or frame_rx_next. */
typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t seq;
    uint8_t length;
    const uint8_t *payload;
} frame_t;

typedef struct {
    uint32_t frames;        /* CRC-valid frames delivered */
    uint32_t garbage_bytes; /* bytes before a sync */
    uint32_t bad_length;    /* headers with length > 64 */
    uint32_t bad_crc;       /* CRC mismatches */
    uint32_t timeouts;      /* partial frames discarded after FW_RESYNC_TIMEOUT_US of silence */
} frame_rx_stats_t;

typedef struct {
    uint8_t buf[FW_MAX_FRAME];
    uint8_t n;       /* bytes buffered */
    uint8_t consume; /* bytes of the frame last delivered, removed at the next call */
    uint32_t last_byte_us;
    frame_rx_stats_t stats;
} frame_rx_t;

void frame_rx_init(frame_rx_t *rx);
/* Append one byte received at ``now_us`` (hal_micros()). */
void frame_rx_push(frame_rx_t *rx, uint8_t byte, uint32_t now_us);
/* Deliver the next complete CRC-valid frame into *out (true), or false when more bytes are
 * needed. Call until it returns false after every push. */
bool frame_rx_next(frame_rx_t *rx, frame_t *out);

/* Write a frame into ``out`` (room for FW_HEADER_SIZE + length + FW_CRC_SIZE bytes); return its
 * size. ``length`` <= FW_MAX_PAYLOAD. */
uint8_t frame_encode(uint8_t *out, uint8_t version, uint8_t type, uint16_t seq,
                     const uint8_t *payload, uint8_t length);

#endif /* DDPG_FW_FRAME_H */
