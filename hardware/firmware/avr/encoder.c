/*
 * encoder.c - x4 quadrature decoding: both channels interrupt on any change (ISCx0 = 1), and
 * one table turns (previous AB, current AB) into -1, 0 or +1.
 *
 * A leads B for positive counts: AB goes 00 -> 10 -> 11 -> 01 -> 00. A jump between 00 and 11
 * or 01 and 10 means both channels changed between two interrupts, an edge was missed (noise,
 * or edges faster than about 2 us apart): it is counted as an error and the count left alone.
 */
#include "encoder.h"

#include <avr/interrupt.h>
#include <avr/io.h>

#define ENCODER_ERROR 2

/* index: previous AB << 2 | current AB, where AB = A << 1 | B */
static const int8_t step_table[16] = {
    /* from 00 */ 0, -1, +1, ENCODER_ERROR,
    /* from 01 */ +1, 0, ENCODER_ERROR, -1,
    /* from 10 */ -1, ENCODER_ERROR, 0, +1,
    /* from 11 */ ENCODER_ERROR, +1, -1, 0,
};

static volatile int32_t counts;
static volatile uint16_t errors;
static volatile uint8_t last_ab;

static uint8_t read_ab(void)
{
    uint8_t pins = PIND;
    return (uint8_t)(((pins >> PD2) & 1U) << 1 | ((pins >> PD3) & 1U));
}

void encoder_init(void)
{
    DDRD &= (uint8_t)~(_BV(PD2) | _BV(PD3));
    PORTD |= _BV(PD2) | _BV(PD3); /* pull-ups for open-collector encoders */
    last_ab = read_ab();
    EICRA = _BV(ISC10) | _BV(ISC00); /* INT0, INT1: any logical change */
    EIFR = _BV(INTF1) | _BV(INTF0);
    EIMSK = _BV(INT1) | _BV(INT0);
}

ISR(INT0_vect)
{
    uint8_t ab = read_ab();
    int8_t step = step_table[(uint8_t)(last_ab << 2 | ab)];
    last_ab = ab;
    if (step == ENCODER_ERROR)
        errors++;
    else
        counts += step;
}

ISR(INT1_vect, ISR_ALIASOF(INT0_vect));

int32_t encoder_counts(void)
{
    uint8_t sreg = SREG;
    cli();
    int32_t n = counts;
    SREG = sreg;
    return n;
}

uint16_t encoder_errors(void)
{
    uint8_t sreg = SREG;
    cli();
    uint16_t n = errors;
    SREG = sreg;
    return n;
}
