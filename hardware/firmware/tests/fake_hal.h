/* fake_hal.h - hal.h for the C tests: scripted clock and joint, captured replies, fault bits. */
#ifndef DDPG_FW_FAKE_HAL_H
#define DDPG_FW_FAKE_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol_defs.h"

#define FAKE_MAX_REPLIES 256

typedef struct {
    uint32_t now_us;
    int32_t counts;
    float velocity_rad_s;
    float torque_nm;     /* last hal_torque_set */
    bool output_enabled; /* last hal_output_enable */
    uint32_t torque_sets;
    uint8_t fault_bits; /* what hal_fault_inputs returns */
    const uint8_t *input; /* what hal_uart_read returns, byte by byte */
    size_t input_n, input_pos;
    uint8_t replies[FAKE_MAX_REPLIES][FW_MAX_FRAME];
    uint8_t reply_n[FAKE_MAX_REPLIES];
    size_t n_replies; /* captured since the last fake_reset / fake_take_replies */
    size_t total_replies;
} fake_hal_t;

extern fake_hal_t fake;

void fake_reset(void);
/* forget captured replies */
void fake_take_replies(void);

#endif /* DDPG_FW_FAKE_HAL_H */
