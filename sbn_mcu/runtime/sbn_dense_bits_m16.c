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

#if defined(__GNUC__) && SBN_THUMB2 && SBN_DSP
#define SBN_M16_ASM 1
#else
#define SBN_M16_ASM 0
#endif

#if SBN_M16_ASM
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
#endif

SBN_API void sbn_dense_bits_m16(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t outputs,
                                const int16_t *limits, uint32_t *bits)
{
    uint32_t o = 0u, word = 0u;
#if SBN_M16_ASM
    if (words == 8u) {
        for (; o + 32u <= outputs; o += 32u) {
            bits[o >> 5] = sbn_m16_word(in, w + 8u * o, limits + o);
        }
    }
#endif
    for (; o < outputs; o++) {
        const uint32_t mismatches = sbn_mismatches(in, w + words * o, words);
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(mismatches < (uint32_t)limits[o]));
    }
}

#endif /* SBN_DENSE_BITS_M16_C */
