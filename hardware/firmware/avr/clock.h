/*
 * clock.h - Timer0: the microsecond clock and the 1.024 ms port tick.
 */
#ifndef DDPG_FW_AVR_CLOCK_H
#define DDPG_FW_AVR_CLOCK_H

#include <stdint.h>

void clock_init(void);

/* Microseconds since boot, 4 us resolution, wrapping at 2^32. */
uint32_t clock_micros(void);

/* True once per Timer0 overflow (every 1024 us) since the last call: the port's tick. */
uint8_t clock_tick_due(void);

#endif /* DDPG_FW_AVR_CLOCK_H */
