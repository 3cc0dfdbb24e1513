// bench_attnc: times attnc's AOT GPU kernels through the project's runtime
// (lib/Runtime) with CUDA events: warm-up, then the median of N launches.
// Useful FLOPs count only kept (i, j) pairs: 4 * B * H * pairs * D.
//
//   bench_attnc MANIFEST.json MASK B Hq Hk Lq Lk [ITERS [NAME=V,...]]
//     NAME=V: run-time sizes given to the runtime (e.g. S=8, a decode kernel's
//     split count; the runtime chooses those not given)
//     MASK: full | causal (bottom-right) | window=W (causal, W keys) -- how pairs are counted
//           decode: a decode kernel (bottom-right causal); prints TB/s of q, k, v and o
//           moved once instead of TFLOP/s
//           docN: N equal documents, causal inside each (a document carrier's kernel,
//           whose cumulative lengths [N + 1] this passes as its first extra)
#include "attnc/Runtime/attnc_runtime.h"

#include "CudaCheck.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s MANIFEST.json full|causal B Hq Hk Lq Lk [ITERS]\n", argv[0]);
    return 2;
  }
  std::string mask = argv[2];
  int64_t B = atoll(argv[3]), Hq = atoll(argv[4]), Hk = atoll(argv[5]), Lq = atoll(argv[6]),
          Lk = atoll(argv[7]);
  int iters = argc > 8 ? atoi(argv[8]) : 30;
  int64_t H = std::max(Hq, Hk);
  CUDA_CK(cudaSetDevice(0));
  CUDA_CK(cudaFree(nullptr));  // create the primary context the runtime will use
  attnc_kernel *kernel = nullptr;
  if (attnc_kernel_load(argv[1], &kernel) != ATTNC_OK) {
    fprintf(stderr, "load: %s\n", attnc_last_error());
    return 1;
  }
  int64_t D = attnc_kernel_info_int(kernel, "head_dim", 0);
  int64_t Dv = attnc_kernel_info_int(kernel, "head_dim_v", D);
  size_t nq = B * Hq * Lq * D, nk = B * Hk * Lk * D, nv = B * Hk * Lk * Dv, no = B * H * Lq * Dv;
  void *q, *k, *v, *o, *lse;
  CUDA_CK(cudaMalloc(&q, nq * 2));
  CUDA_CK(cudaMalloc(&k, nk * 2));
  CUDA_CK(cudaMalloc(&v, nv * 2));
  CUDA_CK(cudaMalloc(&o, no * 2));
  CUDA_CK(cudaMalloc(&lse, B * H * Lq * 4));
  // Random-ish bf16 bits in [-1, 1): sign, exponent 126 or less.
  std::vector<uint16_t> host(std::max({nq, nk, nv}));
  uint32_t s = 12345;
  for (auto &x : host) {
    s = s * 1664525u + 1013904223u;
    x = (uint16_t)(((s >> 16) & 0x8000) | (0x3c00 + ((s >> 8) & 0x1ff)) | ((s >> 3) & 0x7f));
  }
  CUDA_CK(cudaMemcpy(q, host.data(), nq * 2, cudaMemcpyHostToDevice));
  CUDA_CK(cudaMemcpy(k, host.data(), nk * 2, cudaMemcpyHostToDevice));
  CUDA_CK(cudaMemcpy(v, host.data(), nv * 2, cudaMemcpyHostToDevice));
  attnc_dtype dt = std::string(attnc_kernel_info_string(kernel, "dtype") ? attnc_kernel_info_string(kernel, "dtype") : "bf16") == "f16"
                       ? ATTNC_DTYPE_F16 : ATTNC_DTYPE_BF16;
  int64_t sq[4] = {B, Hq, Lq, D}, sk[4] = {B, Hk, Lk, D}, sv[4] = {B, Hk, Lk, Dv},
          so[4] = {B, H, Lq, Dv}, sl[3] = {B, H, Lq};
  attnc_tensor args[6] = {attnc_tensor_contiguous(q, dt, 4, sq, 0), attnc_tensor_contiguous(k, dt, 4, sk, 0),
                          attnc_tensor_contiguous(v, dt, 4, sv, 0), attnc_tensor_contiguous(o, dt, 4, so, 0),
                          attnc_tensor_contiguous(lse, ATTNC_DTYPE_F32, 3, sl, 0)};
  int numArgs = 5;
  int64_t docs = mask.rfind("doc", 0) == 0 ? atoll(mask.c_str() + 3) : 0;
  if (mask.rfind("doc", 0) == 0 && (docs < 1 || docs > Lq || Lq != Lk)) {
    fprintf(stderr, "bench_attnc: %s: docN needs 1 <= N <= Lq and Lq == Lk\n", mask.c_str());
    return 2;
  }
  if (docs > 0) {
    std::vector<int32_t> cu(docs + 1);
    for (int64_t n = 0; n <= docs; ++n)
      cu[n] = (int32_t)(n * Lq / docs);
    void *dcu;
    CUDA_CK(cudaMalloc(&dcu, cu.size() * 4));
    CUDA_CK(cudaMemcpy(dcu, cu.data(), cu.size() * 4, cudaMemcpyHostToDevice));
    int64_t scu[1] = {docs + 1};
    args[numArgs++] = attnc_tensor_contiguous(dcu, ATTNC_DTYPE_I32, 1, scu, 0);
  }
  std::vector<int64_t> dims(attnc_kernel_num_dims(kernel), -1);
  std::string given = argc > 9 ? argv[9] : "";
  for (size_t p = 0; p < given.size();) {
    size_t comma = std::min(given.find(',', p), given.size());
    std::string item = given.substr(p, comma - p);
    size_t eq = item.find('=');
    int d = 0;
    while (eq != std::string::npos && d < (int)dims.size() && item.substr(0, eq) != attnc_kernel_dim_name(kernel, d))
      ++d;
    if (eq == std::string::npos || d == (int)dims.size()) {
      fprintf(stderr, "bench_attnc: '%s' is not NAME=VALUE for a dim of %s\n", item.c_str(), attnc_kernel_name(kernel));
      return 2;
    }
    dims[d] = atoll(item.c_str() + eq + 1);
    p = comma + 1;
  }
  cudaStream_t stream;
  CUDA_CK(cudaStreamCreate(&stream));
  auto launch = [&]() -> bool {
    if (attnc_kernel_launch(kernel, args, numArgs, dims.data(), stream) != ATTNC_OK) {
      fprintf(stderr, "launch: %s\n", attnc_last_error());
      return false;
    }
    return true;
  };
  for (int w = 0; w < 5; ++w)
    if (!launch())
      return 1;
  CUDA_CK(cudaStreamSynchronize(stream));
  std::vector<float> ms;
  cudaEvent_t a, b;
  CUDA_CK(cudaEventCreate(&a));
  CUDA_CK(cudaEventCreate(&b));
  for (int it = 0; it < iters; ++it) {
    CUDA_CK(cudaEventRecord(a, stream));
    if (!launch())
      return 1;
    CUDA_CK(cudaEventRecord(b, stream));
    CUDA_CK(cudaEventSynchronize(b));
    float t;
    CUDA_CK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  double med = ms[ms.size() / 2];
  double pairs = 0;
  if (mask.rfind("window=", 0) == 0) { // causal sliding window of W keys
    int64_t W = atoll(mask.c_str() + 7);
    for (int64_t i = 0; i < Lq; ++i)
      pairs += (double)std::min<int64_t>(W, std::max<int64_t>(0, i + (Lk - Lq) + 1));
  } else if (docs > 0) {
    for (int64_t n = 0; n < docs; ++n) {
      double len = (double)((n + 1) * Lq / docs - n * Lq / docs);
      pairs += len * (len + 1) / 2;
    }
  } else if (mask == "causal") {
    for (int64_t i = 0; i < Lq; ++i)
      pairs += (double)std::min<int64_t>(Lk, std::max<int64_t>(0, i + (Lk - Lq) + 1));
  } else {
    pairs = (double)Lq * Lk;
  }
  if (mask == "decode") {
    double bytes = 2.0 * (double)(nq + nk + nv + no);
    printf("attnc decode %-28s B%lld H%lld(kv %lld) Lq%lld Lk%lld D%lld  %8.4f ms %7.3f TB/s %s\n",
           attnc_kernel_name(kernel), (long long)B, (long long)H, (long long)Hk, (long long)Lq,
           (long long)Lk, (long long)D, med, bytes / (med * 1e-3) / 1e12, given.c_str());
    attnc_kernel_free(kernel);
    return 0;
  }
  double tflops = 4.0 * B * H * pairs * D / (med * 1e-3) / 1e12;
  printf("attnc %-8s %-28s B%lld H%lld(kv %lld) Lq%lld Lk%lld D%lld  %8.3f ms %7.1f TFLOP/s\n",
         mask.c_str(), attnc_kernel_name(kernel), (long long)B, (long long)H, (long long)Hk,
         (long long)Lq, (long long)Lk, (long long)D, med, tflops);
  attnc_kernel_free(kernel);
  return 0;
}
