/* Thresholded binary dense layer that compares mismatch counts (speed): bit o
 * is popcount(x ^ w_o) < limit[o]. With acc = n - 2m, acc >= t is
 * m < floor((n - t) / 2) + 1; the export stores that limit clamped to
 * 0 .. n + 1 (a limit of 0: never +1; n + 1: always), as int16_t, for
 * n < 32767. Weights as sbn_dense_bits.
 *
 * On cores with the DSP extension, rows of eight words (256 inputs) go
 * through one assembly loop per output word: ldm of the row, ldrd of the
 * input, a Harley-Seal tree (ones, twos, fours, eights), the four counts in
 * nibbles with immediate masks, usad8, and the comparison shifted into the
 * word with adcs (74 instructions per output). Other rows, and other cores,
 * take the portable count. */
#ifndef SBN_DENSE_BITS_M16_C
#define SBN_DENSE_BITS_M16_C

#include "sbn_bits.h"
#include "sbn_kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define SBN_M16_ASM 3 /* Helium: sixteen bytes of x ^ w a veor, their bit counts by one gather from a 256-byte table */
#define SBN_M16_P2(n) n, n + 1, n + 1, n + 2
#define SBN_M16_P4(n) SBN_M16_P2(n), SBN_M16_P2(n + 1), SBN_M16_P2(n + 1), SBN_M16_P2(n + 2)
#define SBN_M16_P6(n) SBN_M16_P4(n), SBN_M16_P4(n + 1), SBN_M16_P4(n + 1), SBN_M16_P4(n + 2)
static const uint8_t sbn_m16_counts[256] = {SBN_M16_P6(0), SBN_M16_P6(1), SBN_M16_P6(1), SBN_M16_P6(2)};
#elif defined(__GNUC__) && !defined(__clang__) && SBN_THUMB2 && SBN_DSP
#define SBN_M16_ASM 2
#elif defined(__GNUC__) && !defined(__clang__) && defined(__thumb__) && !SBN_THUMB2
#define SBN_M16_ASM 1
#else
#define SBN_M16_ASM 0
#endif

#if SBN_M16_ASM == 2
#define SBN_M16_CSA(a, b, c) /* a, c = the twos and ones of a + b + c (b is spent) */ \
    "eor r12, " a ", " b "\n\tand " a ", " a ", " b "\n\tand lr, r12, " c "\n\torr " a ", " a ", lr\n\t" \
    "eor " c ", " c ", r12\n\t"
#define SBN_M16_NIBBLES(v) /* the bit count of each nibble of v */ \
    "and r12, " v ", #0xAAAAAAAA\n\tsub " v ", " v ", r12, lsr #1\n\t" \
    "and r12, " v ", #0xCCCCCCCC\n\tand " v ", " v ", #0x33333333\n\tadd " v ", " v ", r12, lsr #2\n\t"
#define SBN_M16_BYTES(v) "and r12, " v ", #0xF0F0F0F0\n\tand " v ", " v ", #0x0F0F0F0F\n\tadd " v ", " v ", r12, lsr #4\n\t"

/* The output word of 32 rows of eight words from w, with their limits; registers fixed (naked): the row
 * in r4-r11, the word in r3 from a marker bit that adcs shifts out after the 32nd row. */
static __attribute__((naked, noipa, unused)) uint32_t sbn_m16_word(const uint32_t *in __attribute__((unused)),
                                                                   const uint32_t *w __attribute__((unused)),
                                                                   const int16_t *limits __attribute__((unused)))
{
    __asm__("push {r4-r11, lr}\n\tmovs r3, #1\n"
            "1:\n\t"
            "ldm r1!, {r4-r11}\n\t"
            "ldrd r12, lr, [r0]\n\teor r4, r4, r12\n\teor r5, r5, lr\n\t"
            "ldrd r12, lr, [r0, #8]\n\teor r6, r6, r12\n\teor r7, r7, lr\n\t"
            "ldrd r12, lr, [r0, #16]\n\teor r8, r8, r12\n\teor r9, r9, lr\n\t"
            "ldrd r12, lr, [r0, #24]\n\teor r10, r10, r12\n\teor r11, r11, lr\n\t"
            SBN_M16_CSA("r4", "r5", "r6") SBN_M16_CSA("r6", "r7", "r8") SBN_M16_CSA("r8", "r9", "r10")
            "and r12, r10, r11\n\teor r11, r11, r10\n\t"      /* ones r11; twos r4, r6, r8, r12 */
            "eor r5, r4, r6\n\tand r4, r4, r6\n\tand r7, r5, r8\n\torr r4, r4, r7\n\teor r8, r8, r5\n\t"
            "and r5, r8, r12\n\teor r8, r8, r12\n\t"          /* twos r8; fours r4, r5 */
            "and r6, r4, r5\n\teor r4, r4, r5\n\t"            /* fours r4, eights r6 */
            SBN_M16_NIBBLES("r11") SBN_M16_NIBBLES("r8") SBN_M16_NIBBLES("r4") SBN_M16_NIBBLES("r6")
            "add r11, r11, r8, lsl #1\n\tadd r4, r4, r6, lsl #1\n\t" /* at most 12 a nibble */
            SBN_M16_BYTES("r11") SBN_M16_BYTES("r4")
            "add r11, r11, r4, lsl #2\n\t"                     /* at most 120 a byte */
            "movs r5, #0\n\tusad8 r11, r11, r5\n\t"           /* the mismatches */
            "ldrh lr, [r2], #2\n\tcmp r11, lr\n\tadcs r3, r3, r3\n\tbcc 1b\n\t" /* carry: not below the limit */
            "rbit r0, r3\n\tmvns r0, r0\n\tpop {r4-r11, pc}\n\t");
}
#elif SBN_M16_ASM == 1
/* Thumb-1: a carry-save adder in five instructions on two-operand logic, with no spare register:
 * b ^= a (u), a = ((a ^ c) & ~u) ^ c (the twos), c ^= u (the ones). */
