//===- KernelManifest.cpp - reading and printing the manifest's schema ----===//
//
// parseManifest checks the structure (fields, types); the meaning (names,
// expressions, ranges, tensors) is checked by rt::Manifest (Manifest.cpp).
//
//===----------------------------------------------------------------------===//
#include "attnc/Runtime/KernelManifest.h"
#include "ManifestJson.h"

#include <cmath>
#include <cstdio>

using namespace attnc::manifest;
using attnc::rt::JsonValue;

namespace {

/// Reads one JSON object's fields into the schema; the first problem wins.
class Reader {
public:
  explicit Reader(std::string &err) : Err(err) {}

  bool fail(const std::string &field, const std::string &what) {
    Err = field.empty() ? what : field + ": " + what;
    return false;
  }
  static std::string at(const std::string &prefix, const char *key) {
    return prefix.empty() ? key : prefix + "." + key;
  }
  bool str(const JsonValue &o, const char *key, const std::string &prefix, std::string &out,
           bool required) {
    const JsonValue *v = o.get(key);
    if (!v)
      return required ? fail(at(prefix, key), "missing field") : true;
    if (!v->isString())
      return fail(at(prefix, key), std::string("expected a string, found ") + v->kindName());
    out = v->str();
    return true;
  }
  bool integer(const JsonValue &o, const char *key, const std::string &prefix, int64_t &out,
               bool required) {
    const JsonValue *v = o.get(key);
    if (!v)
      return required ? fail(at(prefix, key), "missing field") : true;
    if (!v->isInteger())
      return fail(at(prefix, key), std::string("expected an integer, found ") +
                                       (v->isNumber() ? "a non-integer number" : v->kindName()));
    out = v->integer();
    return true;
  }
  /// An expression field: a JSON integer or an expression string.
  bool expr(const JsonValue &v, const std::string &field, ExprText &out) {
    if (v.isInteger()) {
      out = std::to_string(v.integer());
      return true;
    }
    if (!v.isString())
      return fail(field, std::string("expected an integer or an expression string, found ") +
                             (v.isNumber() ? "a non-integer number" : v.kindName()));
    out = v.str();
    return true;
  }
  bool expr(const JsonValue &o, const char *key, const std::string &prefix, ExprText &out,
            bool required) {
    const JsonValue *v = o.get(key);
    if (!v)
      return required ? fail(at(prefix, key), "missing field") : true;
    return expr(*v, at(prefix, key), out);
  }
  bool exprList(const JsonValue &o, const char *key, const std::string &prefix,
                std::vector<ExprText> &out, bool required) {
    const JsonValue *v = o.get(key);
    std::string f = at(prefix, key);
    if (!v)
      return required ? fail(f, "missing field") : true;
    if (!v->isArray())
      return fail(f, std::string("expected an array, found ") + v->kindName());
    out.assign(v->array().size(), "");
    for (size_t i = 0; i < out.size(); ++i)
      if (!expr(v->array()[i], f + "[" + std::to_string(i) + "]", out[i]))
        return false;
    return true;
  }
  /// An optional true/false field (absent: false).
  bool boolean(const JsonValue &o, const char *key, const std::string &prefix, bool &out) {
    const JsonValue *v = o.get(key);
    if (v && !v->isBool())
      return fail(prefix + "." + key, std::string("expected true or false, found ") + v->kindName());
    out = v && v->boolean();
    return true;
  }
  /// An enum field of a tensor map: a name, or an integer written as one.
  bool enumName(const JsonValue &o, const char *key, const std::string &prefix, std::string &out) {
    const JsonValue *v = o.get(key);
    if (!v)
      return true;
    if (v->isInteger())
      out = std::to_string(v->integer());
    else if (v->isString() && !v->str().empty())
      out = v->str();
    else
      return fail(at(prefix, key), v->isString() ? std::string("unknown value ''")
                                                 : std::string("unknown value of type ") + v->kindName());
    return true;
  }
  bool strings(const JsonValue &o, const char *key, const std::string &prefix,
               std::vector<std::string> &out) {
    const JsonValue *v = o.get(key);
    if (!v)
      return true;
    std::string f = at(prefix, key);
    if (!v->isArray())
      return fail(f, std::string("expected an array of strings, found ") + v->kindName());
    for (size_t i = 0; i < v->array().size(); ++i) {
      if (!v->array()[i].isString())
        return fail(f + "[" + std::to_string(i) + "]", "expected a string");
      out.push_back(v->array()[i].str());
    }
    return true;
  }

