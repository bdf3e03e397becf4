/*
 * The board's UART, polled: 115200 baud, 8 data bits, no parity, 1 stop bit.
 * One driver per UART family (uart_cmsdk.c, uart_nrf.c, uart_stm32.c); the
 * generated board.h gives its base address and baud divisor.
 */
#ifndef SBN_UART_H
#define SBN_UART_H

#include <stdint.h>

void sbn_uart_init(void);
void sbn_uart_write(uint8_t byte);
/* The next byte, or -1 once about `spins` polls went by without one
 * (0 waits for ever). */
int sbn_uart_read(uint32_t spins);

#endif
