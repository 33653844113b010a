/*
 * motor.c - torque to PWM duty through the motor model of board_uno.h:
 *
 *     V    = R * torque / Kt + Ke * omega       (Kt = Ke, SI units; back-EMF added)
 *     duty = |V| / V_supply, clipped to 1       direction = sign(V)
 *
 * Timer1 runs fast PWM mode 6 (9-bit, TOP = 511, clk / 1): 31.25 kHz, 512 steps. (Mode 14 with
 * TOP in ICR1 would allow any frequency, but simavr 1.6 models it as phase-correct PWM and
 * ignores OCR1A writes in it; mode 6 behaves the same on the chip and in the simulator.) A duty of zero
 * disconnects OC1A and holds D9 low (fast PWM with OCR1A = 0 would still give a one-cycle pulse
 * every period); full duty is OCR1A = TOP (constantly high). With the output stage off, nSLEEP
 * is low: the bridge's outputs float, no current flows whatever the PWM pin does.
 */
#include "motor.h"

#include <avr/interrupt.h>
#include <avr/io.h>

#include "board_uno.h"

#define PWM_PIN PB1    /* D9, OC1A */
#define DIR_PIN PB0    /* D8 */
#define LED_PIN PB5    /* D13 */
#define SLEEP_PIN PD7  /* D7, nSLEEP */
#define NFAULT_PIN PD4 /* D4 */

static float target_torque_nm;
static bool enabled;
static bool direction_positive;

static void pwm_off(void)
{
    TCCR1A = _BV(WGM11); /* OC1A disconnected: D9 follows PORTB, which is low */
    OCR1A = 0;
}

void motor_init(void)
{
    PORTB &= (uint8_t)~(_BV(PWM_PIN) | _BV(DIR_PIN) | _BV(LED_PIN));
    DDRB |= _BV(PWM_PIN) | _BV(DIR_PIN) | _BV(LED_PIN);
    PORTD &= (uint8_t)~_BV(SLEEP_PIN);
    DDRD |= _BV(SLEEP_PIN);
    DDRD &= (uint8_t)~_BV(NFAULT_PIN);
    PORTD |= _BV(NFAULT_PIN); /* pull-up: nFAULT is open drain */

    TCCR1B = _BV(WGM12) | _BV(CS10); /* fast PWM 9-bit with WGM11 in TCCR1A, clk / 1 */
    pwm_off();
    target_torque_nm = 0.0f;
    enabled = false;
    direction_positive = false;
}

/* The winding voltage the motor needs for torque_nm at velocity_rad_s, V (the model). */
static float voltage_for(float torque_nm, float velocity_rad_s)
{
    return BOARD_WINDING_RESISTANCE_OHM * torque_nm / BOARD_TORQUE_CONSTANT_NM_A
           + BOARD_TORQUE_CONSTANT_NM_A * velocity_rad_s;
}

void motor_set_torque(float torque_nm)
{
    target_torque_nm = torque_nm;
}

void motor_enable(bool on)
{
    enabled = on;
    if (on) {
        PORTD |= _BV(SLEEP_PIN);
        PORTB |= _BV(LED_PIN);
    } else {
        pwm_off();
        PORTD &= (uint8_t)~_BV(SLEEP_PIN);
        PORTB &= (uint8_t)~_BV(LED_PIN);
    }
}

void motor_update(float velocity_rad_s)
{
    if (!enabled) {
        pwm_off();
        return;
    }
    float volts = voltage_for(target_torque_nm, velocity_rad_s);
    bool positive = volts >= 0.0f;
    float duty = (positive ? volts : -volts) / BOARD_SUPPLY_V;
    uint16_t steps = duty >= 1.0f ? (uint16_t)(BOARD_PWM_TOP + 1U)
                                  : (uint16_t)(duty * (float)(BOARD_PWM_TOP + 1U) + 0.5f);
    /* PORTB is written only when the direction changes: each write is a read-modify-write of
     * the whole port, and fewer of them leave less to go wrong */
    if (positive != direction_positive) {
        direction_positive = positive;
        if (positive)
            PORTB |= _BV(DIR_PIN);
        else
            PORTB &= (uint8_t)~_BV(DIR_PIN);
    }
    if (steps == 0) {
        pwm_off();
        return;
    }
    OCR1A = steps - 1U; /* high for OCR1A + 1 of TOP + 1 cycles; TOP: always high */
    TCCR1A = _BV(COM1A1) | _BV(WGM11); /* non-inverting: high from BOTTOM to the match */
}

bool motor_driver_fault(void)
{
    return (PIND & _BV(NFAULT_PIN)) == 0;
}
