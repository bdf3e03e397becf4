/* The bit count of every 16-bit value: 64 KB of flash, for the speed kernels
 * that count a word's bits in two loads (sbn_conv_bits_lut.c). The nested
 * macros write it as popcount(n) for n = 0 .. 65535: the count of 2b + x is
 * that of b plus that of the low bits x. */
#ifndef SBN_POPCOUNT16_H
#define SBN_POPCOUNT16_H

#include "sbn_port.h"

#define SBN_POP2(n) n, n + 1, n + 1, n + 2
#define SBN_POP4(n) SBN_POP2(n), SBN_POP2(n + 1), SBN_POP2(n + 1), SBN_POP2(n + 2)
#define SBN_POP6(n) SBN_POP4(n), SBN_POP4(n + 1), SBN_POP4(n + 1), SBN_POP4(n + 2)
#define SBN_POP8(n) SBN_POP6(n), SBN_POP6(n + 1), SBN_POP6(n + 1), SBN_POP6(n + 2)
#define SBN_POP10(n) SBN_POP8(n), SBN_POP8(n + 1), SBN_POP8(n + 1), SBN_POP8(n + 2)
#define SBN_POP12(n) SBN_POP10(n), SBN_POP10(n + 1), SBN_POP10(n + 1), SBN_POP10(n + 2)
#define SBN_POP14(n) SBN_POP12(n), SBN_POP12(n + 1), SBN_POP12(n + 1), SBN_POP12(n + 2)

static const uint8_t sbn_popcount16[65536] = {SBN_POP14(0), SBN_POP14(1), SBN_POP14(1), SBN_POP14(2)};

/* The bits set in a word: two table loads. */
static inline uint32_t sbn_popcount32(uint32_t v)
{
    return (uint32_t)sbn_popcount16[v & 0xFFFFu] + sbn_popcount16[v >> 16];
}

#endif /* SBN_POPCOUNT16_H */
