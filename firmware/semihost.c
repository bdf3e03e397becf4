/*
 * Semihosting output, a tiny formatter and exit (see semihost.h).
 *
 * No printf: it would pull in libc and, on cores without a divide
 * instruction (Cortex-M0), libgcc's division. Decimal digits come from
 * subtracting powers of ten instead.
 */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"

/* Semihosting operation numbers (ARM "Semihosting for AArch32 and AArch64"). */
#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define SYS_EXIT_EXTENDED 0x20u
/* Reason codes for SYS_EXIT. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

/* `bkpt 0xAB` with the operation in r0 and its argument in r1 (M-profile). */
static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* One output line; a longer line goes out in pieces with no '\n' added. */
static char line_buf[96];
static size_t line_len;

void sbn_flush(void)
{
    if (line_len == 0u) {
        return;
    }
    line_buf[line_len] = '\0';
    (void)semihost_call(SYS_WRITE0, line_buf);
    line_len = 0u;
}

static void put_char(char c)
{
    line_buf[line_len++] = c;
    if (c == '\n' || line_len == sizeof line_buf - 1u) {
        sbn_flush();
    }
}

void sbn_puts(const char *s)
{
    while (*s != '\0') {
        put_char(*s++);
    }
}

void sbn_put_u32(uint32_t v)
{
    static const uint32_t powers[] = {
        1000000000u, 100000000u, 10000000u, 1000000u, 100000u,
        10000u, 1000u, 100u, 10u, 1u,
    };
    size_t i;
    int started = 0;
    for (i = 0; i < sizeof powers / sizeof powers[0]; i++) {
        char digit = '0';
        while (v >= powers[i]) {
            v -= powers[i];
            digit++;
        }
        if (digit != '0' || started || powers[i] == 1u) {
            put_char(digit);
            started = 1;
        }
    }
}

void sbn_put_i32(int32_t v)
{
    /* Negate in unsigned arithmetic so that INT32_MIN works too. */
    uint32_t magnitude = (uint32_t)v;
    if (v < 0) {
        put_char('-');
        magnitude = 0u - magnitude;
    }
    sbn_put_u32(magnitude);
}

void sbn_put_hex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    int shift;
    sbn_puts("0x");
    for (shift = 28; shift >= 0; shift -= 4) {
        put_char(digits[(v >> shift) & 0xFu]);
    }
}

void sbn_exit(int status)
{
    /*
     * SYS_EXIT_EXTENDED takes a parameter block {reason, status}; QEMU 7.2
     * passes the status on as its own exit code on every M-profile core.
     * Plain SYS_EXIT on AArch32 takes the reason in r1 and can only say
     * "success" (exit code 0) or anything else (exit code 1): it is the
     * fallback for hosts that do not implement the extended call.
     */
    uint32_t block[2];
    sbn_flush();
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)status;
    (void)semihost_call(SYS_EXIT_EXTENDED, block);
    (void)semihost_call(SYS_EXIT, (const void *)(uintptr_t)(
        status == 0 ? ADP_STOPPED_APPLICATION_EXIT
                    : ADP_STOPPED_RUNTIME_ERROR_UNKNOWN));
    for (;;) {
        /* No host answered: stop here, the runner's timeout reports it. */
    }
}
