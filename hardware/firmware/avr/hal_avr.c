/*
 * hal_avr.c - include/hal.h on the ATmega328P: the drivers of this folder behind the core's seam.
 *
 * The port's own 1.024 ms tick (Timer0 overflow) runs from hal_fault_inputs, which fw_tick
 * polls on every fw_poll: it samples the encoder into the velocity estimator, recomputes the
 * PWM duty for the new velocity (so the back-EMF term follows the joint between commands), and
 * debounces the driver's nFAULT line.
 */
#include "hal.h"
#include "hal_avr.h"

#include "board_uno.h"
#include "clock.h"
#include "encoder.h"
#include "motor.h"
#include "protocol_defs.h"
#include "uart.h"
#include "velocity.h"

/* nFAULT must read low on this many consecutive ticks (~2 ms) to count: a line that is still
 * rising through its pull-up at boot, or a glitch, is not an over-current. */
#define NFAULT_TICKS 2U

static velocity_estimator_t velocity;
static uint8_t nfault_low_ticks;

void hal_avr_init(void)
{
    motor_init(); /* first: the output stage is off from here on */
    clock_init();
    uart_init();
    encoder_init();
    velocity_init(&velocity, BOARD_COUNTS_PER_REV);
}

uint32_t hal_micros(void)
{
    return clock_micros();
}

int hal_uart_read(void)
{
    return uart_read();
}

void hal_uart_write(const uint8_t *data, uint8_t n)
{
    uart_write(data, n);
}

int32_t hal_encoder_counts(void)
{
    return encoder_counts();
}

float hal_velocity_rad_s(void)
{
    return velocity_rad_s(&velocity);
}

void hal_torque_set(float torque_nm)
{
    motor_set_torque(torque_nm);
    motor_update(velocity_rad_s(&velocity));
}

void hal_output_enable(bool on)
{
    motor_enable(on);
}

uint8_t hal_fault_inputs(void)
{
    if (clock_tick_due()) {
        velocity_update(&velocity, encoder_counts(), clock_micros());
        motor_update(velocity_rad_s(&velocity));
        if (!motor_driver_fault())
            nfault_low_ticks = 0;
        else if (nfault_low_ticks < NFAULT_TICKS)
            nfault_low_ticks++;
    }
    uint8_t faults = 0;
    if (encoder_errors() != 0)
        faults |= FW_FAULT_ENCODER;
    if (nfault_low_ticks >= NFAULT_TICKS)
        faults |= FW_FAULT_OVER_CURRENT;
    return faults;
}
