//===- JsonSpec.cpp - The spec JSON form ----------------------------------===//
//
// Reads and writes the JSON form with nlohmann/json. This is the one file of
// the project compiled with exceptions (nlohmann reports syntax errors by
// throwing); every exception is caught here and becomes an llvm::Error, so
// nothing propagates into the exception-free rest of LLVM-land.
//
// Locations: nlohmann does not record where values were, so a small scanner
// walks the (already validated) text once and maps every JSON pointer to the
// line/column of its value. A node's SourceLoc is then "FILE:/pointer" with
// that file position, except inside expression strings, whose positions are
// line 1 and the column within the string.
//
//===----------------------------------------------------------------------===//

#include "attnc/Spec/Parser.h"

#include "SpecUtil.h"

#include "llvm/ADT/StringExtras.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <optional>

using namespace attnc::spec;
using namespace attnc::spec::detail;
// Keeps keys in the order they were written (and printed in our order).
using Json = nlohmann::ordered_json;

namespace {

/// Escapes a key as a JSON pointer reference token (RFC 6901).
std::string escapePointer(llvm::StringRef key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

struct Position {
  unsigned line = 1, col = 1;
};

/// Line/column of a byte offset in TEXT.
Position positionOf(llvm::StringRef text, size_t offset) {
  Position p;
  offset = std::min(offset, text.size());
  for (size_t k = 0; k < offset; ++k) {
    if (text[k] == '\n') {
      ++p.line;
      p.col = 1;
    } else {
      ++p.col;
    }
  }
  return p;
}

//===----------------------------------------------------------------------===//
// Position scanner
//===----------------------------------------------------------------------===//

/// Maps JSON pointers to the position of their value. Runs only on text that
/// nlohmann accepted, but stays defensive: on anything unexpected it stops
/// and leaves the remaining pointers at 1:1.
class PositionScanner {
public:
  PositionScanner(llvm::StringRef text, std::map<std::string, Position> &positions,
                  std::map<std::string, Position> &keyPositions)
      : text(text), positions(positions), keyPositions(keyPositions) {}

  /// Scans the document; returns the pointer and position of the first
  /// duplicated object key, if any (nlohmann silently keeps the last one).
  std::optional<std::pair<std::string, Position>> run() {
    skipSpace();
    value("", 0);
    return duplicate;
  }

private:
  llvm::StringRef text;
  std::map<std::string, Position> &positions;
  std::map<std::string, Position> &keyPositions; // object members only
  size_t pos = 0;
  Position here;
  std::optional<std::pair<std::string, Position>> duplicate;
  static constexpr unsigned kMaxDepth = 200;

  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  void advance() {
    if (pos >= text.size())
      return;
    if (text[pos] == '\n') {
      ++here.line;
      here.col = 1;
    } else {
      ++here.col;
    }
    ++pos;
  }
  void skipSpace() {
    while (pos < text.size() && (peek() == ' ' || peek() == '\t' || peek() == '\n' ||
                                 peek() == '\r'))
      advance();
  }

  static void appendUtf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
      out += (char)cp;
    } else if (cp < 0x800) {
      out += (char)(0xC0 | (cp >> 6));
      out += (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += (char)(0xE0 | (cp >> 12));
      out += (char)(0x80 | ((cp >> 6) & 0x3F));
      out += (char)(0x80 | (cp & 0x3F));
    } else {
      out += (char)(0xF0 | (cp >> 18));
      out += (char)(0x80 | ((cp >> 12) & 0x3F));
      out += (char)(0x80 | ((cp >> 6) & 0x3F));
      out += (char)(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(unsigned &cp) {
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      char c = peek();
      unsigned d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return false;
      cp = cp * 16 + d;
      advance();
    }
    return true;
  }

  /// A string starting at '"'; decodes it into OUT when given.
  bool string(std::string *out) {
    if (peek() != '"')
      return false;
    advance();
    while (pos < text.size()) {
      char c = peek();
      if (c == '"') {
        advance();
        return true;
      }
      if (c != '\\') {
        if (out)
          *out += c;
        advance();
        continue;
      }
      advance();
      char e = peek();
      advance();
      switch (e) {
      case 'b': if (out) *out += '\b'; break;
      case 'f': if (out) *out += '\f'; break;
      case 'n': if (out) *out += '\n'; break;
      case 'r': if (out) *out += '\r'; break;
      case 't': if (out) *out += '\t'; break;
      case 'u': {
        unsigned cp;
        if (!hex4(cp))
          return false;
        // A surrogate pair encodes one code point.
        if (cp >= 0xD800 && cp < 0xDC00 && peek() == '\\' && pos + 1 < text.size() &&
            text[pos + 1] == 'u') {
          advance();
          advance();
          unsigned lo;
          if (!hex4(lo))
            return false;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (out)
          appendUtf8(*out, cp);
        break;
      }
      default:
        if (out)
          *out += e;
      }
    }
    return false;
  }

  bool value(const std::string &ptr, unsigned depth) {
    if (depth > kMaxDepth)
      return false;
    char c = peek();
    if (c == '{') {
      advance();
      skipSpace();
      if (peek() == '}') {
        advance();
        return true;
      }
      std::map<std::string, bool> seen;
      while (true) {
        skipSpace();
        std::string key;
        Position keyPos = here;
        if (!string(&key))
          return false;
        skipSpace();
        if (peek() != ':')
          return false;
        advance();
        skipSpace();
        std::string child = ptr + "/" + escapePointer(key);
        if (seen[key] && !duplicate)
          duplicate = {child, keyPos};
        seen[key] = true;
        keyPositions[child] = keyPos;
        positions[child] = here;
        if (!value(child, depth + 1))
          return false;
        skipSpace();
        if (peek() == ',') {
          advance();
          continue;
        }
        if (peek() == '}') {
          advance();
          return true;
        }
        return false;
      }
    }
    if (c == '[') {
      advance();
      skipSpace();
      if (peek() == ']') {
        advance();
        return true;
      }
      for (size_t n = 0;; ++n) {
        skipSpace();
        std::string child = ptr + "/" + std::to_string(n);
        positions[child] = here;
        if (!value(child, depth + 1))
          return false;
        skipSpace();
        if (peek() == ',') {
          advance();
          continue;
        }
        if (peek() == ']') {
          advance();
          return true;
        }
        return false;
      }
    }
    if (c == '"')
      return string(nullptr);
    // Literals and numbers: everything up to a delimiter.
    size_t start = pos;
    while (pos < text.size() && !llvm::StringRef(",]} \t\r\n").contains(peek()))
      advance();
    return pos > start;
  }
};

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

class JsonReader {
public:
  JsonReader(llvm::StringRef text, std::string file)
      : text(text), file(std::move(file)), diags(text, this->file, 1, 1, /*pointerFiles=*/true) {}

  bool read(const Json &root, Spec &spec);
  bool fail(const std::string &ptr, const llvm::Twine &msg) { return failAt(at(ptr), msg); }
  /// The first error only: the reader stops there, as the text parser does.
  bool failAt(const SourceLoc &l, const llvm::Twine &msg) {
    if (!diags.errorCount())
      diags.error(l, msg);
    return false;
  }
  bool failWith(llvm::Error err) {
    diags.errorCount() ? llvm::consumeError(std::move(err)) : diags.append(std::move(err));
    return false;
  }
  llvm::Error takeError() { return diags.takeError(); }
  std::map<std::string, Position> positions, keyPositions;

private:
  llvm::StringRef text;
  std::string file;
  DiagnosticSink diags;

  SourceLoc at(const std::string &ptr) const {
    Position p;
    if (auto it = positions.find(ptr); it != positions.end())
      p = it->second;
    return SourceLoc{ptr.empty() ? file : file + ":" + ptr, p.line, p.col};
  }
  /// Where an object member's key was written (errors about the key itself,
  /// and keyword arguments, which the text form locates at the key too).
  SourceLoc atKey(const std::string &ptr) const {
    SourceLoc l = at(ptr);
    if (auto it = keyPositions.find(ptr); it != keyPositions.end()) {
      l.line = it->second.line;
      l.col = it->second.col;
    }
    return l;
  }

  static std::string typeName(const Json &j) {
    if (j.is_number())
      return "a number";
    if (j.is_string())
      return "a string";
    if (j.is_boolean())
      return "a boolean";
    if (j.is_array())
      return "an array";
    if (j.is_object())
      return "an object";
    return "null";
  }

  bool expectObject(const Json &j, const std::string &ptr, llvm::StringRef what) {
    if (j.is_object())
      return true;
    return fail(ptr, "expected " + what + " (a JSON object), got " + typeName(j));
  }
  bool expectArray(const Json &j, const std::string &ptr, llvm::StringRef what) {
    if (j.is_array())
      return true;
    return fail(ptr, "expected " + what + " (a JSON array), got " + typeName(j));
  }

  /// Rejects keys outside ALLOWED; nothing is silently ignored.
  bool checkKeys(const Json &obj, const std::string &ptr, const std::vector<std::string> &allowed,
                 llvm::StringRef what) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!llvm::is_contained(allowed, it.key()))
        return failAt(atKey(ptr + "/" + escapePointer(it.key())),
                      "unknown key '" + it.key() + "' in " + what + "; expected one of " +
                        joinNames(allowed) + didYouMean(it.key(), allowed));
    return true;
  }

  bool getString(const Json &obj, const std::string &ptr, llvm::StringRef key, std::string &out,
                 bool required, SourceLoc *where = nullptr) {
    auto it = obj.find(key.str());
    if (it == obj.end()) {
      if (required)
        return fail(ptr, "missing key '" + key + "'");
      return true;
    }
    std::string child = ptr + "/" + escapePointer(key);
    if (!it->is_string())
      return fail(child, "'" + key + "' must be a string, got " + typeName(*it));
    out = it->get<std::string>();
    if (where)
      *where = at(child);
    return true;
  }

  bool readExpr(const Json &j, const std::string &ptr, ExprPtr &out) {
    if (j.is_number()) {
      // Convenience (mostly for scale): a plain JSON number.
      out = std::make_shared<Expr>();
      out->kind = Expr::Kind::Number;
      out->number = j.get<double>();
      out->isInteger = (j.is_number_integer() || j.is_number_unsigned()) &&
                       std::fabs(out->number) <= 9007199254740992.0;
      out->loc = at(ptr);
      return true;
    }
    if (!j.is_string())
      return fail(ptr, "expected an expression string, got " + typeName(j));
    // Positions inside the string: line 1, column within the string.
    auto e = parseExpr(j.get<std::string>(), SourceLoc{file + ":" + ptr, 1, 1});
    if (!e)
      return failWith(e.takeError());
    out = std::move(*e);
    return true;
  }

  /// An expression or a list of them (mask, score).
  bool readExprList(const Json &j, const std::string &ptr, std::vector<ExprPtr> &out) {
    if (j.is_string())
      return readExpr(j, ptr, out.emplace_back());
    if (!expectArray(j, ptr, "a list of expression strings"))
      return false;
    for (size_t n = 0; n < j.size(); ++n)
      if (!readExpr(j[n], ptr + "/" + std::to_string(n), out.emplace_back()))
        return false;
    return true;
  }

  bool readValue(const Json &j, const std::string &ptr, Arg &a, bool allowList) {
    a.loc = at(ptr);
    if (j.is_number()) {
      a.kind = Arg::Kind::Number;
      a.number = j.get<double>();
      return true;
    }
    if (j.is_boolean()) {
      a.kind = Arg::Kind::Word;
      a.word = j.get<bool>() ? "true" : "false";
      return true;
    }
    if (j.is_string()) {
      std::string s = j.get<std::string>();
      // JSON has no infinity; the writer spells it as a string.
      if (s == "inf" || s == "-inf") {
        a.kind = Arg::Kind::Number;
        a.number = s == "inf" ? INFINITY : -INFINITY;
        return true;
      }
      a.kind = Arg::Kind::Word;
      a.word = std::move(s);
      return true;
    }
    if (j.is_array() && allowList) {
      a.kind = Arg::Kind::List;
      if (j.empty())
        return fail(ptr, "a list argument needs at least one element");
      for (size_t n = 0; n < j.size(); ++n)
        if (!readValue(j[n], ptr + "/" + std::to_string(n), a.list.emplace_back(), false))
          return false;
      return true;
    }
    return fail(ptr, std::string(allowList ? "expected a number, a name or a list"
                                           : "expected a number or a name") +
                         ", got " + typeName(j));
  }

  /// Keyword arguments: every member of OBJ except those in SKIP.
  bool readArgs(const Json &obj, const std::string &ptr, std::vector<Arg> &args,
                llvm::ArrayRef<std::string> skip = {}) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (llvm::is_contained(skip, it.key()))
        continue;
      Arg &a = args.emplace_back();
      std::string child = ptr + "/" + escapePointer(it.key());
      if (!readValue(it.value(), child, a, true))
        return false;
      a.key = it.key();
      a.loc = atKey(child);
    }
    return true;
  }

