//===- Manifest.cpp - attnc kernel manifests (docs/gpu-abi.md) ------------===//
#include "Manifest.h"
#include "attnc/Runtime/KernelManifest.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace attnc {
namespace rt {

attnc_dtype dtypeFromName(const std::string &s) {
  if (s == "f32") return ATTNC_DTYPE_F32;
  if (s == "f16") return ATTNC_DTYPE_F16;
  if (s == "bf16") return ATTNC_DTYPE_BF16;
  if (s == "f64") return ATTNC_DTYPE_F64;
  if (s == "i32") return ATTNC_DTYPE_I32;
  if (s == "i64") return ATTNC_DTYPE_I64;
  if (s == "i8") return ATTNC_DTYPE_I8;
  if (s == "u8") return ATTNC_DTYPE_U8;
  if (s == "f8e4m3") return ATTNC_DTYPE_F8E4M3;
  if (s == "bool" || s == "i1") return ATTNC_DTYPE_BOOL;
  return ATTNC_DTYPE_INVALID;
}

namespace {

bool isIdentifier(const std::string &s) {
  if (s.empty())
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!(alpha || (i > 0 && c >= '0' && c <= '9')))
      return false;
  }
  return s != "ceildiv" && s != "max" && s != "min";
}

class Builder {
public:
  Builder(Manifest &m, std::string &err) : M(m), Err(err) {}

