//===- Manifest.cpp - attnc kernel manifests (docs/gpu-abi.md) ------------===//
#include "Manifest.h"

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

  bool build() {
    const JsonValue &r = M.root;
    if (!r.isObject())
      return fail("", std::string("the manifest must be a JSON object, found ") + r.kindName());
    // abi_version
    const JsonValue *v = r.get("abi_version");
    if (!v)
      return fail("abi_version", "missing field");
    if (!v->isInteger())
      return fail("abi_version", std::string("expected an integer, found ") + v->kindName());
    M.abiVersion = v->integer();
    if (M.abiVersion != ATTNC_RUNTIME_ABI_VERSION)
      return fail("abi_version", "version " + std::to_string(M.abiVersion) +
                                     " is not supported (this runtime reads version " +
                                     std::to_string(ATTNC_RUNTIME_ABI_VERSION) + ")");
    if (!str(r, "kernel", M.kernel, true))
      return false;
    if (M.kernel.empty())
      return fail("kernel", "empty kernel name");
    if (!str(r, "chip", M.chip, false) || !str(r, "binary", M.binary, false))
      return false;
    if (!M.binary.empty() && (M.binary[0] == '/' || M.binary.find("..") != std::string::npos))
      return fail("binary", "must be a file name relative to the manifest's folder");

    // Dim names: "dims" if given (closed set), else i32 params named by a bare
    // name first, then other names in order of use.
    const JsonValue *params = r.get("params");
    if (!params)
      return fail("params", "missing field");
    if (!params->isArray() || params->array().empty())
      return fail("params", "expected a non-empty array");
    if (const JsonValue *d = r.get("dims")) {
      if (!d->isArray())
        return fail("dims", "expected an array of names");
      for (size_t i = 0; i < d->array().size(); ++i) {
        const JsonValue &e = d->array()[i];
        std::string f = "dims[" + std::to_string(i) + "]";
        if (!e.isString() || !isIdentifier(e.str()))
          return fail(f, "expected a name (letters, digits, '_')");
        if (dimIndex(e.str()) >= 0)
          return fail(f, "duplicate name '" + e.str() + "'");
        M.dims.push_back(e.str());
      }
      Closed = true;
    } else {
      for (const JsonValue &p : params->array()) {
        const JsonValue *k = p.get("kind"), *val = p.get("value");
        if (k && k->isString() && k->str() == "i32" && val && val->isString() && isIdentifier(val->str()) &&
            dimIndex(val->str()) < 0)
          M.dims.push_back(val->str());
      }
    }

    for (size_t i = 0; i < params->array().size(); ++i)
      if (!param(params->array()[i], "params[" + std::to_string(i) + "]"))
        return false;
    for (size_t i = 0; i < M.params.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (M.params[i].name == M.params[j].name)
          return fail("params[" + std::to_string(i) + "].name", "duplicate parameter name '" + M.params[i].name + "'");

    if (!exprArray(r, "grid", 3, M.grid) || !exprArray(r, "block", 3, M.block))
      return false;
    const JsonValue *sb = r.get("shared_bytes");
    if (!sb)
      M.sharedBytes = Expr::literal(0);
    else if (!expr(*sb, "shared_bytes", M.sharedBytes))
      return false;
    for (int i = 0; i < 3; ++i)
      if (M.block[i].isLiteral() && (M.block[i].literalValue() < 1 || M.block[i].literalValue() > 1024))
        return fail("block[" + std::to_string(i) + "]", "must be 1..1024");
    if (M.sharedBytes.isLiteral() && (M.sharedBytes.literalValue() < 0 || M.sharedBytes.literalValue() > (1 << 30)))
      return fail("shared_bytes", "out of range");

    if (const JsonValue *sk = r.get("split_kv")) {
      std::string dim;
      if (!sk->isObject())
        return fail("split_kv", "expected an object");
      if (!str(*sk, "dim", dim, true, "split_kv"))
        return false;
      M.splitDim = dimIndex(dim);
      if (M.splitDim < 0)
        return fail("split_kv.dim", "'" + dim + "' is not a dim of the kernel");
      for (const TensorSpec &t : M.tensors)
        for (const Expr &e : t.shape)
          if (e.dimId() == M.splitDim)
            return fail("split_kv.dim", "'" + dim + "' is a size of tensor '" + t.name +
                                            "'; the split count must be a dim of its own");
      const JsonValue *mx = sk->get("max_splits"), *kt = sk->get("key_tiles");
      if (!mx || !mx->isInteger() || mx->integer() < 1 || mx->integer() > 65535)
        return fail("split_kv.max_splits", "expected an integer from 1 to 65535");
      M.maxSplits = mx->integer();
      if (!kt)
        return fail("split_kv.key_tiles", "missing field");
      if (!expr(*kt, "split_kv.key_tiles", M.keyTiles))
        return false;
    }
    if (const JsonValue *c = r.get("constraints")) {
      if (!c->isArray())
        return fail("constraints", "expected an array of expression strings");
      for (size_t i = 0; i < c->array().size(); ++i) {
        Expr e;
        const JsonValue &x = c->array()[i];
        std::string f = "constraints[" + std::to_string(i) + "]";
        if (!x.isString())
          return fail(f, "expected an expression string");
        if (!expr(x, f, e))
          return false;
        M.constraints.push_back(e);
      }
    } else if (M.abiVersion == 1 && dimIndex("H") >= 0 && dimIndex("Hq") >= 0 && dimIndex("Hk") >= 0) {
      // docs/gpu-abi.md, v1: H = max(Hq, Hk), and both divide H. Applied when
      // the manifest states no constraints of its own.
      for (const char *c : {"H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0"}) {
        Expr e;
        if (!expr(JsonValue(), c, e, c))
          return false;
        M.constraints.push_back(e);
      }
    }
    return true;
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
  bool str(const JsonValue &o, const char *key, std::string &out, bool required, const std::string &prefix = "") {
    const JsonValue *v = o.get(key);
    std::string f = prefix.empty() ? key : prefix + "." + key;
    if (!v)
      return required ? fail(f, "missing field") : true;
    if (!v->isString())
      return fail(f, std::string("expected a string, found ") + v->kindName());
    out = v->str();
    return true;
  }
  // An integer or an expression string. textOverride parses that text instead of v.
  bool expr(const JsonValue &v, const std::string &field, Expr &out, const char *textOverride = nullptr) {
    if (!textOverride && v.isInteger()) {
      out = Expr::literal(v.integer());
      return true;
    }
    if (!textOverride && !v.isString())
      return fail(field, std::string("expected an integer or an expression string, found ") +
                             (v.isNumber() ? "a non-integer number" : v.kindName()));
    std::string text = textOverride ? textOverride : v.str();
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
  bool exprList(const JsonValue &o, const char *key, const std::string &prefix, std::vector<Expr> &out,
                size_t minLen, size_t maxLen, bool required = true) {
    const JsonValue *v = o.get(key);
    std::string f = prefix + "." + key;
    if (!v)
      return required ? fail(f, "missing field") : true;
    if (!v->isArray())
      return fail(f, std::string("expected an array, found ") + v->kindName());
    size_t n = v->array().size();
    if (n < minLen || n > maxLen)
      return fail(f, minLen == maxLen ? "expected " + std::to_string(minLen) + " entries, found " + std::to_string(n)
                                      : "expected " + std::to_string(minLen) + " to " + std::to_string(maxLen) +
                                            " entries, found " + std::to_string(n));
    out.clear();
    for (size_t i = 0; i < n; ++i) {
      Expr e;
      if (!expr(v->array()[i], f + "[" + std::to_string(i) + "]", e))
        return false;
      out.push_back(e);
    }
    return true;
  }
  bool exprArray(const JsonValue &o, const char *key, size_t n, Expr *out) {
    std::vector<Expr> v;
    if (!exprList(o, key, "", v, n, n))
      return false;
    for (size_t i = 0; i < n; ++i)
      out[i] = v[i];
    return true;
  }
  bool enumField(const JsonValue &o, const char *key, const std::string &prefix,
                 std::initializer_list<std::pair<const char *, int>> values, int &out, int dflt) {
    const JsonValue *v = o.get(key);
    std::string f = prefix + "." + key;
    if (!v) {
      out = dflt;
      return true;
    }
    std::string given = v->isString() ? v->str() : v->isInteger() ? std::to_string(v->integer()) : "";
    std::string known;
    for (const auto &kv : values) {
      if (given == kv.first) {
        out = kv.second;
        return true;
      }
      known += std::string(known.empty() ? "" : ", ") + kv.first;
    }
    return fail(f, "unknown value" + (given.empty() ? std::string() : " '" + given + "'") + " (known: " + known + ")");
  }
  bool tensorRef(const JsonValue &p, const std::string &f, attnc_dtype dt, std::vector<Expr> shape, bool viaMap,
                 int64_t align, int &out) {
    std::string name;
    if (!str(p, "tensor", name, true, f))
      return false;
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
  bool dtypeField(const JsonValue &p, const std::string &f, attnc_dtype &dt) {
    std::string s;
    if (!str(p, "dtype", s, true, f))
      return false;
    dt = dtypeFromName(s);
    if (dt == ATTNC_DTYPE_INVALID)
      return fail(f + ".dtype", "unknown dtype '" + s + "' (known: f32, f16, bf16, f64, i32, i64, i8, u8, bool)");
    return true;
  }

  bool param(const JsonValue &p, const std::string &f) {
    if (!p.isObject())
      return fail(f, std::string("expected an object, found ") + p.kindName());
    ParamSpec ps;
    if (!str(p, "name", ps.name, true, f))
      return false;
    std::string kind;
    if (!str(p, "kind", kind, true, f))
      return false;
    if (kind == "i32") {
      ps.kind = ParamSpec::I32;
      const JsonValue *v = p.get("value");
      if (!v)
        return fail(f + ".value", "missing field");
      if (!expr(*v, f + ".value", ps.value))
        return false;
    } else if (kind == "ptr") {
      ps.kind = ParamSpec::Ptr;
      attnc_dtype dt;
      if (!dtypeField(p, f, dt))
        return false;
      std::vector<Expr> shape;
      if (!exprList(p, "shape", f, shape, 0, ATTNC_MAX_RANK))
        return false;
      int64_t align = (int64_t)attnc_dtype_size(dt);
      if (const JsonValue *a = p.get("align")) {
        if (!a->isInteger() || a->integer() < 1 || a->integer() > 4096 || (a->integer() & (a->integer() - 1)))
          return fail(f + ".align", "expected a power of two from 1 to 4096");
        align = a->integer();
      }
      if (!tensorRef(p, f, dt, shape, false, align, ps.tensor))
        return false;
    } else if (kind == "workspace") {
      for (const ParamSpec &q : M.params)
        if (q.kind == ParamSpec::Workspace)
          return fail(f + ".kind", "a second workspace parameter (the runtime provides one)");
      ps.kind = ParamSpec::Workspace;
      const JsonValue *by = p.get("bytes"), *z = p.get("zero_bytes");
      if (!by)
        return fail(f + ".bytes", "missing field");
      if (!expr(*by, f + ".bytes", ps.bytes))
        return false;
      if (!z)
        ps.zeroBytes = Expr::literal(0);
      else if (!expr(*z, f + ".zero_bytes", ps.zeroBytes))
        return false;
    } else if (kind == "tensormap") {
      ps.kind = ParamSpec::TensorMap;
      if (!dtypeField(p, f, ps.mapDtype))
        return false;
      switch (ps.mapDtype) {
      case ATTNC_DTYPE_I8: case ATTNC_DTYPE_BOOL:
        return fail(f + ".dtype", "no tensor-map data type for this dtype");
      default: break;
      }
      const JsonValue *rk = p.get("rank");
      if (!rk)
        return fail(f + ".rank", "missing field");
      if (!rk->isInteger() || rk->integer() < 1 || rk->integer() > 5)
        return fail(f + ".rank", "expected an integer from 1 to 5");
      ps.rank = (int)rk->integer();
      size_t r = (size_t)ps.rank;
      if (!exprList(p, "global_dims", f, ps.globalDims, r, r) ||
          !exprList(p, "global_strides_bytes", f, ps.globalStridesBytes, r - 1, r - 1) ||
          !exprList(p, "box", f, ps.box, r, r))
        return false;
      if (p.get("element_strides")) {
        if (!exprList(p, "element_strides", f, ps.elementStrides, r, r))
          return false;
      } else {
        ps.elementStrides.assign(r, Expr::literal(1));
      }
      if (!enumField(p, "interleave", f, {{"none", 0}, {"16b", 1}, {"32b", 2}}, ps.interleave, 0) ||
          !enumField(p, "swizzle", f, {{"0", 0}, {"none", 0}, {"32", 1}, {"64", 2}, {"128", 3}}, ps.swizzle, 0) ||
          !enumField(p, "l2_promotion", f, {{"none", 0}, {"l2_64b", 1}, {"l2_128b", 2}, {"l2_256b", 3}},
                     ps.l2Promotion, 0) ||
          !enumField(p, "oob_fill", f, {{"zero", 0}, {"none", 0}, {"nan", 1}}, ps.oobFill, 0))
        return false;
      int64_t es = (int64_t)attnc_dtype_size(ps.mapDtype);
      for (size_t i = 0; i < r; ++i) {
        std::string bi = f + ".box[" + std::to_string(i) + "]";
        if (ps.box[i].isLiteral() && (ps.box[i].literalValue() < 1 || ps.box[i].literalValue() > 256))
          return fail(bi, "must be 1..256 (the TMA limit)");
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
      // The tensor's logical shape: the map's dims, outermost first, with
      // products of names ("B*Hq") split into their factors.
      std::vector<Expr> shape;
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
      if (!tensorRef(p, f, ps.mapDtype, shape, true, 16, ps.tensor))
        return false;
    } else {
      return fail(f + ".kind", "unknown kind '" + kind + "' (known: tensormap, ptr, i32, workspace)");
    }
    M.params.push_back(std::move(ps));
    return true;
  }
};

} // namespace

bool Manifest::parse(const std::string &text, Manifest &out, std::string &err) {
  out = Manifest();
  std::string jerr;
  if (!JsonValue::parse(text, out.root, jerr)) {
    err = "invalid JSON: " + jerr;
    return false;
  }
  Builder b(out, err);
  return b.build();
}

} // namespace rt
} // namespace attnc
