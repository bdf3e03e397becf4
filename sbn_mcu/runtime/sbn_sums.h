/* Subset-sum tables of raw uint8 pixels for the speed kernels of a first dense
 * layer (sbn_dense_u8_sums, sbn_dense_u8_offsets): every group of seven pixels
 * gets the table of its 128 subset sums, uint16, entry i the sum of the pixels
 * that the bits of i select; 256 bytes a table. */
#ifndef SBN_SUMS_H
#define SBN_SUMS_H

#include "sbn_port.h"

#define SBN_SUMS_GROUP 7u /* pixels per table */

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

/* Assembly on Arm (SBN_SUMS_ASM: 2 Thumb-2, 1 Thumb-1), in naked functions whose registers are
 * fixed: stm needs its registers in ascending order, and the lookups keep eight sums, two table
 * pointers and the end in registers, more than inline assembly is given on every core. */
#if defined(__GNUC__) && !defined(__clang__) && SBN_THUMB2 /* GCC's naked functions and noipa */
#define SBN_SUMS_ASM 2
#elif defined(__GNUC__) && !defined(__clang__) && defined(__thumb__)
#define SBN_SUMS_ASM 1
#else
#define SBN_SUMS_ASM 0
#endif

#if SBN_SUMS_ASM
#define SBN_SUMS_NAKED __attribute__((naked, noipa, unused)) /* noipa: its arguments stay where AAPCS puts them */
#define SBN_SUMS_ARG __attribute__((unused)) /* a naked function's arguments are read in its assembly */

/* The tables of `groups` (> 0) whole groups of pixels p[0 .. 7 groups) into t, 64 words each (entries
 * 2i and 2i + 1 in word i, as sbn_sums_table writes them); returns the pixels' sum. Word 4h + m is
 * a_m + Q_h: a_m the pair of subsets of pixels 0..2 (as sbn_sums_table), Q_h the sum of the subset h
 * of pixels 3..6 in both halves. h counts up, so Q_{h+1} - Q_h is d_j = x[3 + j] - (x[3] + ... +
 * x[2 + j]), j the trailing ones of h: four adds and one stm per four words. A negative d_j doubled
 * as d + (d << 16) adds d to both halves, since neither half leaves 0..65535. */
#if SBN_SUMS_ASM == 2
#define SBN_SUMS_STEP(d) "add r4, " d "\n\tadd r5, " d "\n\tadd r6, " d "\n\tadd r7, " d "\n\tstmia r1!, {r4-r7}\n\t"
#else
#define SBN_SUMS_STEP(d) "add r0, " d "\n\tadd r1, " d "\n\tadd r2, " d "\n\tadd r3, " d "\n\tstmia r4!, {r0-r3}\n\t"
#endif
#define SBN_SUMS_STEPS(d0, d1, d2, d3) \
    SBN_SUMS_STEP(d0) SBN_SUMS_STEP(d1) SBN_SUMS_STEP(d0) SBN_SUMS_STEP(d2) SBN_SUMS_STEP(d0) \
    SBN_SUMS_STEP(d1) SBN_SUMS_STEP(d0) SBN_SUMS_STEP(d3) SBN_SUMS_STEP(d0) SBN_SUMS_STEP(d1) \
    SBN_SUMS_STEP(d0) SBN_SUMS_STEP(d2) SBN_SUMS_STEP(d0) SBN_SUMS_STEP(d1) SBN_SUMS_STEP(d0)
