/* ARM CMSDK APB UART, the UART of the MPS2/MPS3 FPGA images (and QEMU's). */
#include "board.h"
#include "uart.h"

#define UART_DATA (*(volatile uint32_t *)(SBN_UART_BASE + 0x000u))
#define UART_STATE (*(volatile uint32_t *)(SBN_UART_BASE + 0x004u))
#define UART_CTRL (*(volatile uint32_t *)(SBN_UART_BASE + 0x008u))
#define UART_BAUDDIV (*(volatile uint32_t *)(SBN_UART_BASE + 0x010u))

#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)

void sbn_uart_init(void)
{
    UART_BAUDDIV = SBN_UART_DIVISOR;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

void sbn_uart_write(uint8_t byte)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = byte;
}

int sbn_uart_read(uint32_t spins)
{
    while (!(UART_STATE & STATE_RX_FULL)) {
        if (spins != 0u && --spins == 0u) {
            return -1;
        }
    }
    return (int)(UART_DATA & 0xFFu);
}