  bool build(const manifest::Kernel &k) {
    M.abiVersion = k.abiVersion;
    if (M.abiVersion != ATTNC_RUNTIME_ABI_VERSION)
      return fail("abi_version", "version " + std::to_string(M.abiVersion) +
                                     " is not supported (this runtime reads version " +
                                     std::to_string(ATTNC_RUNTIME_ABI_VERSION) + ")");
    M.kernel = k.kernel, M.chip = k.chip, M.binary = k.binary;
    if (M.kernel.empty())
      return fail("kernel", "empty kernel name");
    if (!M.binary.empty() && (M.binary[0] == '/' || M.binary.find("..") != std::string::npos))
      return fail("binary", "must be a file name relative to the manifest's folder");
    if (!dims(k))
      return false;
    for (size_t i = 0; i < k.params.size(); ++i)
      if (!param(k.params[i], "params[" + std::to_string(i) + "]"))
        return false;
    for (size_t i = 0; i < M.params.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (M.params[i].name == M.params[j].name)
          return fail("params[" + std::to_string(i) + "].name", "duplicate parameter name '" + M.params[i].name + "'");
    for (int i = 0; i < 3; ++i)
      if (!expr(k.grid[i], "grid[" + std::to_string(i) + "]", M.grid[i]) ||
          !expr(k.block[i], "block[" + std::to_string(i) + "]", M.block[i]))
        return false;
    if (!expr(k.sharedBytes, "shared_bytes", M.sharedBytes))
      return false;
    for (int i = 0; i < 3; ++i)
      if (M.block[i].isLiteral() && (M.block[i].literalValue() < 1 || M.block[i].literalValue() > 1024))
        return fail("block[" + std::to_string(i) + "]", "must be 1..1024");
    if (M.sharedBytes.isLiteral() && (M.sharedBytes.literalValue() < 0 || M.sharedBytes.literalValue() > (1 << 30)))
      return fail("shared_bytes", "out of range");
    return splitKV(k) && persistent(k) && constraints(k);
  }

private:
  Manifest &M;
  std::string &Err;
  bool Closed = false;

  bool fail(const std::string &field, const std::string &what) {
    Err = field.empty() ? what : field + ": " + what;
    return false;
  }
  int dimIndex(const std::string &n) const {
    for (size_t i = 0; i < M.dims.size(); ++i)
      if (M.dims[i] == n)
        return (int)i;
    return -1;
  }
  // Dim names: "dims" if given (closed set), else i32 params named by a bare
  // name first, then other names in order of use.
  bool dims(const manifest::Kernel &k) {
    if (!k.dims) {
      for (const manifest::Param &p : k.params)
        if (p.kind == manifest::Param::Kind::I32 && isIdentifier(p.value) && dimIndex(p.value) < 0)
          M.dims.push_back(p.value);
      return true;
    }
    for (size_t i = 0; i < k.dims->size(); ++i) {
      const std::string &d = (*k.dims)[i];
      std::string f = "dims[" + std::to_string(i) + "]";
      if (!isIdentifier(d))
        return fail(f, "expected a name (letters, digits, '_')");
      if (dimIndex(d) >= 0)
        return fail(f, "duplicate name '" + d + "'");
      M.dims.push_back(d);
    }
    Closed = true;
    return true;
  }
  bool splitKV(const manifest::Kernel &k) {
    if (!k.splitKV)
      return true;
    const manifest::SplitKV &sk = *k.splitKV;
    M.splitDim = dimIndex(sk.dim);
    if (M.splitDim < 0)
      return fail("split_kv.dim", "'" + sk.dim + "' is not a dim of the kernel");
    for (const TensorSpec &t : M.tensors)
      for (const Expr &e : t.shape)
        if (e.dimId() == M.splitDim)
          return fail("split_kv.dim", "'" + sk.dim + "' is a size of tensor '" + t.name +
                                          "'; the split count must be a dim of its own");
    if (sk.maxSplits < 1 || sk.maxSplits > 65535)
      return fail("split_kv.max_splits", "expected an integer from 1 to 65535");
    M.maxSplits = sk.maxSplits;
    return expr(sk.keyTiles, "split_kv.key_tiles", M.keyTiles);
  }
  /// Persistent blocks take their items from the workspace's first word,
  /// which the runtime must zero before each launch.
  bool persistent(const manifest::Kernel &k) {
    M.persistent = k.persistent;
    if (!k.persistent)
      return true;
    if (M.splitDim >= 0)
      return fail("persistent", "a split_kv kernel cannot be persistent (its grid splits the keys)");
    for (const ParamSpec &ps : M.params)
      if (ps.kind == ParamSpec::Workspace && !(ps.zeroBytes.isLiteral() && ps.zeroBytes.literalValue() >= 4))
        return fail("persistent", "the workspace of a persistent kernel must have a zeroed prefix of at "
                                  "least 4 bytes (its work counter)");
    if (std::none_of(M.params.begin(), M.params.end(),
                     [](const ParamSpec &ps) { return ps.kind == ParamSpec::Workspace; }))
      return fail("persistent", "a persistent kernel needs a workspace parameter (its work counter)");
    return true;
  }
  bool constraints(const manifest::Kernel &k) {
    if (k.constraints) {
      for (size_t i = 0; i < k.constraints->size(); ++i) {
        Expr e;
        if (!expr((*k.constraints)[i], "constraints[" + std::to_string(i) + "]", e))
          return false;
        M.constraints.push_back(e);
      }
    } else if (M.abiVersion == 1 && dimIndex("H") >= 0 && dimIndex("Hq") >= 0 && dimIndex("Hk") >= 0) {
      // docs/gpu-abi.md, v1: H = max(Hq, Hk), and both divide H. Applied when
      // the manifest states no constraints of its own.
      for (const char *c : {"H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0"}) {
        Expr e;
        if (!expr(c, c, e))
          return false;
        M.constraints.push_back(e);
      }
    }
    return true;
  }
  bool expr(const std::string &text, const std::string &field, Expr &out) {
    std::string perr;
    auto nameToId = [&](const std::string &n) -> int {
      int i = dimIndex(n);
      if (i >= 0 || Closed)
        return i;
      M.dims.push_back(n);
      return (int)M.dims.size() - 1;
    };
    if (!Expr::parse(text, nameToId, out, perr))
      return fail(field, "'" + text + "': " + perr + (Closed ? " (names must be listed in \"dims\")" : ""));
    return true;
  }
  bool exprList(const std::vector<std::string> &in, const std::string &f, std::vector<Expr> &out,
                size_t minLen, size_t maxLen) {
    size_t n = in.size();
    if (n < minLen || n > maxLen)
      return fail(f, minLen == maxLen ? "expected " + std::to_string(minLen) + " entries, found " + std::to_string(n)
                                      : "expected " + std::to_string(minLen) + " to " + std::to_string(maxLen) +
                                            " entries, found " + std::to_string(n));
    out.assign(n, Expr());
    for (size_t i = 0; i < n; ++i)
      if (!expr(in[i], f + "[" + std::to_string(i) + "]", out[i]))
        return false;
    return true;
  }
  bool enumField(const std::string &given, const std::string &f,
                 std::initializer_list<std::pair<const char *, int>> values, int &out, int dflt) {
    if (given.empty()) {
      out = dflt;
      return true;
    }
    std::string known;
    for (const auto &kv : values) {
      if (given == kv.first) {
        out = kv.second;
        return true;
      }
      known += std::string(known.empty() ? "" : ", ") + kv.first;
    }
    return fail(f, "unknown value '" + given + "' (known: " + known + ")");
  }
  bool tensorRef(const manifest::Param &p, const std::string &f, attnc_dtype dt, std::vector<Expr> shape,
                 bool viaMap, int64_t align, int &out) {
    const std::string &name = p.tensor;
    if (name.empty())
      return fail(f + ".tensor", "empty tensor name");
    for (size_t i = 0; i < M.tensors.size(); ++i) {
      TensorSpec &t = M.tensors[i];
      if (t.name != name)
        continue;
      if (t.dtype != dt)
        return fail(f + ".dtype", "tensor '" + name + "' was declared with dtype " + attnc_dtype_name(t.dtype) +
                                      " by an earlier parameter");
      if (t.shape.size() != shape.size())
        return fail(f, "tensor '" + name + "' was declared with rank " + std::to_string(t.shape.size()) +
                           " by an earlier parameter");
      if (align > t.align)
        t.align = align;
      t.viaMap = t.viaMap || viaMap;
      out = (int)i;
      return true;
    }
    TensorSpec t;
    t.name = name;
    t.dtype = dt;
    t.shape = std::move(shape);
    t.viaMap = viaMap;
    t.align = align;
    t.firstParam = (int)M.params.size();
    M.tensors.push_back(std::move(t));
    out = (int)M.tensors.size() - 1;
    return true;
  }
  bool dtypeField(const manifest::Param &p, const std::string &f, attnc_dtype &dt) {
    dt = dtypeFromName(p.dtype);
    if (dt == ATTNC_DTYPE_INVALID)
      return fail(f + ".dtype", "unknown dtype '" + p.dtype + "' (known: f32, f16, bf16, f64, i32, i64, i8, u8, bool, f8e4m3)");
    return true;
  }
  bool ptrParam(const manifest::Param &p, const std::string &f, ParamSpec &ps) {
    attnc_dtype dt;
    if (!dtypeField(p, f, dt))
      return false;
    std::vector<Expr> shape;
    if (!exprList(p.shape, f + ".shape", shape, 0, ATTNC_MAX_RANK))
      return false;
    int64_t align = (int64_t)attnc_dtype_size(dt);
    if (p.align != 0) {
      if (p.align < 1 || p.align > 4096 || (p.align & (p.align - 1)))
        return fail(f + ".align", "expected a power of two from 1 to 4096");
      align = p.align;
    }
    return tensorRef(p, f, dt, shape, false, align, ps.tensor);
  }
  bool mapParam(const manifest::Param &p, const std::string &f, ParamSpec &ps);

  bool param(const manifest::Param &p, const std::string &f) {
    ParamSpec ps;
    ps.name = p.name;
    switch (p.kind) {
    case manifest::Param::Kind::I32:
    case manifest::Param::Kind::I64:
      ps.kind = p.kind == manifest::Param::Kind::I32 ? ParamSpec::I32 : ParamSpec::I64;
      if (!expr(p.value, f + ".value", ps.value))
        return false;
      break;
    case manifest::Param::Kind::Ptr:
      ps.kind = ParamSpec::Ptr;
      if (!ptrParam(p, f, ps))
        return false;
      break;
    case manifest::Param::Kind::Workspace:
      for (const ParamSpec &q : M.params)
        if (q.kind == ParamSpec::Workspace)
          return fail(f + ".kind", "a second workspace parameter (the runtime provides one)");
      ps.kind = ParamSpec::Workspace;
      if (!expr(p.bytes, f + ".bytes", ps.bytes) ||
          !expr(p.zeroBytes.empty() ? "0" : p.zeroBytes, f + ".zero_bytes", ps.zeroBytes))
        return false;
      break;
    case manifest::Param::Kind::TensorMap:
      ps.kind = ParamSpec::TensorMap;
      if (!mapParam(p, f, ps))
        return false;
      break;
    }
    M.params.push_back(std::move(ps));
    return true;
  }
};

bool Builder::mapParam(const manifest::Param &p, const std::string &f, ParamSpec &ps) {
  if (!dtypeField(p, f, ps.mapDtype))
    return false;
  if (ps.mapDtype == ATTNC_DTYPE_I8 || ps.mapDtype == ATTNC_DTYPE_BOOL ||
      ps.mapDtype == ATTNC_DTYPE_F8E4M3)
    return fail(f + ".dtype", "no tensor-map data type for this dtype");
  if (p.rank < 1 || p.rank > 5)
    return fail(f + ".rank", "expected an integer from 1 to 5");
  ps.rank = (int)p.rank;
  ps.byValue = p.byValue;
  size_t r = (size_t)ps.rank;
  if (!exprList(p.globalDims, f + ".global_dims", ps.globalDims, r, r) ||
      !exprList(p.globalStridesBytes, f + ".global_strides_bytes", ps.globalStridesBytes, r - 1, r - 1) ||
      !exprList(p.box, f + ".box", ps.box, r, r))
    return false;
  if (!p.elementStrides.empty()) {
    if (!exprList(p.elementStrides, f + ".element_strides", ps.elementStrides, r, r))
      return false;
  } else {
    ps.elementStrides.assign(r, Expr::literal(1));
  }
  if (!enumField(p.interleave, f + ".interleave", {{"none", 0}, {"16b", 1}, {"32b", 2}}, ps.interleave, 0) ||
      !enumField(p.swizzle, f + ".swizzle", {{"0", 0}, {"none", 0}, {"32", 1}, {"64", 2}, {"128", 3}}, ps.swizzle,
                 0) ||
      !enumField(p.l2Promotion, f + ".l2_promotion", {{"none", 0}, {"l2_64b", 1}, {"l2_128b", 2}, {"l2_256b", 3}},
                 ps.l2Promotion, 0) ||
      !enumField(p.oobFill, f + ".oob_fill", {{"zero", 0}, {"none", 0}, {"nan", 1}}, ps.oobFill, 0))
    return false;
  int64_t es = (int64_t)attnc_dtype_size(ps.mapDtype);
  for (size_t i = 0; i < r; ++i) {
    if (ps.box[i].isLiteral() && (ps.box[i].literalValue() < 1 || ps.box[i].literalValue() > 256))
      return fail(f + ".box[" + std::to_string(i) + "]", "must be 1..256 (the TMA limit)");
    const Expr &e = ps.elementStrides[i];
    if (e.isLiteral() && (e.literalValue() < 1 || e.literalValue() > 8))
      return fail(f + ".element_strides[" + std::to_string(i) + "]", "must be 1..8");
  }
  static const int swizzleBytes[] = {0, 32, 64, 128};
  if (ps.swizzle != 0 && ps.interleave == 0 && ps.box[0].isLiteral() &&
      ps.box[0].literalValue() * es > swizzleBytes[ps.swizzle])
    return fail(f + ".box[0]", "inner box extent of " + std::to_string(ps.box[0].literalValue() * es) +
                                   " bytes exceeds the swizzle span of " +
                                   std::to_string(swizzleBytes[ps.swizzle]) + " bytes");
  for (size_t i = 0; i + 1 < r; ++i) {
    const Expr &s = ps.globalStridesBytes[i];
    if (s.isLiteral() && s.literalValue() % 16 != 0)
      return fail(f + ".global_strides_bytes[" + std::to_string(i) + "]", "must be a multiple of 16 (TMA rule)");
  }
  // A map that declares the tensor's shape reads boxes of a contiguous
  // row-major tensor of that shape (its dims need not match the map's, e.g.
  // [B, H, L, D] read as boxes of [B*H, n0, n1, D]); Validate checks it is
  // contiguous, and no grouping is recorded.
  std::vector<Expr> shape;
  if (!p.shape.empty()) {
    if (!exprList(p.shape, f + ".shape", shape, 1, ATTNC_MAX_RANK))
      return false;
    return tensorRef(p, f, ps.mapDtype, shape, true, 16, ps.tensor);
  }
  // The tensor's logical shape: the map's dims, outermost first, with
  // products of names ("B*Hq") split into their factors.
  for (size_t i = r; i-- > 0;) {
    std::vector<Expr> fs = ps.globalDims[i].productFactors();
    for (Expr &e : fs)
      if (e.dimId() >= 0)
        e.setText(M.dims[e.dimId()]);
    ps.groupSizes.insert(ps.groupSizes.begin(), (int)fs.size());
    shape.insert(shape.end(), fs.begin(), fs.end());
  }
  if (shape.size() > ATTNC_MAX_RANK)
    return fail(f + ".global_dims", "the tensor's rank would exceed " + std::to_string(ATTNC_MAX_RANK));
  return tensorRef(p, f, ps.mapDtype, shape, true, 16, ps.tensor);
}

} // namespace

bool Manifest::parse(const std::string &text, Manifest &out, std::string &err) {
  out = Manifest();
  std::string jerr;
  if (!JsonValue::parse(text, out.root, jerr)) {
    err = "invalid JSON: " + jerr;
    return false;
  }
  // The document stays whole for informational queries (attnc_kernel_info_*).
  manifest::Kernel k;
  return manifest::readManifest(out.root, k, err) && Builder(out, err).build(k);
}

} // namespace rt
} // namespace attnc