  bool param(const JsonValue &p, const std::string &f, Param &out);
  bool attention(const JsonValue &r, Attention &a);
  bool pages(const Attention &a);
  bool spec(const JsonValue &s, SpecNames &out);
  bool kernel(const JsonValue &r, Kernel &k);

private:
  std::string &Err;
};

bool Reader::param(const JsonValue &p, const std::string &f, Param &ps) {
  if (!p.isObject())
    return fail(f, std::string("expected an object, found ") + p.kindName());
  std::string kind;
  if (!str(p, "name", f, ps.name, true) || !str(p, "kind", f, kind, true))
    return false;
  if (kind == "i32" || kind == "i64") {
    ps.kind = kind == "i32" ? Param::Kind::I32 : Param::Kind::I64;
    return expr(p, "value", f, ps.value, true);
  }
  if (kind == "workspace") {
    ps.kind = Param::Kind::Workspace;
    return expr(p, "bytes", f, ps.bytes, true) && expr(p, "zero_bytes", f, ps.zeroBytes, false);
  }
  if (kind == "ptr") {
    ps.kind = Param::Kind::Ptr;
    return str(p, "tensor", f, ps.tensor, true) && str(p, "dtype", f, ps.dtype, true) &&
           exprList(p, "shape", f, ps.shape, true) && integer(p, "align", f, ps.align, false) &&
           (!p.get("align") || ps.align >= 1 || fail(f + ".align", "expected a positive integer"));
  }
  if (kind == "tensormap") {
    ps.kind = Param::Kind::TensorMap;
    return str(p, "tensor", f, ps.tensor, true) && str(p, "dtype", f, ps.dtype, true) &&
           integer(p, "rank", f, ps.rank, true) && exprList(p, "global_dims", f, ps.globalDims, true) &&
           exprList(p, "global_strides_bytes", f, ps.globalStridesBytes, true) &&
           exprList(p, "box", f, ps.box, true) &&
           exprList(p, "element_strides", f, ps.elementStrides, false) &&
           exprList(p, "shape", f, ps.shape, false) &&
           (!p.get("element_strides") || !ps.elementStrides.empty() ||
            fail(f + ".element_strides", "expected one entry per map dimension, found none")) &&
           enumName(p, "interleave", f, ps.interleave) && enumName(p, "swizzle", f, ps.swizzle) &&
           enumName(p, "l2_promotion", f, ps.l2Promotion) && enumName(p, "oob_fill", f, ps.oobFill) &&
           boolean(p, "by_value", f, ps.byValue);
  }
  return fail(f + ".kind", "unknown kind '" + kind + "' (known: tensormap, ptr, i32, i64, workspace)");
}

bool Reader::attention(const JsonValue &r, Attention &a) {
  auto flag = [&](const char *key, bool &out) {
    const JsonValue *v = r.get(key);
    if (v && !v->isBool())
      return fail(key, std::string("expected true or false, found ") + v->kindName());
    out = v && v->boolean();
    return true;
  };
  auto number = [&](const char *key, double &out) {
    const JsonValue *v = r.get(key);
    if (v && !v->isNumber())
      return fail(key, std::string("expected a number, found ") + v->kindName());
    if (v)
      out = v->number();
    return true;
  };
  const JsonValue *nl = r.get("null_logit");
  if (nl && nl->isNumber())
    a.nullLogit = nl->number();
  else if (nl && nl->isString())
    a.nullLogitExpr = nl->str();
  else if (nl && !nl->isNull())
    return fail("null_logit", std::string("expected a number, a string or null, found ") + nl->kindName());
  return str(r, "dtype", "", a.dtype, false) && str(r, "causal", "", a.causal, false) &&
         str(r, "link", "", a.link, false) && str(r, "anchor", "", a.anchor, false) &&
         str(r, "schedule", "", a.schedule, false) && integer(r, "head_dim", "", a.headDim, true) &&
         integer(r, "head_dim_v", "", a.headDimV, false) && integer(r, "block_m", "", a.blockM, false) &&
         integer(r, "block_n", "", a.blockN, false) && integer(r, "stages", "", a.stages, false) &&
         number("scale", a.scale) && number("link_power", a.linkPower) &&
         flag("has_score_region", a.hasScoreRegion) && flag("has_mask_region", a.hasMaskRegion) &&
         flag("decode", a.decode) && flag("pack_heads", a.packHeads) &&
         strings(r, "carrier", "", a.carrier) && strings(r, "tiles_exact", "", a.tilesExact) &&
         strings(r, "tiles_bounding", "", a.tilesBounding) &&
         integer(r, "page_size", "", a.pageSize, false) &&
         str(r, "page_layout", "", a.pageLayout, false) && pages(a);
}

/// A paged attention names its pools' layout; a contiguous one has none.
bool Reader::pages(const Attention &a) {
  if (a.pageSize < 0)
    return fail("page_size", "must be positive (or absent for contiguous K/V)");
  if (a.pageSize > 0 && a.pageLayout != "nhd" && a.pageLayout != "hnd")
    return fail("page_layout", "must be \"nhd\" or \"hnd\" for paged K/V, got \"" + a.pageLayout + "\"");
  if (a.pageSize == 0 && !a.pageLayout.empty())
    return fail("page_layout", "given without page_size");
  return true;
}

bool Reader::spec(const JsonValue &s, SpecNames &out) {
  if (!s.isObject())
    return fail("spec", "expected an object");
  const JsonValue *in = s.get("inputs");
  if (!in || !in->isObject())
    return fail("spec.inputs", "expected an object");
  return str(s, "variant", "spec", out.variant, true) &&
         str(s, "attention", "spec", out.attention, true) &&
         str(*in, "q", "spec.inputs", out.q, true) && str(*in, "k", "spec.inputs", out.k, true) &&
         str(*in, "v", "spec.inputs", out.v, true) &&
         strings(*in, "extras", "spec.inputs", out.extras);
}

bool Reader::kernel(const JsonValue &r, Kernel &k) {
  if (!r.isObject())
    return fail("", std::string("the manifest must be a JSON object, found ") + r.kindName());
  if (!integer(r, "abi_version", "", k.abiVersion, true) || !str(r, "kernel", "", k.kernel, true) ||
      !str(r, "chip", "", k.chip, false) || !str(r, "binary", "", k.binary, false))
    return false;
  if (r.get("dims") && !strings(r, "dims", "", k.dims.emplace()))
    return false;
  const JsonValue *params = r.get("params");
  if (!params)
    return fail("params", "missing field");
  if (!params->isArray() || params->array().empty())
    return fail("params", "expected a non-empty array");
  k.params.resize(params->array().size());
  for (size_t i = 0; i < k.params.size(); ++i)
    if (!param(params->array()[i], "params[" + std::to_string(i) + "]", k.params[i]))
      return false;
  std::vector<ExprText> grid, block;
  if (!exprList(r, "grid", "", grid, true) || !exprList(r, "block", "", block, true))
    return false;
  if (grid.size() != 3)
    return fail("grid", "expected 3 entries, found " + std::to_string(grid.size()));
  if (block.size() != 3)
    return fail("block", "expected 3 entries, found " + std::to_string(block.size()));
  for (int i = 0; i < 3; ++i)
    k.grid[i] = grid[i], k.block[i] = block[i];
  k.sharedBytes = "0";
  if (!expr(r, "shared_bytes", "", k.sharedBytes, false))
    return false;
  if (r.get("constraints") && !exprList(r, "constraints", "", k.constraints.emplace(), true))
    return false;
  if (const JsonValue *sk = r.get("split_kv")) {
    if (!sk->isObject())
      return fail("split_kv", "expected an object");
    SplitKV &s = k.splitKV.emplace();
    if (!str(*sk, "dim", "split_kv", s.dim, true) ||
        !integer(*sk, "max_splits", "split_kv", s.maxSplits, true) ||
        !expr(*sk, "key_tiles", "split_kv", s.keyTiles, true))
      return false;
  }
  if (!boolean(r, "persistent", "", k.persistent))
    return false;
  if (r.get("head_dim") && !attention(r, k.attention.emplace()))
    return false;
  if (const JsonValue *s = r.get("spec"))
    return spec(*s, k.spec.emplace());
  return true;
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

std::string quote(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += (char)c;
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += (char)c;
    }
  }
  return out + "\"";
}

