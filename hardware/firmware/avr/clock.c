/*
 * clock.c - Timer0 in normal mode, clock / 64: one count every 4 us, an overflow every 1024 us.
 *
 * The overflow interrupt counts overflows; clock_micros joins that count with TCNT0. A count read
 * just after the counter wrapped but before its interrupt ran is fixed by looking at TOV0, as
 * Arduino's micros() does.
 */
#include "clock.h"

#include <avr/interrupt.h>
#include <avr/io.h>

static volatile uint32_t overflows;
static volatile uint8_t tick_due;

void clock_init(void)
{
    TCCR0A = 0;
    TCCR0B = _BV(CS01) | _BV(CS00); /* clk / 64 */
    TIMSK0 = _BV(TOIE0);
}

ISR(TIMER0_OVF_vect)
{
    overflows++;
    tick_due = 1;
}

uint32_t clock_micros(void)
{
    uint8_t sreg = SREG;
    cli();
    uint32_t n = overflows;
    uint8_t t = TCNT0;
    if ((TIFR0 & _BV(TOV0)) && t < 255)
        n++;
    SREG = sreg;
    return ((n << 8) | t) * 4UL;
}

uint8_t clock_tick_due(void)
{
    uint8_t sreg = SREG;
    cli();
    uint8_t due = tick_due;
    tick_due = 0;
    SREG = sreg;
    return due;
}
