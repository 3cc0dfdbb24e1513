//===- Validate.cpp - the host-side checks of a launch ---------------------===//
//
// Everything a manifest lets the runtime check without a GPU: argument
// count, dtypes, ranks, shapes against the manifest's symbolic shapes, sizes
// consistent across tensors, constraints, i32 and grid limits, strides,
// alignment; and the split-KV count of decode kernels.
//
//===----------------------------------------------------------------------===//
#include "RuntimeInternal.h"

#include <algorithm>
#include <climits>
#include <cmath>

using namespace attnc::rt;

/// Split-KV count: 1 when the grid already fills the device, else the
/// smallest split whose waves use the SMs within 85% as well as the best
/// split does (FlashAttention's rule), at most max_splits and at most half
/// the key tiles (the two consumers of a block take alternate tiles).
static int64_t chooseSplits(int64_t ctas, int64_t keyTiles, int64_t sms, int64_t maxSplits) {
  if (sms < 1 || ctas >= sms * 8 / 10)
    return 1;
  int64_t cap = std::max<int64_t>(1, std::min(maxSplits, keyTiles / 2));
  auto eff = [&](int64_t s) {
    double waves = double(ctas * s) / double(sms);
    return waves / std::ceil(waves);
  };
  double best = 0;
  for (int64_t s = 1; s <= cap; ++s)
    best = std::max(best, eff(s));
  for (int64_t s = 1; s <= cap; ++s)
    if (eff(s) >= 0.85 * best)
      return s;
  return 1;
}

static std::string dimsText(const attnc_kernel *k, const Bound &b, const Expr &e) {
  std::vector<int> ids;
  e.collectDims(ids);
  std::string r;
  std::vector<bool> seen(k->m.dims.size(), false);
  for (int id : ids) {
    if (seen[id])
      continue;
    seen[id] = true;
    r += (r.empty() ? "" : ", ") + k->m.dims[id] + "=" + std::to_string(b.dims[id]);
  }
  return r;
}

/// A map that declares its tensor's shape reads boxes of its own dims: the
/// last byte it can address, (dims - 1) . strides plus one element, must lie
/// inside the tensor (`tensorBytes`), whatever the dims say.
static attnc_status checkMapSpan(const ParamSpec &ps, const Bound &b, int64_t es, int64_t tensorBytes,
                                 const std::string &arg) {
  int64_t last = 0;
  for (int d = 0; d < ps.rank; ++d) {
    int64_t dim, stride = es, term;
    if (attnc_status s = evalOrFail(ps.globalDims[d], b, [&] { return ps.name + ".global_dims"; }, dim))
      return s;
    if (d > 0)
      if (attnc_status s = evalOrFail(ps.globalStridesBytes[d - 1], b,
                                      [&] { return ps.name + ".global_strides_bytes"; }, stride))
        return s;
    if (dim < 1 || stride < 0 || __builtin_mul_overflow(dim - 1, stride, &term) ||
        __builtin_add_overflow(last, term, &last))
      return fail(ATTNC_ERR_LIMIT, ps.name + ": its dims and strides overflow 64 bits");
  }
  if (last + es > tensorBytes)
    return fail(ATTNC_ERR_SHAPE, arg + ": the kernel's tensor map " + ps.name + " reads " +
                                     std::to_string(last + es) + " bytes, the tensor holds " +
                                     std::to_string(tensorBytes));
  return ATTNC_OK;
}

/// The split-KV count (the manifest's split_kv dim): the caller's, checked
/// against the kernel's maximum, or (choose) picked by chooseSplits from
/// the grid of one split. sms: the device's, or 0 for the assumed 132.
static attnc_status splitCount(const attnc_kernel *k, bool choose, int sms, Bound &b) {
  const Manifest &m = k->m;
  if (m.splitDim < 0)
    return ATTNC_OK;
  if (!choose) {
    if (b.dims[m.splitDim] > m.maxSplits)
      return fail(ATTNC_ERR_LIMIT, "split count " + m.dims[m.splitDim] + " = " +
                                       std::to_string(b.dims[m.splitDim]) + " exceeds the kernel's maximum " +
                                       std::to_string(m.maxSplits));
    return ATTNC_OK;
  }
  int64_t keyTiles, g[3], ctas = 0;
  b.dims[m.splitDim] = 1;
  if (attnc_status s = evalOrFail(m.keyTiles, b, [&] { return "split_kv.key_tiles"; }, keyTiles))
    return s;
  for (int a = 0; a < 3; ++a)
    if (attnc_status s = evalOrFail(m.grid[a], b, [&] { return "grid"; }, g[a]))
      return s;
  if (__builtin_mul_overflow(g[0], g[1], &ctas) || __builtin_mul_overflow(ctas, g[2], &ctas))
    return fail(ATTNC_ERR_LIMIT, "the grid overflows 64 bits");
  b.dims[m.splitDim] = chooseSplits(ctas, keyTiles, sms > 0 ? sms : 132, m.maxSplits);
  return ATTNC_OK;
}

