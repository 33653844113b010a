/*
 * test_vectors.c - hardware/protocol_vectors.txt against the C core (the same file
 * tests/hardware/test_vectors.py checks against the Python codec and DdpgDevice).
 * Usage: test_vectors PATH. Exit 0 when every vector holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc16.h"
#include "fake_hal.h"
#include "firmware.h"

static int failures, checks;
static unsigned line_no;

static void fail(const char *what)
{
    fprintf(stderr, "protocol_vectors.txt:%u: %s\n", line_no, what);
    failures++;
}

/* hex pairs separated by spaces, up to a '#' */
static size_t parse_hex(const char *text, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*text && *text != '#') {
        char *end;
        unsigned long v = strtoul(text, &end, 16);
        if (end == text) {
            text++;
            continue;
        }
        if (n < cap)
            out[n] = (uint8_t)v;
        n++;
        text = end;
    }
    return n;
}

static const char *after_words(const char *line, int words)
{
    while (words--) {
        while (*line == ' ')
            line++;
        while (*line && *line != ' ')
            line++;
    }
    return line;
}

static fw_t fw;
static bool in_session;
static size_t next_reply;

static void configure(const char *line)
{
    device_config_t c = FW_DEFAULT_CONFIG;
    unsigned major = 0, minor = 0, patch = 0, version = 1, wmin = 0, wmax = 0;
    unsigned long cpr = 0;
    float max_nm = 0;
    const char *p;
    if ((p = strstr(line, "max_torque_nm=")))
        sscanf(p, "max_torque_nm=%f", &max_nm);
    if ((p = strstr(line, "counts_per_rev=")))
        sscanf(p, "counts_per_rev=%lu", &cpr);
    if ((p = strstr(line, "watchdog_min_ms=")))
        sscanf(p, "watchdog_min_ms=%u", &wmin);
    if ((p = strstr(line, "watchdog_max_ms=")))
        sscanf(p, "watchdog_max_ms=%u", &wmax);
    if ((p = strstr(line, "firmware=")))
        sscanf(p, "firmware=%u.%u.%u", &major, &minor, &patch);
    if ((p = strstr(line, "protocol_version=")))
        sscanf(p, "protocol_version=%u", &version);
    c.max_torque_nm = max_nm;
    c.counts_per_rev = (uint32_t)cpr;
    c.watchdog_min_ms = (uint16_t)wmin;
    c.watchdog_max_ms = (uint16_t)wmax;
    c.firmware_major = (uint8_t)major;
    c.firmware_minor = (uint8_t)minor;
    c.firmware_patch = (uint8_t)patch;
    c.protocol_version = (uint8_t)version;
    fake_reset();
    next_reply = 0;
    if (!fw_init(&fw, &c))
        fail("invalid config");
    in_session = true;
}

static void run_line(char *line)
{
    uint8_t bytes[512];
    char word[16] = "";
    if (sscanf(line, "%15s", word) != 1 || word[0] == '#')
        return;
    if (!strcmp(word, "crc")) {
        unsigned crc;
        sscanf(line, "crc %x", &crc);
        size_t n = parse_hex(after_words(line, 2), bytes, sizeof bytes);
        checks++;
        if (crc16_update(FW_CRC16_INIT, bytes, n) != crc)
            fail("CRC differs");
    } else if (!strcmp(word, "frame")) {
        unsigned type, seq;
        sscanf(line, "frame %x %u", &type, &seq);
        size_t n = parse_hex(after_words(line, 3), bytes, sizeof bytes);
        frame_rx_t rx;
        frame_t f;
        int got = 0;
        uint8_t again[FW_MAX_FRAME];
        frame_rx_init(&rx);
        checks++;
        for (size_t i = 0; i < n; i++) {
            frame_rx_push(&rx, bytes[i], 0);
            while (frame_rx_next(&rx, &f)) {
                got++;
                if (f.type != type || f.seq != seq)
                    fail("frame type or seq differs");
                uint8_t len = frame_encode(again, f.version, f.type, f.seq, f.payload, f.length);
                if (len != n || memcmp(again, bytes, n))
                    fail("frame does not re-encode to the same bytes");
            }
        }
        if (got != 1)
            fail("the receiver did not deliver exactly one frame");
    } else if (!strcmp(word, "session")) {
        in_session = false;
    } else if (!strcmp(word, "config")) {
        configure(line);
    } else if (!in_session) {
        fail("step outside a session");
    } else if (!strcmp(word, "at")) {
        unsigned long t;
        long counts;
        float v;
        sscanf(line, "at %lu %ld %f", &t, &counts, &v);
        fake.now_us = (uint32_t)t;
        fake.counts = (int32_t)counts;
        fake.velocity_rad_s = v;
    } else if (!strcmp(word, "send")) {
        size_t n = parse_hex(after_words(line, 1), bytes, sizeof bytes);
        if (next_reply == fake.n_replies) { /* all checked: make room (long sessions) */
            fake_take_replies();
            next_reply = 0;
        }
        if (fake.n_replies > FAKE_MAX_REPLIES / 2)
            fail("more than 128 replies never checked");
        fake.input = bytes;
        fake.input_n = n;
        fake.input_pos = 0;
        fw_poll(&fw); /* every byte at the current time, then a tick */
        fake.input = NULL;
        fake.input_n = fake.input_pos = 0;
    } else if (!strcmp(word, "reply")) {
        size_t n = parse_hex(after_words(line, 1), bytes, sizeof bytes);
        checks++;
        if (next_reply >= fake.n_replies)
            fail("no reply where one was expected");
        else if (fake.reply_n[next_reply] != n || memcmp(fake.replies[next_reply++], bytes, n))
            fail("reply differs");
    } else if (!strcmp(word, "silence")) {
        checks++;
        if (next_reply != fake.n_replies)
            fail("a reply where silence was expected");
    } else {
        fail("unknown record");
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_vectors hardware/protocol_vectors.txt\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line_no++;
        run_line(line);
    }
    fclose(f);
    printf("test_vectors: %d checks, %d failures\n", checks, failures);
    return failures || checks < 50 ? 1 : 0;
}
