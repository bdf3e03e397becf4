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

/* sum(p ^ m) over 4 pixels and the 4 weight bits in the low nibble of w. */
#if SBN_DSP
#define SBN_XOR4(acc, p, w) ((acc) = sbn_usada8(sbn_load4(p), sbn_nibble_mask[(w) & 15u], (acc)))
#else
/* two 16-bit lane sums; a row of up to 257 pixels per lane cannot overflow */
#define SBN_XOR4(acc, p, w) do { \
        uint32_t v_ = sbn_load4(p) ^ sbn_nibble_mask[(w) & 15u]; \
        (acc) += (v_ & 0x00FF00FFu) + ((v_ >> 8) & 0x00FF00FFu); \
    } while (0)
#endif

/* sum(p ^ m) over the n pixels of one weight row, one weight word (32
 * pixels) at a time with the eight nibbles unrolled. */
static uint32_t sbn_xor_bytesum(const uint8_t *p, const uint32_t *w, uint32_t n)
{
    uint32_t total = 0u, i;
    const uint32_t words = n >> 5;
    for (i = 0u; i < words; i++, p += 32) {
        uint32_t acc = 0u, wk = w[i];
        SBN_XOR4(acc, p, wk);
        SBN_XOR4(acc, p + 4, wk >> 4);
        SBN_XOR4(acc, p + 8, wk >> 8);
        SBN_XOR4(acc, p + 12, wk >> 12);
        SBN_XOR4(acc, p + 16, wk >> 16);
        SBN_XOR4(acc, p + 20, wk >> 20);
        SBN_XOR4(acc, p + 24, wk >> 24);
        SBN_XOR4(acc, p + 28, wk >> 28);
#if SBN_DSP
        total += acc;
#else
        total += (acc & 0xFFFFu) + (acc >> 16);
#endif
    }
    for (i = words << 5; i < n; i++) {
        total += (w[i >> 5] >> (i & 31u) & 1u) ? 255u - p[i - (words << 5)] : p[i - (words << 5)];
    }
    return total;
}

static void sbn_dense_u8(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs,
                         const int32_t *thr, uint32_t *bits, int32_t *scores)
{
    uint32_t words = (n + 31u) >> 5, o, word = 0u;
    for (o = 0u; o < outputs; o++, w += words) {
        int32_t acc = (int32_t)(255u * n) - 2 * (int32_t)sbn_xor_bytesum(in, w, n);
        if (thr == NULL) {
            scores[o] = acc;
            continue;
        }
        word |= (uint32_t)(acc >= thr[o]) << (o & 31u);
        if ((o & 31u) == 31u || o + 1u == outputs) {
            bits[o >> 5] = word;
            word = 0u;
        }
    }
}
