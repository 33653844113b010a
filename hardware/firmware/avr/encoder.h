/*
 * encoder.h - quadrature encoder on INT0 (PD2, channel A) and INT1 (PD3, channel B), x4.
 */
#ifndef DDPG_FW_AVR_ENCODER_H
#define DDPG_FW_AVR_ENCODER_H

#include <stdint.h>

void encoder_init(void);

/* Multi-turn position in counts; increases when A leads B. */
int32_t encoder_counts(void);

/* Transitions where both channels changed at once (a missed edge: the count is no longer
 * trusted). The port reports any as the ENCODER fault. */
uint16_t encoder_errors(void);

#endif /* DDPG_FW_AVR_ENCODER_H */
