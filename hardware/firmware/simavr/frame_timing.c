/*
 * frame_timing.c - see frame_timing.h.
 */
#include "frame_timing.h"

#include <stdlib.h>
#include <string.h>

/* 16 MHz / 1 Mbaud * 11 bit times: simavr 1.6 counts a parity bit even when parity is off */
#define CYCLES_PER_BYTE 176U

/* Feed one byte; true when it completed a frame. Bytes outside a frame are skipped. */
static int splitter_push(frame_splitter_t *s, uint8_t byte)
{
    if (s->have == 0 && byte != 0xA5)
        return 0;
    if (s->have == 1 && byte != 0x5A) {
        s->have = byte == 0xA5 ? 1 : 0;
        return 0;
    }
    if (s->have < 5) {
        s->header[s->have] = byte;
        if (s->have == 3)
            s->size = (uint16_t)(byte + 9U);
    }
    s->have++;
    if (s->size && s->have == s->size) {
        s->have = 0;
        s->size = 0;
        return 1;
    }
    return 0;
}

void frame_timing_init(frame_timing_t *t)
{
    memset(t, 0, sizeof *t);
    t->cycles_per_byte = CYCLES_PER_BYTE;
}

void frame_timing_request_byte(frame_timing_t *t, uint8_t byte, uint64_t cycle)
{
    uint64_t start = cycle > t->rx_line_free ? cycle : t->rx_line_free;
    t->rx_line_free = start + t->cycles_per_byte;
    if (!splitter_push(&t->requests, byte))
        return;
    if (t->requests.header[4] == 0x03) {
        t->last_torque_cycle = t->rx_line_free;
        t->torque_frames++;
    }
    if (t->pending_count == FRAME_TIMING_QUEUE)
        return;
    t->pending[(t->pending_head + t->pending_count) % FRAME_TIMING_QUEUE] = t->rx_line_free;
    t->pending_count++;
}

void frame_timing_reply_byte(frame_timing_t *t, uint8_t byte, uint64_t cycle)
{
    int done_frame = splitter_push(&t->replies, byte);
    if (t->replies.have == 1)
        t->reply_started = cycle;
    if (!done_frame || t->pending_count == 0)
        return;
    uint64_t arrived = t->pending[t->pending_head];
    t->pending_head = (uint16_t)((t->pending_head + 1U) % FRAME_TIMING_QUEUE);
    t->pending_count--;
    uint64_t done = cycle + t->cycles_per_byte;
    if (t->count < FRAME_TIMING_MAX_SAMPLES && done > arrived && t->reply_started >= arrived) {
        t->starts[t->count] = (uint32_t)(t->reply_started - arrived);
        t->samples[t->count++] = (uint32_t)(done - arrived);
    }
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

frame_timing_stats_t frame_timing_stats(const frame_timing_t *t, uint64_t cpu_hz)
{
    frame_timing_stats_t s = {0};
    if (t->count == 0)
        return s;
    uint32_t *sorted = malloc(t->count * sizeof *sorted);
    if (!sorted)
        return s;
    memcpy(sorted, t->samples, t->count * sizeof *sorted);
    qsort(sorted, t->count, sizeof *sorted, compare_u32);
    double us = 1e6 / (double)cpu_hz;
    s.count = t->count;
    s.p50_us = sorted[t->count / 2] * us;
    s.p99_us = sorted[(t->count * 99U) / 100U] * us;
    s.max_us = sorted[t->count - 1] * us;
    memcpy(sorted, t->starts, t->count * sizeof *sorted);
    qsort(sorted, t->count, sizeof *sorted, compare_u32);
    s.start_p50_us = sorted[t->count / 2] * us;
    free(sorted);
    return s;
}
