/* The bit count of every 16-bit value: 64 KB of flash, for the speed kernels
 * that count a word's bits in two loads (sbn_conv_bits_lut.c). The count of
 * 256 h + l is that of h plus that of l: the table is one row per high byte h,
 * each the 256 low bytes' counts plus h's, so the compiler parses 65,536 short
 * sums (a literal table would be 128 KB of source, nested macros four times
 * the parsing). */
#ifndef SBN_POPCOUNT16_H
#define SBN_POPCOUNT16_H

#include "sbn_port.h"

/* the 256 counts of l = 0 .. 255, each plus h */
#define SBN_POP_ROW(h) \
    h, h + 1, h + 1, h + 2, h + 1, h + 2, h + 2, h + 3, h + 1, h + 2, h + 2, h + 3, h + 2, h + 3, h + 3, h + 4, \
    h + 1, h + 2, h + 2, h + 3, h + 2, h + 3, h + 3, h + 4, h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, \
    h + 1, h + 2, h + 2, h + 3, h + 2, h + 3, h + 3, h + 4, h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, \
    h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, \
    h + 1, h + 2, h + 2, h + 3, h + 2, h + 3, h + 3, h + 4, h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, \
    h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, \
    h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, \
    h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, h + 4, h + 5, h + 5, h + 6, h + 5, h + 6, h + 6, h + 7, \
    h + 1, h + 2, h + 2, h + 3, h + 2, h + 3, h + 3, h + 4, h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, \
    h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, \
    h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, \
    h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, h + 4, h + 5, h + 5, h + 6, h + 5, h + 6, h + 6, h + 7, \
    h + 2, h + 3, h + 3, h + 4, h + 3, h + 4, h + 4, h + 5, h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, \
    h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, h + 4, h + 5, h + 5, h + 6, h + 5, h + 6, h + 6, h + 7, \
    h + 3, h + 4, h + 4, h + 5, h + 4, h + 5, h + 5, h + 6, h + 4, h + 5, h + 5, h + 6, h + 5, h + 6, h + 6, h + 7, \
    h + 4, h + 5, h + 5, h + 6, h + 5, h + 6, h + 6, h + 7, h + 5, h + 6, h + 6, h + 7, h + 6, h + 7, h + 7, h + 8

static const uint8_t sbn_popcount16[65536] = {
    SBN_POP_ROW(0), SBN_POP_ROW(1), SBN_POP_ROW(1), SBN_POP_ROW(2), SBN_POP_ROW(1), SBN_POP_ROW(2), SBN_POP_ROW(2),
    SBN_POP_ROW(3), SBN_POP_ROW(1), SBN_POP_ROW(2), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(2), SBN_POP_ROW(3),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(1), SBN_POP_ROW(2), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(2),
    SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(1), SBN_POP_ROW(2), SBN_POP_ROW(2),
    SBN_POP_ROW(3), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(2), SBN_POP_ROW(3),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(2),
    SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5),
    SBN_POP_ROW(6), SBN_POP_ROW(1), SBN_POP_ROW(2), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(2), SBN_POP_ROW(3),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(3),
    SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4),
    SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(2), SBN_POP_ROW(3),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(3),
    SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5),
    SBN_POP_ROW(6), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(5), SBN_POP_ROW(6),
    SBN_POP_ROW(6), SBN_POP_ROW(7), SBN_POP_ROW(1), SBN_POP_ROW(2), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(2),
    SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(3),
    SBN_POP_ROW(4), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(3), SBN_POP_ROW(4),
    SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(2),
    SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5),
    SBN_POP_ROW(6), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5),
    SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(5),
    SBN_POP_ROW(6), SBN_POP_ROW(6), SBN_POP_ROW(7), SBN_POP_ROW(2), SBN_POP_ROW(3), SBN_POP_ROW(3), SBN_POP_ROW(4),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4),
    SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(3), SBN_POP_ROW(4),
    SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(4),
    SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(6), SBN_POP_ROW(7),
    SBN_POP_ROW(3), SBN_POP_ROW(4), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5),
    SBN_POP_ROW(6), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(5), SBN_POP_ROW(6),
    SBN_POP_ROW(6), SBN_POP_ROW(7), SBN_POP_ROW(4), SBN_POP_ROW(5), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(5),
    SBN_POP_ROW(6), SBN_POP_ROW(6), SBN_POP_ROW(7), SBN_POP_ROW(5), SBN_POP_ROW(6), SBN_POP_ROW(6), SBN_POP_ROW(7),
    SBN_POP_ROW(6), SBN_POP_ROW(7), SBN_POP_ROW(7), SBN_POP_ROW(8)
};

/* The bits set in a word: two table loads. */
static inline uint32_t sbn_popcount32(uint32_t v)
{
    return (uint32_t)sbn_popcount16[v & 0xFFFFu] + sbn_popcount16[v >> 16];
}

#endif /* SBN_POPCOUNT16_H */
