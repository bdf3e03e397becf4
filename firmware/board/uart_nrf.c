/* The nRF51/nRF52 UART0 (the legacy, non-DMA UART), with the board's pins. */
#include "board.h"
#include "uart.h"

#define UART_REG(offset) (*(volatile uint32_t *)(SBN_UART_BASE + (offset)))
#define TASKS_STARTRX UART_REG(0x000u)
#define TASKS_STARTTX UART_REG(0x008u)
#define EVENTS_RXDRDY UART_REG(0x108u)
#define EVENTS_TXDRDY UART_REG(0x11Cu)
#define ENABLE UART_REG(0x500u)
#define PSELTXD UART_REG(0x50Cu)
#define PSELRXD UART_REG(0x514u)
#define RXD UART_REG(0x518u)
#define TXD UART_REG(0x51Cu)
#define BAUDRATE UART_REG(0x524u)

void sbn_uart_init(void)
{
    PSELTXD = SBN_UART_TX_PIN;
    PSELRXD = SBN_UART_RX_PIN;
    BAUDRATE = SBN_UART_DIVISOR;
    ENABLE = 4u; /* "Enabled" for the UART (not UARTE) */
    EVENTS_RXDRDY = 0u;
    EVENTS_TXDRDY = 0u;
    TASKS_STARTRX = 1u;
    TASKS_STARTTX = 1u;
}

void sbn_uart_write(uint8_t byte)
{
    TXD = byte;
    while (EVENTS_TXDRDY == 0u) {
    }
    EVENTS_TXDRDY = 0u;
}

int sbn_uart_read(uint32_t spins)
{
    while (EVENTS_RXDRDY == 0u) {
        if (spins != 0u && --spins == 0u) {
            return -1;
        }
    }
    /* Clear the event before reading RXD, which lets the next byte in. */
    EVENTS_RXDRDY = 0u;
    return (int)(RXD & 0xFFu);
}
