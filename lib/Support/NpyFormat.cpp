//===- NpyFormat.cpp - the .npy format, free of LLVM ----------------------===//
//
// File layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
//   "\x93NUMPY" major minor
//   header length: 2 bytes little endian (1.0) or 4 bytes (2.0, 3.0)
//   header: a Python literal dict {'descr': '<f4', 'fortran_order': False,
//           'shape': (2, 3), } padded with spaces and ended by '\n'
//   data: the elements in C order
//
//===----------------------------------------------------------------------===//
#include "attnc/Support/NpyFormat.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

using namespace attnc;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
/// Longest header accepted when reading (numpy's own default limit is 10000
/// bytes; files with very many dims may be longer, so allow more, bounded).
constexpr size_t kMaxHeaderLen = 1 << 20;
/// Most dims accepted (numpy's NPY_MAXDIMS is 64 in numpy 2).
constexpr size_t kMaxDims = 64;

/// Sets ERR to "NAME: MSG" and returns false.
bool fail(std::string &err, const std::string &name, const std::string &msg) {
  err = name + ": " + msg;
  return false;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += c;
    } else {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", (unsigned)(unsigned char)c);
      out += hex;
    }
  }
  return out + "'";
}

//===----------------------------------------------------------------------===//
// The header dictionary: a tiny parser for the Python literals numpy writes.
//===----------------------------------------------------------------------===//

struct HeaderValue {
  enum class Kind { String, Bool, Tuple, Other } kind = Kind::Other;
  std::string str;
  bool boolean = false;
  std::vector<int64_t> ints;
};

class HeaderParser {
public:
  HeaderParser(std::string_view text, const std::string &name, std::string &err)
      : text(text), name(name), err(err) {}

  bool parse(std::optional<HeaderValue> &descr, std::optional<HeaderValue> &fortran,
             std::optional<HeaderValue> &shape) {
    skipSpace();
    if (!consume('{'))
      return error("expected '{' to start the header dictionary");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key))
        return false;
      skipSpace();
      if (!consume(':'))
        return error("expected ':' after key " + quoted(key));
      skipSpace();
      std::optional<HeaderValue> *slot = key == "descr"           ? &descr
                                         : key == "fortran_order" ? &fortran
                                         : key == "shape"         ? &shape
                                                                  : nullptr;
      if (!slot)
        return error("unexpected key " + quoted(key) +
                     " (a .npy header has exactly 'descr', 'fortran_order' and 'shape')");
      HeaderValue value;
      if (!parseValue(value, /*wantShape=*/slot == &shape))
        return false;
      if (*slot)
        return error("duplicate key " + quoted(key));
      *slot = std::move(value);
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume('}'))
        break;
      return error("expected ',' or '}' after the value of " + quoted(key));
    }
    skipSpace();
    if (pos != text.size())
      return error("unexpected text after the header dictionary");
    return true;
  }

