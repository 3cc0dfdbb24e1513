//===- ManifestJson.cpp - A small strict JSON reader ----------------------===//
#include "ManifestJson.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace attnc {
namespace rt {

const char *JsonValue::kindName() const {
  switch (K) {
  case Null: return "null";
  case Bool: return "boolean";
  case Number: return "number";
  case String: return "string";
  case Array: return "array";
  case Object: return "object";
  }
  return "?";
}

const JsonValue *JsonValue::get(const std::string &key) const {
  if (K != Object)
    return nullptr;
  for (const auto &m : Obj)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

class JsonParser {
public:
  explicit JsonParser(const std::string &t) : T(t) {}

  bool run(JsonValue &out, std::string &err) {
    skipWs();
    if (!value(out, 0)) {
      err = Err;
      return false;
    }
    skipWs();
    if (P != T.size()) {
      fail("unexpected text after the JSON value");
      err = Err;
      return false;
    }
    return true;
  }

private:
  static constexpr int MaxDepth = 64;
  const std::string &T;
  size_t P = 0;
  std::string Err;

  bool fail(const std::string &what) {
    if (!Err.empty())
      return false;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < P && i < T.size(); ++i) {
      if (T[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    char buf[64];
    snprintf(buf, sizeof buf, "line %zu, column %zu: ", line, col);
    Err = buf + what;
    return false;
  }
  std::string describeHere() const {
    if (P >= T.size())
      return "end of input";
    unsigned char c = (unsigned char)T[P];
    char buf[32];
    if (c >= 0x20 && c < 0x7f)
      snprintf(buf, sizeof buf, "'%c'", c);
    else
      snprintf(buf, sizeof buf, "byte 0x%02x", c);
    return buf;
  }
  void skipWs() {
    while (P < T.size() && (T[P] == ' ' || T[P] == '\t' || T[P] == '\n' || T[P] == '\r'))
      ++P;
  }
  bool literal(const char *word) {
    size_t n = strlen(word);
    if (T.compare(P, n, word) != 0)
      return fail(std::string("invalid literal (expected '") + word + "')");
    P += n;
    return true;
  }

  bool value(JsonValue &v, int depth) {
    if (depth > MaxDepth)
      return fail("nesting deeper than 64 levels");
    if (P >= T.size())
      return fail("unexpected end of input, expected a value");
    char c = T[P];
    switch (c) {
    case '{': return object(v, depth);
    case '[': return array(v, depth);
    case '"':
      v.K = JsonValue::String;
      return string(v.Str);
    case 't':
      v.K = JsonValue::Bool;
      v.B = true;
      return literal("true");
    case 'f':
      v.K = JsonValue::Bool;
      v.B = false;
      return literal("false");
    case 'n':
      v.K = JsonValue::Null;
      return literal("null");
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        return number(v);
      return fail("expected a value, found " + describeHere());
    }
  }

  bool object(JsonValue &v, int depth) {
    v.K = JsonValue::Object;
    ++P; // '{'
    skipWs();
    if (P < T.size() && T[P] == '}') {
      ++P;
      return true;
    }
    for (;;) {
      skipWs();
      if (P >= T.size() || T[P] != '"')
        return fail("expected a string key, found " + describeHere());
      size_t keyPos = P;
      std::string key;
      if (!string(key))
        return false;
      for (const auto &m : v.Obj)
        if (m.first == key) {
          P = keyPos;
          return fail("duplicate key \"" + key + "\"");
        }
      skipWs();
      if (P >= T.size() || T[P] != ':')
        return fail("expected ':' after key, found " + describeHere());
      ++P;
      skipWs();
      v.Obj.emplace_back(std::move(key), JsonValue());
      if (!value(v.Obj.back().second, depth + 1))
        return false;
      skipWs();
      if (P < T.size() && T[P] == ',') {
        ++P;
        continue;
      }
      if (P < T.size() && T[P] == '}') {
        ++P;
        return true;
      }
      return fail("expected ',' or '}' in object, found " + describeHere());
    }
  }

  bool array(JsonValue &v, int depth) {
    v.K = JsonValue::Array;
    ++P; // '['
    skipWs();
    if (P < T.size() && T[P] == ']') {
      ++P;
      return true;
    }
    for (;;) {
      skipWs();
      v.Arr.emplace_back();
      if (!value(v.Arr.back(), depth + 1))
        return false;
      skipWs();
      if (P < T.size() && T[P] == ',') {
        ++P;
        continue;
      }
      if (P < T.size() && T[P] == ']') {
        ++P;
        return true;
      }
      return fail("expected ',' or ']' in array, found " + describeHere());
    }
  }

  static void putUtf8(std::string &s, uint32_t cp) {
    if (cp < 0x80) {
      s += (char)cp;
    } else if (cp < 0x800) {
      s += (char)(0xC0 | (cp >> 6));
      s += (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += (char)(0xE0 | (cp >> 12));
      s += (char)(0x80 | ((cp >> 6) & 0x3F));
      s += (char)(0x80 | (cp & 0x3F));
    } else {
      s += (char)(0xF0 | (cp >> 18));
      s += (char)(0x80 | ((cp >> 12) & 0x3F));
      s += (char)(0x80 | ((cp >> 6) & 0x3F));
      s += (char)(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t &out) {
    out = 0;
    for (int i = 0; i < 4; ++i) {
      if (P >= T.size())
        return fail("unexpected end of input in \\u escape");
      char c = T[P];
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return fail("invalid hex digit in \\u escape");
      out = out * 16 + d;
      ++P;
    }
    return true;
  }
  bool string(std::string &s) {
    ++P; // opening quote
    for (;;) {
      if (P >= T.size())
        return fail("unterminated string");
      unsigned char c = (unsigned char)T[P];
      if (c == '"') {
        ++P;
        return true;
      }
      if (c < 0x20)
        return fail("control character in string (escape it)");
      if (c != '\\') {
        s += (char)c;
        ++P;
        continue;
      }
      ++P;
      if (P >= T.size())
        return fail("unterminated escape");
      char e = T[P++];
      switch (e) {
      case '"': s += '"'; break;
      case '\\': s += '\\'; break;
      case '/': s += '/'; break;
      case 'b': s += '\b'; break;
      case 'f': s += '\f'; break;
      case 'n': s += '\n'; break;
      case 'r': s += '\r'; break;
      case 't': s += '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (P + 1 >= T.size() || T[P] != '\\' || T[P + 1] != 'u')
            return fail("unpaired surrogate in \\u escape");
          P += 2;
          if (!hex4(lo))
            return false;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail("invalid low surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail("unpaired surrogate in \\u escape");
        }
        putUtf8(s, cp);
        break;
      }
      default:
        --P;
        return fail("invalid escape \\" + std::string(1, e));
      }
    }
  }

  bool number(JsonValue &v) {
    size_t start = P;
    bool isInt = true;
    if (T[P] == '-')
      ++P;
    if (P >= T.size() || !(T[P] >= '0' && T[P] <= '9'))
      return fail("invalid number");
    if (T[P] == '0') {
      ++P;
      if (P < T.size() && T[P] >= '0' && T[P] <= '9')
        return fail("invalid number (leading zero)");
    } else {
      while (P < T.size() && T[P] >= '0' && T[P] <= '9')
        ++P;
    }
    if (P < T.size() && T[P] == '.') {
      isInt = false;
      ++P;
      if (P >= T.size() || !(T[P] >= '0' && T[P] <= '9'))
        return fail("invalid number (digit expected after '.')");
      while (P < T.size() && T[P] >= '0' && T[P] <= '9')
        ++P;
    }
    if (P < T.size() && (T[P] == 'e' || T[P] == 'E')) {
      isInt = false;
      ++P;
      if (P < T.size() && (T[P] == '+' || T[P] == '-'))
        ++P;
      if (P >= T.size() || !(T[P] >= '0' && T[P] <= '9'))
        return fail("invalid number (digit expected in exponent)");
      while (P < T.size() && T[P] >= '0' && T[P] <= '9')
        ++P;
    }
    std::string text = T.substr(start, P - start);
    v.K = JsonValue::Number;
    v.Num = strtod(text.c_str(), nullptr);
    if (isInt) {
      errno = 0;
      long long x = strtoll(text.c_str(), nullptr, 10);
      if (errno == 0) {
        v.IsInt = true;
        v.Int = x;
      }
    } else if (std::isfinite(v.Num) && v.Num == std::floor(v.Num) && std::fabs(v.Num) < 9.0e15) {
      // 1e3 or 128.0: integer-valued, accept where an integer is wanted.
      v.IsInt = true;
      v.Int = (int64_t)v.Num;
    }
    return true;
  }
};

bool JsonValue::parse(const std::string &text, JsonValue &out, std::string &err) {
  out = JsonValue();
  JsonParser p(text);
  return p.run(out, err);
}

} // namespace rt
} // namespace attnc