/// An expression field: literals as JSON integers.
std::string exprJson(const ExprText &e) {
  // A JSON number has no leading zeros ("007" stays a string, whose
  // expression parser reads it as 7) and fits the readers' 64-bit integers.
  size_t digits = e.size() - (!e.empty() && e[0] == '-');
  bool literal = digits > 0 && digits < 19 && (e[e.size() - digits] != '0' || digits == 1);
  for (size_t i = e.size() - digits; i < e.size(); ++i)
    literal = literal && e[i] >= '0' && e[i] <= '9';
  return literal ? e : quote(e);
}

std::string numberJson(double d) {
  if (!std::isfinite(d))
    return "null";
  char buf[32];
  snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

template <class T, class F> std::string list(const std::vector<T> &v, F each) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + each(v[i]);
  return s + "]";
}

/// Fields of one JSON object, printed at an indent.
class Fields {
public:
  explicit Fields(int indent) : Indent(indent) {}
  Fields &add(const char *key, const std::string &json) {
    Body += (Body.empty() ? "" : ",\n") + std::string(Indent + 2, ' ') + quote(key) + ": " + json;
    return *this;
  }
  Fields &addIf(bool cond, const char *key, const std::string &json) {
    return cond ? add(key, json) : *this;
  }
  std::string str() const { return "{\n" + Body + "\n" + std::string(Indent, ' ') + "}"; }

private:
  int Indent;
  std::string Body;
};

