//===- VariantSignature.cpp - a variant's names, carried in the IR --------===//
#include "attnc/Dialect/Attn/VariantSignature.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace attnc::attn;

static ArrayAttr stringArray(Builder &b, const std::vector<std::string> &v) {
  SmallVector<Attribute> items;
  for (const std::string &s : v)
    items.push_back(b.getStringAttr(s));
  return b.getArrayAttr(items);
}

static std::vector<std::string> strings(Attribute a) {
  std::vector<std::string> out;
  if (auto arr = dyn_cast_or_null<ArrayAttr>(a))
    for (Attribute e : arr)
      if (auto s = dyn_cast<StringAttr>(e))
        out.push_back(s.str());
  return out;
}

void attnc::attn::setVariantSignature(func::FuncOp fn, const VariantSignature &sig) {
  Builder b(fn.getContext());
  fn->setAttr("attnc.dims", stringArray(b, sig.dims));
  auto tensorAttrs = [&](const VariantSignature::Tensor &t) {
    SmallVector<NamedAttribute> attrs = {b.getNamedAttr("attnc.name", b.getStringAttr(t.name)),
                                         b.getNamedAttr("attnc.shape", stringArray(b, t.shape))};
    if (!t.attention.empty())
      attrs.push_back(b.getNamedAttr("attnc.attention", b.getStringAttr(t.attention)));
    return b.getDictionaryAttr(attrs);
  };
  for (auto [n, t] : llvm::enumerate(sig.inputs))
    fn.setArgAttrs(n, tensorAttrs(t));
  for (auto [n, t] : llvm::enumerate(sig.outputs))
    fn.setResultAttrs(n, tensorAttrs(t));
}

llvm::Expected<std::pair<func::FuncOp, VariantSignature>>
attnc::attn::readVariantSignature(ModuleOp module) {
  func::FuncOp fn;
  module.walk([&](func::FuncOp f) {
    if (!fn && f->hasAttr("attnc.dims"))
      fn = f;
  });
  if (!fn)
    return llvm::createStringError("no variant function (a func.func with attnc.dims) in the module");
  VariantSignature sig;
  sig.name = fn.getSymName().str();
  sig.dims = strings(fn->getAttr("attnc.dims"));
  auto tensor = [](DictionaryAttr attrs, const char *what, unsigned n,
                   VariantSignature::Tensor &t) -> llvm::Error {
    auto name = attrs ? attrs.getAs<StringAttr>("attnc.name") : StringAttr();
    if (!name)
      return llvm::createStringError("%s %u of the variant function has no attnc.name", what, n);
    t.name = name.str();
    t.shape = strings(attrs.get("attnc.shape"));
    if (auto a = attrs.getAs<StringAttr>("attnc.attention"))
      t.attention = a.str();
    return llvm::Error::success();
  };
  sig.inputs.resize(fn.getNumArguments());
  for (unsigned n = 0; n < fn.getNumArguments(); ++n)
    if (llvm::Error e = tensor(fn.getArgAttrDict(n), "argument", n, sig.inputs[n]))
      return std::move(e);
  sig.outputs.resize(fn.getNumResults());
  for (unsigned n = 0; n < fn.getNumResults(); ++n)
    if (llvm::Error e = tensor(fn.getResultAttrDict(n), "result", n, sig.outputs[n]))
      return std::move(e);
  return std::make_pair(fn, std::move(sig));
}