  /// "name" or {"kind": "name", key: value, ...} (carrier, link, anchor).
  bool readFamily(const Json &j, const std::string &ptr, std::string &kind,
                  std::vector<Arg> &args, SourceLoc &where, llvm::StringRef what) {
    if (j.is_string()) {
      kind = j.get<std::string>();
      where = at(ptr);
      return true;
    }
    if (!j.is_object())
      return fail(ptr, "expected " + what + ": a name or an object {\"kind\": ...}, got " +
                           typeName(j));
    if (!getString(j, ptr, "kind", kind, /*required=*/true, &where))
      return false;
    return readArgs(j, ptr, args, {"kind"});
  }

  bool readInput(const Json &j, const std::string &ptr, InputDecl &in);
  bool readLet(const Json &j, const std::string &ptr, LetDecl &let);
  bool readAttention(const Json &j, const std::string &ptr, AttentionDecl &a);
};

bool JsonReader::read(const Json &root, Spec &spec) {
  spec.loc = at("");
  if (!expectObject(root, "", "a spec"))
    return false;
  if (!checkKeys(root, "", {"variant", "dims", "inputs", "lets", "attentions", "outputs"},
                 "the spec"))
    return false;
  if (root.contains("variant") && !getString(root, "", "variant", spec.name, false, &spec.loc))
    return false;
  auto list = [&](const char *key, llvm::StringRef what,
                  const std::function<bool(const Json &, const std::string &)> &fn) {
    auto it = root.find(key);
    if (it == root.end())
      return true;
    std::string ptr = std::string("/") + key;
    if (!expectArray(*it, ptr, what))
      return false;
    for (size_t n = 0; n < it->size(); ++n)
      if (!fn((*it)[n], ptr + "/" + std::to_string(n)))
        return false;
    return true;
  };
  return list("dims", "a list of dim names",
              [&](const Json &j, const std::string &ptr) {
                if (!j.is_string())
                  return fail(ptr, "a dim must be a string, got " + typeName(j));
                spec.dims.push_back(j.get<std::string>());
                spec.dimLocs.push_back(at(ptr));
                return true;
              }) &&
         list("inputs", "a list of inputs",
              [&](const Json &j, const std::string &ptr) {
                return readInput(j, ptr, spec.inputs.emplace_back());
              }) &&
         list("lets", "a list of lets",
              [&](const Json &j, const std::string &ptr) {
                return readLet(j, ptr, spec.lets.emplace_back());
              }) &&
         list("attentions", "a list of attentions",
              [&](const Json &j, const std::string &ptr) {
                return readAttention(j, ptr, spec.attentions.emplace_back());
              }) &&
         list("outputs", "a list of outputs", [&](const Json &j, const std::string &ptr) {
           OutputDecl &o = spec.outputs.emplace_back();
           if (!expectObject(j, ptr, "an output {\"name\", \"expr\"}") ||
               !checkKeys(j, ptr, {"name", "expr"}, "an output") ||
               !getString(j, ptr, "name", o.name, true, &o.loc))
             return false;
           if (!j.contains("expr"))
             return fail(ptr, "missing key 'expr'");
           return readExpr(j["expr"], ptr + "/expr", o.expr);
         });
}

