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

/* Harley-Seal: a carry-save adder sums three words bit by bit into a
 * "twos" and a "ones" word (5 instructions for 3 words). */
#define SBN_CSA(high, low, a, b, c) \
    do { \
        const uint32_t u_ = (a) ^ (b); \
        high = ((a) & (b)) | (u_ & (c)); \
        low = u_ ^ (c); \
    } while (0)

/* v, which the compiler may not rewrite: it would turn (v & 0xAA..) >> 1
 * into (v >> 1) & 0x55.., one instruction more where Thumb-2 folds the
 * shift into the add. */
static inline uint32_t sbn_opaque(uint32_t v)
{
#if SBN_THUMB2
    __asm__("" : "+r"(v));
#endif
    return v;
}

/* p, which the compiler may not assume unchanged: loads through it stay where they are written. */
static inline const uint32_t *sbn_opaque_pointer(const uint32_t *p)
{
#if defined(__GNUC__)
    __asm__("" : "+r"(p));
#endif
    return p;
}

/* Bit counts of a word in 4-bit lanes (each at most 4). */
SBN_INLINE uint32_t sbn_nibble_counts(uint32_t v)
{
    v -= sbn_opaque(v & 0xAAAAAAAAu) >> 1;
    return (v & 0x33333333u) + (sbn_opaque(v & 0xCCCCCCCCu) >> 2);
}

/* Bit counts of a word in byte lanes (each at most 8). */
SBN_INLINE uint32_t sbn_byte_counts(uint32_t v)
{
    v = sbn_nibble_counts(v);
    return (v & 0x0F0F0F0Fu) + (sbn_opaque(v & 0xF0F0F0F0u) >> 4);
}

/* x = a[i] ^ b[i], y = a[i + 1] ^ b[i + 1]: on Thumb-2 two ldrd, which
 * compilers do not pair here by themselves. */
#if SBN_THUMB2
#define SBN_XOR2(a, b, i, x, y) \
    do { \
        uint32_t a0_, a1_, b0_, b1_; \
        __asm__("ldrd %0, %1, [%4, #%c6]\n\t" \
                "ldrd %2, %3, [%5, #%c6]" \
                : "=&r"(a0_), "=&r"(a1_), "=&r"(b0_), "=&r"(b1_) \
                : "r"(a), "r"(b), "n"(4 * (i)), "m"(*(const uint32_t(*)[8])(a)), "m"(*(const uint32_t(*)[8])(b))); \
        x = a0_ ^ b0_; \
        y = a1_ ^ b1_; \
    } while (0)
#else
#define SBN_XOR2(a, b, i, x, y) \
    do { \
        x = (a)[i] ^ (b)[i]; \
        y = (a)[(i) + 1] ^ (b)[(i) + 1]; \
    } while (0)
#endif

/* Bit count of the 8 words a ^ b and of ninth in byte lanes (each at most
 * 72): four carry-save adders fold the nine words into ones and four twos
 * words, a fifth three of those twos into twos and fours; the fourth twos word
 * is counted with the fours (t4 + 2 * fours, at most 12 a nibble), so no half
 * adder is spent. A ninth word of 0 costs nothing. */
SBN_INLINE uint32_t sbn_count9(const uint32_t *a, const uint32_t *b, uint32_t ninth)
{
    uint32_t ones, twos, fours, t1, t2, t3, t4, lo, hi, x0, x1, x2, x3, x4, x5, x6, x7;
    SBN_XOR2(a, b, 0, x0, x1);
    SBN_XOR2(a, b, 2, x2, x3);
    SBN_XOR2(a, b, 4, x4, x5);
    SBN_XOR2(a, b, 6, x6, x7);
    SBN_CSA(t1, ones, x0, x1, x2);
    SBN_CSA(t2, ones, ones, x3, x4);
    SBN_CSA(t3, ones, ones, x5, x6);
    SBN_CSA(t4, ones, ones, x7, ninth);
    SBN_CSA(fours, twos, t1, t2, t3);
    lo = sbn_nibble_counts(ones) + (sbn_nibble_counts(twos) << 1); /* at most 12 a nibble */
    hi = sbn_nibble_counts(t4) + (sbn_nibble_counts(fours) << 1);  /* at most 12 a nibble */
    lo = (lo & 0x0F0F0F0Fu) + (sbn_opaque(lo & 0xF0F0F0F0u) >> 4);
    hi = (hi & 0x0F0F0F0Fu) + (sbn_opaque(hi & 0xF0F0F0F0u) >> 4);
    return lo + (hi << 1);
}

/* The same for 8 words. */
SBN_INLINE uint32_t sbn_count8(const uint32_t *a, const uint32_t *b)
{
    return sbn_count9(a, b, 0u);
}

/* Number of differing bits between a and b over n words: blocks of eight
 * words by Harley-Seal, then triples, then one or two words. */
SBN_INLINE uint32_t sbn_mismatches_inline(const uint32_t *a, const uint32_t *b, uint32_t n)
{
    uint32_t total = 0u, lanes = 0u;
    for (; n >= 16u; n -= 8u, a += 8, b += 8) { /* word loop: mismatches */
        total += sbn_bytesum(sbn_count8(a, b));
    }
    if (n >= 9u) { /* the last block takes a ninth word into its tree (rows of 3x3 taps of 32 channels) */
        lanes = sbn_count9(a, b, a[8] ^ b[8]);
        n -= 9u;
        a += 9;
        b += 9;
    } else if (n == 8u) { /* the last block shares the final sum with the words after it */
        lanes = sbn_count8(a, b);
        n = 0u;
    }
    for (; n >= 3u; n -= 3u, a += 3, b += 3) { /* two triples at most: 48 a lane, 120 with the block */
        lanes += sbn_count3(a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2]);
    }
    for (; n > 0u; n--) { /* two words at most: 16 a lane; 128 in all without a block */
        lanes += sbn_byte_counts(*a++ ^ *b++);
    }
    return total + sbn_bytesum(lanes);
}

SBN_NOINLINE static uint32_t sbn_mismatches(const uint32_t *a, const uint32_t *b, uint32_t n)
{
    return sbn_mismatches_inline(a, b, n);
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
