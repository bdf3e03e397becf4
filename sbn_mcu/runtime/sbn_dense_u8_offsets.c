/* Fully connected layer on raw uint8 input by subset-sum tables, with the
 * weights stored as the byte offsets of their table entries: the speed kernel
 * of a first dense layer where flash is plentiful (four bytes per seven
 * weights, four times sbn_dense_u8_sums's bytes).
 *
 * The tables and the comparison are sbn_dense_u8_sums's (sbn_sums.h): with S
 * the sum of the pixels whose weight is +1 and P that of all pixels, the bit
 * is 4S - 2P >= c, c = t + 255W. Each lookup is one ldrh of the table
 * address plus a stored offset, and one add; the offsets come fourteen at a
 * time by ldm (Thumb-2: two of seven; Thumb-1: five, five and four).
 *
 * Weights: for each chunk of `chunk` groups (the last may be shorter), for
 * each output, the chunk's groups as uint32 offsets 256 g + 2 i (g the group
 * within the chunk, i its seven weight bits), padded to a multiple of
 * SBN_OFFSETS_UNIT with 0, which picks entry 0 of the first table: the empty
 * sum. The tables are built a chunk at a time in the scratch, with one partial
 * sum per output beside them. n < 2^21 (4S fits int32). */
#ifndef SBN_DENSE_U8_OFFSETS_C
#define SBN_DENSE_U8_OFFSETS_C

#include "sbn_kernels.h"
#include "sbn_sums.h"

#define SBN_OFFSETS_UNIT 14u /* lookups per loop pass */

/* Scratch words: chunk tables of 128 uint16 sums, and a partial sum per output. */
#define SBN_DENSE_U8_OFFSETS_SCRATCH_WORDS(chunk, outputs) (64u * (chunk) + (outputs))

/* s[o] += the entries that `lookups` offsets per row pick in the tables at t, for `rows` rows of offsets
 * from wp (lookups a multiple of SBN_OFFSETS_UNIT, > 0). */
typedef struct {
    uint32_t rows, row_bytes;
} sbn_offsets_pass;
#if SBN_SUMS_ASM == 2
#define SBN_OFFSETS_ONE(r) "ldrh r12, [r8, " r "]\n\tadd lr, r12\n\t"
#define SBN_OFFSETS_SEVEN "ldm r7!, {r0-r6}\n\t" SBN_OFFSETS_ONE("r0") SBN_OFFSETS_ONE("r1") SBN_OFFSETS_ONE("r2") \
    SBN_OFFSETS_ONE("r3") SBN_OFFSETS_ONE("r4") SBN_OFFSETS_ONE("r5") SBN_OFFSETS_ONE("r6")
#elif SBN_SUMS_ASM == 1
#define SBN_OFFSETS_ONE(r) "ldrh r7, [r6, " r "]\n\tadd r8, r7\n\t"
#define SBN_OFFSETS_FOUR SBN_OFFSETS_ONE("r0") SBN_OFFSETS_ONE("r1") SBN_OFFSETS_ONE("r2") SBN_OFFSETS_ONE("r3")
#endif
#if SBN_SUMS_MVE /* four offsets, the four entries they pick, and their sum into a */
#define SBN_OFFSETS_GATHER "vldrw.u32 q0, [%[row]], #16\n\tvldrh.u32 q1, [%[t], q0]\n\tvadd.i32 %q[a], %q[a], q1\n\t"
#endif
#if SBN_SUMS_ASM
static SBN_SUMS_NAKED void sbn_offsets_rows(const uint32_t *wp SBN_SUMS_ARG, const uint8_t *t SBN_SUMS_ARG,
                                            uint32_t *s SBN_SUMS_ARG, const sbn_offsets_pass *pass SBN_SUMS_ARG)
{
#if SBN_SUMS_ASM == 2
    /* r0-r6 offsets, r7 wp, r8 t, r9 s, r10 the row's end, r11 row bytes, r12 the entry, lr the sum;
     * [sp] rows left */
    __asm__("push {r4-r11, lr}\n\t"
            "mov r7, r0\n\tmov r8, r1\n\tmov r9, r2\n\tldr r11, [r3, #4]\n\tldr r3, [r3]\n\tpush {r3, r4}\n"
            "1:\n\t"
            "ldr lr, [r9]\n\tadd r10, r7, r11\n"
            "2:\n\t"
            SBN_OFFSETS_SEVEN SBN_OFFSETS_SEVEN
            "cmp r7, r10\n\tbne 2b\n\t"
            "str lr, [r9], #4\n\t"
            "ldr r12, [sp]\n\tsubs r12, #1\n\tstr r12, [sp]\n\tbne 1b\n\t"
            "add sp, #8\n\tpop {r4-r11, pc}\n\t");
#else
    /* r0-r4 offsets, r5 wp, r6 t, r7 the entry, r8 the sum, r9 the row's end, r10 s, r11 row bytes,
     * r12 the last row's end */
    __asm__(".syntax unified\n\t"
            "push {r4-r7, lr}\n\tmov r4, r8\n\tmov r5, r9\n\tmov r6, r10\n\tmov r7, r11\n\tpush {r4-r7}\n\t"
            "mov r5, r0\n\tmov r6, r1\n\tmov r10, r2\n\tmov r9, r0\n\tldr r1, [r3, #4]\n\tmov r11, r1\n\t"
            "ldr r2, [r3]\n\tmuls r2, r1, r2\n\tadds r2, r0, r2\n\tmov r12, r2\n"
            "1:\n\t"
            "mov r7, r10\n\tldr r7, [r7]\n\tmov r8, r7\n\tadd r9, r11\n"
            "2:\n\t"
            "ldmia r5!, {r0-r4}\n\t" SBN_OFFSETS_FOUR SBN_OFFSETS_ONE("r4")
            "ldmia r5!, {r0-r4}\n\t" SBN_OFFSETS_FOUR SBN_OFFSETS_ONE("r4")
            "ldmia r5!, {r0-r3}\n\t" SBN_OFFSETS_FOUR
            "cmp r5, r9\n\tbne 2b\n\t"
            "mov r7, r10\n\tmov r0, r8\n\tstmia r7!, {r0}\n\tmov r10, r7\n\t"
            "cmp r9, r12\n\tbne 1b\n\t"
            "pop {r4-r7}\n\tmov r8, r4\n\tmov r9, r5\n\tmov r10, r6\n\tmov r11, r7\n\tpop {r4-r7, pc}\n\t"
            ".syntax divided\n\t");
#endif
}
#endif

