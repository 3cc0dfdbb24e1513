//===- ProgramManifest.cpp - <variant>.program.json, both directions -----===//
#include "attnc/Runtime/KernelManifest.h"

#include "Manifest.h"
#include "ManifestJson.h"

#include <algorithm>

using namespace attnc;
using namespace attnc::manifest;
using attnc::rt::JsonValue;

namespace {
const char *kindName(ProgramBuffer::Kind k) {
  switch (k) {
  case ProgramBuffer::Kind::Input: return "input";
  case ProgramBuffer::Kind::Output: return "output";
  case ProgramBuffer::Kind::Temp: return "temp";
  case ProgramBuffer::Kind::Lse: return "lse";
  }
  return "temp";
}

/// A kernel name becomes a file name beside the program: no separators, no
/// "..", nothing a shell or a path would read specially.
bool fileStem(const std::string &s) {
  if (s.empty() || s.size() > 200 || s.find("..") != std::string::npos)
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

bool bad(std::string &err, const std::string &field, const std::string &what) {
  err = field + ": " + what;
  return false;
}

bool readBuffer(const JsonValue &v, const std::string &at, ProgramBuffer &b, std::string &err) {
  const JsonValue *name = v.get("name"), *kind = v.get("kind"), *index = v.get("index"), *dtype = v.get("dtype"),
                  *shape = v.get("shape");
  if (!name || !name->isString() || !kind || !kind->isString() || !index || !index->isInteger() || !dtype ||
      !dtype->isString() || !shape || !shape->isArray())
    return bad(err, at, "expected name, kind, dtype (strings), index (an integer) and shape (an array)");
  b.name = name->str(), b.dtype = dtype->str(), b.index = index->integer();
  const std::string &k = kind->str();
  if (k == "input") b.kind = ProgramBuffer::Kind::Input;
  else if (k == "output") b.kind = ProgramBuffer::Kind::Output;
  else if (k == "temp") b.kind = ProgramBuffer::Kind::Temp;
  else if (k == "lse") b.kind = ProgramBuffer::Kind::Lse;
  else return bad(err, at + ".kind", "unknown kind '" + k + "'");
  if (rt::dtypeFromName(b.dtype) == ATTNC_DTYPE_INVALID)
    return bad(err, at + ".dtype", "unknown dtype '" + b.dtype + "'");
  if (shape->array().size() > ATTNC_MAX_RANK)
    return bad(err, at + ".shape", "rank above " + std::to_string(ATTNC_MAX_RANK));
  for (const JsonValue &d : shape->array()) {
    if (!d.isInteger() || d.integer() < -1 || d.integer() > (int64_t(1) << 40))
      return bad(err, at + ".shape", "expected sizes 0..2^40, or -1 (dynamic)");
    b.shape.push_back(d.integer());
  }
  if (const JsonValue *sizes = v.get("sizes")) {
    if (!sizes->isArray() || sizes->array().size() != b.shape.size())
      return bad(err, at + ".sizes", "expected an array as long as the shape");
    for (size_t d = 0; d < b.shape.size(); ++d) {
      const JsonValue &e = sizes->array()[d];
      std::string text = e.isInteger() ? std::to_string(e.integer()) : e.isString() ? e.str() : "";
      rt::Expr parsed;
      std::string perr;
      if (text.empty() || !rt::Expr::parse(text, [](const std::string &) { return 0; }, parsed, perr))
        return bad(err, at + ".sizes[" + std::to_string(d) + "]",
                   "expected an integer or a size expression" + (perr.empty() ? "" : " (" + perr + ")"));
      if (b.shape[d] >= 0 && !(parsed.isLiteral() && parsed.literalValue() == b.shape[d]))
        return bad(err, at + ".sizes[" + std::to_string(d) + "]", "'" + text + "' for a static size");
      b.sizes.push_back(text);
    }
  }
  // A temporary's dynamic size is evaluated from the dims its sizes name.
  bool temp = b.kind == ProgramBuffer::Kind::Temp;
  for (int64_t d : b.shape)
    if (d < 0 && temp && b.sizes.empty())
      return bad(err, at + ".shape", "a temporary of dynamic shape needs its sizes");
  return true;
}
} // namespace

bool attnc::manifest::parseProgram(const std::string &text, Program &out, std::string &err) {
  out = Program();
  JsonValue root;
  std::string jerr;
  if (!JsonValue::parse(text, root, jerr))
    return bad(err, "program", "invalid JSON: " + jerr);
  const JsonValue *bufs = root.get("buffers"), *steps = root.get("steps");
  if (!bufs || !bufs->isArray() || !steps || !steps->isArray())
    return bad(err, "program", "expected an object with the arrays 'buffers' and 'steps'");
  for (size_t i = 0; i < bufs->array().size(); ++i)
    if (!readBuffer(bufs->array()[i], "buffers[" + std::to_string(i) + "]", out.buffers.emplace_back(), err))
      return false;
  // One buffer per spec input and per output, indexed 0..n-1.
  for (ProgramBuffer::Kind kind : {ProgramBuffer::Kind::Input, ProgramBuffer::Kind::Output}) {
    std::vector<int> seen;
    for (const ProgramBuffer &b : out.buffers)
      if (b.kind == kind) {
        if (b.index < 0 || b.index >= (int64_t)out.buffers.size())
          return bad(err, "buffer '" + b.name + "'", "index out of range");
        seen.resize(std::max<size_t>(seen.size(), b.index + 1), 0);
        if (seen[b.index]++)
          return bad(err, "buffer '" + b.name + "'", std::string("a second ") + kindName(kind) + " " +
                                                         std::to_string(b.index));
      }
    if (kind == ProgramBuffer::Kind::Output && seen.empty())
      seen.push_back(0); // a program computes something
    for (size_t n = 0; n < seen.size(); ++n)
      if (!seen[n])
        return bad(err, "buffers", std::string("no ") + kindName(kind) + " " + std::to_string(n));
  }
  int64_t outputs = 0;
  for (const ProgramBuffer &b : out.buffers)
    outputs += b.kind == ProgramBuffer::Kind::Output;
  for (const ProgramBuffer &b : out.buffers)
    if (b.kind == ProgramBuffer::Kind::Lse && (b.index < -1 || b.index >= outputs))
      return bad(err, "buffer '" + b.name + "'", "the LSE of output " + std::to_string(b.index) +
                                                     ", but the program has " + std::to_string(outputs));
  for (size_t i = 0; i < steps->array().size(); ++i) {
    const JsonValue &v = steps->array()[i];
    std::string at = "steps[" + std::to_string(i) + "]";
    const JsonValue *kernel = v.get("kernel"), *bind = v.get("bind"), *reason = v.get("reason"),
                    *shapeOnly = v.get("shape_only");
    if (!kernel || !kernel->isString() || !bind || !bind->isObject() || (reason && !reason->isString()) ||
        (shapeOnly && !shapeOnly->isArray()))
      return bad(err, at, "expected kernel (a string), bind (an object), an optional reason (a string) and an "
                          "optional shape_only (an array)");
    ProgramStep &s = out.steps.emplace_back();
    s.kernel = kernel->str();
    if (!fileStem(s.kernel))
      return bad(err, at + ".kernel", "'" + s.kernel + "' is not a file stem (letters, digits, _ - .)");
    s.reason = reason ? reason->str() : "";
    for (const auto &[tensor, b] : bind->object()) {
      if (!b.isInteger() || b.integer() < 0 || b.integer() >= (int64_t)out.buffers.size())
        return bad(err, at + ".bind." + tensor, "expected a buffer index");
      s.bind.push_back({tensor, b.integer()});
    }
    for (size_t k = 0; shapeOnly && k < shapeOnly->array().size(); ++k) {
      const JsonValue &t = shapeOnly->array()[k];
      if (!t.isString() || std::none_of(s.bind.begin(), s.bind.end(), [&](const auto &b) { return b.first == t.str(); }))
        return bad(err, at + ".shape_only", "expected names of bound tensors");
      s.shapeOnly.push_back(t.str());
    }
  }
  return true;
}

std::string attnc::manifest::printProgram(const Program &p) {
  auto ints = [](const std::vector<int64_t> &v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i)
      s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  };
  std::string s = "{\n  \"buffers\": [";
  for (size_t i = 0; i < p.buffers.size(); ++i) {
    const ProgramBuffer &b = p.buffers[i];
    s += std::string(i ? "," : "") + "\n    {\"name\": " + jsonQuote(b.name) + ", \"kind\": \"" + kindName(b.kind) +
         "\", \"index\": " + std::to_string(b.index) + ", \"dtype\": " + jsonQuote(b.dtype) +
         ", \"shape\": " + ints(b.shape);
    if (!b.sizes.empty()) {
      s += ", \"sizes\": [";
      for (size_t d = 0; d < b.sizes.size(); ++d)
        s += (d ? ", " : "") + (b.shape[d] >= 0 ? b.sizes[d] : jsonQuote(b.sizes[d]));
      s += "]";
    }
    s += "}";
  }
  s += "\n  ],\n  \"steps\": [";
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const ProgramStep &st = p.steps[i];
    s += std::string(i ? "," : "") + "\n    {\"kernel\": " + jsonQuote(st.kernel) + ", \"bind\": {";
    for (size_t j = 0; j < st.bind.size(); ++j)
      s += (j ? ", " : "") + jsonQuote(st.bind[j].first) + ": " + std::to_string(st.bind[j].second);
    s += "}";
    if (!st.reason.empty())
      s += ", \"reason\": " + jsonQuote(st.reason);
    if (!st.shapeOnly.empty()) {
      s += ", \"shape_only\": [";
      for (size_t j = 0; j < st.shapeOnly.size(); ++j)
        s += (j ? ", " : "") + jsonQuote(st.shapeOnly[j]);
      s += "]";
    }
    s += "}";
  }
  return s + "\n  ]\n}\n";
}