private:
  std::string_view text;
  const std::string &name;
  std::string &err;
  size_t pos = 0;

  bool error(const std::string &msg) {
    return fail(err, name,
                "malformed .npy header: " + msg + " (at header byte " + std::to_string(pos) + ")");
  }
  bool atEnd() const { return pos >= text.size(); }
  char peek() const { return atEnd() ? '\0' : text[pos]; }
  bool consume(char c) {
    if (atEnd() || text[pos] != c)
      return false;
    ++pos;
    return true;
  }
  void skipSpace() {
    while (!atEnd() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool parseString(std::string &out) {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return error("expected a quoted string");
    ++pos;
    while (true) {
      if (atEnd())
        return error("unterminated string");
      char c = text[pos++];
      if (c == quote)
        return true;
      if (c == '\n')
        return error("unterminated string");
      if (c == '\\')
        return error("escape sequences are not supported in strings");
      out += c;
    }
  }

  bool parseInt(int64_t &out) {
    if (!isDigit(peek()))
      return error("expected a non-negative integer in the shape");
    uint64_t v = 0;
    while (isDigit(peek())) {
      uint64_t d = (uint64_t)(text[pos++] - '0');
      // Checked before the multiply: 18446744073709551620 wrapped to 4.
      if (v > ((uint64_t)INT64_MAX - d) / 10)
        return error("shape dimension does not fit in 64 bits");
      v = v * 10 + d;
    }
    consume('L'); // Python 2 longs: (3L, 4L)
    out = (int64_t)v;
    return true;
  }

  bool parseShape(HeaderValue &v) {
    if (!consume('('))
      return error("expected a tuple of integers for 'shape'");
    v.kind = HeaderValue::Kind::Tuple;
    skipSpace();
    if (consume(')'))
      return true;
    bool sawComma = false;
    while (true) {
      skipSpace();
      if (peek() == '-')
        return error("negative dimension in the shape");
      int64_t d;
      if (!parseInt(d))
        return false;
      if (v.ints.size() >= kMaxDims)
        return error("more than " + std::to_string(kMaxDims) + " dimensions in the shape");
      v.ints.push_back(d);
      skipSpace();
      if (consume(')'))
        break;
      if (!consume(','))
        return error("expected ',' or ')' in the shape tuple");
      sawComma = true;
      skipSpace();
      if (consume(')'))
        break;
    }
    // Python: "(5)" is not a tuple but the integer 5.
    if (v.ints.size() == 1 && !sawComma)
      return error("'shape' must be a tuple: write (" + std::to_string(v.ints[0]) +
                   ",) for one dimension");
    return true;
  }

  /// A list descr is a structured dtype: skip it (balanced, strings skipped)
  /// so that the caller reports "structured dtype" rather than a syntax error.
  bool skipList(HeaderValue &v) {
    int depth = 0;
    while (!atEnd()) {
      char d = text[pos];
      if (d == '\'' || d == '"') {
        std::string ignored;
        if (!parseString(ignored))
          return false;
        continue;
      }
      ++pos;
      if (d == '[' || d == '(')
        ++depth;
      else if ((d == ']' || d == ')') && --depth == 0)
        break;
    }
    if (depth != 0)
      return error("unterminated list");
    v.kind = HeaderValue::Kind::Other;
    v.str = "list";
    return true;
  }

  bool parseValue(HeaderValue &v, bool wantShape) {
    if (wantShape)
      return parseShape(v);
    char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = HeaderValue::Kind::String;
      return parseString(v.str);
    }
    for (bool b : {true, false}) {
      std::string_view word = b ? "True" : "False";
      if (text.substr(pos, word.size()) == word) {
        pos += word.size();
        v.kind = HeaderValue::Kind::Bool;
        v.boolean = b;
        return true;
      }
    }
    if (c == '[')
      return skipList(v);
    return error("expected a string, True or False");
  }
};

std::optional<DType> dtypeOfDescr(const std::string &descr, const std::string &name,
                                  std::string &err) {
  if (descr.size() < 2) {
    fail(err, name, "unsupported dtype " + quoted(descr));
    return std::nullopt;
  }
  char order = descr[0];
  std::string code = descr.substr(1);
  std::optional<DType> t;
  if (code == "f2")
    t = DType::F16;
  else if (code == "f4")
    t = DType::F32;
  else if (code == "f8")
    t = DType::F64;
  else if (code == "i4")
    t = DType::I32;
  else if (code == "i8")
    t = DType::I64;
  else if (code == "u1")
    t = DType::U8;
  // One byte has no order: numpy writes '|u1' ('<' and '=' are accepted too).
  if (t && (order == '<' || order == '=' || (order == '|' && *t == DType::U8)))
    return t;
  if (order == '>' && t)
    fail(err, name,
         "unsupported dtype " + quoted(descr) +
             ": big-endian data is not supported (convert with a.astype('<" + code + "'))");
  else if (descr == "|O" || descr == "O")
    fail(err, name, "unsupported dtype " + quoted(descr) + ": object arrays are not supported");
  else
    fail(err, name,
         "unsupported dtype " + quoted(descr) + " (supported: '<f2', '<f4', '<f8', '<i4', '<i8', '|u1')");
  return std::nullopt;
}

