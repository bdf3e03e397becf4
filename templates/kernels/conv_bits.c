/* Binary convolution with fused threshold, packing and max pooling:
 * acc = n - 2 * mismatches over the taps inside the input, n = valid taps *
 * in_c. Each conv position gathers its input words into the scratch row once
 * and lists the taps that fall outside; such a tap takes the weight's own
 * bits per channel, so it never mismatches, exactly like torch's zero padding
 * adds nothing. Scratch: k*k*in_words + k*k words. */
static void sbn_conv_bits(const uint32_t *in, const uint32_t *w, const sbn_conv g,
                          const int32_t *thr, uint32_t *out, uint32_t *xs)
{
    const uint32_t in_words = (g.in_c + 31u) >> 5, out_words = (g.out_c + 31u) >> 5;
    const uint32_t row_words = g.k * g.k * in_words;
    uint32_t *outside = xs + row_words; /* word offsets of the taps outside the input */
    uint32_t py, px, dy, dx, ky, kx, i, j, o;
    for (py = 0u; py < g.out_h; py++) {
        for (px = 0u; px < g.out_w; px++) {
            uint32_t *dst = out + (py * g.out_w + px) * out_words;
            for (dy = 0u; dy < g.pool; dy++) {
                for (dx = 0u; dx < g.pool; dx++) {
                    int32_t iy = (int32_t)((py * g.pool_stride + dy) * g.stride) - (int32_t)g.pad;
                    int32_t ix = (int32_t)((px * g.pool_stride + dx) * g.stride) - (int32_t)g.pad;
                    uint32_t n_outside = 0u, t = 0u, word = 0u;
                    int32_t n;
                    for (ky = 0u; ky < g.k; ky++) {
                        int32_t y = iy + (int32_t)ky;
                        for (kx = 0u; kx < g.k; kx++, t += in_words) {
                            int32_t x = ix + (int32_t)kx;
                            if (y >= 0 && y < (int32_t)g.in_h && x >= 0 && x < (int32_t)g.in_w) {
                                const uint32_t *src = in + ((uint32_t)y * g.in_w + (uint32_t)x) * in_words;
                                for (i = 0u; i < in_words; i++) {
                                    xs[t + i] = src[i];
                                }
                            } else {
                                outside[n_outside++] = t;
                            }
                        }
                    }
                    n = (int32_t)((g.k * g.k - n_outside) * g.in_c);
                    for (o = 0u; o < g.out_c; o++) {
                        const uint32_t *wo = w + o * row_words;
                        for (j = 0u; j < n_outside; j++) {
                            for (i = 0u; i < in_words; i++) {
                                xs[outside[j] + i] = wo[outside[j] + i];
                            }
                        }
                        word |= (uint32_t)(n - 2 * (int32_t)sbn_mismatches(xs, wo, row_words) >= thr[o])
                                << (o & 31u);
                        if ((o & 31u) == 31u || o + 1u == g.out_c) {
                            sbn_store_bits(dst + (o >> 5), word, dy == 0u && dx == 0u);
                            word = 0u;
                        }
                    }
                }
            }
        }
    }
}