std::string strJson(const std::string &s) { return quote(s); }

std::string paramJson(const Param &p) {
  Fields f(4);
  f.add("name", quote(p.name));
  switch (p.kind) {
  case Param::Kind::I32:
  case Param::Kind::I64:
    f.add("kind", quote(p.kind == Param::Kind::I32 ? "i32" : "i64")).add("value", exprJson(p.value));
    break;
  case Param::Kind::Workspace:
    f.add("kind", quote("workspace")).add("bytes", exprJson(p.bytes));
    f.addIf(!p.zeroBytes.empty(), "zero_bytes", exprJson(p.zeroBytes));
    break;
  case Param::Kind::Ptr:
    f.add("kind", quote("ptr")).add("tensor", quote(p.tensor)).add("dtype", quote(p.dtype));
    f.add("shape", list(p.shape, exprJson)).addIf(p.align > 0, "align", std::to_string(p.align));
    break;
  case Param::Kind::TensorMap:
    f.add("kind", quote("tensormap")).add("tensor", quote(p.tensor)).add("dtype", quote(p.dtype));
    f.add("rank", std::to_string(p.rank)).add("global_dims", list(p.globalDims, exprJson));
    f.add("global_strides_bytes", list(p.globalStridesBytes, exprJson)).add("box", list(p.box, exprJson));
    f.addIf(!p.elementStrides.empty(), "element_strides", list(p.elementStrides, exprJson));
    f.addIf(!p.shape.empty(), "shape", list(p.shape, exprJson));
    f.addIf(!p.interleave.empty(), "interleave", quote(p.interleave));
    f.addIf(!p.swizzle.empty(), "swizzle", quote(p.swizzle));
    f.addIf(!p.l2Promotion.empty(), "l2_promotion", quote(p.l2Promotion));
    f.addIf(!p.oobFill.empty(), "oob_fill", quote(p.oobFill));
    f.addIf(p.byValue, "by_value", "true");
    break;
  }
  return f.str();
}