bool JsonReader::readInput(const Json &j, const std::string &ptr, InputDecl &in) {
  if (!expectObject(j, ptr, "an input {\"name\", \"shape\"}") ||
      !checkKeys(j, ptr, {"name", "shape", "dtype"}, "an input") ||
      !getString(j, ptr, "name", in.name, true, &in.loc) ||
      !getString(j, ptr, "dtype", in.dtype, false, &in.dtypeLoc))
    return false;
  if (!in.dtype.empty() && in.dtype != "i32" && in.dtype != "float" && in.dtype != "f8e4m3")
    return fail(ptr + "/dtype", "an input's dtype must be \"i32\" (an integer table), "
                                "\"float\" or \"f8e4m3\", got \"" + in.dtype + "\"");
  if (!j.contains("shape"))
    return fail(ptr, "missing key 'shape'");
  const Json &shape = j["shape"];
  std::string sptr = ptr + "/shape";
  if (!expectArray(shape, sptr, "a shape [dim, ...]"))
    return false;
  for (size_t n = 0; n < shape.size(); ++n) {
    std::string eptr = sptr + "/" + std::to_string(n);
    const Json &d = shape[n];
    unsigned long long v;
    if (d.is_string() && !llvm::StringRef(d.get<std::string>()).getAsInteger(10, v) &&
        llvm::all_of(d.get<std::string>(), llvm::isDigit))
      in.shape.push_back(std::to_string(v)); // "016" reads like the text form's 016
    else if (d.is_string())
      in.shape.push_back(d.get<std::string>());
    else if (d.is_number_integer() && d.get<int64_t>() > 0)
      in.shape.push_back(std::to_string(d.get<int64_t>()));
    else
      return fail(eptr, "a shape entry must be a dim name or a positive integer, got " +
                            (d.is_number() ? d.dump() : typeName(d)));
    in.shapeLocs.push_back(at(eptr));
  }
  return true;
}

