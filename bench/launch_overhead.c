/* Host time of one launch through libattnc (attnc_program_run_gpu) and of
 * the runtime's host checks alone (attnc_kernel_validate), for a tiny causal
 * kernel whose GPU time is below the host time. Prints microseconds per call.
 *   cc -O2 bench/launch_overhead.c -Iinclude <libattnc> -o /tmp/launch_overhead && /tmp/launch_overhead
 */
#include "attnc/attnc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *SPEC = "variant tiny\ndims B, H, L, D\ninput q : [B, H, L, D]\ninput k : [B, H, L, D]\n"
                          "input v : [B, H, L, D]\nattention a(q, k, v) {\n  carrier causal\n}\noutput o = a\n";

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

#define CHECK(x)                                                                                                  \
  if ((x) != ATTNC_OK) {                                                                                          \
    fprintf(stderr, "%s: %s\n", #x, attnc_last_error());                                                          \
    return 1;                                                                                                     \
  }

int main(void) {
  const char *names[] = {"B", "H", "L", "D"};
  int64_t values[] = {1, 1, 128, 64}, shape[] = {1, 1, 128, 64}, lshape[] = {1, 1, 128};
  attnc_compile_options o = attnc_compile_options_default();
  o.target = ATTNC_TARGET_SM90A;
  attnc_program *p;
  CHECK(attnc_compile(SPEC, strlen(SPEC), "tiny.attn", 4, names, values, &o, &p));
  void *buf[5];
  for (int i = 0; i < 5; ++i)
    CHECK(attnc_device_alloc(0, 128 * 64 * 4, &buf[i]));
  attnc_tensor in[3], out[1], lse[1];
  for (int i = 0; i < 3; ++i)
    in[i] = attnc_tensor_contiguous(buf[i], ATTNC_DTYPE_BF16, 4, shape, 0);
  out[0] = attnc_tensor_contiguous(buf[3], ATTNC_DTYPE_BF16, 4, shape, 0);
  lse[0] = attnc_tensor_contiguous(buf[4], ATTNC_DTYPE_F32, 3, lshape, 0);
  attnc_tensor args[5] = {in[0], in[1], in[2], out[0], lse[0]};
  attnc_kernel *k = attnc_program_kernel(p, 0);
  CHECK(attnc_kernel_validate(k, args, 5, NULL, NULL)); /* the loop times the success path */
  const int n = 20000;
  for (int rep = 0; rep < 3; ++rep) {
    CHECK(attnc_program_run_gpu(p, in, 3, out, 1, lse, NULL));
    CHECK(attnc_stream_synchronize(NULL));
    double t0 = now_us();
    for (int i = 0; i < n; ++i)
      attnc_program_run_gpu(p, in, 3, out, 1, lse, NULL);
    double t1 = now_us();
    CHECK(attnc_stream_synchronize(NULL));
    double t2 = now_us();
    for (int i = 0; i < n; ++i)
      attnc_kernel_validate(k, args, 5, NULL, NULL);
    double t3 = now_us();
    printf("run_gpu %.2f us/call (host), validate %.2f us/call\n", (t1 - t0) / n, (t3 - t2) / n);
  }
  attnc_program_free(p);
  return 0;
}
