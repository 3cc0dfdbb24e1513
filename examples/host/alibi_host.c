/* A host program using attnc's ahead-of-time CPU artifact for
 * examples/05_alibi.attn:
 *
 *   attnc compile examples/05_alibi.attn --target=cpu -o out
 *   cc -O2 -I out examples/host/alibi_host.c out/alibi.o -lm -o alibi_host
 *
 * It fills random inputs, calls the generated wrapper and checks the result
 * against a direct C implementation of causal ALiBi softmax attention. */
#include "alibi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float uniform(unsigned *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((*state >> 8) & 0xffff) / 65536.0f * 2.0f - 1.0f;
}

int main(void) {
  const int64_t B = 2, H = 3, L = 37, D = 16;
  size_t n = (size_t)(B * H * L * D);
  float *q = malloc(n * sizeof(float)), *k = malloc(n * sizeof(float));
  float *v = malloc(n * sizeof(float)), *o = malloc(n * sizeof(float));
  float slopes[3];
  unsigned seed = 7;
  for (size_t t = 0; t < n; ++t) {
    q[t] = uniform(&seed);
    k[t] = uniform(&seed);
    v[t] = uniform(&seed);
    o[t] = NAN; /* poisoned: every element must be written */
  }
  for (int h = 0; h < H; ++h)
    slopes[h] = -0.25f * (float)(h + 1);
  if (attnc_alibi(q, k, v, slopes, o, B, H, L, D) != 0) {
    fprintf(stderr, "attnc_alibi rejected the dims\n");
    return 2;
  }
  double maxErr = 0;
  double *s = malloc((size_t)L * sizeof(double));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        const float *qi = q + ((b * H + h) * L + i) * D;
        double m = -INFINITY, l = 0;
        for (int64_t j = 0; j <= i; ++j) {
          const float *kj = k + ((b * H + h) * L + j) * D;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += (double)qi[d] * kj[d];
          s[j] = dot / sqrt((double)D) + slopes[h] * (double)(j - i);
          if (s[j] > m)
            m = s[j];
        }
        for (int64_t j = 0; j <= i; ++j)
          l += (s[j] = exp(s[j] - m));
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j <= i; ++j)
            acc += s[j] * v[((b * H + h) * L + j) * D + d];
          double err = fabs(acc / l - o[((b * H + h) * L + i) * D + d]);
          if (!(err <= maxErr)) /* NaN-aware */
            maxErr = isnan(err) ? INFINITY : err;
        }
      }
  printf("max abs error %.3g\n", maxErr);
  printf("%s\n", maxErr < 1e-5 ? "PASS" : "FAIL");
  free(q); free(k); free(v); free(o); free(s);
  return maxErr < 1e-5 ? 0 : 1;
}
