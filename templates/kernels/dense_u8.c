/* Fully connected layer on raw uint8 input, weights ±1 packed as bits.
 *
 * With q = 2p - 255 and the weight mapped to m = 255 (+1) or 0 (-1),
 * w * q = 255 - 2 * |p - m| = 255 - 2 * (p ^ m), so
 *     acc = 255 * n - 2 * sum(p ^ m),
 * the same form as a binary layer's n - 2 * popcount(x ^ w). A nibble of
 * weight bits selects the byte masks of four pixels at once. */
static const uint32_t sbn_nibble_mask[16] = {
    0x00000000u, 0x000000FFu, 0x0000FF00u, 0x0000FFFFu,
    0x00FF0000u, 0x00FF00FFu, 0x00FFFF00u, 0x00FFFFFFu,
    0xFF000000u, 0xFF0000FFu, 0xFF00FF00u, 0xFF00FFFFu,
    0xFFFF0000u, 0xFFFF00FFu, 0xFFFFFF00u, 0xFFFFFFFFu,
};

/* Four pixels as one little-endian word; compilers emit a single load where
 * the core allows unaligned access. */
static inline uint32_t sbn_load4(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* sum(p ^ m) over the n pixels of one weight row. */
static uint32_t sbn_xor_bytesum(const uint8_t *p, const uint32_t *w, uint32_t n)
{
    uint32_t groups = n >> 2, total = 0u, g, i;
#if !SBN_DSP
    uint32_t lanes = 0u; /* two 16-bit sums; 128 groups add at most 65280 */
#endif
    for (g = 0u; g < groups; g++) {
        uint32_t mask = sbn_nibble_mask[(w[g >> 3] >> ((g & 7u) << 2)) & 15u];
#if SBN_DSP
        total = sbn_usada8(sbn_load4(p + 4u * g), mask, total);
#else
        uint32_t v = sbn_load4(p + 4u * g) ^ mask;
        lanes += (v & 0x00FF00FFu) + ((v >> 8) & 0x00FF00FFu);
        if ((g & 127u) == 127u) {
            total += (lanes & 0xFFFFu) + (lanes >> 16);
            lanes = 0u;
        }
#endif
    }
#if !SBN_DSP
    total += (lanes & 0xFFFFu) + (lanes >> 16);
#endif
    for (i = groups << 2; i < n; i++) {
        total += (w[i >> 5] >> (i & 31u) & 1u) ? 255u - p[i] : p[i];
    }
    return total;
}

static void sbn_dense_u8(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs,
                         const int32_t *thr, uint32_t *bits, int32_t *scores)
{
    uint32_t words = (n + 31u) >> 5, o;
    for (o = 0u; thr != NULL && o < (outputs + 31u) >> 5; o++) {
        bits[o] = 0u;
    }
    for (o = 0u; o < outputs; o++, w += words) {
        int32_t acc = (int32_t)(255u * n) - 2 * (int32_t)sbn_xor_bytesum(in, w, n);
        if (thr != NULL) {
            sbn_set_bit(bits, o, (uint32_t)(acc >= thr[o]));
        } else {
            scores[o] = acc;
        }
    }
}
