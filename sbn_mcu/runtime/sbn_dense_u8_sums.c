/* Fully connected layer on raw uint8 input by subset-sum tables ("four
 * Russians"), thresholded: the speed kernel of a first dense layer.
 *
 * With q = 2p - 255 and S the sum of the pixels whose weight is +1 (P all
 * pixels, W the sum of the weights), acc = sum(w q) = 4S - 2P - 255W. The
 * export stores c = t + 255W in place of the threshold t, so the bit is
 * 4S - 2P >= c, the same comparison as acc >= t (c clipped to +-2^30, which
 * leaves it the same: |4S - 2P| < 2^30; the kernel takes the sign of 4S - 2P - c).
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

#include "sbn_kernels.h"
#include "sbn_sums.h"

#define SBN_SUMS_BLOCK 8u /* neurons per pass over a chunk's tables */

/* Scratch words: chunk tables of 128 uint16 sums, and a partial sum per (padded) neuron. */
#define SBN_DENSE_U8_SUMS_SCRATCH_WORDS(chunk, outputs) (64u * (chunk) + 8u * (((outputs) + 7u) / 8u))

#if SBN_SUMS_ASM
/* For each of `blocks` blocks of eight rows, s_j (0 first where `fresh`) += the entries that weight
 * bytes wp[8g + j] pick in the tables g of the pairs from t to end (end > t), then s += 8 and wp
 * steps `skip` bytes past the block's last byte read. ldrb, ldrh, add per lookup, with the tables of
 * a pair at t and t + 256, and one pointer step, compare and branch per pair. */
typedef struct {
    const uint8_t *t, *end;
    uint32_t blocks, skip, fresh;
} sbn_sums_pass;
#if SBN_SUMS_ASM == 2
#define SBN_SUMS_ONE(t, s) "ldrb r12, [r0], #1\n\tldrh r12, [" t ", r12]\n\tadd " s ", r12\n\t"
#define SBN_SUMS_GROUP8(t) SBN_SUMS_ONE(t, "r4") SBN_SUMS_ONE(t, "r5") SBN_SUMS_ONE(t, "r6") \
    SBN_SUMS_ONE(t, "r7") SBN_SUMS_ONE(t, "r8") SBN_SUMS_ONE(t, "r9") SBN_SUMS_ONE(t, "r10") SBN_SUMS_ONE(t, "r11")
#else
#define SBN_SUMS_ONE(t, k, add) "ldrb r3, [r0, #" k "]\n\tldrh r3, [" t ", r3]\n\t" add ", r3\n\t"
#define SBN_SUMS_GROUP8(t, k0, k1, k2, k3, k4, k5, k6, k7) \
    SBN_SUMS_ONE(t, k0, "adds r4, r4") SBN_SUMS_ONE(t, k1, "adds r5, r5") SBN_SUMS_ONE(t, k2, "adds r6, r6") \
    SBN_SUMS_ONE(t, k3, "adds r7, r7") SBN_SUMS_ONE(t, k4, "add r8") SBN_SUMS_ONE(t, k5, "add r9") \
    SBN_SUMS_ONE(t, k6, "add r10") SBN_SUMS_ONE(t, k7, "add r11")
