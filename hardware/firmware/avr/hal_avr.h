/*
 * hal_avr.h - bring-up of the Uno's peripherals behind include/hal.h.
 */
#ifndef DDPG_FW_HAL_AVR_H
#define DDPG_FW_HAL_AVR_H

/* The output stage off first, then the clock, the UART and the encoder. Interrupts stay off. */
void hal_avr_init(void);

#endif /* DDPG_FW_HAL_AVR_H */
