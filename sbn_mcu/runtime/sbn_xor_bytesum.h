/* Sum of p ^ m over raw uint8 input p and ±1 weights packed as bits.
 *
 * With q = 2p - 255 and the weight mapped to m = 255 (+1) or 0 (-1),
 * w * q = 255 - 2 * |p - m| = 255 - 2 * (p ^ m), so
 *     acc = 255 * n - 2 * sum(p ^ m),
 * the same form as a binary layer's n - 2 * popcount(x ^ w). A nibble of
 * weight bits selects the byte masks of four pixels at once. */
#ifndef SBN_XOR_BYTESUM_H
#define SBN_XOR_BYTESUM_H

#include "sbn_bits.h"

static const uint32_t sbn_nibble_mask[16] = {
    0x00000000u, 0x000000FFu, 0x0000FF00u, 0x0000FFFFu,
    0x00FF0000u, 0x00FF00FFu, 0x00FFFF00u, 0x00FFFFFFu,
    0xFF000000u, 0xFF0000FFu, 0xFF00FF00u, 0xFF00FFFFu,
    0xFFFF0000u, 0xFFFF00FFu, 0xFFFFFF00u, 0xFFFFFFFFu,
};


#if SBN_DSP
/* acc + sum(p ^ m) over 32 pixels: per 8 pixels one ldrd, and per 4 pixels
 * one nibble extract, one mask load and one usada8 (|p - m| = p ^ m for m in
 * {0, 255}). Written in assembly because compilers spill here. */
#define SBN_XOR8_ASM(off, bit0, bit1) \
    "ldrd %[x0], %[x1], [%[p], #" #off "]\n\t" \
    "ubfx %[t], %[w], #" #bit0 ", #4\n\t" \
    "ldr %[m], [%[tab], %[t], lsl #2]\n\t" \
    "usada8 %[acc], %[x0], %[m], %[acc]\n\t" \
    "ubfx %[t], %[w], #" #bit1 ", #4\n\t" \
    "ldr %[m], [%[tab], %[t], lsl #2]\n\t" \
    "usada8 %[acc], %[x1], %[m], %[acc]\n\t"

/* The same with single loads, which (unlike ldrd) take any alignment. */
#define SBN_XOR4_ASM(off, bit) \
    "ldr %[x0], [%[p], #" #off "]\n\t" \
    "ubfx %[t], %[w], #" #bit ", #4\n\t" \
    "ldr %[m], [%[tab], %[t], lsl #2]\n\t" \
    "usada8 %[acc], %[x0], %[m], %[acc]\n\t"

static inline uint32_t sbn_xor32_aligned(const uint8_t *p, uint32_t w, uint32_t acc)
{
    uint32_t t, m, x0, x1;
    __asm__(SBN_XOR8_ASM(0, 0, 4) SBN_XOR8_ASM(8, 8, 12) SBN_XOR8_ASM(16, 16, 20) SBN_XOR8_ASM(24, 24, 28)
            : [acc] "+r"(acc), [t] "=&r"(t), [m] "=&r"(m), [x0] "=&r"(x0), [x1] "=&r"(x1)
            : [w] "r"(w), [p] "r"(p), [tab] "r"(sbn_nibble_mask)
            : "memory");
    return acc;
}

static inline uint32_t sbn_xor32(const uint8_t *p, uint32_t w, uint32_t acc)
{
    uint32_t t, m, x0;
    __asm__(SBN_XOR4_ASM(0, 0) SBN_XOR4_ASM(4, 4) SBN_XOR4_ASM(8, 8) SBN_XOR4_ASM(12, 12)
            SBN_XOR4_ASM(16, 16) SBN_XOR4_ASM(20, 20) SBN_XOR4_ASM(24, 24) SBN_XOR4_ASM(28, 28)
            : [acc] "+r"(acc), [t] "=&r"(t), [m] "=&r"(m), [x0] "=&r"(x0)
            : [w] "r"(w), [p] "r"(p), [tab] "r"(sbn_nibble_mask)
            : "memory");
    return acc;
}
#else
/* acc + sum(p ^ m) over 32 pixels, in two 16-bit lanes (at most 8 * 510);
 * `aligned` is a constant, so each caller gets its own loads. */
static inline uint32_t sbn_xor32_lanes(const uint8_t *p, uint32_t w, uint32_t acc, int aligned)
{
    uint32_t lanes = 0u, g;
    for (g = 0u; g < 8u; g++, w >>= 4) {
        uint32_t v = (aligned ? sbn_load4_aligned(p + 4u * g) : sbn_load4(p + 4u * g)) ^ sbn_nibble_mask[w & 15u];
        lanes += (v & 0x00FF00FFu) + ((v >> 8) & 0x00FF00FFu);
    }
    return acc + (lanes & 0xFFFFu) + (lanes >> 16);
}

static inline uint32_t sbn_xor32(const uint8_t *p, uint32_t w, uint32_t acc)
{
    return sbn_xor32_lanes(p, w, acc, 0);
}

static inline uint32_t sbn_xor32_aligned(const uint8_t *p, uint32_t w, uint32_t acc)
{
    return sbn_xor32_lanes(p, w, acc, 1);
}
#endif

/* sum(p ^ m) over the n pixels of one weight row. The 32-bit running sum
 * takes 65536 weight words (at most 534,773,760) before it is folded into
 * the total, which is 64-bit when a row can pass 2^32 (SBN_WIDE). */
static inline sbn_sum_t sbn_xor_bytesum(const uint8_t *p, const uint32_t *w, uint32_t n)
{
    sbn_sum_t total = 0u;
    uint32_t part, i = 0u;
    const uint32_t words = n >> 5;
    const int aligned = ((uintptr_t)p & 3u) == 0u; /* the caller's buffer may sit at any address */
    while (i < words) {
        const uint32_t end = words - i > 65536u ? i + 65536u : words;
        part = 0u;
        if (aligned) {
            for (; i < end; i++) { /* word loop: xor_bytesum */
                part = sbn_xor32_aligned(p + 32u * i, w[i], part);
            }
        } else {
            for (; i < end; i++) {
                part = sbn_xor32(p + 32u * i, w[i], part);
            }
        }
        total += part;
    }
    for (i = words << 5, part = 0u; i + 4u <= n; i += 4u) { /* the tail, four pixels at a time */
#if SBN_DSP
        part = sbn_usada8(sbn_load4(p + i), sbn_nibble_mask[(w[words] >> (i & 31u)) & 15u], part);
#else
        part += sbn_bytesum(sbn_load4(p + i) ^ sbn_nibble_mask[(w[words] >> (i & 31u)) & 15u]);
#endif
    }
    for (; i < n; i++) {
        part += (w[i >> 5] >> (i & 31u) & 1u) ? 255u - p[i] : p[i];
    }
    return total + part;
}

#endif /* SBN_XOR_BYTESUM_H */