#define SBN_M16_CSA(a, b, c) "eors " b ", " a "\n\teors " a ", " c "\n\tbics " a ", " b "\n\teors " a ", " c "\n\t" \
    "eors " c ", " b "\n\t"
#define SBN_M16_PAIRS(v) "lsrs r4, " v ", #1\n\tands r4, r2\n\tsubs " v ", " v ", r4\n\t" /* counts of bit pairs */
#define SBN_M16_SPREAD(v, k) /* lanes of k bits summed into lanes of 2k, mask in r2 */ \
    "lsrs r4, " v ", #" k "\n\tands r4, r2\n\tands " v ", r2\n\tadds " v ", " v ", r4\n\t"

/* The output word of 32 rows of eight words, its first row in bit 31 and every bit inverted (the
 * caller reverses it): r0-r5 the row, r6 w, r7 in, r8 a spilled twos word, r9 limits, r10-r12 the
 * masks 0x55555555, 0x33333333, 0x0F0F0F0F, lr the word from a marker bit that adcs shifts out. */
static __attribute__((naked, noipa, unused)) uint32_t sbn_m16_word(const uint32_t *in __attribute__((unused)),
                                                                   const uint32_t *w __attribute__((unused)),
                                                                   const int16_t *limits __attribute__((unused)))
{
    __asm__(".syntax unified\n\t"
            "push {r4-r7, lr}\n\tmov r4, r8\n\tmov r5, r9\n\tmov r6, r10\n\tmov r7, r11\n\tpush {r4-r7}\n\t"
            "mov r7, r0\n\tmov r6, r1\n\tmov r9, r2\n\t"
            "ldr r0, =0x55555555\n\tmov r10, r0\n\tldr r0, =0x33333333\n\tmov r11, r0\n\t"
            "ldr r0, =0x0F0F0F0F\n\tmov r12, r0\n\tmovs r0, #1\n\tmov lr, r0\n"
            "1:\n\t"
            "ldmia r6!, {r0-r3}\n\t"
            "ldr r4, [r7]\n\teors r0, r4\n\tldr r4, [r7, #4]\n\teors r1, r4\n\t"
            "ldr r4, [r7, #8]\n\teors r2, r4\n\tldr r4, [r7, #12]\n\teors r3, r4\n\t"
            SBN_M16_CSA("r0", "r1", "r2")                      /* twos r0, ones r2 */
            "ldmia r6!, {r1, r4}\n\t"
            "ldr r5, [r7, #16]\n\teors r1, r5\n\tldr r5, [r7, #20]\n\teors r4, r5\n\t"
            SBN_M16_CSA("r2", "r3", "r1")                      /* twos r2, ones r1 */
            "ldmia r6!, {r3, r5}\n\tmov r8, r0\n\t"
            "ldr r0, [r7, #24]\n\teors r3, r0\n\tldr r0, [r7, #28]\n\teors r5, r0\n\t"
            SBN_M16_CSA("r1", "r4", "r3")                      /* twos r1, ones r3 */
            "eors r5, r3\n\tbics r3, r5\n\t"                  /* ones r5; twos r8, r2, r1, r3 */
            "mov r0, r8\n\t"
            SBN_M16_CSA("r0", "r2", "r1")                      /* fours r0, twos r1 */
            "eors r3, r1\n\tbics r1, r3\n\t"                  /* twos r3; fours r0, r1 */
            "eors r1, r0\n\tbics r0, r1\n\t"                  /* fours r1, eights r0 */
            "mov r2, r10\n\t" SBN_M16_PAIRS("r5") SBN_M16_PAIRS("r3") SBN_M16_PAIRS("r1") SBN_M16_PAIRS("r0")
            "mov r2, r11\n\t" SBN_M16_SPREAD("r5", "2") SBN_M16_SPREAD("r3", "2") SBN_M16_SPREAD("r1", "2")
            SBN_M16_SPREAD("r0", "2")
            "lsls r3, r3, #1\n\tadds r5, r5, r3\n\tlsls r0, r0, #1\n\tadds r1, r1, r0\n\t" /* at most 12 a nibble */
            "mov r2, r12\n\t" SBN_M16_SPREAD("r5", "4") SBN_M16_SPREAD("r1", "4")
            "lsls r1, r1, #2\n\tadds r5, r5, r1\n\t"          /* at most 120 a byte */
            "uxth r4, r5\n\tlsrs r5, r5, #16\n\tadds r5, r5, r4\n\tuxtb r4, r5\n\tlsrs r5, r5, #8\n\t"
            "adds r5, r5, r4\n\t"                               /* the mismatches */
            "mov r4, r9\n\tldrh r2, [r4]\n\tadds r4, #2\n\tmov r9, r4\n\t"
            "cmp r5, r2\n\tmov r4, lr\n\tadcs r4, r4\n\tmov lr, r4\n\tbcc 1b\n\t" /* carry: not below the limit */
            "mov r0, lr\n\tpop {r4-r7}\n\tmov r8, r4\n\tmov r9, r5\n\tmov r10, r6\n\tmov r11, r7\n\t"
            "pop {r4-r7, pc}\n\t.ltorg\n\t"
            ".syntax divided\n\t");
}

