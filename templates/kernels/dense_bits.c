/* Fully connected layer on packed binary input: acc = n - 2 * popcount(x ^ w),
 * thresholded; output bits are gathered in a register and stored a word at a
 * time. The score layer computes the same acc without a threshold. */
static void sbn_dense_bits(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n,
                           uint32_t outputs, const sbn_acc_t *thr, uint32_t *bits)
{
    uint32_t o, word = 0u;
    for (o = 0u; o < outputs; o++, w += words) {
        const sbn_acc_t mismatches = (sbn_acc_t)sbn_mismatches(in, w, words);
        const sbn_acc_t acc = (sbn_acc_t)n - mismatches - mismatches; /* never 2 * m: it could overflow */
        word |= (uint32_t)(acc >= thr[o]) << (o & 31u);
        if ((o & 31u) == 31u || o + 1u == outputs) {
            bits[o >> 5] = word;
            word = 0u;
        }
    }
}
