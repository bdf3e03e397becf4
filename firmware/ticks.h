/*
 * SysTick as a 32-bit tick counter: it counts down from 2^24 - 1 at the
 * processor clock, and ticks.c counts the wraps in the SysTick interrupt.
 * Used by the golden harness (timing in QEMU) and by board firmware on cores
 * without a DWT cycle counter.
 */
#ifndef SBN_TICKS_H
#define SBN_TICKS_H

#include <stdint.h>

#define SBN_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SBN_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SBN_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SBN_SYST_MAX 0x00FFFFFFu

extern volatile uint32_t sbn_systick_wraps;

static inline void sbn_ticks_start(void)
{
    SBN_SYST_RVR = SBN_SYST_MAX;
    SBN_SYST_CVR = 0u;
    SBN_SYST_CSR = 7u; /* ENABLE | TICKINT | CLKSOURCE=processor */
}

static inline uint32_t sbn_ticks_now(void)
{
    uint32_t wraps;
    uint32_t value;
    do { /* retry if a wrap was counted between the two reads */
        wraps = sbn_systick_wraps;
        value = SBN_SYST_CVR;
    } while (wraps != sbn_systick_wraps);
    return (wraps << 24) + (SBN_SYST_MAX - value);
}

#endif