/* v with its bits in reverse order */
static uint32_t sbn_m16_reverse(uint32_t v)
{
    v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
    v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
    v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
    v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
    return (v >> 16) | (v << 16);
}
#endif

SBN_API void sbn_dense_bits_m16(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t outputs,
                                const int16_t *limits, uint32_t *bits)
{
    const uint32_t whole = SBN_M16_ASM && words == 8u ? outputs & ~31u : 0u; /* outputs of the word loops */
    uint32_t o, word = 0u, rest = whole;
#if SBN_M16_ASM == 3
    if (whole > 0u) { /* the input in two vectors; a word of outputs from the first in bit 31, then reversed */
        const uint8x16_t x0 = vld1q_u8((const uint8_t *)in), x1 = vld1q_u8((const uint8_t *)in + 16);
        const uint8_t *row = (const uint8_t *)w;
        for (o = 0u; o < whole; o += 32u) {
            uint32_t j, v = 0u;
            for (j = 0u; j < 32u; j++, row += 32) {
                uint32_t m = vaddvq_u8(vldrbq_gather_offset_u8(sbn_m16_counts, veorq_u8(vld1q_u8(row), x0)));
                m = vaddvaq_u8(m, vldrbq_gather_offset_u8(sbn_m16_counts, veorq_u8(vld1q_u8(row + 16), x1)));
                v = v + v + ((m - (uint32_t)limits[o + j]) >> 31); /* both below 2^15: the sign is m < limit */
            }
            __asm__("rbit %0, %1" : "=r"(v) : "r"(v));
            bits[o >> 5] = v;
        }
    }
    if ((words & 3u) == 0u) { /* sixteen bytes a gather */
        const uint8_t *row = (const uint8_t *)(w + words * whole);
        for (o = whole; o < outputs; o++) {
            const uint8_t *x = (const uint8_t *)in;
            uint32_t k, mismatches = 0u;
            for (k = 0u; k < words; k += 4u, x += 16, row += 16) {
                const uint8x16_t v = veorq_u8(vld1q_u8(x), vld1q_u8(row));
                mismatches = vaddvaq_u8(mismatches, vldrbq_gather_offset_u8(sbn_m16_counts, v));
            }
            word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(mismatches < (uint32_t)limits[o]));
        }
        rest = outputs;
    }
#elif SBN_M16_ASM
    for (o = 0u; o < whole; o += 32u) {
#if SBN_M16_ASM == 2
        bits[o >> 5] = sbn_m16_word(in, w + 8u * o, limits + o);
#else
        bits[o >> 5] = ~sbn_m16_reverse(sbn_m16_word(in, w + 8u * o, limits + o));
#endif
    }
#endif
    for (o = rest, w += words * rest; o < outputs; o++, w += words) {
        const uint32_t mismatches = sbn_mismatches(in, w, words);
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(mismatches < (uint32_t)limits[o]));
    }
}

#endif /* SBN_DENSE_BITS_M16_C */