attnc_status attnc::rt::validate(const attnc_kernel *k, const attnc_tensor *args, int nargs, const int64_t *dimsIn, Bound &b,
                      int sms) {
  if (!k)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "kernel is NULL");
  const Manifest &m = k->m;
  const int nt = (int)m.tensors.size();
  if (nargs < 0 || (nargs > 0 && !args))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "args is NULL but nargs is " + std::to_string(nargs));
  if (nargs != nt) {
    std::string names;
    for (int i = 0; i < nt; ++i)
      names += (i ? ", " : "") + m.tensors[i].name;
    return fail(ATTNC_ERR_ARG_COUNT, "kernel " + m.kernel + " takes " + std::to_string(nt) + " tensors (" + names +
                                         ") but " + std::to_string(nargs) + " were given");
  }
  const size_t nd = m.dims.size();
  b.dims.assign(nd, 0);
  // Where each dim got its value (the text is built only for an error):
  // kUnbound, kFromDims (dims[]), kFromSplit, or tensor * kRankSlots + axis.
  enum : int { kUnbound = -1, kFromDims = -2, kFromSplit = -3, kRankSlots = ATTNC_MAX_RANK };
  std::vector<int> src(nd, kUnbound);
  auto srcText = [&](size_t d) -> std::string {
    if (src[d] == kFromDims)
      return "dims[" + std::to_string(d) + "] (" + m.dims[d] + ")";
    if (src[d] == kFromSplit)
      return "the runtime's split-KV choice";
    return argName(k, src[d] / kRankSlots) + " shape[" + std::to_string(src[d] % kRankSlots) + "]";
  };
  if (dimsIn) {
    for (size_t d = 0; d < nd; ++d) {
      if (dimsIn[d] < -1)
        return fail(ATTNC_ERR_INVALID_ARGUMENT, "dims[" + std::to_string(d) + "] (" + m.dims[d] + ") is " +
                                                    std::to_string(dimsIn[d]) +
                                                    ": expected a size >= 0, or -1 to infer it from the tensors");
      if (dimsIn[d] >= 0) {
        b.dims[d] = dimsIn[d];
        src[d] = kFromDims;
      }
    }
  }
  // dtype and rank.
  for (int i = 0; i < nt; ++i) {
    const attnc_tensor &t = args[i];
    const TensorSpec &ts = m.tensors[i];
    if (!validDtype(t.dtype))
      return fail(ATTNC_ERR_DTYPE, argName(k, i) + ": invalid dtype code " + std::to_string(t.dtype) +
                                       ", the kernel needs " + attnc_dtype_name(ts.dtype));
    if (t.dtype != ts.dtype)
      return fail(ATTNC_ERR_DTYPE, argName(k, i) + ": dtype is " + attnc_dtype_name((attnc_dtype)t.dtype) +
                                       ", the kernel needs " + attnc_dtype_name(ts.dtype));
    if (t.rank < 0 || t.rank > ATTNC_MAX_RANK)
      return fail(ATTNC_ERR_RANK, argName(k, i) + ": invalid rank " + std::to_string(t.rank));
    if (t.rank != (int)ts.shape.size())
      return fail(ATTNC_ERR_RANK, argName(k, i) + ": rank is " + std::to_string(t.rank) + " (shape " +
                                      shapeText(t) + "), the kernel needs rank " + std::to_string(ts.shape.size()) +
                                      " " + shapeText(ts.shape));
    for (int j = 0; j < t.rank; ++j)
      if (t.shape[j] < 0)
        return fail(ATTNC_ERR_SHAPE, argName(k, i) + ": shape[" + std::to_string(j) + "] is negative (" +
                                         std::to_string(t.shape[j]) + ")");
  }
  // Bind the named sizes from dimensions the manifest names directly.
  for (int i = 0; i < nt; ++i) {
    const TensorSpec &ts = m.tensors[i];
    for (size_t j = 0; j < ts.shape.size(); ++j) {
      int d = ts.shape[j].dimId();
      if (d < 0)
        continue;
      int64_t v = args[i].shape[j];
      if (src[d] == kUnbound) {
        b.dims[d] = v;
        src[d] = i * kRankSlots + (int)j;
      } else if (b.dims[d] != v) {
        std::string here = argName(k, i) + " shape[" + std::to_string(j) + "]";
        return fail(ATTNC_ERR_SHAPE, "inconsistent size " + m.dims[d] + ": " + srcText(d) + " = " +
                                         std::to_string(b.dims[d]) + " but " + here + " = " + std::to_string(v) +
                                         " (expected shape " + shapeText(ts.shape) + ", got " + shapeText(args[i]) +
                                         ")");
      }
    }
  }
  const bool chooseSplit = m.splitDim >= 0 && src[m.splitDim] == kUnbound;
  if (chooseSplit) {
    b.dims[m.splitDim] = 1; // chosen by splitCount once the other sizes are bound
    src[m.splitDim] = kFromSplit;
  }
  for (size_t d = 0; d < nd; ++d) {
    if (src[d] == kUnbound)
      return fail(ATTNC_ERR_SHAPE, "size " + m.dims[d] + " is not given by any tensor's shape; pass it in dims[" +
                                       std::to_string(d) + "]");
    if (b.dims[d] < 1)
      return fail(ATTNC_ERR_SHAPE, "size " + m.dims[d] + " = " + std::to_string(b.dims[d]) + " (from " + srcText(d) +
                                       "): every run-time size must be at least 1");
    if (b.dims[d] > INT32_MAX)
      return fail(ATTNC_ERR_LIMIT, "size " + m.dims[d] + " = " + std::to_string(b.dims[d]) + " (from " + srcText(d) +
                                       ") exceeds the kernel's i32 range");
  }
  // The split count before anything that may read it.
  if (attnc_status s = splitCount(k, chooseSplit, sms, b))
    return s;
  // Every other shape entry: literals and expressions.
  for (int i = 0; i < nt; ++i) {
    const TensorSpec &ts = m.tensors[i];
    for (size_t j = 0; j < ts.shape.size(); ++j) {
      if (ts.shape[j].dimId() >= 0)
        continue;
      int64_t want;
      if (attnc_status s = evalOrFail(ts.shape[j], b, [&] { return argName(k, i) + " shape[" + std::to_string(j) + "]"; }, want))
        return s;
      if (args[i].shape[j] != want) {
        std::string why = ts.shape[j].isLiteral() ? std::to_string(want)
                                                  : ts.shape[j].text() + " = " + std::to_string(want) + " (" +
                                                        dimsText(k, b, ts.shape[j]) + ")";
        return fail(ATTNC_ERR_SHAPE, argName(k, i) + ": shape[" + std::to_string(j) + "] is " +
                                         std::to_string(args[i].shape[j]) + ", the kernel needs " + why +
                                         " (expected shape " + shapeText(ts.shape) + ", got " + shapeText(args[i]) +
                                         ")");
      }
    }
  }
  // Constraints among the sizes.
  for (const Expr &c : m.constraints) {
    int64_t v;
    if (attnc_status s = evalOrFail(c, b, [&] { return "constraint '" + c.text() + "'"; }, v))
      return s;
    if (!v)
      return fail(ATTNC_ERR_SHAPE, "constraint '" + c.text() + "' does not hold (" + dimsText(k, b, c) + ")");
  }
  // Scalar parameters and the launch configuration.
  b.scalarValues.assign(m.params.size(), 0);
  for (size_t p = 0; p < m.params.size(); ++p) {
    const ParamSpec &ps = m.params[p];
    if (ps.kind != ParamSpec::I32 && ps.kind != ParamSpec::I64)
      continue;
    int64_t v;
    if (attnc_status s = evalOrFail(ps.value, b, [&] { return "parameter " + ps.name; }, v))
      return s;
    if (ps.kind == ParamSpec::I32 && (v < INT32_MIN || v > INT32_MAX))
      return fail(ATTNC_ERR_LIMIT, "parameter " + ps.name + " = " + ps.value.text() + " = " + std::to_string(v) +
                                       " does not fit in i32");
    b.scalarValues[p] = v;
  }
  static const char *axis[] = {"x", "y", "z"};
  for (int a = 0; a < 3; ++a) {
    if (attnc_status s = evalOrFail(m.grid[a], b, [&] { return std::string("grid.") + axis[a]; }, b.grid[a]))
      return s;
    int64_t lim = a == 0 ? INT32_MAX : 65535;
    if (b.grid[a] < 1 || b.grid[a] > lim)
      return fail(ATTNC_ERR_LIMIT, std::string("grid.") + axis[a] + " = " + m.grid[a].text() + " = " +
                                       std::to_string(b.grid[a]) + " is outside 1.." + std::to_string(lim) + " (" +
                                       dimsText(k, b, m.grid[a]) + ")");
    if (attnc_status s = evalOrFail(m.block[a], b, [&] { return std::string("block.") + axis[a]; }, b.block[a]))
      return s;
    if (b.block[a] < 1 || b.block[a] > 1024)
      return fail(ATTNC_ERR_LIMIT, std::string("block.") + axis[a] + " = " + std::to_string(b.block[a]) +
                                       " is outside 1..1024");
  }
  if (b.block[0] * b.block[1] * b.block[2] > 1024)
    return fail(ATTNC_ERR_LIMIT, "block has more than 1024 threads");
  if (m.persistent) {
    // The grid counts work items; one block per SM takes them in turn (the
    // kernel decodes an item from its sizes, not from its block index).
    int64_t items = b.grid[0] * b.grid[1] * b.grid[2];
    if (items > INT32_MAX)
      return fail(ATTNC_ERR_LIMIT, std::to_string(items) + " work items (grid " + m.grid[0].text() + " x " +
                                       m.grid[1].text() + " x " + m.grid[2].text() + ") do not fit in i32");
    b.items = items;
    b.grid[0] = std::min<int64_t>(items, sms > 0 ? sms : 132);
    b.grid[1] = b.grid[2] = 1;
  }
  for (const ParamSpec &ps : m.params) {
    if (ps.kind != ParamSpec::Workspace)
      continue;
    if (attnc_status s = evalOrFail(ps.bytes, b, [&] { return ps.name + ".bytes"; }, b.wsBytes))
      return s;
    if (attnc_status s = evalOrFail(ps.zeroBytes, b, [&] { return ps.name + ".zero_bytes"; }, b.wsZeroBytes))
      return s;
    // A sanity cap (64 GiB) on what the expressions give; the driver's
    // allocation reports what the device cannot hold. The zeroed prefix is
    // cleared in 4-byte words.
    if (b.wsBytes < 0 || b.wsBytes > (int64_t(1) << 36) || b.wsZeroBytes < 0 || b.wsZeroBytes > b.wsBytes ||
        b.wsZeroBytes % 4 != 0)
      return fail(ATTNC_ERR_LIMIT, ps.name + ": " + std::to_string(b.wsBytes) + " bytes (" +
                                       std::to_string(b.wsZeroBytes) +
                                       " zeroed, a multiple of 4 at most that) is out of range");
  }
  if (attnc_status s = evalOrFail(m.sharedBytes, b, [&] { return "shared_bytes"; }, b.shared))
    return s;
  if (b.shared < 0 || b.shared > INT32_MAX)
    return fail(ATTNC_ERR_LIMIT, "shared_bytes = " + std::to_string(b.shared) + " is out of range");

  // Layout, extent and alignment of each tensor.
  b.extentBytes.assign(nt, 0);
  for (int i = 0; i < nt; ++i) {
    const attnc_tensor &t = args[i];
    const TensorSpec &ts = m.tensors[i];
    int64_t es = (int64_t)attnc_dtype_size(ts.dtype);
    int64_t last = 0; // offset of the last element, in elements
    bool empty = false;
    for (int j = 0; j < t.rank; ++j) {
      if (t.strides[j] < 0)
        return fail(ATTNC_ERR_STRIDE, argName(k, i) + ": stride[" + std::to_string(j) + "] is negative (" +
                                          std::to_string(t.strides[j]) + ")");
      if (t.shape[j] == 0)
        empty = true;
      int64_t term;
      if (t.shape[j] > 0 && (__builtin_mul_overflow(t.shape[j] - 1, t.strides[j], &term) ||
                             __builtin_add_overflow(last, term, &last)))
        return fail(ATTNC_ERR_LIMIT, argName(k, i) + ": its extent overflows 64 bits");
    }
    int64_t bytes = 0;
    if (!empty && (__builtin_add_overflow(last, (int64_t)1, &bytes) || __builtin_mul_overflow(bytes, es, &bytes)))
      return fail(ATTNC_ERR_LIMIT, argName(k, i) + ": its extent overflows 64 bits");
    b.extentBytes[i] = bytes;
    if (bytes > 0 && !t.data)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": data is NULL");
    // Pointer parameters: row-major contiguous (size-1 dims may have any stride).
    bool ptrUse = false;
    // (So are tensors a map reads as boxes of another shape: no grouping.)
    for (const ParamSpec &ps : m.params)
      if (ps.tensor == i && (ps.kind == ParamSpec::Ptr ||
                             (ps.kind == ParamSpec::TensorMap && ps.groupSizes.empty())))
        ptrUse = true;
    if (ptrUse) {
      int64_t expect = 1;
      for (int j = t.rank - 1; j >= 0; --j) {
        if (t.shape[j] != 1 && t.strides[j] != expect)
          return fail(ATTNC_ERR_STRIDE, argName(k, i) + ": stride[" + std::to_string(j) + "] is " +
                                            std::to_string(t.strides[j]) + " elements, the kernel needs " +
                                            std::to_string(expect) + " (a contiguous row-major tensor)");
        expect *= t.shape[j] > 0 ? t.shape[j] : 1;
      }
    }
    // Tensor-map parameters: the strides the map is encoded with; a map
    // that reads boxes of its own dims (a declared shape, no grouping) must
    // stay inside the tensor.
    for (size_t p = 0; p < m.params.size(); ++p) {
      const ParamSpec &ps = m.params[p];
      if (ps.kind != ParamSpec::TensorMap || ps.tensor != i)
        continue;
      if (ps.groupSizes.empty()) {
        if (attnc_status s = checkMapSpan(ps, b, es, b.extentBytes[i], argName(k, i)))
          return s;
        continue;
      }
      int j = t.rank; // logical dims consumed from the innermost end
      for (int g = 0; g < ps.rank; ++g) {
        int64_t base = 1; // element stride the map needs for this group's innermost dim
        if (g > 0) {
          int64_t sb;
          if (attnc_status s = evalOrFail(ps.globalStridesBytes[g - 1], b, [&] { return ps.name + ".global_strides_bytes[" + std::to_string(g - 1) + "]"; }, sb))
            return s;
          if (sb % es != 0 || sb % 16 != 0)
            return fail(ATTNC_ERR_STRIDE, ps.name + ": global stride " + std::to_string(sb) +
                                              " bytes is not a multiple of 16 (TMA rule)");
          base = sb / es;
        }
        int64_t expect = base;
        for (int c = 0; c < ps.groupSizes[g]; ++c) {
          --j;
          if (t.shape[j] != 1 && t.strides[j] != expect)
            return fail(ATTNC_ERR_STRIDE,
                        argName(k, i) + ": stride[" + std::to_string(j) + "] is " + std::to_string(t.strides[j]) +
                            " elements, the kernel's tensor map " + ps.name + " needs " + std::to_string(expect) +
                            " (a contiguous row-major tensor)");
          expect *= t.shape[j] > 0 ? t.shape[j] : 1;
        }
      }
    }
    if (t.data && ts.align > 1 && ((uintptr_t)t.data % (uintptr_t)ts.align) != 0)
      return fail(ATTNC_ERR_ALIGNMENT, argName(k, i) + ": data pointer " + hex(t.data) + " is not " +
                                           std::to_string(ts.align) + "-byte aligned" +
                                           (ts.viaMap ? " (the tensor map (TMA) needs 16 bytes)" : ""));
  }
  return ATTNC_OK;
}

extern "C" {

attnc_status attnc_kernel_validate(const attnc_kernel *k, const attnc_tensor *args, int nargs, const int64_t *dims,
                                   int64_t *resolved) {
  Bound b;
  if (attnc_status s = validate(k, args, nargs, dims, b))
    return s;
  if (resolved)
    for (size_t d = 0; d < b.dims.size(); ++d)
      resolved[d] = b.dims[d];
  return ATTNC_OK;
}

} // extern "C"