#endif
static SBN_SUMS_NAKED void sbn_sums_blocks(const uint8_t *wp SBN_SUMS_ARG, uint32_t *s SBN_SUMS_ARG,
                                           const sbn_sums_pass *pass SBN_SUMS_ARG)
{
#if SBN_SUMS_ASM == 2
    /* r0 wp, r1 t, r2 t + 256, r3 end, r4-r11 the sums, r12 the entry, lr s; [sp] pass, [sp, #4] blocks */
    __asm__("push {r4-r11, lr}\n\t"
            "mov lr, r1\n\tldr r3, [r2, #8]\n\tpush {r2, r3}\n\tldr r3, [r2, #4]\n"
            "2:\n\t"
            "ldr r12, [sp]\n\tldr r1, [r12, #16]\n\tcbnz r1, 3f\n\t"
            "ldm lr, {r4-r11}\n\tb 4f\n"
            "3:\n\tmovs r4, #0\n\tmovs r5, #0\n\tmovs r6, #0\n\tmovs r7, #0\n\t"
            "mov r8, r4\n\tmov r9, r4\n\tmov r10, r4\n\tmov r11, r4\n"
            "4:\n\tldr r1, [r12]\n\tadd r2, r1, #256\n"
            "1:\n\t"
            SBN_SUMS_GROUP8("r1") SBN_SUMS_GROUP8("r2")
            "add r1, #512\n\tadd r2, #512\n\tcmp r1, r3\n\tbne 1b\n\t"
            "stmia lr!, {r4-r11}\n\t"
            "ldr r12, [sp]\n\tldr r12, [r12, #12]\n\tadd r0, r12\n\t"
            "ldr r12, [sp, #4]\n\tsubs r12, #1\n\tstr r12, [sp, #4]\n\tbne 2b\n\t"
            "add sp, #8\n\tpop {r4-r11, pc}\n\t");
#else
    /* r0 wp, r1 t, r2 t + 256, r3 the entry, r4-r11 the sums, r12 end, lr 512;
     * [sp] s, [sp, #4] pass, [sp, #8] blocks */
    __asm__(".syntax unified\n\t"
            "push {r4-r7, lr}\n\tmov r4, r8\n\tmov r5, r9\n\tmov r6, r10\n\tmov r7, r11\n\tpush {r4-r7}\n\t"
            "ldr r3, [r2, #8]\n\tpush {r1-r3}\n\t"
            "ldr r3, [r2, #4]\n\tmov r12, r3\n\tmovs r3, #2\n\tlsls r3, r3, #8\n\tmov lr, r3\n"
            "2:\n\t"
            "ldr r2, [sp, #4]\n\tldr r1, [r2]\n\tldr r3, [r2, #16]\n\tcmp r3, #0\n\tbne 3f\n\t"
            "ldr r3, [sp]\n\tadds r3, #16\n\tldmia r3!, {r4-r7}\n\tmov r8, r4\n\tmov r9, r5\n\tmov r10, r6\n\t"
            "mov r11, r7\n\tsubs r3, #32\n\tldmia r3!, {r4-r7}\n\tb 4f\n"
            "3:\n\tmovs r4, #0\n\tmovs r5, #0\n\tmovs r6, #0\n\tmovs r7, #0\n\t"
            "mov r8, r4\n\tmov r9, r4\n\tmov r10, r4\n\tmov r11, r4\n"
            "4:\n\tmov r2, lr\n\tlsrs r2, r2, #1\n\tadds r2, r1, r2\n"
            "1:\n\t"
            SBN_SUMS_GROUP8("r1", "0", "1", "2", "3", "4", "5", "6", "7")
            SBN_SUMS_GROUP8("r2", "8", "9", "10", "11", "12", "13", "14", "15")
            "adds r0, #16\n\tadd r1, lr\n\tadd r2, lr\n\tcmp r1, r12\n\tbne 1b\n\t"
            "ldr r3, [sp]\n\tstmia r3!, {r4-r7}\n\tmov r4, r8\n\tmov r5, r9\n\tmov r6, r10\n\tmov r7, r11\n\t"
            "stmia r3!, {r4-r7}\n\tstr r3, [sp]\n\t"
            "ldr r2, [sp, #4]\n\tldr r3, [r2, #12]\n\tadds r0, r0, r3\n\t"
            "ldr r3, [sp, #8]\n\tsubs r3, #1\n\tstr r3, [sp, #8]\n\tbne 2b\n\t"
            "add sp, #12\n\tpop {r4-r7}\n\tmov r8, r4\n\tmov r9, r5\n\tmov r10, r6\n\tmov r11, r7\n\t"
            "pop {r4-r7, pc}\n\t"
            ".syntax divided\n\t");
#endif
}
#endif /* SBN_SUMS_ASM */

/* s_j += the entry that weight byte wp[8g + j] picks in table g, for the tables from t to end. */
static void sbn_sums_lookups(const uint8_t *wp, const uint8_t *t, const uint8_t *end, uint32_t *s)
{
    for (; t != end; t += 256, wp += SBN_SUMS_BLOCK) {
        uint32_t j;
        for (j = 0u; j < SBN_SUMS_BLOCK; j++) {
            s[j] += *(const uint16_t *)(const void *)(t + wp[j]);
        }
    }
}

SBN_API void sbn_dense_u8_sums(const uint8_t *in, const uint32_t *weights, uint32_t n, uint32_t outputs,
                               uint32_t chunk, const sbn_acc_t *thr, uint32_t *bits, uint32_t *scratch)
{
    const uint32_t blocks = (outputs + SBN_SUMS_BLOCK - 1u) / SBN_SUMS_BLOCK;
    const uint8_t *w = (const uint8_t *)weights;
    uint16_t *tables = (uint16_t *)(void *)scratch;
    uint32_t *sums = scratch + 64u * chunk;
    const uint32_t groups = sbn_sums_groups(n);
    uint32_t g0, b, o, total = 0u;
    for (g0 = 0u; g0 < groups; g0 += chunk) {
        const uint32_t count = groups - g0 < chunk ? groups - g0 : chunk;
        total += sbn_sums_tables(in, n, g0, count, tables);
        b = 0u;
#if SBN_SUMS_ASM
        if (count > 1u) { /* the pairs of tables, every block in one call */
            sbn_sums_pass pass;
            pass.t = (const uint8_t *)tables;
            pass.end = pass.t + 512u * (count >> 1);
            pass.blocks = blocks;
            pass.skip = (groups - (count & ~1u)) * SBN_SUMS_BLOCK;
            pass.fresh = g0 == 0u;
            sbn_sums_blocks(w + g0 * SBN_SUMS_BLOCK, sums, &pass);
            b = count & ~1u; /* the groups done */
        }
#endif
        if (b < count) {
            for (o = 0u; o < blocks; o++) {
                uint32_t *s = sums + SBN_SUMS_BLOCK * o;
                if (g0 + b == 0u) {
                    s[0] = 0u; s[1] = 0u; s[2] = 0u; s[3] = 0u; s[4] = 0u; s[5] = 0u; s[6] = 0u; s[7] = 0u;
                }
                sbn_sums_lookups(w + (o * groups + g0 + b) * SBN_SUMS_BLOCK, (const uint8_t *)(tables + 128u * b),
                                 (const uint8_t *)(tables + 128u * count), s);
            }
        }
    }
    sbn_sums_bits(sums, total, thr, 0u, outputs, bits);
}

#endif /* SBN_DENSE_U8_SUMS_C */
