/*
 * The UART back end of console.h: text from the fault handler in startup.c
 * goes out on the serial line, where the host shows it. A board has nowhere
 * to exit to, so sbn_exit stops the core.
 */
#include "console.h"
#include "uart.h"

void sbn_putc(char c)
{
    sbn_uart_write((uint8_t)c);
}

void sbn_flush(void)
{
}

void sbn_exit(int status)
{
    (void)status;
    for (;;) {
        __asm__ volatile("wfi");
    }
}
