/* Fully connected layer on raw uint8 input by subset-sum tables ("four
 * Russians"), thresholded: the speed kernel of a first dense layer.
 *
 * With q = 2p - 255 and S the sum of the pixels whose weight is +1 (P all
 * pixels, W the sum of the weights), acc = sum(w q) = 4S - 2P - 255W. The
 * export stores c = t + 255W in place of the threshold t, so the bit is
 * 4S - 2P >= c, the same comparison as acc >= t.
 *
 * Per call, every group of seven pixels gets the table of its 128 subset
 * sums; one weight byte per neuron and group (its seven bits, doubled: the
 * byte offset of the entry) then picks one entry, so a neuron costs one
 * lookup and one add per seven MACs. Seven, not eight: the doubled index
 * still fits a byte, which the M0 adds to the table's address as it is.
 *
 * Weights: bytes in blocks of SBN_SUMS_BLOCK neurons, [block][group][neuron],
 * rows past `outputs` zero, four to a word, the first in the low byte. The tables are built `chunk` groups at a time in
 * the scratch, with one partial sum per neuron beside them: less RAM for more
 * passes over the neurons. n < 2^21 (4S fits int32). */
#ifndef SBN_DENSE_U8_SUMS_C
#define SBN_DENSE_U8_SUMS_C

#include "sbn_bits.h"
#include "sbn_kernels.h"

#define SBN_SUMS_GROUP 7u /* pixels per table */
#define SBN_SUMS_BLOCK 8u /* neurons per pass over a chunk's tables */

/* Scratch words: chunk tables of 128 uint16 sums, and a partial sum per (padded) neuron. */
#define SBN_DENSE_U8_SUMS_SCRATCH_WORDS(chunk, outputs) (64u * (chunk) + 8u * (((outputs) + 7u) / 8u))

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SBN_SUMS_PAIRS 1
typedef uint32_t __attribute__((may_alias)) sbn_sum_pair; /* entries 2i and 2i + 1, written at once */
#else
#define SBN_SUMS_PAIRS 0
#endif

/* The 128 subset sums of pixels p[0..count) (count <= 7, the others 0) into t; returns their sum.
 * Entry 8h + i is q[h], the sum of the subset h of pixels 3..6, plus the sum of the subset i of
 * pixels 0..2: four pairs (s, s + p0) with s of pixels 1 and 2, written two entries at once. */
static SBN_NOINLINE uint32_t sbn_sums_table(const uint8_t *p, uint32_t count, uint16_t *t)
{
    uint32_t x[SBN_SUMS_GROUP] = {0u, 0u, 0u, 0u, 0u, 0u, 0u}, q[16], k, h, a0, a1, a2, a3;
    for (k = 0u; k < count; k++) {
        x[k] = p[k];
    }
    q[0] = 0u;
    q[1] = x[3];
    q[2] = x[4];
    q[3] = x[3] + x[4];
    for (h = 0u; h < 4u; h++) {
        q[4u + h] = q[h] + x[5];
    }
    for (h = 0u; h < 8u; h++) {
        q[8u + h] = q[h] + x[6];
    }
    a0 = x[0] << 16;
    a1 = a0 + x[1] * 0x10001u;
    a2 = a0 + x[2] * 0x10001u;
    a3 = a1 + x[2] * 0x10001u;
    for (h = 0u; h < 16u; h++, t += 8) {
#if SBN_SUMS_PAIRS
        sbn_sum_pair *pair = (sbn_sum_pair *)(void *)t;
        const uint32_t add = q[h] * 0x10001u;
        pair[0] = a0 + add;
        pair[1] = a1 + add;
        pair[2] = a2 + add;
        pair[3] = a3 + add;
#else
        t[0] = (uint16_t)((a0 & 0xFFFFu) + q[h]);
        t[1] = (uint16_t)((a0 >> 16) + q[h]);
        t[2] = (uint16_t)((a1 & 0xFFFFu) + q[h]);
        t[3] = (uint16_t)((a1 >> 16) + q[h]);
        t[4] = (uint16_t)((a2 & 0xFFFFu) + q[h]);
        t[5] = (uint16_t)((a2 >> 16) + q[h]);
        t[6] = (uint16_t)((a3 & 0xFFFFu) + q[h]);
        t[7] = (uint16_t)((a3 >> 16) + q[h]);
#endif
    }
    return (a3 >> 16) + q[15];
}

/* s_j += the entry that weight byte wp[8g + j] picks in table g, for the tables from t to end.
 * The weight byte is the entry's byte offset: ldrb, ldrh, add per lookup. In assembly on Arm,
 * where the compiler would spill the eight sums. */