/// Element count and byte count of a shape, or nullopt on overflow.
std::optional<std::pair<uint64_t, uint64_t>> checkedSize(const std::vector<int64_t> &shape,
                                                         size_t elemSize) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (__builtin_mul_overflow(n, (uint64_t)d, &n))
      return std::nullopt;
  }
  uint64_t bytes;
  if (__builtin_mul_overflow(n, (uint64_t)elemSize, &bytes) || bytes > (uint64_t)PTRDIFF_MAX)
    return std::nullopt;
  return std::make_pair(n, bytes);
}

/// The header's version and length: POS is left at the header's first byte.
bool readPreamble(const char *bytes, size_t size, const std::string &name, size_t &pos,
                  uint64_t &headerLen, unsigned &major, std::string &err) {
  if (size < kMagicLen || std::memcmp(bytes, kMagic, kMagicLen) != 0)
    return fail(err, name, "not a .npy file (it does not start with \"\\x93NUMPY\")");
  if (size < kMagicLen + 2)
    return fail(err, name, "truncated .npy file: no format version");
  major = (unsigned char)bytes[6];
  unsigned minor = (unsigned char)bytes[7];
  size_t lenBytes;
  if (major == 1 && minor == 0)
    lenBytes = 2;
  else if ((major == 2 || major == 3) && minor == 0)
    lenBytes = 4;
  else
    return fail(err, name,
                "unsupported .npy format version " + std::to_string(major) + "." +
                    std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  pos = kMagicLen + 2;
  if (size < pos + lenBytes)
    return fail(err, name, "truncated .npy file: no header length");
  headerLen = 0;
  for (size_t k = 0; k < lenBytes; ++k)
    headerLen |= (uint64_t)(unsigned char)bytes[pos + k] << (8 * k);
  pos += lenBytes;
  if (headerLen > kMaxHeaderLen)
    return fail(err, name,
                "header length " + std::to_string(headerLen) + " exceeds the limit of " +
                    std::to_string(kMaxHeaderLen) + " bytes");
  if (headerLen > size - pos)
    return fail(err, name,
                "truncated .npy file: the header needs " + std::to_string(headerLen) +
                    " bytes, the file has " + std::to_string(size - pos) +
                    " after the preamble");
  return true;
}

} // namespace

std::string attnc::dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "float32";
  case DType::F64:
    return "float64";
  case DType::I32:
    return "int32";
  case DType::I64:
    return "int64";
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  case DType::U8:
    return "uint8";
  }
  return "unknown";
}

size_t attnc::dtypeSize(DType t) {
  switch (t) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::U8:
    return 1;
  }
  return 0;
}

std::string attnc::npyDescr(DType t) {
  switch (t) {
  case DType::F32:
    return "<f4";
  case DType::F64:
    return "<f8";
  case DType::I32:
    return "<i4";
  case DType::I64:
    return "<i8";
  case DType::F16:
    return "<f2";
  case DType::BF16:
    return "";
  case DType::U8:
    return "|u1";
  }
  return "";
}

std::string attnc::npyShapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k)
      s += ", ";
    s += std::to_string(shape[k]);
  }
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

size_t NpyArray::numElements() const {
  size_t n = 1;
  for (int64_t d : shape)
    n *= d < 0 ? 0 : (size_t)d;
  return n;
}

NpyArray NpyArray::zeros(DType dtype, const std::vector<int64_t> &shape) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = shape;
  a.data.assign(a.numBytes(), 0);
  return a;
}

