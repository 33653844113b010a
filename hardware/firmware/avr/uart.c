/*
 * uart.c - USART0: 1,000,000 baud 8N1 (U2X0 = 1, UBRR0 = 1 at 16 MHz: exact, 0 % error).
 *
 * Receive: the RX-complete interrupt stores each byte in a 128-byte ring (a byte every 10 us
 * at 1 Mbaud, 160 CPU cycles apart; the ISR takes about 40). Transmit: uart_write fills a
 * 128-byte ring and enables the data-register-empty interrupt, which feeds UDR0 until the
 * ring is empty. Ring sizes are powers of two; each index is written by one side only.
 */
#include "uart.h"

#include <avr/interrupt.h>
#include <avr/io.h>

#define RING_SIZE 128U
#define RING_MASK (RING_SIZE - 1U)

static volatile uint8_t rx_ring[RING_SIZE];
static volatile uint8_t rx_head; /* written by the ISR */
static volatile uint8_t rx_tail; /* written by the main loop */
static volatile uint16_t rx_overruns; /* bytes lost to a full ring: for a debugger */

static volatile uint8_t tx_ring[RING_SIZE];
static volatile uint8_t tx_head; /* written by the main loop */
static volatile uint8_t tx_tail; /* written by the ISR */

void uart_init(void)
{
    UBRR0H = 0;
    UBRR0L = 1;
    UCSR0A = _BV(U2X0);
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00); /* 8 data bits, no parity, 1 stop bit */
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

ISR(USART_RX_vect)
{
    uint8_t byte = UDR0;
    uint8_t next = (uint8_t)((rx_head + 1U) & RING_MASK);
    if (next == rx_tail) {
        rx_overruns++;
        return;
    }
    rx_ring[rx_head] = byte;
    rx_head = next;
}

ISR(USART_UDRE_vect)
{
    if (tx_tail == tx_head) {
        UCSR0B &= (uint8_t)~_BV(UDRIE0);
        return;
    }
    UDR0 = tx_ring[tx_tail];
    tx_tail = (uint8_t)((tx_tail + 1U) & RING_MASK);
}

int uart_read(void)
{
    if (rx_tail == rx_head)
        return -1;
    uint8_t byte = rx_ring[rx_tail];
    rx_tail = (uint8_t)((rx_tail + 1U) & RING_MASK);
    return byte;
}

uint8_t uart_rx_pending(void)
{
    return rx_tail != rx_head;
}

void uart_write(const uint8_t *data, uint8_t n)
{
    while (n--) {
        uint8_t next = (uint8_t)((tx_head + 1U) & RING_MASK);
        while (next == tx_tail) {
            /* full: the UDRE interrupt drains it, a byte every 10 us */
        }
        tx_ring[tx_head] = *data++;
        tx_head = next;
        UCSR0B |= _BV(UDRIE0);
    }
}
