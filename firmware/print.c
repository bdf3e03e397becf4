/*
 * The formatter of console.h, over any back end's sbn_putc.
 *
 * No printf: it would pull in libc and, on cores without a divide
 * instruction (Cortex-M0), libgcc's division. Decimal digits come from
 * subtracting powers of ten instead.
 */
#include <stddef.h>
#include <stdint.h>

#include "console.h"

void sbn_puts(const char *s)
{
    while (*s != '\0') {
        sbn_putc(*s++);
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
            sbn_putc(digit);
            started = 1;
        }
    }
}

void sbn_put_i32(int32_t v)
{
    /* Negate in unsigned arithmetic so that INT32_MIN works too. */
    uint32_t magnitude = (uint32_t)v;
    if (v < 0) {
        sbn_putc('-');
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
        sbn_putc(digits[(v >> shift) & 0xFu]);
    }
}
