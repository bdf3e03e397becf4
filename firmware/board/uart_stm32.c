/*
 * STM32 USART. Two register layouts: v1 (SR/DR, F1/F2/F4) and v2
 * (ISR/RDR/TDR, F0/F7/L0/L4/H7 ...); board.h defines SBN_UART_STM32_V2 for
 * the second. The pins and clocks are set up by sbn_board_init().
 */
#include "board.h"
#include "uart.h"

#define UART_REG(offset) (*(volatile uint32_t *)(SBN_UART_BASE + (offset)))
#if defined(SBN_UART_STM32_V2)
#define UART_CR1 UART_REG(0x00u)
#define UART_BRR UART_REG(0x0Cu)
#define UART_STATUS UART_REG(0x1Cu) /* ISR */
#define UART_ICR UART_REG(0x20u)
#define UART_RX UART_REG(0x24u)
#define UART_TX UART_REG(0x28u)
#define CR1_UE (1u << 0)
#else
#define UART_STATUS UART_REG(0x00u) /* SR */
#define UART_RX UART_REG(0x04u)     /* DR */
#define UART_TX UART_REG(0x04u)
#define UART_BRR UART_REG(0x08u)
#define UART_CR1 UART_REG(0x0Cu)
#define CR1_UE (1u << 13)
#endif
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define STATUS_ORE (1u << 3)
#define STATUS_RXNE (1u << 5)
#define STATUS_TXE (1u << 7)

void sbn_uart_init(void)
{
    UART_BRR = SBN_UART_DIVISOR;
    UART_CR1 = CR1_UE | CR1_RE | CR1_TE;
}

void sbn_uart_write(uint8_t byte)
{
    while (!(UART_STATUS & STATUS_TXE)) {
    }
    UART_TX = byte;
}

int sbn_uart_read(uint32_t spins)
{
    uint32_t status;
    while (!((status = UART_STATUS) & STATUS_RXNE)) {
#if defined(SBN_UART_STM32_V2)
        /* On v2 an overrun stops reception until it is cleared (v1 clears
         * it by the SR-then-DR read below). */
        if (status & STATUS_ORE) {
            UART_ICR = STATUS_ORE;
        }
#endif
        if (spins != 0u && --spins == 0u) {
            return -1;
        }
    }
    return (int)(UART_RX & 0xFFu);
}