bool JsonReader::readLet(const Json &j, const std::string &ptr, LetDecl &let) {
  if (!expectObject(j, ptr, "a let {\"name\", \"fn\", \"source\", ...}") ||
      !checkKeys(j, ptr, {"name", "fn", "source", "args", "expr"}, "a let") ||
      !getString(j, ptr, "name", let.name, true, &let.loc) ||
      !getString(j, ptr, "fn", let.fn, true, &let.fnLoc) ||
      !getString(j, ptr, "source", let.source, true, &let.sourceLoc))
    return false;
  if (auto it = j.find("args"); it != j.end()) {
    if (!expectObject(*it, ptr + "/args", "keyword arguments {\"key\": value}") ||
        !readArgs(*it, ptr + "/args", let.args))
      return false;
    // The writer spells positional arguments with the key "" (see writeArgs).
  }
  if (auto it = j.find("expr"); it != j.end())
    return readExpr(*it, ptr + "/expr", let.expr);
  return true;
}

bool JsonReader::readAttention(const Json &j, const std::string &ptr, AttentionDecl &a) {
  static const std::vector<std::string> keys = {
      "name",  "q",          "k",    "v",      "carrier", "mask",    "scale",
      "score", "score_conv", "link", "anchor", "weights", "schedule", "axis"};
  if (!expectObject(j, ptr, "an attention {\"name\", \"q\", \"k\", \"v\", ...}") ||
      !checkKeys(j, ptr, keys, "an attention") ||
      !getString(j, ptr, "name", a.name, true, &a.loc) ||
      !getString(j, ptr, "q", a.q, true, &a.qLoc) || !getString(j, ptr, "k", a.k, true, &a.kLoc) ||
      !getString(j, ptr, "v", a.v, true, &a.vLoc))
    return false;
  a.linkLoc = a.anchorLoc = a.loc;
  if (auto it = j.find("carrier"); it != j.end()) {
    std::string cptr = ptr + "/carrier";
    // One carrier may be given bare instead of as a one-element list.
    if (it->is_object() || it->is_string()) {
      CarrierDecl &c = a.carriers.emplace_back();
      if (!readFamily(*it, cptr, c.kind, c.args, c.loc, "a carrier"))
        return false;
    } else {
      if (!expectArray(*it, cptr, "a list of carriers"))
        return false;
      for (size_t n = 0; n < it->size(); ++n) {
        CarrierDecl &c = a.carriers.emplace_back();
        if (!readFamily((*it)[n], cptr + "/" + std::to_string(n), c.kind, c.args, c.loc,
                        "a carrier"))
          return false;
      }
    }
  }
  if (auto it = j.find("mask"); it != j.end() && !readExprList(*it, ptr + "/mask", a.masks))
    return false;
  if (auto it = j.find("scale"); it != j.end()) {
    if (!readExpr(*it, ptr + "/scale", a.scale.emplace()))
      return false;
  }
  if (auto it = j.find("score"); it != j.end() && !readExprList(*it, ptr + "/score", a.scores))
    return false;
  if (auto it = j.find("score_conv"); it != j.end()) {
    std::string sptr = ptr + "/score_conv";
    std::vector<Arg> args;
    if (!expectObject(*it, sptr, "{\"weight\", \"queries\", \"keys\"}") ||
        !readArgs(*it, sptr, args))
      return false;
    AttentionDecl::ScoreConv conv;
    if (std::optional<Diag> d = buildScoreConv(args, at(sptr), conv))
      return failAt(d->loc, d->message);
    a.scoreConv = std::move(conv);
  }
  if (auto it = j.find("link"); it != j.end() &&
                                !readFamily(*it, ptr + "/link", a.link, a.linkArgs, a.linkLoc,
                                            "a link"))
    return false;
  if (auto it = j.find("anchor"); it != j.end() &&
                                  !readFamily(*it, ptr + "/anchor", a.anchor, a.anchorArgs,
                                              a.anchorLoc, "an anchor"))
    return false;
  if (auto it = j.find("weights"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>() != "signed")
      return fail(ptr + "/weights", "'weights' must be \"signed\" (omit it for the default)");
    a.signedWeights = true;
  }
  if (auto it = j.find("axis"); it != j.end()) {
    if (!it->is_string() || (*it != "features" && *it != "tokens"))
      return fail(ptr + "/axis", "'axis' must be \"tokens\" (the default) or \"features\"");
    a.featureAxis = *it == "features";
    a.axisLoc = at(ptr + "/axis");
  }
  if (auto it = j.find("schedule"); it != j.end()) {
    std::string sptr = ptr + "/schedule";
    if (!expectObject(*it, sptr, "a schedule {\"split_kv\": CHUNK}") ||
        !checkKeys(*it, sptr, {"split_kv"}, "a schedule"))
      return false;
    if (auto s = it->find("split_kv"); s != it->end()) {
      bool ok = s->is_number_integer() && s->get<int64_t>() >= 1;
      if (!ok)
        return fail(sptr + "/split_kv", "the split_kv chunk must be a positive integer");
      a.splitKV = s->get<int64_t>();
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

Json writeValue(const Arg &a) {
  switch (a.kind) {
  case Arg::Kind::Number:
    if (!std::isfinite(a.number))
      return Json(formatDouble(a.number));
    if (isIntegral(a.number) && std::fabs(a.number) < 9007199254740992.0)
      return Json((int64_t)a.number);
    return Json(a.number);
  case Arg::Kind::Word:
    if (a.word == "true" || a.word == "false")
      return Json(a.word == "true");
    return Json(a.word);
  case Arg::Kind::List: {
    Json list = Json::array();
    for (const Arg &x : a.list)
      list.push_back(writeValue(x));
    return list;
  }
  }
  return Json();
}

void writeArgs(Json &obj, const std::vector<Arg> &args, const FamilyInfo *family) {
  for (const Arg *a : canonicalArgOrder(args, family))
    obj[a->key] = writeValue(*a); // positional arguments get the key ""
}

Json writeFamily(const std::string &kind, const std::vector<Arg> &args,
                 const FamilyInfo *family, bool alwaysObject) {
  if (args.empty() && !alwaysObject)
    return Json(kind);
  Json obj = Json::object();
  obj["kind"] = kind;
  writeArgs(obj, args, family);
  return obj;
}

Json writeShapeEntry(const std::string &d) {
  unsigned long long v;
  if (!d.empty() && llvm::all_of(d, llvm::isDigit) && !llvm::StringRef(d).getAsInteger(10, v) &&
      v < (1ull << 53))
    return Json((int64_t)v);
  return Json(d);
}

std::string exprString(const ExprPtr &e) { return e ? printExpr(*e) : std::string(); }

} // namespace

llvm::Expected<Spec> attnc::spec::parseSpecJson(llvm::StringRef text, llvm::StringRef filename) {
  JsonReader reader(text, filename.str());
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error &e) {
    // `byte` counts from 1 and names the last character read: the end of
    // the offending token. Point at its start instead.
    size_t at = std::min<size_t>(e.byte ? e.byte - 1 : 0, text.size());
    llvm::StringRef what = e.what();
    if (at < text.size() && what.contains("unexpected string literal") && text[at] == '"') {
      while (at > 0) {
        --at;
        if (text[at] == '"' && !(at > 0 && text[at - 1] == '\\'))
          break;
      }
    } else if (what.contains("invalid literal") || what.contains("invalid number")) {
      auto inToken = [](char c) { return llvm::isAlnum(c) || llvm::StringRef("+-.").contains(c); };
      while (at > 0 && inToken(text[at - 1]))
        --at;
    }
    Position p = positionOf(text, at);
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line
    // L, column C: " prefix: the location is ours.
    size_t colon = what.find(": ", what.find("parse error"));
    if (colon != llvm::StringRef::npos)
      what = what.substr(colon + 2);
    DiagnosticSink diags(text, filename);
    diags.error(SourceLoc{filename.str(), p.line, p.col}, "invalid JSON: " + what);
    return diags.takeError();
  } catch (const Json::exception &e) {
    return makeError(SourceLoc{filename.str(), 1, 1}, llvm::Twine("invalid JSON: ") + e.what());
  }

  PositionScanner scanner(text, reader.positions, reader.keyPositions);
  if (auto dup = scanner.run()) {
    llvm::StringRef ptr = dup->first;
    std::string key = ptr.substr(ptr.rfind('/') + 1).str();
    DiagnosticSink diags(text, filename, 1, 1, /*pointerFiles=*/true);
    diags.error(SourceLoc{filename.str() + ":" + dup->first, dup->second.line, dup->second.col,
                          (unsigned)key.size() + 2},
                "duplicate key '" + key + "'");
    return diags.takeError();
  }

  Spec spec;
  bool ok;
  try {
    ok = reader.read(root, spec);
  } catch (const Json::exception &e) {
    // The reader checks every type before reading, so this is a bug guard.
    return makeError(SourceLoc{filename.str(), 1, 1},
                     llvm::Twine("unexpected JSON structure: ") + e.what());
  }
  if (!ok)
    return reader.takeError();
  return spec;
}

std::string attnc::spec::printSpecJson(const Spec &spec) {
  try {
    Json root = Json::object();
    root["variant"] = spec.name;
    root["dims"] = spec.dims;
    Json inputs = Json::array();
    for (const InputDecl &in : spec.inputs) {
      Json shape = Json::array();
      for (const std::string &d : in.shape)
        shape.push_back(writeShapeEntry(d));
      Json entry{{"name", in.name}, {"shape", shape}};
      if (!in.dtype.empty())
        entry["dtype"] = in.dtype;
      inputs.push_back(std::move(entry));
    }
    root["inputs"] = inputs;
    Json lets = Json::array();
    for (const LetDecl &let : spec.lets) {
      Json l = Json{{"name", let.name}, {"fn", let.fn}, {"source", let.source}};
      if (!let.args.empty()) {
        Json args = Json::object();
        writeArgs(args, let.args, findFamily(letFamilies(), let.fn));
        l["args"] = args;
      }
      if (let.expr)
        l["expr"] = exprString(let.expr);
      lets.push_back(l);
    }
    root["lets"] = lets;
    Json atts = Json::array();
    for (const AttentionDecl &a : spec.attentions) {
      Json o = Json{{"name", a.name}, {"q", a.q}, {"k", a.k}, {"v", a.v}};
      if (!a.carriers.empty()) {
        Json cs = Json::array();
        for (const CarrierDecl &c : a.carriers)
          cs.push_back(writeFamily(c.kind, c.args, findFamily(carrierFamilies(), c.kind),
                                   /*alwaysObject=*/true));
        o["carrier"] = cs;
      }
      if (!a.masks.empty()) {
        Json ms = Json::array();
        for (const ExprPtr &m : a.masks)
          ms.push_back(exprString(m));
        o["mask"] = ms;
      }
      if (a.scale)
        o["scale"] = exprString(*a.scale);
      if (!a.scores.empty()) {
        Json ss = Json::array();
        for (const ExprPtr &s : a.scores)
          ss.push_back(exprString(s));
        o["score"] = ss;
      }
      if (a.scoreConv)
        o["score_conv"] = Json{{"weight", a.scoreConv->weight},
                               {"queries", a.scoreConv->queries},
                               {"keys", a.scoreConv->keys}};
      o["link"] = writeFamily(a.link, a.linkArgs, findFamily(linkFamilies(), a.link), false);
      o["anchor"] =
          writeFamily(a.anchor, a.anchorArgs, findFamily(anchorFamilies(), a.anchor), false);
      if (a.signedWeights)
        o["weights"] = "signed";
      if (a.splitKV)
        o["schedule"] = Json{{"split_kv", a.splitKV}};
      if (a.featureAxis)
        o["axis"] = "features";
      atts.push_back(o);
    }
    root["attentions"] = atts;
    Json outs = Json::array();
    for (const OutputDecl &o : spec.outputs)
      outs.push_back(Json{{"name", o.name}, {"expr", exprString(o.expr)}});
    root["outputs"] = outs;
    // Invalid UTF-8 in names is replaced rather than thrown on.
    return root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  } catch (const Json::exception &) {
    return std::string("{\"error\": \"cannot print the spec as JSON\"}\n");
  }
}
