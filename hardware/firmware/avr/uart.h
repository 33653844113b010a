/*
 * uart.h - USART0 at 1,000,000 baud with interrupt-driven receive and transmit rings.
 */
#ifndef DDPG_FW_AVR_UART_H
#define DDPG_FW_AVR_UART_H

#include <stdint.h>

void uart_init(void);

/* The next received byte, or -1 if the receive ring is empty. */
int uart_read(void);

/* Queue n bytes for sending; waits (interrupts on) while the transmit ring is full. */
void uart_write(const uint8_t *data, uint8_t n);

/* True when a received byte waits: the main loop checks it before it sleeps. */
uint8_t uart_rx_pending(void);

#endif /* DDPG_FW_AVR_UART_H */