#if SBN_THUMB2
#define SBN_SUMS_ASM 2
#elif defined(__thumb__) && !SBN_THUMB2
#define SBN_SUMS_ASM 1
#else
#define SBN_SUMS_ASM 0
#endif
#if SBN_SUMS_ASM == 2
#define SBN_SUMS_ONE(s) "ldrb %[x], [%[wp]], #1\n\tldrh %[x], [%[t], %[x]]\n\tadd %[" s "], %[x]\n\t"
#elif SBN_SUMS_ASM == 1
#define SBN_SUMS_ONE_AT(s, k) "ldrb %[x], [%[wp], #" k "]\n\tldrh %[x], [%[t], %[x]]\n\tadd %[" s "], %[x]\n\t"
#endif
static SBN_NOINLINE void sbn_sums_lookups(const uint8_t *wp, const uint8_t *t, const uint8_t *end, uint32_t *s)
{ /* a function of its own: the eight sums then always find registers */
    uint32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
#if SBN_SUMS_ASM == 2
    uint32_t x;
    __asm__("1:\n\t" SBN_SUMS_ONE("a") SBN_SUMS_ONE("b") SBN_SUMS_ONE("c") SBN_SUMS_ONE("d")
            SBN_SUMS_ONE("e") SBN_SUMS_ONE("f") SBN_SUMS_ONE("g") SBN_SUMS_ONE("h")
            "add %[t], %[t], #256\n\tcmp %[t], %[end]\n\tbne 1b\n\t"
            : [a] "+r"(s0), [b] "+r"(s1), [c] "+r"(s2), [d] "+r"(s3), [e] "+r"(s4), [f] "+r"(s5),
              [g] "+r"(s6), [h] "+r"(s7), [wp] "+r"(wp), [t] "+r"(t), [x] "=&r"(x)
            : [end] "r"(end) : "cc", "memory");
#elif SBN_SUMS_ASM == 1
    uint32_t x;
    __asm__(".syntax unified\n1:\n\t" SBN_SUMS_ONE_AT("a", "0") SBN_SUMS_ONE_AT("b", "1")
            SBN_SUMS_ONE_AT("c", "2") SBN_SUMS_ONE_AT("d", "3") SBN_SUMS_ONE_AT("e", "4") SBN_SUMS_ONE_AT("f", "5")
            SBN_SUMS_ONE_AT("g", "6") SBN_SUMS_ONE_AT("h", "7")
            "adds %[wp], #8\n\tadds %[t], #255\n\tadds %[t], #1\n\tcmp %[t], %[end]\n\tbne 1b\n\t"
            ".syntax divided\n\t" /* GCC writes Thumb-1 in the divided syntax */
            : [a] "+l"(s0), [b] "+l"(s1), [c] "+l"(s2), [d] "+h"(s3), [e] "+h"(s4), [f] "+h"(s5),
              [g] "+h"(s6), [h] "+h"(s7), [wp] "+l"(wp), [t] "+l"(t), [x] "=&l"(x)
            : [end] "l"(end) : "cc", "memory"); /* Thumb-1 adds any register to a low one */
#else
    for (; t != end; t += 256, wp += SBN_SUMS_BLOCK) {
        s0 += *(const uint16_t *)(const void *)(t + wp[0]);
        s1 += *(const uint16_t *)(const void *)(t + wp[1]);
        s2 += *(const uint16_t *)(const void *)(t + wp[2]);
        s3 += *(const uint16_t *)(const void *)(t + wp[3]);
        s4 += *(const uint16_t *)(const void *)(t + wp[4]);
        s5 += *(const uint16_t *)(const void *)(t + wp[5]);
        s6 += *(const uint16_t *)(const void *)(t + wp[6]);
        s7 += *(const uint16_t *)(const void *)(t + wp[7]);
    }
#endif
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3; s[4] = s4; s[5] = s5; s[6] = s6; s[7] = s7;
}

SBN_API void sbn_dense_u8_sums(const uint8_t *in, const uint32_t *weights, uint32_t n, uint32_t outputs,
                               uint32_t chunk, const sbn_acc_t *thr, uint32_t *bits, uint32_t *scratch)
{
    const uint32_t blocks = (outputs + SBN_SUMS_BLOCK - 1u) / SBN_SUMS_BLOCK;
    const uint8_t *w = (const uint8_t *)weights;
    uint16_t *tables = (uint16_t *)(void *)scratch;
    uint32_t *sums = scratch + 64u * chunk;
    uint32_t groups = 0u, g0, g, b, o, word = 0u, total = 0u;
    for (g = 0u; g < n; g += SBN_SUMS_GROUP) { /* ceil(n / 7), without a division the M0 lacks */
        groups++;
    }
    for (g0 = 0u; g0 < groups; g0 += chunk) {
        const uint32_t count = groups - g0 < chunk ? groups - g0 : chunk;
        for (g = 0u; g < count; g++) {
            const uint32_t first = (g0 + g) * SBN_SUMS_GROUP;
            total += sbn_sums_table(in + first, n - first < SBN_SUMS_GROUP ? n - first : SBN_SUMS_GROUP,
                                    tables + 128u * g);
        }
        for (b = 0u; b < blocks; b++) {
            const uint8_t *wp = w + (b * groups + g0) * SBN_SUMS_BLOCK;
            const uint8_t *t = (const uint8_t *)tables, *end = t + 256u * count;
            uint32_t *s = sums + SBN_SUMS_BLOCK * b;
            if (g0 == 0u) {
                s[0] = 0u; s[1] = 0u; s[2] = 0u; s[3] = 0u; s[4] = 0u; s[5] = 0u; s[6] = 0u; s[7] = 0u;
            }
            sbn_sums_lookups(wp, t, end, s);
        }
    }
    for (o = 0u; o < outputs; o++) {
        const sbn_acc_t s = (sbn_acc_t)sums[o];
        const sbn_acc_t p = (sbn_acc_t)total;
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(s + s + s + s - p - p >= thr[o]));
    }
}

#endif /* SBN_DENSE_U8_SUMS_C */