std::vector<bool> attnc::manifest::staticSteps(const Program &p, const std::vector<bool> &isStatic) {
  using Kind = ProgramBuffer::Kind;
  const size_t n = p.steps.size();
  std::vector<int64_t> producer(p.buffers.size(), -1);
  for (size_t s = 0; s < n; ++s)
    for (const auto &bind : p.steps[s].bind)
      if (bind.second >= 0 && (size_t)bind.second < p.buffers.size() &&
          p.buffers[bind.second].kind == Kind::Temp && producer[bind.second] < 0)
        producer[bind.second] = (int64_t)s;
  // Largest set of steps that (a) read only declared static inputs and
  // temporaries of other such steps (or no input at all, or only inputs'
  // sizes: their results are a function of the dims, as a mask's block
  // classes over positions are), (b) bind
  // nothing else but temporaries they write first, and (c) whose
  // temporaries no other step binds except a Hopper kernel as a read-only
  // extra (a generic step binding one may write it). The run keys kept
  // results by the static inputs and every dim, so temporaries of dynamic
  // size qualify.
  std::vector<bool> out(n, true);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t s = 0; s < n; ++s) {
      if (!out[s])
        continue;
      bool ok = true;
      for (const auto &[tensor, bi] : p.steps[s].bind) {
        if (bi < 0 || (size_t)bi >= p.buffers.size()) {
          ok = false;
          break;
        }
        const ProgramBuffer &b = p.buffers[bi];
        bool sizesOnly = std::find(p.steps[s].shapeOnly.begin(), p.steps[s].shapeOnly.end(), tensor) !=
                         p.steps[s].shapeOnly.end();
        if (b.kind == Kind::Input)
          ok &= sizesOnly || (b.index >= 0 && (size_t)b.index < isStatic.size() && isStatic[b.index]);
        else if (b.kind != Kind::Temp || producer[bi] < 0 || (producer[bi] != (int64_t)s && !out[producer[bi]]))
          ok = false;
      }
      if (!ok)
        out[s] = false, changed = true;
    }
    for (size_t s = 0; s < n; ++s)
      for (const auto &[tensor, bi] : p.steps[s].bind)
        if (bi >= 0 && (size_t)bi < p.buffers.size() && p.buffers[bi].kind == Kind::Temp) {
          int64_t w = producer[bi];
          if (w >= 0 && w != (int64_t)s && out[w] && !out[s] && tensor.rfind("extra_", 0) != 0)
            out[w] = false, changed = true;
        }
  }
  return out;
}
