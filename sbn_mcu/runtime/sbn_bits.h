/* Bit counting and packing. Cortex-M has no popcount instruction and __builtin_popcount
 * is a libgcc call there, so count bits in SWAR byte lanes and sum the lanes
 * once per row: with usada8 on cores with the DSP extension (v7E-M, v8-M
 * Main with DSP), with two SWAR steps elsewhere.
 *
 * A comment "word loop: <name>" on the first line of each kernel's loop over
 * weight words marks it: sbn-mcu bench finds that loop in the compiled code
 * and counts its loads. */
#ifndef SBN_BITS_H
#define SBN_BITS_H

#include "sbn_port.h"

/* Four pixels as one little-endian word; compilers emit a single load where
 * the core allows unaligned access. */
static inline uint32_t sbn_load4(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The same from a 4-aligned address: one word load where the compiler can
 * be told so (cores without unaligned loads, e.g. the M0, otherwise load
 * byte by byte), else sbn_load4. */
static inline uint32_t sbn_load4_aligned(const uint8_t *p)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t x;
    __builtin_memcpy(&x, __builtin_assume_aligned(p, 4), sizeof x);
    return x;
#else
    return sbn_load4(p);
#endif
}

/* Sum of the four bytes of x. */
static inline uint32_t sbn_bytesum(uint32_t x)
{
#if SBN_DSP
    return sbn_usada8(x, 0u, 0u);
#else
    x = (x & 0x00FF00FFu) + ((x >> 8) & 0x00FF00FFu);
    return (x + (x >> 16)) & 0xFFFFu;
#endif
}

/* Bit counts of three words in byte lanes (each lane at most 24): the usual
 * SWAR steps, with the three words summed in 4-bit lanes before widening. */
#if SBN_THUMB2
/* Thumb-2 folds the shifts into the ANDs, which compilers do not find here. */
static inline uint32_t sbn_count3(uint32_t x, uint32_t y, uint32_t z)
{
    uint32_t t;
    const uint32_t m1 = 0x55555555u, m2 = 0x33333333u, m4 = 0x0F0F0F0Fu;
    __asm__("and %[t], %[m1], %[x], lsr #1\n\t"
            "sub %[x], %[x], %[t]\n\t"
            "and %[t], %[m1], %[y], lsr #1\n\t"
            "sub %[y], %[y], %[t]\n\t"
            "and %[t], %[m1], %[z], lsr #1\n\t"
            "sub %[z], %[z], %[t]\n\t"
            "and %[t], %[m2], %[x], lsr #2\n\t"
            "and %[x], %[x], %[m2]\n\t"
            "add %[x], %[x], %[t]\n\t"
            "and %[t], %[m2], %[y], lsr #2\n\t"
            "and %[y], %[y], %[m2]\n\t"
            "add %[x], %[x], %[t]\n\t"
            "add %[x], %[x], %[y]\n\t"
            "and %[t], %[m2], %[z], lsr #2\n\t"
            "and %[z], %[z], %[m2]\n\t"
            "add %[x], %[x], %[t]\n\t"
            "add %[x], %[x], %[z]\n\t"
            "and %[t], %[m4], %[x], lsr #4\n\t"
            "and %[x], %[x], %[m4]\n\t"
            "add %[x], %[x], %[t]\n\t"
            : [x] "+r"(x), [y] "+r"(y), [z] "+r"(z), [t] "=&r"(t)
            : [m1] "r"(m1), [m2] "r"(m2), [m4] "r"(m4));
    return x;
}
#else
static inline uint32_t sbn_count3(uint32_t x, uint32_t y, uint32_t z)
{
    x -= (x >> 1) & 0x55555555u;
    y -= (y >> 1) & 0x55555555u;
    z -= (z >> 1) & 0x55555555u;
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u)
      + (y & 0x33333333u) + ((y >> 2) & 0x33333333u)
      + (z & 0x33333333u) + ((z >> 2) & 0x33333333u);
    return (x & 0x0F0F0F0Fu) + ((x >> 4) & 0x0F0F0F0Fu);
}
#endif