static SBN_SUMS_NAKED uint32_t sbn_sums_build(const uint8_t *p SBN_SUMS_ARG, uint32_t *t SBN_SUMS_ARG,
                                              uint32_t groups SBN_SUMS_ARG)
{
#if SBN_SUMS_ASM == 2
    /* r0 p, r1 t, r2 the end of p, r3 the sum, r4-r7 four words, r8-r11 d_0..d_3, r12 spare */
    __asm__("push {r4-r11}\n\t"
            "rsb r2, r2, r2, lsl #3\n\tadd r2, r0\n\tmovs r3, #0\n"
            "1:\n\t"
            "ldrb r4, [r0]\n\tldrb r5, [r0, #1]\n\tldrb r6, [r0, #2]\n\tldrb r8, [r0, #3]\n\t"
            "ldrb r9, [r0, #4]\n\tldrb r10, [r0, #5]\n\tldrb r11, [r0, #6]\n\tadds r0, #7\n\t"
            "lsls r4, r4, #16\n\t"                                             /* a_0 = (0, x0) */
            "orr r5, r5, r5, lsl #16\n\torr r6, r6, r6, lsl #16\n\tadd r7, r5, r6\n\t"
            "add r5, r4\n\tadd r6, r4\n\tadd r7, r4\n\t"                       /* a_1, a_2, a_3 */
            "sub r11, r10\n\tsub r11, r9\n\tsub r11, r8\n\tsub r10, r9\n\tsub r10, r8\n\tsub r9, r8\n\t"
            "add r8, r8, r8, lsl #16\n\tadd r9, r9, r9, lsl #16\n\t"
            "add r10, r10, r10, lsl #16\n\tadd r11, r11, r11, lsl #16\n\t"
            "stmia r1!, {r4-r7}\n\t"
            SBN_SUMS_STEPS("r8", "r9", "r10", "r11")
            "add r3, r3, r7, lsr #16\n\t"                                     /* x0 + ... + x6 */
            "cmp r0, r2\n\tbne 1b\n\t"
            "mov r0, r3\n\tpop {r4-r11}\n\tbx lr\n\t");
#else
    /* r0-r3 four words, r4 t, r5 p, r6 r7 scratch, r8-r11 d_0..d_3, r12 the end of p, lr the sum */
    __asm__(".syntax unified\n\t"
            "push {r4-r7, lr}\n\tmov r4, r8\n\tmov r5, r9\n\tmov r6, r10\n\tmov r7, r11\n\tpush {r4-r7}\n\t"
            "mov r4, r1\n\tmov r5, r0\n\tlsls r6, r2, #3\n\tsubs r6, r6, r2\n\tadds r6, r5, r6\n\tmov r12, r6\n\t"
            "movs r6, #0\n\tmov lr, r6\n"
            "1:\n\t"
            "ldrb r6, [r5, #3]\n\tldrb r7, [r5, #6]\n\tsubs r7, r7, r6\n\t"    /* x6 - x3 */
            "ldrb r0, [r5, #4]\n\tsubs r7, r7, r0\n\tsubs r0, r0, r6\n\t"      /* x6 - x3 - x4, x4 - x3 */
            "lsls r1, r0, #16\n\tadds r0, r0, r1\n\tmov r9, r0\n\t"              /* d_1 */
            "ldrb r0, [r5, #5]\n\tsubs r7, r7, r0\n\t"                           /* d_3 = x6 - x3 - x4 - x5 */
            "lsls r1, r7, #16\n\tadds r7, r7, r1\n\tmov r11, r7\n\t"
            "ldrb r1, [r5, #4]\n\tsubs r0, r0, r1\n\tsubs r0, r0, r6\n\t"      /* d_2 = x5 - x4 - x3 */
            "lsls r1, r0, #16\n\tadds r0, r0, r1\n\tmov r10, r0\n\t"
            "lsls r1, r6, #16\n\tadds r6, r6, r1\n\tmov r8, r6\n\t"              /* d_0 = x3 */
            "ldrb r0, [r5]\n\tlsls r0, r0, #16\n\t"                              /* a_0 = (0, x0) */
            "ldrb r1, [r5, #1]\n\tlsls r6, r1, #16\n\tadds r1, r1, r6\n\t"
            "ldrb r2, [r5, #2]\n\tlsls r6, r2, #16\n\tadds r2, r2, r6\n\t"
            "adds r3, r1, r2\n\tadds r1, r1, r0\n\tadds r2, r2, r0\n\tadds r3, r3, r0\n\t" /* a_1..a_3 */
            "adds r5, #7\n\t"
            "stmia r4!, {r0-r3}\n\t"
            SBN_SUMS_STEPS("r8", "r9", "r10", "r11")
            "lsrs r3, r3, #16\n\tadd lr, r3\n\t"                                 /* x0 + ... + x6 */
            "cmp r5, r12\n\tbne 1b\n\t"
            "mov r0, lr\n\tpop {r4-r7}\n\tmov r8, r4\n\tmov r9, r5\n\tmov r10, r6\n\tmov r11, r7\n\t"
            "pop {r4-r7, pc}\n\t"
            ".syntax divided\n\t"); /* GCC writes Thumb-1 in the divided syntax */
#endif
}

#endif /* SBN_SUMS_ASM */

#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define SBN_SUMS_MVE 1 /* Helium (M55): four words of a table per vadd and vstrw */