void attentionJson(const Attention &a, Fields &f) {
  auto b = [](bool x) { return std::string(x ? "true" : "false"); };
  f.add("dtype", quote(a.dtype)).add("head_dim", std::to_string(a.headDim));
  f.add("head_dim_v", std::to_string(a.headDimV)).add("block_m", std::to_string(a.blockM));
  f.add("block_n", std::to_string(a.blockN)).add("causal", quote(a.causal));
  f.add("scale", numberJson(a.scale)).add("has_score_region", b(a.hasScoreRegion));
  f.add("has_mask_region", b(a.hasMaskRegion)).add("carrier", list(a.carrier, strJson));
  f.add("tiles_exact", list(a.tilesExact, strJson)).add("tiles_bounding", list(a.tilesBounding, strJson));
  f.add("link", quote(a.link)).add("link_power", numberJson(a.linkPower)).add("anchor", quote(a.anchor));
  f.add("null_logit", a.nullLogit ? numberJson(*a.nullLogit)
                      : a.nullLogitExpr.empty() ? "null" : quote(a.nullLogitExpr));
  f.add("stages", std::to_string(a.stages)).add("schedule", quote(a.schedule));
  f.addIf(a.decode, "decode", "true").addIf(a.decode, "pack_heads", b(a.packHeads));
  f.addIf(a.pageSize > 0, "page_size", std::to_string(a.pageSize))
      .addIf(a.pageSize > 0, "page_layout", quote(a.pageLayout));
}

} // namespace

bool attnc::manifest::parseManifest(const std::string &text, Kernel &out, std::string &err) {
  JsonValue root;
  std::string jerr;
  if (!JsonValue::parse(text, root, jerr)) {
    err = "invalid JSON: " + jerr;
    return false;
  }
  return readManifest(root, out, err);
}

bool attnc::manifest::readManifest(const JsonValue &root, Kernel &out, std::string &err) {
  out = Kernel();
  return Reader(err).kernel(root, out);
}

std::string attnc::manifest::specInputOf(const Kernel &k, const std::string &tensor) {
  if (!k.spec)
    return "";
  if (tensor == "q" || tensor == "k" || tensor == "v")
    return tensor == "q" ? k.spec->q : tensor == "k" ? k.spec->k : k.spec->v;
  if (tensor.compare(0, 6, "extra_") != 0 || tensor.size() == 6 ||
      tensor.find_first_not_of("0123456789", 6) != std::string::npos || tensor.size() > 12)
    return "";
  size_t n = std::stoul(tensor.substr(6));
  return n < k.spec->extras.size() ? k.spec->extras[n] : "";
}

std::string attnc::manifest::printManifest(const Kernel &k) {
  Fields f(0);
  f.add("abi_version", std::to_string(k.abiVersion)).add("kernel", quote(k.kernel));
  f.addIf(!k.chip.empty(), "chip", quote(k.chip)).addIf(!k.binary.empty(), "binary", quote(k.binary));
  if (k.attention)
    attentionJson(*k.attention, f);
  if (k.dims)
    f.add("dims", list(*k.dims, strJson));
  f.add("params", "[\n    " + [&] {
    std::string s;
    for (size_t i = 0; i < k.params.size(); ++i)
      s += (i ? ",\n    " : "") + paramJson(k.params[i]);
    return s;
  }() + "\n  ]");
  f.add("grid", list(std::vector<ExprText>(k.grid, k.grid + 3), exprJson));
  f.add("block", list(std::vector<ExprText>(k.block, k.block + 3), exprJson));
  f.add("shared_bytes", exprJson(k.sharedBytes.empty() ? "0" : k.sharedBytes));
  if (k.constraints)
    f.add("constraints", list(*k.constraints, strJson));
  if (k.splitKV) {
    Fields s(2);
    s.add("dim", quote(k.splitKV->dim)).add("max_splits", std::to_string(k.splitKV->maxSplits));
    f.add("split_kv", s.add("key_tiles", exprJson(k.splitKV->keyTiles)).str());
  }
  if (k.persistent)
    f.add("persistent", "true");
  if (k.spec) {
    Fields in(4), s(2);
    in.add("q", quote(k.spec->q)).add("k", quote(k.spec->k)).add("v", quote(k.spec->v));
    in.add("extras", list(k.spec->extras, strJson));
    s.add("variant", quote(k.spec->variant)).add("attention", quote(k.spec->attention));
    f.add("spec", s.add("inputs", in.str()).str());
  }
  return f.str() + "\n";
}

std::string attnc::manifest::jsonQuote(const std::string &s) { return quote(s); }