SBN_API void sbn_dense_u8_offsets(const uint8_t *in, const uint32_t *offsets, uint32_t n, uint32_t outputs,
                                  uint32_t chunk, const sbn_acc_t *thr, uint32_t *bits, uint32_t *scratch)
{
    uint16_t *tables = (uint16_t *)(void *)scratch;
    uint32_t *sums = scratch + 64u * chunk;
    const uint32_t groups = sbn_sums_groups(n);
    uint32_t g0, o, total = 0u;
#if !SBN_SUMS_MVE /* (Helium writes the first chunk's sums) */
    {
        volatile uint32_t *zero = sums; /* volatile: stores, not a call of memset */
        const uint32_t *stop = sums + outputs;
        while (zero != stop) {
            *zero++ = 0u;
        }
    }
#endif
    for (g0 = 0u; g0 < groups; g0 += chunk) {
        const uint32_t count = groups - g0 < chunk ? groups - g0 : chunk;
        uint32_t lookups = 0u;
        while (lookups < count) {
            lookups += SBN_OFFSETS_UNIT;
        }
        total += sbn_sums_tables(in, n, g0, count, tables);
#if SBN_SUMS_MVE
        { /* four lookups a gather, sixteen a pass of a low-overhead loop; then four and one at a time */
            const uint32_t *row = offsets;
            const uint8_t *t = (const uint8_t *)tables;
            const uint32_t passes = lookups >> 4;
            for (o = 0u; o < outputs; o++) {
                const uint32_t *end;
                uint32x4_t a = vdupq_n_u32(0u);
                uint32_t k;
                if (passes > 0u) {
                    __asm__ volatile("dls lr, %[n]\n"
                                     "1:\n\t"
                                     SBN_OFFSETS_GATHER SBN_OFFSETS_GATHER SBN_OFFSETS_GATHER SBN_OFFSETS_GATHER
                                     "le lr, 1b\n\t"
                                     : [row] "+r"(row), [a] "+w"(a) : [t] "r"(tables), [n] "r"(passes)
                                     : "q0", "q1", "lr", "memory");
                }
                for (k = lookups & 15u; k >= 4u; k -= 4u, row += 4) {
                    a = vaddq_u32(a, vldrhq_gather_offset_u32(tables, vld1q_u32(row)));
                }
                k = vaddvq_u32(a);
                for (end = row + (lookups & 3u); row != end; row++) {
                    k += *(const uint16_t *)(const void *)(t + *row);
                }
                sums[o] = g0 == 0u ? k : sums[o] + k;
            }
        }
#elif SBN_SUMS_ASM
        {
            sbn_offsets_pass pass;
            pass.rows = outputs;
            pass.row_bytes = 4u * lookups;
            sbn_offsets_rows(offsets, (const uint8_t *)tables, sums, &pass);
        }
#else
        for (o = 0u; o < outputs; o++) {
            const uint8_t *t = (const uint8_t *)tables;
            const uint32_t *row = offsets + o * lookups;
            uint32_t k, s = sums[o];
            for (k = 0u; k < lookups; k++) {
                s += *(const uint16_t *)(const void *)(t + row[k]);
            }
            sums[o] = s;
        }
#endif
        offsets += outputs * lookups;
    }
    o = 0u;
#if SBN_SUMS_MVE
    if (sizeof(sbn_acc_t) == 4u) { /* four outputs a vector: the sign of 4S - 2P - c, shifted to its bit */
        const int32_t p2 = (int32_t)(total + total);
        for (; o + 32u <= outputs; o += 32u) {
            uint32x4_t shifts = vidupq_n_u32(0u, 1);
            uint32_t j, below = 0u;
            for (j = 0u; j < 32u; j += 4u, shifts = vaddq_n_u32(shifts, 4u)) {
                const int32x4_t x = vsubq_n_s32(vreinterpretq_s32_u32(vshlq_n_u32(vld1q_u32(sums + o + j), 2)), p2);
                const int32x4_t d = vsubq_s32(x, vld1q_s32((const int32_t *)(const void *)(thr + o + j)));
                below = vaddvaq_u32(below, vshlq_u32(vshrq_n_u32(vreinterpretq_u32_s32(d), 31),
                                                     vreinterpretq_s32_u32(shifts)));
            }
            bits[o >> 5] = ~below;
        }
    }
#endif
    sbn_sums_bits(sums, total, thr, o, outputs, bits);
}

#endif /* SBN_DENSE_U8_OFFSETS_C */