/* sbn_sums_build with Helium: the words a_0..a_3 in one vector, the deltas of Q_h added to all four lanes. */
#define SBN_SUMS_VSTEP(k, d) q = vaddq_n_u32(q, d); vst1q_u32(t + 4 * (k), q);
static uint32_t sbn_sums_build_mve(const uint8_t *p, uint32_t *t, uint32_t groups)
{
    uint32_t total = 0u, g;
    for (g = 0u; g < groups; g++, p += SBN_SUMS_GROUP, t += 64) {
        const uint32_t x0 = p[0], x1 = p[1] * 0x10001u, x2 = p[2] * 0x10001u;
        const uint32_t x3 = p[3], x4 = p[4], x5 = p[5], x6 = p[6];
        const uint32_t d0 = x3 * 0x10001u, d1 = (x4 - x3) * 0x10001u, d2 = (x5 - x4 - x3) * 0x10001u;
        const uint32_t d3 = (x6 - x5 - x4 - x3) * 0x10001u;
        uint32_t a[4];
        uint32x4_t q;
        a[0] = x0 << 16;
        a[1] = a[0] + x1;
        a[2] = a[0] + x2;
        a[3] = a[1] + x2;
        q = vld1q_u32(a);
        vst1q_u32(t, q);
        SBN_SUMS_VSTEP(1, d0) SBN_SUMS_VSTEP(2, d1) SBN_SUMS_VSTEP(3, d0) SBN_SUMS_VSTEP(4, d2)
        SBN_SUMS_VSTEP(5, d0) SBN_SUMS_VSTEP(6, d1) SBN_SUMS_VSTEP(7, d0) SBN_SUMS_VSTEP(8, d3)
        SBN_SUMS_VSTEP(9, d0) SBN_SUMS_VSTEP(10, d1) SBN_SUMS_VSTEP(11, d0) SBN_SUMS_VSTEP(12, d2)
        SBN_SUMS_VSTEP(13, d0) SBN_SUMS_VSTEP(14, d1) SBN_SUMS_VSTEP(15, d0)
        total += vgetq_lane_u32(q, 3) >> 16;
    }
    return total;
}
#else
#define SBN_SUMS_MVE 0
#endif

/* ceil(n / 7), without a division the M0 lacks */
static inline uint32_t sbn_sums_groups(uint32_t n)
{
    uint32_t groups = 0u, g;
    for (g = 0u; g < n; g += SBN_SUMS_GROUP) {
        groups++;
    }
    return groups;
}

/* The tables of groups g0 .. g0 + count of the pixels in[0..n) into t (count of them); returns the
 * pixels' sum. Whole groups in assembly on Arm, a last partial one in C. */
static uint32_t sbn_sums_tables(const uint8_t *in, uint32_t n, uint32_t g0, uint32_t count, uint16_t *t)
{
    uint32_t g = 0u, total = 0u;
#if SBN_SUMS_ASM || SBN_SUMS_MVE
    const uint32_t whole = n >= (g0 + count) * SBN_SUMS_GROUP ? count : count - 1u; /* only the last is partial */
    if (whole > 0u) {
        g = whole;
#if SBN_SUMS_MVE
        total = sbn_sums_build_mve(in + g0 * SBN_SUMS_GROUP, (uint32_t *)(void *)t, g);
#else
        total = sbn_sums_build(in + g0 * SBN_SUMS_GROUP, (uint32_t *)(void *)t, g);
#endif
    }
#endif
    for (; g < count; g++) {
        const uint32_t first = (g0 + g) * SBN_SUMS_GROUP;
        total += sbn_sums_table(in + first, n - first < SBN_SUMS_GROUP ? n - first : SBN_SUMS_GROUP, t + 128u * g);
    }
    return total;
}

/* The bits of outputs from .. outputs - 1 (from a multiple of 32): 1 where 4 S - 2 P >= c, S = sums[o],
 * P = total, c = thr[o]; a word at a time, its last output first, from the sign of 4S - 2P - c
 * (|4S - 2P| < 2^30, |c| <= 2^30). */
static void sbn_sums_bits(const uint32_t *sums, uint32_t total, const sbn_acc_t *thr, uint32_t from,
                          uint32_t outputs, uint32_t *bits)
{
    const sbn_sum_t p2 = (sbn_sum_t)total + (sbn_sum_t)total;
    uint32_t o;
    for (o = from; o < outputs; o += 32u) {
        const uint32_t count = outputs - o < 32u ? outputs - o : 32u;
        uint32_t j = count, word = 0u;
        while (j-- > 0u) { /* 1 below */
            word = word + word +
                   (uint32_t)(((sbn_sum_t)sums[o + j] * 4u - p2 - (sbn_sum_t)thr[o + j]) >> (8u * sizeof(sbn_sum_t) - 1u));
        }
        bits[o >> 5] = count == 32u ? ~word : ~word & ((1u << count) - 1u);
    }
}

#endif /* SBN_SUMS_H */
