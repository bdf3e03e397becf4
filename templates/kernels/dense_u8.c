/* Fully connected layer on raw uint8 input, thresholded (see xor_bytesum.c). */
static void sbn_dense_u8(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs,
                         const int32_t *thr, uint32_t *bits)
{
    uint32_t words = (n + 31u) >> 5, o, word = 0u;
    for (o = 0u; o < outputs; o++, w += words) {
        int32_t acc = (int32_t)(255u * n) - 2 * (int32_t)sbn_xor_bytesum(in, w, n);
        word |= (uint32_t)(acc >= thr[o]) << (o & 31u);
        if ((o & 31u) == 31u || o + 1u == outputs) {
            bits[o >> 5] = word;
            word = 0u;
        }
    }
}
