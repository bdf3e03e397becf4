/* The wrap count behind ticks.h: each SysTick interrupt is 2^24 ticks. */
#include "ticks.h"

volatile uint32_t sbn_systick_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    sbn_systick_wraps++;
}
