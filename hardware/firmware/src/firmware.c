/* firmware.c - the main-loop glue: HAL bytes in, frames to the device, replies out. */
#include "firmware.h"

#include "hal.h"

bool fw_init(fw_t *fw, const device_config_t *config)
{
    frame_rx_init(&fw->rx);
    return device_init(&fw->device, config, hal_micros());
}

void fw_receive(fw_t *fw, uint8_t byte)
{
    uint8_t reply[FW_MAX_FRAME];
    frame_t frame;
    uint32_t now_us = hal_micros();
    frame_rx_push(&fw->rx, byte, now_us);
    while (frame_rx_next(&fw->rx, &frame)) {
        uint8_t n = device_handle(&fw->device, &frame, now_us, reply);
        if (n)
            hal_uart_write(reply, n);
    }
}

void fw_tick(fw_t *fw)
{
    device_tick(&fw->device, hal_micros(), hal_fault_inputs());
}

void fw_poll(fw_t *fw)
{
    int c;
    while ((c = hal_uart_read()) >= 0)
        fw_receive(fw, (uint8_t)c);
    fw_tick(fw);
}