bool attnc::parseNpyImage(const char *bytes, size_t size, const std::string &name,
                          NpyArray &out, std::string &err) {
  size_t pos;
  uint64_t headerLen;
  unsigned major;
  if (!readPreamble(bytes, size, name, pos, headerLen, major, err))
    return false;
  std::string_view header(bytes + pos, headerLen);
  pos += headerLen;
  for (char c : header)
    if (c == '\0' || (major < 3 && (unsigned char)c >= 0x80))
      return fail(err, name, "malformed .npy header: it contains a byte that is not printable text");

  std::optional<HeaderValue> descr, fortran, shape;
  if (!HeaderParser(header, name, err).parse(descr, fortran, shape))
    return false;
  if (!descr || !fortran || !shape)
    return fail(err, name,
                std::string("malformed .npy header: missing key '") +
                    (!descr ? "descr" : !fortran ? "fortran_order" : "shape") + "'");
  if (descr->kind != HeaderValue::Kind::String)
    return fail(err, name,
                descr->str == "list"
                    ? "unsupported dtype: structured dtypes (a list 'descr') are not supported"
                    : "malformed .npy header: 'descr' is not a string");
  if (fortran->kind != HeaderValue::Kind::Bool)
    return fail(err, name, "malformed .npy header: 'fortran_order' is not True or False");
  if (shape->kind != HeaderValue::Kind::Tuple)
    return fail(err, name, "malformed .npy header: 'shape' is not a tuple");

  std::optional<DType> dtype = dtypeOfDescr(descr->str, name, err);
  if (!dtype)
    return false;
  if (fortran->boolean)
    return fail(err, name,
                "fortran_order True is not supported (save a C-order array, e.g. "
                "np.save(f, np.ascontiguousarray(a)))");

  NpyArray a;
  a.dtype = *dtype;
  a.shape = std::move(shape->ints);
  std::string what = npyShapeString(a.shape) + " of " + dtypeName(a.dtype);
  auto sz = checkedSize(a.shape, a.elementSize());
  if (!sz)
    return fail(err, name, "shape " + what + " is too large (its size overflows)");
  uint64_t have = size - pos;
  if (have < sz->second)
    return fail(err, name,
                "truncated data: shape " + what + " needs " + std::to_string(sz->second) +
                    " bytes, the file has " + std::to_string(have));
  if (have > sz->second)
    return fail(err, name,
                std::to_string(have - sz->second) +
                    " unexpected trailing bytes after the data (shape " + what + " is " +
                    std::to_string(sz->second) + " bytes)");
  a.data.assign(bytes + pos, bytes + size);
  out = std::move(a);
  return true;
}

bool attnc::serializeNpyImage(const NpyArray &a, const std::string &name, std::vector<char> &out,
                              std::string &err) {
  if (a.dtype == DType::BF16)
    return fail(err, name,
                "cannot write bfloat16 as .npy: numpy has no bfloat16 dtype (convert to float32 "
                "first)");
  std::string descr = npyDescr(a.dtype);
  if (descr.empty())
    return fail(err, name, "cannot write dtype " + dtypeName(a.dtype) + " as .npy");
  for (int64_t d : a.shape)
    if (d < 0)
      return fail(err, name,
                  "cannot write shape " + npyShapeString(a.shape) + ": negative dimension");
  auto sz = checkedSize(a.shape, a.elementSize());
  if (!sz)
    return fail(err, name, "cannot write shape " + npyShapeString(a.shape) + ": its size overflows");
  if (sz->second != a.data.size())
    return fail(err, name,
                "cannot write: shape " + npyShapeString(a.shape) + " of " + dtypeName(a.dtype) +
                    " needs " + std::to_string(sz->second) + " bytes of data, the array holds " +
                    std::to_string(a.data.size()));

  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                     npyShapeString(a.shape) + ", }";
  // Pad with spaces and end with '\n' so the data starts at a multiple of 64.
  size_t lenBytes = 2;
  unsigned major = 1;
  size_t total = (kMagicLen + 2 + lenBytes + dict.size() + 1 + 63) / 64 * 64;
  if (total - (kMagicLen + 2 + lenBytes) > 0xffff) {
    lenBytes = 4;
    major = 2;
    total = (kMagicLen + 2 + lenBytes + dict.size() + 1 + 63) / 64 * 64;
  }
  size_t headerLen = total - (kMagicLen + 2 + lenBytes);
  dict.append(headerLen - dict.size() - 1, ' ');
  dict += '\n';

  out.clear();
  out.reserve(total + a.data.size());
  out.insert(out.end(), kMagic, kMagic + kMagicLen);
  out.push_back((char)major);
  out.push_back(0);
  for (size_t k = 0; k < lenBytes; ++k)
    out.push_back((char)((headerLen >> (8 * k)) & 0xff));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return true;
}