#if SBN_THUMB2
/* Bit counts of n3 (1..9) triples of a ^ b in byte lanes: the loop of
 * sbn_count3 with two ldm per triple, in assembly for the registers. */
static inline uint32_t sbn_count_triples(const uint32_t *a, const uint32_t *b, uint32_t n3)
{
    uint32_t bytes = 0u;
    const uint32_t m1 = 0x55555555u, m2 = 0x33333333u, m4 = 0x0F0F0F0Fu;
    __asm__("1:\n\t" /* word loop: mismatches */
            "ldmia %[a]!, {r4, r5, r6}\n\t"
            "ldmia %[b]!, {r8, r10, r11}\n\t"
            "eor r4, r4, r8\n\t"
            "eor r5, r5, r10\n\t"
            "eor r6, r6, r11\n\t"
            "and r8, %[m1], r4, lsr #1\n\t"
            "sub r4, r4, r8\n\t"
            "and r8, %[m1], r5, lsr #1\n\t"
            "sub r5, r5, r8\n\t"
            "and r8, %[m1], r6, lsr #1\n\t"
            "sub r6, r6, r8\n\t"
            "and r8, %[m2], r4, lsr #2\n\t"
            "and r4, r4, %[m2]\n\t"
            "add r4, r4, r8\n\t"
            "and r8, %[m2], r5, lsr #2\n\t"
            "and r5, r5, %[m2]\n\t"
            "add r4, r4, r8\n\t"
            "add r4, r4, r5\n\t"
            "and r8, %[m2], r6, lsr #2\n\t"
            "and r6, r6, %[m2]\n\t"
            "add r4, r4, r8\n\t"
            "add r4, r4, r6\n\t"
            "and r8, %[m4], r4, lsr #4\n\t"
            "and r4, r4, %[m4]\n\t"
            "add r4, r4, r8\n\t"
            "add %[bytes], %[bytes], r4\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a] "+r"(a), [b] "+r"(b), [n] "+r"(n3), [bytes] "+r"(bytes)
            : [m1] "r"(m1), [m2] "r"(m2), [m4] "r"(m4)
            : "r4", "r5", "r6", "r8", "r10", "r11", "cc", "memory");
    return bytes;
}
#else
static inline uint32_t sbn_count_triples(const uint32_t *a, const uint32_t *b, uint32_t n3)
{
    uint32_t bytes = 0u;
    for (; n3 > 0u; n3--, a += 3, b += 3) { /* word loop: mismatches */
        bytes += sbn_count3(a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2]);
    }
    return bytes;
}
#endif

/* Number of differing bits between a and b over n words. Byte lanes take
 * nine triples (at most 216) before they are summed. */
SBN_NOINLINE static uint32_t sbn_mismatches(const uint32_t *a, const uint32_t *b, uint32_t n)
{
    uint32_t total = 0u;
    while (n >= 3u) {
        uint32_t n3 = 0u;
        while (n >= 3u && n3 < 9u) { /* no division: M0 has none */
            n -= 3u;
            n3++;
        }
        total += sbn_bytesum(sbn_count_triples(a, b, n3));
        a += 3u * n3;
        b += 3u * n3;
    }
    if (n > 0u) { /* one or two words left */
        total += sbn_bytesum(sbn_count3(a[0] ^ b[0], n > 1u ? a[1] ^ b[1] : 0u, 0u));
    }
    return total;
}

/* Gather output bit o of n into word, storing each word as it fills (and
 * the last, partial one): outputs are built in a register, never cleared
 * and OR-ed in memory. Returns the word to carry on with. */
static inline uint32_t sbn_put_bit(uint32_t *out, uint32_t o, uint32_t n, uint32_t word, uint32_t bit)
{
    word |= bit << (o & 31u);
    if ((o & 31u) == 31u || o + 1u == n) {
        out[o >> 5] = word;
        return 0u;
    }
    return word;
}

#endif /* SBN_BITS_H */
