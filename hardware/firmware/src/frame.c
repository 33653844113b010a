/* frame.c - the resynchronising receiver and the encoder (PROTOCOL.md section 2). */
#include "frame.h"

#include <string.h>

#include "crc16.h"
#include "wire.h"

void frame_rx_init(frame_rx_t *rx)
{
    memset(rx, 0, sizeof *rx);
}

static void drop(frame_rx_t *rx, uint8_t k)
{
    if (k >= rx->n) {
        rx->n = 0;
        return;
    }
    memmove(rx->buf, rx->buf + k, (size_t)(rx->n - k));
    rx->n = (uint8_t)(rx->n - k);
}

static void settle(frame_rx_t *rx)
{
    if (rx->consume) {
        drop(rx, rx->consume);
        rx->consume = 0;
    }
}

void frame_rx_push(frame_rx_t *rx, uint8_t byte, uint32_t now_us)
{
    settle(rx);
    if (rx->n && (uint32_t)(now_us - rx->last_byte_us) > FW_RESYNC_TIMEOUT_US) {
        rx->stats.timeouts++; /* a half frame nobody will finish: forget it */
        rx->n = 0;
    }
    rx->last_byte_us = now_us;
    if (rx->n == FW_MAX_FRAME) { /* only if the caller skipped frame_rx_next */
        rx->stats.garbage_bytes++;
        drop(rx, 1);
    }
    rx->buf[rx->n++] = byte;
}

bool frame_rx_next(frame_rx_t *rx, frame_t *out)
{
    settle(rx);
    for (;;) {
        uint8_t skip = 0;
        while (skip < rx->n && rx->buf[skip] != FW_SYNC0)
            skip++;
        if (skip) {
            rx->stats.garbage_bytes += skip;
            drop(rx, skip);
        }
        if (rx->n < 2)
            return false;
        if (rx->buf[1] != FW_SYNC1) {
            rx->stats.garbage_bytes++;
            drop(rx, 1);
            continue;
        }
        if (rx->n < 4)
            return false;
        uint8_t length = rx->buf[3];
        if (length > FW_MAX_PAYLOAD) {
            rx->stats.bad_length++;
            drop(rx, 1);
            continue;
        }
        uint8_t total = (uint8_t)(FW_HEADER_SIZE + length + FW_CRC_SIZE);
        if (rx->n < total)
            return false;
        uint16_t crc = crc16_update(FW_CRC16_INIT, rx->buf + 2, (size_t)(FW_HEADER_SIZE - 2 + length));
        if (crc != wire_get_u16(rx->buf + FW_HEADER_SIZE + length)) {
            rx->stats.bad_crc++;
            drop(rx, 1); /* the sync may have been payload; a frame may start inside this one */
            continue;
        }
        out->version = rx->buf[2];
        out->length = length;
        out->type = rx->buf[4];
        out->seq = wire_get_u16(rx->buf + 5);
        out->payload = rx->buf + FW_HEADER_SIZE;
        rx->consume = total;
        rx->stats.frames++;
        return true;
    }
}

uint8_t frame_encode(uint8_t *out, uint8_t version, uint8_t type, uint16_t seq,
                     const uint8_t *payload, uint8_t length)
{
    out[0] = FW_SYNC0;
    out[1] = FW_SYNC1;
    out[2] = version;
    out[3] = length;
    out[4] = type;
    wire_put_u16(out + 5, seq);
    if (length)
        memcpy(out + FW_HEADER_SIZE, payload, length);
    uint16_t crc = crc16_update(FW_CRC16_INIT, out + 2, (size_t)(FW_HEADER_SIZE - 2 + length));
    wire_put_u16(out + FW_HEADER_SIZE + length, crc);
    return (uint8_t)(FW_HEADER_SIZE + length + FW_CRC_SIZE);
}
