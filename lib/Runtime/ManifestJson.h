//===- ManifestJson.h - A small strict JSON reader -------------*- C++ -*-===//
//
// Enough JSON for kernel manifests, with no dependencies (the runtime must
// build where neither LLVM nor nlohmann/json is installed). Strict RFC 8259:
// no comments, no trailing commas, no duplicate object keys, UTF-8 passed
// through, \uXXXX escapes (with surrogate pairs) decoded, nesting limited.
// Errors say "line L, column C: what".
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_RUNTIME_MANIFESTJSON_H
#define ATTNC_LIB_RUNTIME_MANIFESTJSON_H

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace attnc {
namespace rt {

class JsonValue {
public:
  enum Kind { Null, Bool, Number, String, Array, Object };

  JsonValue() = default;
  Kind kind() const { return K; }
  const char *kindName() const;

  bool isNull() const { return K == Null; }
  bool isBool() const { return K == Bool; }
  bool isNumber() const { return K == Number; }
  bool isString() const { return K == String; }
  bool isArray() const { return K == Array; }
  bool isObject() const { return K == Object; }
  /// A number written without fraction or exponent that fits in int64.
  bool isInteger() const { return K == Number && IsInt; }

  bool boolean() const { return B; }
  double number() const { return Num; }
  int64_t integer() const { return Int; }
  const std::string &str() const { return Str; }
  const std::vector<JsonValue> &array() const { return Arr; }
  const std::vector<std::pair<std::string, JsonValue>> &object() const { return Obj; }
  /// Member lookup; nullptr when absent or when this is not an object.
  const JsonValue *get(const std::string &key) const;

  /// Parses text. On failure returns false and sets err.
  static bool parse(const std::string &text, JsonValue &out, std::string &err);

private:
  friend class JsonParser;
  Kind K = Null;
  bool B = false;
  bool IsInt = false;
  double Num = 0;
  int64_t Int = 0;
  std::string Str;
  std::vector<JsonValue> Arr;
  std::vector<std::pair<std::string, JsonValue>> Obj;
};

} // namespace rt

namespace manifest {
struct Kernel;
/// parseManifest (attnc/Runtime/KernelManifest.h) on a document already read.
bool readManifest(const rt::JsonValue &root, Kernel &out, std::string &err);
/// A JSON string literal of s (the manifests' printers share it).
std::string jsonQuote(const std::string &s);
} // namespace manifest
} // namespace attnc

#endif
