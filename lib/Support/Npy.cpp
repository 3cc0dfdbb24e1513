//===- Npy.cpp - .npy array files: reading and writing --------------------===//
//
// File layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
//   "\x93NUMPY" major minor
//   header length: 2 bytes little endian (1.0) or 4 bytes (2.0, 3.0)
//   header: a Python literal dict {'descr': '<f4', 'fortran_order': False,
//           'shape': (2, 3), } padded with spaces and ended by '\n'
//   data: the elements in C order
//
//===----------------------------------------------------------------------===//
#include "attnc/Support/Npy.h"
#include "attnc/Support/Files.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <optional>

using namespace attnc;
using llvm::StringRef;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
/// Longest header accepted when reading (numpy's own default limit is 10000
/// bytes; files with very many dims may be longer, so allow more, bounded).
constexpr size_t kMaxHeaderLen = 1 << 20;
/// Most dims accepted (numpy's NPY_MAXDIMS is 64 in numpy 2).
constexpr size_t kMaxDims = 64;

llvm::Error fail(StringRef name, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (name + ": " + msg).str());
}

std::string quoted(StringRef s) {
  std::string out = "'";
  for (char c : s) {
    if (llvm::isPrint(c) && c != '\'' && c != '\\')
      out += c;
    else
      out += "\\x" + llvm::utohexstr((unsigned char)c, /*LowerCase=*/true,
                                     /*Width=*/2);
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
  HeaderParser(StringRef text, StringRef name) : text(text), name(name) {}

  llvm::Error parse(std::optional<HeaderValue> &descr,
                    std::optional<HeaderValue> &fortran,
                    std::optional<HeaderValue> &shape) {
    skipSpace();
    if (!consume('{'))
      return error("expected '{' to start the header dictionary");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (llvm::Error err = parseString(key))
        return err;
      skipSpace();
      if (!consume(':'))
        return error("expected ':' after key " + quoted(key));
      skipSpace();
      HeaderValue value;
      if (key == "descr") {
        if (llvm::Error err = parseValue(value, /*wantShape=*/false))
          return err;
        if (descr)
          return error("duplicate key 'descr'");
        descr = std::move(value);
      } else if (key == "fortran_order") {
        if (llvm::Error err = parseValue(value, /*wantShape=*/false))
          return err;
        if (fortran)
          return error("duplicate key 'fortran_order'");
        fortran = std::move(value);
      } else if (key == "shape") {
        if (llvm::Error err = parseValue(value, /*wantShape=*/true))
          return err;
        if (shape)
          return error("duplicate key 'shape'");
        shape = std::move(value);
      } else {
        return error("unexpected key " + quoted(key) +
                     " (a .npy header has exactly 'descr', 'fortran_order' "
                     "and 'shape')");
      }
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
    return llvm::Error::success();
  }

private:
  StringRef text;
  StringRef name;
  size_t pos = 0;

  llvm::Error error(const llvm::Twine &msg) {
    return fail(name, "malformed .npy header: " + msg + " (at header byte " +
                          llvm::Twine(pos) + ")");
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
    while (!atEnd() && (text[pos] == ' ' || text[pos] == '\t' ||
                        text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  llvm::Error parseString(std::string &out) {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return error("expected a quoted string");
    ++pos;
    while (true) {
      if (atEnd())
        return error("unterminated string");
      char c = text[pos++];
      if (c == quote)
        return llvm::Error::success();
      if (c == '\n')
        return error("unterminated string");
      if (c == '\\')
        return error("escape sequences are not supported in strings");
      out += c;
    }
  }

  llvm::Error parseInt(int64_t &out) {
    if (!llvm::isDigit(peek()))
      return error("expected a non-negative integer in the shape");
    uint64_t v = 0;
    while (llvm::isDigit(peek())) {
      uint64_t d = (uint64_t)(text[pos++] - '0');
      // Checked before the multiply: 18446744073709551620 wrapped to 4.
      if (v > ((uint64_t)INT64_MAX - d) / 10)
        return error("shape dimension does not fit in 64 bits");
      v = v * 10 + d;
    }
    consume('L'); // Python 2 longs: (3L, 4L)
    out = (int64_t)v;
    return llvm::Error::success();
  }

  llvm::Error parseValue(HeaderValue &v, bool wantShape) {
    char c = peek();
    if (wantShape) {
      if (c != '(')
        return error("expected a tuple of integers for 'shape'");
      ++pos;
      v.kind = HeaderValue::Kind::Tuple;
      skipSpace();
      if (consume(')'))
        return llvm::Error::success();
      bool sawComma = false;
      while (true) {
        skipSpace();
        if (peek() == '-')
          return error("negative dimension in the shape");
        int64_t d;
        if (llvm::Error err = parseInt(d))
          return err;
        if (v.ints.size() >= kMaxDims)
          return error("more than " + llvm::Twine(kMaxDims) +
                       " dimensions in the shape");
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
        return error("'shape' must be a tuple: write (" +
                     llvm::Twine(v.ints[0]) + ",) for one dimension");
      return llvm::Error::success();
    }
    if (c == '\'' || c == '"') {
      v.kind = HeaderValue::Kind::String;
      return parseString(v.str);
    }
    if (text.substr(pos).starts_with("True")) {
      pos += 4;
      v.kind = HeaderValue::Kind::Bool;
      v.boolean = true;
      return llvm::Error::success();
    }
    if (text.substr(pos).starts_with("False")) {
      pos += 5;
      v.kind = HeaderValue::Kind::Bool;
      v.boolean = false;
      return llvm::Error::success();
    }
    if (c == '[') {
      // A list descr: a structured dtype. Skip it (balanced, strings
      // skipped) so that the caller reports "structured dtype" rather than
      // a syntax error.
      int depth = 0;
      while (!atEnd()) {
        char d = text[pos];
        if (d == '\'' || d == '"') {
          std::string ignored;
          if (llvm::Error err = parseString(ignored))
            return err;
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
      return llvm::Error::success();
    }
    return error("expected a string, True or False");
  }
};

llvm::Expected<DType> dtypeOfDescr(StringRef descr, StringRef name) {
  if (descr.size() < 2)
    return fail(name, "unsupported dtype " + quoted(descr));
  char order = descr[0];
  StringRef code = descr.drop_front();
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
  if (order == '>' && t)
    return fail(name, "unsupported dtype " + quoted(descr) +
                          ": big-endian data is not supported (convert with "
                          "a.astype('<" +
                          code + "'))");
  if (t && (order == '<' || order == '='))
    return *t;
  if (descr == "|O" || descr == "O")
    return fail(name, "unsupported dtype " + quoted(descr) +
                          ": object arrays are not supported");
  return fail(name, "unsupported dtype " + quoted(descr) +
                        " (supported: '<f2', '<f4', '<f8', '<i4', '<i8')");
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API.
//===----------------------------------------------------------------------===//

StringRef attnc::dtypeName(DType t) {
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
  }
  return 0;
}

StringRef attnc::npyDescr(DType t) {
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
  }
  return "";
}

std::string attnc::npyShapeString(llvm::ArrayRef<int64_t> shape) {
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

NpyArray NpyArray::zeros(DType dtype, llvm::ArrayRef<int64_t> shape) {
  NpyArray a;
  a.dtype = dtype;
  a.shape.assign(shape.begin(), shape.end());
  a.data.assign(a.numBytes(), 0);
  return a;
}

/// Element count and byte count of a shape, or nullopt on overflow.
static std::optional<std::pair<uint64_t, uint64_t>>
checkedSize(llvm::ArrayRef<int64_t> shape, size_t elemSize) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (__builtin_mul_overflow(n, (uint64_t)d, &n))
      return std::nullopt;
  }
  uint64_t bytes;
  if (__builtin_mul_overflow(n, (uint64_t)elemSize, &bytes) ||
      bytes > (uint64_t)PTRDIFF_MAX)
    return std::nullopt;
  return std::make_pair(n, bytes);
}

llvm::Expected<NpyArray> attnc::parseNpy(llvm::ArrayRef<char> bytes,
                                         StringRef name) {
  const size_t size = bytes.size();
  if (size < kMagicLen || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    return fail(name, "not a .npy file (it does not start with \"\\x93NUMPY\")");
  if (size < kMagicLen + 2)
    return fail(name, "truncated .npy file: no format version");
  unsigned major = (unsigned char)bytes[6], minor = (unsigned char)bytes[7];
  size_t lenBytes;
  if (major == 1 && minor == 0)
    lenBytes = 2;
  else if ((major == 2 || major == 3) && minor == 0)
    lenBytes = 4;
  else
    return fail(name, "unsupported .npy format version " + llvm::Twine(major) +
                          "." + llvm::Twine(minor) +
                          " (supported: 1.0, 2.0, 3.0)");
  size_t pos = kMagicLen + 2;
  if (size < pos + lenBytes)
    return fail(name, "truncated .npy file: no header length");
  uint64_t headerLen = 0;
  for (size_t k = 0; k < lenBytes; ++k)
    headerLen |= (uint64_t)(unsigned char)bytes[pos + k] << (8 * k);
  pos += lenBytes;
  if (headerLen > kMaxHeaderLen)
    return fail(name, "header length " + llvm::Twine(headerLen) +
                          " exceeds the limit of " +
                          llvm::Twine(kMaxHeaderLen) + " bytes");
  if (headerLen > size - pos)
    return fail(name, "truncated .npy file: the header needs " +
                          llvm::Twine(headerLen) + " bytes, the file has " +
                          llvm::Twine(size - pos) + " after the preamble");
  StringRef header(bytes.data() + pos, headerLen);
  pos += headerLen;
  for (char c : header)
    if (c == '\0' || (major < 3 && (unsigned char)c >= 0x80))
      return fail(name, "malformed .npy header: it contains a byte that is "
                        "not printable text");

  std::optional<HeaderValue> descr, fortran, shape;
  HeaderParser parser(header, name);
  if (llvm::Error err = parser.parse(descr, fortran, shape))
    return std::move(err);
  if (!descr || !fortran || !shape)
    return fail(name, llvm::Twine("malformed .npy header: missing key '") +
                          (!descr ? "descr" : !fortran ? "fortran_order" : "shape") +
                          "'");
  if (descr->kind != HeaderValue::Kind::String)
    return fail(name, descr->str == "list"
                          ? "unsupported dtype: structured dtypes (a list "
                            "'descr') are not supported"
                          : "malformed .npy header: 'descr' is not a string");
  if (fortran->kind != HeaderValue::Kind::Bool)
    return fail(name,
                "malformed .npy header: 'fortran_order' is not True or False");
  if (shape->kind != HeaderValue::Kind::Tuple)
    return fail(name, "malformed .npy header: 'shape' is not a tuple");

  auto dtype = dtypeOfDescr(descr->str, name);
  if (!dtype)
    return dtype.takeError();
  if (fortran->boolean)
    return fail(name, "fortran_order True is not supported (save a C-order "
                      "array, e.g. np.save(f, np.ascontiguousarray(a)))");

  NpyArray a;
  a.dtype = *dtype;
  a.shape = std::move(shape->ints);
  auto sz = checkedSize(a.shape, a.elementSize());
  if (!sz)
    return fail(name, "shape " + npyShapeString(a.shape) + " of " +
                          dtypeName(a.dtype) + " is too large (its size "
                          "overflows)");
  uint64_t have = size - pos;
  if (have < sz->second)
    return fail(name, "truncated data: shape " + npyShapeString(a.shape) +
                          " of " + dtypeName(a.dtype) + " needs " +
                          llvm::Twine(sz->second) + " bytes, the file has " +
                          llvm::Twine(have));
  if (have > sz->second)
    return fail(name, llvm::Twine(have - sz->second) +
                          " unexpected trailing bytes after the data (shape " +
                          npyShapeString(a.shape) + " of " +
                          dtypeName(a.dtype) + " is " +
                          llvm::Twine(sz->second) + " bytes)");
  a.data.assign(bytes.begin() + pos, bytes.end());
  return a;
}

llvm::Expected<NpyArray> attnc::readNpy(StringRef path) {
  auto buf = readCappedFile(path, kMaxNpyFileBytes, /*isText=*/false);
  if (!buf)
    return fail(path, llvm::toString(buf.takeError()));
  StringRef b = (*buf)->getBuffer();
  return parseNpy(llvm::ArrayRef<char>(b.data(), b.size()), path);
}

llvm::Expected<std::vector<char>> attnc::serializeNpy(const NpyArray &a,
                                                      StringRef name) {
  if (a.dtype == DType::BF16)
    return fail(name, "cannot write bfloat16 as .npy: numpy has no bfloat16 "
                      "dtype (convert to float32 first)");
  StringRef descr = npyDescr(a.dtype);
  if (descr.empty())
    return fail(name, "cannot write dtype " + dtypeName(a.dtype) + " as .npy");
  for (int64_t d : a.shape)
    if (d < 0)
      return fail(name, "cannot write shape " + npyShapeString(a.shape) +
                            ": negative dimension");
  auto sz = checkedSize(a.shape, a.elementSize());
  if (!sz)
    return fail(name, "cannot write shape " + npyShapeString(a.shape) +
                          ": its size overflows");
  if (sz->second != a.data.size())
    return fail(name, "cannot write: shape " + npyShapeString(a.shape) +
                          " of " + dtypeName(a.dtype) + " needs " +
                          llvm::Twine(sz->second) + " bytes of data, the "
                          "array holds " +
                          llvm::Twine(a.data.size()));

  std::string dict = "{'descr': '" + descr.str() +
                     "', 'fortran_order': False, 'shape': " +
                     npyShapeString(a.shape) + ", }";
  // Pad with spaces and end with '\n' so the data starts at a multiple of 64.
  size_t lenBytes = 2;
  unsigned major = 1;
  size_t total = kMagicLen + 2 + lenBytes + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  if (total - (kMagicLen + 2 + lenBytes) > 0xffff) {
    lenBytes = 4;
    major = 2;
    total = kMagicLen + 2 + lenBytes + dict.size() + 1;
    total = (total + 63) / 64 * 64;
  }
  size_t headerLen = total - (kMagicLen + 2 + lenBytes);
  dict.append(headerLen - dict.size() - 1, ' ');
  dict += '\n';

  std::vector<char> out;
  out.reserve(total + a.data.size());
  out.insert(out.end(), kMagic, kMagic + kMagicLen);
  out.push_back((char)major);
  out.push_back(0);
  for (size_t k = 0; k < lenBytes; ++k)
    out.push_back((char)((headerLen >> (8 * k)) & 0xff));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

llvm::Error attnc::writeNpy(StringRef path, const NpyArray &a) {
  auto bytes = serializeNpy(a, path);
  if (!bytes)
    return bytes.takeError();
  return writeFileAtomic(path, llvm::StringRef(bytes->data(), bytes->size()));
}
