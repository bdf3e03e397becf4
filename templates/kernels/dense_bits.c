/* Fully connected layer on packed binary input: acc = n - 2 * popcount(x ^ w). */
static void sbn_dense_bits(const uint32_t *in, const uint32_t *w, uint32_t words, int32_t n,
                           uint32_t outputs, const int32_t *thr, uint32_t *bits, int32_t *scores)
{
    uint32_t o;
    for (o = 0u; thr != NULL && o < (outputs + 31u) >> 5; o++) {
        bits[o] = 0u;
    }
    for (o = 0u; o < outputs; o++, w += words) {
        int32_t acc = n - 2 * (int32_t)sbn_mismatches(in, w, words);
        if (thr != NULL) {
            sbn_set_bit(bits, o, (uint32_t)(acc >= thr[o]));
        } else {
            scores[o] = acc;
        }
    }
}
