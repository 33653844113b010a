/* fake_hal.c - the test HAL. Everything it does is visible in the global ``fake``. */
#include "fake_hal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal.h"

fake_hal_t fake;

void fake_reset(void)
{
    memset(&fake, 0, sizeof fake);
}

void fake_take_replies(void)
{
    fake.n_replies = 0;
}

uint32_t hal_micros(void)
{
    return fake.now_us;
}

int hal_uart_read(void)
{
    if (fake.input_pos >= fake.input_n)
        return -1;
    return fake.input[fake.input_pos++];
}

void hal_uart_write(const uint8_t *data, uint8_t n)
{
    if (n == 0 || n > FW_MAX_FRAME) {
        fprintf(stderr, "hal_uart_write: bad reply size %u\n", n);
        abort();
    }
    fake.total_replies++;
    if (fake.n_replies == FAKE_MAX_REPLIES)
        return;
    memcpy(fake.replies[fake.n_replies], data, n);
    fake.reply_n[fake.n_replies++] = n;
}

int32_t hal_encoder_counts(void)
{
    return fake.counts;
}

float hal_velocity_rad_s(void)
{
    return fake.velocity_rad_s;
}

void hal_torque_set(float torque_nm)
{
    if (!isfinite(torque_nm)) { /* the core promises this never happens */
        fprintf(stderr, "hal_torque_set: non-finite torque\n");
        abort();
    }
    fake.torque_nm = torque_nm;
    fake.torque_sets++;
}

void hal_output_enable(bool on)
{
    fake.output_enabled = on;
}

uint8_t hal_fault_inputs(void)
{
    return fake.fault_bits;
}
