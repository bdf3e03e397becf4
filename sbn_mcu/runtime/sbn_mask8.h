/* Sums of p ^ m over raw uint8 input p for two weight rows at once, on
 * cores with the DSP extension (see sbn_xor_bytesum.h for the arithmetic).
 *
 * A byte of weight bits selects the byte masks of eight pixels: entry b of
 * sbn_byte_mask (2 KB of flash) is the two words of masks m, 255 in the
 * lanes whose bit of b is 1. Per group of eight pixels, one ldrd reads the
 * pixels and, for each of the two rows, ldrb reads the weight byte, one add
 * and one ldrd fetch its masks, and two usada8 add |p - m| = p ^ m: 11
 * instructions for 16 weights. Written in assembly: compilers recompute the
 * table addresses and spill. */
#ifndef SBN_MASK8_H
#define SBN_MASK8_H

#include "sbn_port.h"

#if SBN_DSP

#define SBN_NIBBLE_MASK(n) \
    ((((n) & 1u) ? 0x000000FFu : 0u) | (((n) & 2u) ? 0x0000FF00u : 0u) | (((n) & 4u) ? 0x00FF0000u : 0u) \
     | (((n) & 8u) ? 0xFF000000u : 0u))
#define SBN_MASK8(b) SBN_NIBBLE_MASK((b) & 15u), SBN_NIBBLE_MASK((b) >> 4)
#define SBN_MASK8_ROW(h) \
    SBN_MASK8(16u * (h) + 0u), SBN_MASK8(16u * (h) + 1u), SBN_MASK8(16u * (h) + 2u), SBN_MASK8(16u * (h) + 3u), \
    SBN_MASK8(16u * (h) + 4u), SBN_MASK8(16u * (h) + 5u), SBN_MASK8(16u * (h) + 6u), SBN_MASK8(16u * (h) + 7u), \
    SBN_MASK8(16u * (h) + 8u), SBN_MASK8(16u * (h) + 9u), SBN_MASK8(16u * (h) + 10u), \
    SBN_MASK8(16u * (h) + 11u), SBN_MASK8(16u * (h) + 12u), SBN_MASK8(16u * (h) + 13u), \
    SBN_MASK8(16u * (h) + 14u), SBN_MASK8(16u * (h) + 15u)

static const uint32_t sbn_byte_mask[512] = {
    SBN_MASK8_ROW(0u), SBN_MASK8_ROW(1u), SBN_MASK8_ROW(2u), SBN_MASK8_ROW(3u),
    SBN_MASK8_ROW(4u), SBN_MASK8_ROW(5u), SBN_MASK8_ROW(6u), SBN_MASK8_ROW(7u),
    SBN_MASK8_ROW(8u), SBN_MASK8_ROW(9u), SBN_MASK8_ROW(10u), SBN_MASK8_ROW(11u),
    SBN_MASK8_ROW(12u), SBN_MASK8_ROW(13u), SBN_MASK8_ROW(14u), SBN_MASK8_ROW(15u),
};

/* One group of eight pixels for both rows; LOAD reads the pixels into x0, x1. */
#define SBN_MASK8_GROUP(LOAD) \
    LOAD \
    "ldrb %[t], [%[wa]], #1\n\t" \
    "add %[t], %[tab], %[t], lsl #3\n\t" \
    "ldrd %[m0], %[m1], [%[t]]\n\t" \
    "usada8 %[sa], %[x0], %[m0], %[sa]\n\t" \
    "usada8 %[sa], %[x1], %[m1], %[sa]\n\t" \
    "ldrb %[t], [%[wb]], #1\n\t" \
    "add %[t], %[tab], %[t], lsl #3\n\t" \
    "ldrd %[m0], %[m1], [%[t]]\n\t" \
    "usada8 %[sb], %[x0], %[m0], %[sb]\n\t" \
    "usada8 %[sb], %[x1], %[m1], %[sb]\n\t"
#define SBN_MASK8_LDRD "ldrd %[x0], %[x1], [%[p]], #8\n\t"            /* a 4-aligned p */
#define SBN_MASK8_LDR "ldr %[x0], [%[p]], #4\n\tldr %[x1], [%[p]], #4\n\t" /* any p */
#define SBN_MASK8_OPERANDS \
    : [p] "+r"(p), [wa] "+r"(wa), [wb] "+r"(wb), [n] "+r"(n), [sa] "+r"(sa), [sb] "+r"(sb), [t] "=&r"(t), \
      [m0] "=&r"(m0), [m1] "=&r"(m1), [x0] "=&r"(x0), [x1] "=&r"(x1) \
    : [tab] "r"(sbn_byte_mask) \
    : "cc", "memory"

/* sums[0] += sum(p ^ m) over the groups * 8 pixels of row wa, sums[1] the
 * same for row wb (groups >= 1, each row's bytes in pixel order). */
SBN_NOINLINE static void sbn_mask8_pair(const uint8_t *p, const uint8_t *wa, const uint8_t *wb, uint32_t groups,
                                        uint32_t *sums)
{
    uint32_t sa = sums[0], sb = sums[1], t, m0, m1, x0, x1, n = groups >> 2;
    if (((uintptr_t)p & 3u) == 0u && n > 0u) {
        __asm__("1:\n\t" /* word loop: xor_bytesum */
                SBN_MASK8_GROUP(SBN_MASK8_LDRD) SBN_MASK8_GROUP(SBN_MASK8_LDRD)
                SBN_MASK8_GROUP(SBN_MASK8_LDRD) SBN_MASK8_GROUP(SBN_MASK8_LDRD)
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t" SBN_MASK8_OPERANDS);
        groups &= 3u;
    }
    n = groups;
    if (n > 0u) {
        __asm__("1:\n\t"
                SBN_MASK8_GROUP(SBN_MASK8_LDR)
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t" SBN_MASK8_OPERANDS);
    }
    sums[0] = sa;
    sums[1] = sb;
}

#endif /* SBN_DSP */

#endif /* SBN_MASK8_H */
