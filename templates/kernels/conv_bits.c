/* Binary convolution with fused threshold, packing and max pooling:
 * acc = n - 2 * mismatches over the taps inside the input, n = valid taps *
 * in_c. Each conv position gathers its input words into the scratch row once;
 * a tap outside the input takes the weight's own bits per channel, so it
 * never mismatches, exactly like torch's zero padding adds nothing. */
static void sbn_conv_bits(const uint32_t *in, const uint32_t *w, const sbn_conv *g,
                          const int32_t *thr, uint32_t *out, uint32_t *xs)
{
    const uint32_t in_words = (g->in_c + 31u) >> 5, out_words = (g->out_c + 31u) >> 5;
    const uint32_t taps = g->k * g->k, row_words = taps * in_words;
    uint32_t py, px, d, t, i, o;
    for (py = 0u; py < g->out_h; py++) {
        for (px = 0u; px < g->out_w; px++) {
            uint32_t *dst = out + (py * g->out_w + px) * out_words;
            for (d = 0u; d < g->pool * g->pool; d++) {
                int32_t iy = (int32_t)((py * g->pool_stride + d / g->pool) * g->stride) - (int32_t)g->pad;
                int32_t ix = (int32_t)((px * g->pool_stride + d % g->pool) * g->stride) - (int32_t)g->pad;
                uint32_t outside = 0u, word = 0u;
                for (t = 0u; t < taps; t++) {
                    int32_t y = iy + (int32_t)(t / g->k), x = ix + (int32_t)(t % g->k);
                    if (y >= 0 && y < (int32_t)g->in_h && x >= 0 && x < (int32_t)g->in_w) {
                        const uint32_t *src = in + ((uint32_t)y * g->in_w + (uint32_t)x) * in_words;
                        for (i = 0u; i < in_words; i++) {
                            xs[t * in_words + i] = src[i];
                        }
                    } else {
                        outside++;
                    }
                }
                for (o = 0u; o < g->out_c; o++) {
                    const uint32_t *wo = w + o * row_words;
                    int32_t acc;
                    if (outside != 0u) {
                        for (t = 0u; t < taps; t++) {
                            int32_t y = iy + (int32_t)(t / g->k), x = ix + (int32_t)(t % g->k);
                            if (y < 0 || y >= (int32_t)g->in_h || x < 0 || x >= (int32_t)g->in_w) {
                                for (i = 0u; i < in_words; i++) {
                                    xs[t * in_words + i] = wo[t * in_words + i];
                                }
                            }
                        }
                    }
                    acc = (int32_t)((taps - outside) * g->in_c) - 2 * (int32_t)sbn_mismatches(xs, wo, row_words);
                    word |= (uint32_t)(acc >= thr[o]) << (o & 31u);
                    if ((o & 31u) == 31u || o + 1u == g->out_c) {
                        sbn_store_bits(dst + (o >> 5), word, d == 0u);
                        word = 0u;
                    }
                }
            }
        }
    }
}
