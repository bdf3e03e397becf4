/*
 * Startup code shared by every Cortex-M core the toolchain targets
 * (v6-M, v7-M, v7E-M, v8-M mainline, v8.1-M).
 *
 * The vector table holds the initial stack pointer, the reset handler and a
 * handler for every system exception. No external interrupt is ever enabled,
 * so the table stops after SysTick; that keeps one table valid on all cores.
 * A fault prints one "FAULT ..." line through semihosting and exits with a
 * non-zero status, so a crash is reported instead of hanging the emulator.
 */
#include <stdint.h>

#include "console.h"

/* Defined by the linker script (ld/common.ld). */
extern uint32_t __stack_top;
extern uint32_t __data_load;
extern uint32_t __data_start;
extern uint32_t __data_end;
extern uint32_t __bss_start;
extern uint32_t __bss_end;

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void sbn_fault_entry(void);
void sbn_fault_report(const uint32_t *frame) __attribute__((noreturn));

/* The harness may define its own SysTick handler; otherwise a tick is a fault. */
void SysTick_Handler(void) __attribute__((weak, alias("sbn_fault_entry")));

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)

void Reset_Handler(void)
{
    /* Volatile so that gcc does not turn these loops into memcpy/memset calls
     * before .data exists (libc_min.c provides them, but needs nothing set up). */
    volatile uint32_t *dst = &__data_start;
    const volatile uint32_t *src = &__data_load;
    while (dst < &__data_end) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start; dst < &__bss_end; dst++) {
        *dst = 0u;
    }
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* Cores built with an FPU or MVE: grant CP10/CP11 access, because gcc may
     * use these registers (e.g. MVE auto-vectorisation on the Cortex-M55)
     * even in integer code, and they fault until enabled. */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    sbn_exit(main());
}

/*
 * All faults and unexpected exceptions land here. Naked, so that MSP still
 * points at the exception frame that the hardware pushed; `bl` (not `b`)
 * because its range covers any image size on Thumb-1 too.
 */
__attribute__((naked)) void sbn_fault_entry(void)
{
    __asm__ volatile(
        "mrs r0, msp\n\t"
        "bl sbn_fault_report\n\t");
}

void sbn_fault_report(const uint32_t *frame)
{
    static const char *const names[16] = {
        "Thread", "Reset", "NMI", "HardFault", "MemManage", "BusFault",
        "UsageFault", "SecureFault", "Reserved8", "Reserved9", "Reserved10",
        "SVCall", "DebugMonitor", "Reserved13", "PendSV", "SysTick",
    };
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ipsr &= 0x1FFu;
    sbn_flush();
    sbn_puts("FAULT ");
    if (ipsr < 16u) {
        sbn_puts(names[ipsr]);
    } else {
        sbn_puts("IRQ");
        sbn_put_u32(ipsr - 16u);
    }
    /* Hardware-stacked frame: r0 r1 r2 r3 r12 lr pc xpsr. */
    sbn_puts(" pc=");
    sbn_put_hex(frame[6]);
    sbn_puts(" lr=");
    sbn_put_hex(frame[5]);
#if defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
    /* Fault status registers exist on v7-M and v8-M mainline, not v6-M. */
    sbn_puts(" cfsr=");
    sbn_put_hex(SCB_CFSR);
    sbn_puts(" hfsr=");
    sbn_put_hex(SCB_HFSR);
#endif
    sbn_puts("\n");
    sbn_exit(SBN_EXIT_FAULT);
}

typedef void (*sbn_handler)(void);

/* Placed first in flash by ld/common.ld (KEEP(*(.vectors))). */
__attribute__((section(".vectors"), used))
static const struct {
    uint32_t *initial_sp;
    sbn_handler handlers[15];
} vector_table = {
    &__stack_top,
    {
        Reset_Handler,   /*  1 Reset */
        sbn_fault_entry, /*  2 NMI */
        sbn_fault_entry, /*  3 HardFault */
        sbn_fault_entry, /*  4 MemManage (v7-M+) */
        sbn_fault_entry, /*  5 BusFault (v7-M+) */
        sbn_fault_entry, /*  6 UsageFault (v7-M+) */
        sbn_fault_entry, /*  7 SecureFault (v8-M) */
        sbn_fault_entry, /*  8 reserved */
        sbn_fault_entry, /*  9 reserved */
        sbn_fault_entry, /* 10 reserved */
        sbn_fault_entry, /* 11 SVCall */
        sbn_fault_entry, /* 12 DebugMonitor (v7-M+) */
        sbn_fault_entry, /* 13 reserved */
        sbn_fault_entry, /* 14 PendSV */
        SysTick_Handler, /* 15 SysTick */
    },
};
