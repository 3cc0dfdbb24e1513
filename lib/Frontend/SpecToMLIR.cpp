//===- SpecToMLIR.cpp - build attn IR from a checked spec ----------------===//
//
// One func per spec: inputs are its arguments, outputs its results. Each
// `let` becomes a prologue op, each `attention` an attn.attention whose
// mask and score regions hold the spec's expressions, each `output` an
// attn.map. Expressions (ExprToMLIR.cpp) are typed as index (integers),
// float or i1.
//
//===----------------------------------------------------------------------===//
#include "attnc/Frontend/SpecToMLIR.h"
#include "ModuleBuilder.h"
#include "Signature.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace attnc;
using namespace attnc::spec;

void attnc::registerAttncDialects(DialectRegistry &registry) {
  registry.insert<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect, scf::SCFDialect,
                  linalg::LinalgDialect, memref::MemRefDialect,
                  bufferization::BufferizationDialect, LLVM::LLVMDialect,
                  affine::AffineDialect, index::IndexDialect,
                  cf::ControlFlowDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  // The GPU pipeline lowers through gpu/nvgpu/nvvm with the dialects'
  // to-LLVM interfaces and translates NVVM to LLVM IR.
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}

namespace attnc::frontend {

std::vector<int64_t> argList(const std::vector<Arg> &args, const std::string &key,
                             size_t n, int64_t dflt) {
  const Arg *a = findArg(args, key);
  std::vector<int64_t> out;
  if (!a) {
    out.assign(n, dflt);
    return out;
  }
  auto one = [](const Arg &x) -> int64_t {
    if (x.kind == Arg::Kind::Word)
      return x.word == "true" ? 1 : 0;
    return (int64_t)x.number;
  };
  if (a->kind == Arg::Kind::List)
    for (const Arg &x : a->list)
      out.push_back(one(x));
  else
    out.push_back(one(*a));
  return out;
}

RankedTensorType ModuleBuilder::inputType(const InputDecl &in) {
  SmallVector<int64_t> shape;
  for (const std::string &d : in.shape) {
    int64_t lit;
    if (!llvm::StringRef(d).getAsInteger(10, lit))
      shape.push_back(lit);
    else if (auto it = opts.dims.find(d); it != opts.dims.end())
      shape.push_back(it->second);
    else
      shape.push_back(ShapedType::kDynamic);
  }
  Type et = integerInputs.lookup(in.name)      ? (Type)b.getI32Type()
            : in.dtype == "f8e4m3"              ? (Type)b.getType<Float8E4M3FNType>()
            : attentionOperands.lookup(in.name) ? elem
                                                : scalar;
  return RankedTensorType::get(shape, et);
}

/// An f8e4m3 input as the variant reads it: its bytes widened, element by
/// element, to the type the input would have had undeclared (the run's
/// float type for q/k/v, the scalar type for tables).
Value ModuleBuilder::widenFloat8(Value arg, Type to, llvm::StringRef name) {
  Location l = arg.getLoc();
  auto ty = cast<RankedTensorType>(arg.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < ty.getRank(); ++d)
    if (ty.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, l, arg, d));
  auto op = attn::MapOp::create(b, l, ty.clone(to), ValueRange{arg},
                                b.getAffineMapArrayAttr({b.getMultiDimIdentityMap(ty.getRank())}),
                                sizes);
  Block *blk = new Block();
  op.getBody().push_back(blk);
  for (int64_t d = 0; d < ty.getRank(); ++d)
    blk->addArgument(b.getIndexType(), l);
  Value x = blk->addArgument(ty.getElementType(), l);
  OpBuilder eb = OpBuilder::atBlockEnd(blk);
  attn::YieldOp::create(eb, l, arith::ExtFOp::create(eb, l, to, x).getResult());
  // Named on the GPU, where it is a generic step of its own.
  op->setAttr(kStepReasonAttr, b.getStringAttr("the widening of f8e4m3 input '" + name +
                                               "' to the run's float type"));
  return op.getResult();
}

/// A dim as an index value: a constant when bound, else read once at entry
/// from the first input that has it in its shape.
Value ModuleBuilder::dimValue(OpBuilder &eb, Location l, llvm::StringRef name) {
  // A context shard's split lengths mean the whole sequence's in expressions.
  int64_t parts = 1;
  if (opts.contextShard)
    parts = name == opts.contextShard->qLength ? opts.contextShard->qParts
            : name == opts.contextShard->kLength ? opts.contextShard->kParts
                                                 : 1;
  if (parts != 1) {
    Value local = localDimValue(eb, l, name);
    if (!local)
      return local;
    return arith::MulIOp::create(eb, l, local, arith::ConstantIndexOp::create(eb, l, parts));
  }
  return localDimValue(eb, l, name);
}

Value ModuleBuilder::localDimValue(OpBuilder &eb, Location l, llvm::StringRef name) {
  if (auto it = opts.dims.find(name); it != opts.dims.end())
    return arith::ConstantIndexOp::create(eb, l, it->second);
  if (auto it = dimCache.find(name); it != dimCache.end())
    return it->second;
  for (const InputDecl &in : spec.inputs)
    for (auto [pos, d] : llvm::enumerate(in.shape))
      if (d == name) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(entry);
        Value v = tensor::DimOp::create(b, l, tensors.lookup(in.name), pos);
        dimCache[name] = v;
        return v;
      }
  return nullptr;
}

Value ModuleBuilder::emitLet(const LetDecl &let) {
  Location l = loc(let.loc);
  Value src = tensors.lookup(let.source);
  if (!src) {
    error(let.loc) << "unknown tensor '" << let.source << "'";
    return nullptr;
  }
  auto ty = cast<RankedTensorType>(src.getType());
  if (let.fn == "rope")
    return attn::RopeOp::create(b, l, ty, src,
                                b.getF64FloatAttr(argNumber(let.args, "theta", 10000.0)),
                                b.getI64IntegerAttr((int64_t)argNumber(let.args, "offset", 0)));
  if (let.fn == "l2norm" || let.fn == "rmsnorm") {
    // Along tokens: the same row norm between two swaps of the last axes.
    bool tokens = argWord(let.args, "axis") == "tokens";
    Value x = tokens ? swapTokensFeatures(l, src) : src;
    Value y = attn::RowNormOp::create(
        b, l, x.getType(), x,
        attn::RowNormKindAttr::get(&ctx, let.fn == "l2norm" ? attn::RowNormKind::l2
                                                            : attn::RowNormKind::rms),
        b.getF64FloatAttr(argNumber(let.args, "eps", 1e-6)));
    return tokens ? swapTokensFeatures(l, y) : y;
  }
  if (let.fn == "pool") {
    int64_t size = (int64_t)argNumber(let.args, "size", 1);
    int64_t stride = (int64_t)argNumber(let.args, "stride", (double)size);
    std::string op = argWord(let.args, "op");
    auto kind = op == "max" ? attn::PoolKind::max
                : op == "sum" ? attn::PoolKind::sum
                              : attn::PoolKind::mean;
    return attn::PoolOp::create(b, l, attn::PoolOp::inferType(ty, size, stride), src,
                                attn::PoolKindAttr::get(&ctx, kind),
                                b.getI64IntegerAttr(size), b.getI64IntegerAttr(stride));
  }
  if (let.fn == "paged") {
    std::string tableName = argWord(let.args, "table");
    Value table = tensors.lookup(tableName);
    if (!table || !cast<RankedTensorType>(table.getType()).getElementType().isInteger()) {
      error(let.loc) << "paged: '" << tableName << "' is not an integer table";
      return nullptr;
    }
    auto layout = argWord(let.args, "layout") == "hnd" ? attn::PageLayout::hnd
                                                       : attn::PageLayout::nhd;
    auto gty = attn::PageGatherOp::inferType(ty, cast<RankedTensorType>(table.getType()), layout);
    return attn::PageGatherOp::create(b, l, gty, src, table,
                                      attn::PageLayoutAttr::get(&ctx, layout));
  }
  if (let.fn == "map") {
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < ty.getRank(); ++d)
      if (ty.isDynamicDim(d))
        sizes.push_back(tensor::DimOp::create(b, l, src, d));
    auto op = attn::MapOp::create(b, l, ty, ValueRange{src},
                                  b.getAffineMapArrayAttr({b.getMultiDimIdentityMap(ty.getRank())}),
                                  sizes);
    Block *blk = new Block();
    op.getBody().push_back(blk);
    Scope scope;
    static const char *names[] = {"b", "h", "i", "d"};
    for (int64_t d = 0; d < ty.getRank(); ++d) {
      Value a = blk->addArgument(b.getIndexType(), l);
      if (ty.getRank() == 4)
        scope.vars[names[d]] = TV{a, Kind::Int};
    }
    Value x = blk->addArgument(ty.getElementType(), l);
    OpBuilder eb = OpBuilder::atBlockEnd(blk);
    scope.vars["x"] = TV{toScalar(eb, l, x), Kind::Float};
    auto v = emit(eb, *let.expr, scope);
    if (!v)
      return nullptr;
    if (v->k == Kind::Bool) {
      error(let.expr->loc) << "map expression must be a number, not a condition";
      return nullptr;
    }
    attn::YieldOp::create(eb, l, toElem(eb, l, toFloat(eb, l, *v)));
    return op.getResult();
  }
  error(let.loc) << "unknown transform '" << let.fn << "'";
  return nullptr;
}

/// The attention's carrier families as attributes; tables they name become
/// extras through `extraIndex`.
LogicalResult ModuleBuilder::carrierFamilies(
    const AttentionDecl &a, llvm::function_ref<int64_t(const std::string &, const SourceLoc &)> extraIndex,
    SmallVectorImpl<Attribute> &out) {
  for (const CarrierDecl &c : a.carriers) {
    auto align = argWord(c.args, "align") == "top_left" ? attn::Align::top_left
                                                          : attn::Align::bottom_right;
    if (c.kind == "causal") {
      out.push_back(attn::CausalAttr::get(&ctx, align));
    } else if (c.kind == "window") {
      out.push_back(attn::WindowAttr::get(&ctx, (int64_t)argNumber(c.args, "left", 0),
                                              (int64_t)argNumber(c.args, "right", 0),
                                              (int64_t)argNumber(c.args, "sinks", 0), align));
    } else if (c.kind == "document") {
      int64_t idx = extraIndex(argWord(c.args, "seqlens"), c.loc);
      out.push_back(attn::DocumentAttr::get(&ctx, idx));
    } else if (c.kind == "lengths") {
      out.push_back(attn::LengthsAttr::get(&ctx, extraIndex(argWord(c.args, "kv"), c.loc)));
    } else if (c.kind == "prefix") {
      out.push_back(attn::PrefixAttr::get(&ctx, (int64_t)argNumber(c.args, "length", 0)));
    } else if (c.kind == "neighborhood") {
      std::vector<int64_t> grid = argList(c.args, "grid", 0, 0);
      size_t n = grid.size();
      std::vector<int64_t> causal = argList(c.args, "causal", n, 0);
      SmallVector<bool> causalB(causal.begin(), causal.end());
      std::vector<int64_t> window = argList(c.args, "window", n, 1),
                           dilation = argList(c.args, "dilation", n, 1),
                           stride = argList(c.args, "stride", n, 1);
      if (failed(attn::NeighborhoodAttr::verify([&] { return error(c.loc); }, grid, window,
                                                 dilation, stride, causalB)))
        return failure();
      out.push_back(attn::NeighborhoodAttr::get(&ctx, grid, window, dilation, stride, causalB));
    } else if (c.kind == "block_list") {
      int64_t off = extraIndex(argWord(c.args, "offsets"), c.loc);
      int64_t idx = extraIndex(argWord(c.args, "indices"), c.loc);
      out.push_back(attn::BlockListAttr::get(&ctx, (int64_t)argNumber(c.args, "q_block", 64),
                                                 (int64_t)argNumber(c.args, "k_block", 64), off, idx));
    } else if (c.kind == "block_select") {
      std::string pool = argWord(c.args, "pool"), force = argWord(c.args, "force");
      const Arg *thr = findArg(c.args, "threshold");
      out.push_back(attn::BlockSelectAttr::get(
          &ctx, (int64_t)argNumber(c.args, "q_block", 128), (int64_t)argNumber(c.args, "k_block", 128),
          pool == "antidiagonal" ? attn::BlockPool::antidiagonal : attn::BlockPool::mean,
          (int64_t)argNumber(c.args, "stride", pool == "antidiagonal" ? 8 : 1),
          (int64_t)argNumber(c.args, "top_k", 0),
          thr ? b.getF64FloatAttr(thr->number) : FloatAttr(), force == "first" || force == "both",
          force == "last" || force == "both"));
    } else {
      error(c.loc) << "unknown carrier '" << c.kind << "'";
      return failure();
    }
  }
  return success();
}

Value ModuleBuilder::emitAttention(const AttentionDecl &a) {
  // The name travels with the op so that tools can report per attention.
  Location l = NameLoc::get(b.getStringAttr(a.name), loc(a.loc));
  Value q = tensors.lookup(a.q), k = tensors.lookup(a.k), v = tensors.lookup(a.v);
  for (auto [name, t] : {std::pair<const std::string &, Value>{a.q, q}, {a.k, k}, {a.v, v}})
    if (!t || cast<RankedTensorType>(t.getType()).getRank() != 4 ||
        !isa<FloatType>(cast<RankedTensorType>(t.getType()).getElementType())) {
      error(a.loc) << "'" << name << "' must be a float tensor [B, H, L, D]";
      return nullptr;
    }
  // With sizes left to run time, only the spec's names can say that the
  // shared axes agree (bound sizes are compared by the op's verifier).
  if (llvm::any_of(ValueRange{q, k, v},
                   [](Value t) { return !cast<RankedTensorType>(t.getType()).hasStaticShape(); }))
    if (std::string why = operandSizeMismatch(spec, a); !why.empty()) {
      error(a.loc) << why;
      return nullptr;
    }
  if (a.featureAxis) {
    if (failed(checkFeatureAxisShapes(a, q, k, v)))
      return nullptr;
    q = swapTokensFeatures(l, q), k = swapTokensFeatures(l, k), v = swapTokensFeatures(l, v);
  }
  auto qt = cast<RankedTensorType>(q.getType()), kt = cast<RankedTensorType>(k.getType()),
       vt = cast<RankedTensorType>(v.getType());
  int64_t h = ShapedType::kDynamic;
  if (!qt.isDynamicDim(1) && !kt.isDynamicDim(1))
    h = std::max(qt.getDimSize(1), kt.getDimSize(1));
  auto resultTy = RankedTensorType::get({qt.getDimSize(0), h, qt.getDimSize(2), vt.getDimSize(3)}, elem);

  // Extras: every input tensor the variant reads besides Q, K, V.
  llvm::SetVector<Value> extras;
  auto extraIndex = [&](const std::string &name, const SourceLoc &where) -> int64_t {
    Value t = tensors.lookup(name);
    if (!t || !inputDecls.count(name)) {
      error(where) << "'" << name << "' is not an input tensor";
      return -1;
    }
    extras.insert(t);
    return std::find(extras.begin(), extras.end(), t) - extras.begin();
  };
  auto collect = [&](const ExprPtr &e) {
    forEachNode(e, [&](const Expr &x) {
      if (x.kind == Expr::Kind::Index)
        extraIndex(x.name, x.loc);
    });
  };
  for (const ExprPtr &m : a.masks) collect(m);
  for (const ExprPtr &s : a.scores) collect(s);

  SmallVector<Attribute> carrier;
  if (failed(carrierFamilies(a, extraIndex, carrier)))
    return nullptr;
  attn::ScoreConvAttr conv;
  if (a.scoreConv) {
    int64_t w = extraIndex(a.scoreConv->weight, a.scoreConv->loc);
    conv = attn::ScoreConvAttr::get(&ctx, a.scoreConv->queries, a.scoreConv->keys, w);
  }
  // Anchor and link.
  auto link = attn::symbolizeLink(a.link);
  auto anchor = attn::symbolizeAnchor(a.anchor);
  if (!link) {
    error(a.linkLoc) << "unknown link '" << a.link << "'";
    return nullptr;
  }
  if (!anchor) {
    error(a.anchorLoc) << "unknown anchor '" << a.anchor << "'";
    return nullptr;
  }
  std::optional<double> power, nullLogit;
  std::optional<int64_t> nullExtra, iterations;
  if (const Arg *p = findArg(a.linkArgs, "power"))
    power = p->number;
  if (const Arg *n = findArg(a.anchorArgs, "null")) {
    if (n->kind == Arg::Kind::Number)
      nullLogit = n->number;
    else
      nullExtra = extraIndex(n->word, n->loc);
  }
  if (const Arg *it = findArg(a.anchorArgs, "iterations"))
    iterations = (int64_t)it->number;
  // scale: a constant folds into the op; anything else becomes the first
  // score modification (after a unit scale).
  FloatAttr scale;
  const Expr *dynamicScale = nullptr;
  if (a.scale) {
    if (auto c = foldConstant(**a.scale))
      scale = b.getF64FloatAttr(*c);
    else {
      scale = b.getF64FloatAttr(1.0);
      dynamicScale = a.scale->get();
      collect(*a.scale);
    }
  }
  if (failedFlag)
    return nullptr;
  // Sema has checked the parameters; getChecked reports at the spec's
  // location should the attributes' rules ever be stricter.
  auto linkAttr = attn::LinkAttr::getChecked([&] { return error(a.linkLoc); }, &ctx,
                                             *link, power);
  auto anchorAttr = attn::AnchorAttr::getChecked([&] { return error(a.anchorLoc); }, &ctx,
                                                 *anchor, nullLogit, nullExtra, iterations);
  if (!linkAttr || !anchorAttr)
    return nullptr;

  attn::ContextShardAttr shardAttr;
  if (opts.contextShard) {
    const spec::ContextShard &cs = *opts.contextShard;
    int64_t off = extraIndex(spec::kCPOffsetsInput, a.loc);
    if (off < 0)
      return nullptr;
    shardAttr = attn::ContextShardAttr::get(&ctx, cs.qStride, cs.kStride, cs.qParts, cs.kParts, off);
  }
  Type lseTy;
  if (opts.returnLse && !a.featureAxis)
    lseTy = RankedTensorType::get({qt.getDimSize(0), h, qt.getDimSize(2)}, b.getF32Type());

  SmallVector<Value> extraVals(extras.begin(), extras.end());
  OperationState state(l, attn::AttentionOp::getOperationName());
  attn::AttentionOp::build(b, state, resultTy, lseTy, q, k, v, extraVals, b.getArrayAttr(carrier),
                           scale, linkAttr, anchorAttr, conv, a.signedWeights ? b.getUnitAttr() : UnitAttr(),
                           b.getI64IntegerAttr(a.splitKV), attn::KVPagesAttr(), DenseI64ArrayAttr(), IntegerAttr(),
                           shardAttr);
  auto op = cast<attn::AttentionOp>(b.create(state));
  Type indexTy = b.getIndexType();
  auto indexScope = [&](Block *blk, unsigned first) {
    Scope scope;
    const char *names[] = {"b", "h", "i", "j"};
    for (unsigned n = 0; n < 4; ++n)
      scope.vars[names[n]] = TV{blk->getArgument(first + n), Kind::Int};
    return scope;
  };
  if (!a.masks.empty()) {
    Block *blk = new Block();
    op.getMask().push_back(blk);
    for (int n = 0; n < 4; ++n)
      blk->addArgument(indexTy, l);
    Scope scope = indexScope(blk, 0);
    OpBuilder eb = OpBuilder::atBlockEnd(blk);
    Value all = arith::ConstantIntOp::create(eb, l, 1, 1);
    for (const ExprPtr &m : a.masks) {
      auto x = emit(eb, *m, scope);
      if (!x)
        return nullptr;
      if (x->k != Kind::Bool) {
        error(m->loc) << "a mask must be a condition (a comparison), not a number";
        return nullptr;
      }
      all = arith::AndIOp::create(eb, l, all, x->v);
    }
    attn::YieldOp::create(eb, l, all);
  }
  if (!a.scores.empty() || dynamicScale) {
    Block *blk = new Block();
    op.getScore().push_back(blk);
    Value s = blk->addArgument(scalar, l);
    for (int n = 0; n < 4; ++n)
      blk->addArgument(indexTy, l);
    Scope scope = indexScope(blk, 1);
    OpBuilder eb = OpBuilder::atBlockEnd(blk);
    if (dynamicScale) {
      auto x = emit(eb, *dynamicScale, scope);
      if (!x || x->k == Kind::Bool)
        return error(dynamicScale->loc) << "scale must be a number", nullptr;
      s = arith::MulFOp::create(eb, l, s, toFloat(eb, l, *x));
    }
    for (const ExprPtr &e : a.scores) {
      scope.vars["s"] = TV{s, Kind::Float};
      auto x = emit(eb, *e, scope);
      if (!x)
        return nullptr;
      if (x->k == Kind::Bool) {
        error(e->loc) << "a score modification must be a number; use `mask` for conditions";
        return nullptr;
      }
      s = toFloat(eb, l, *x);
    }
    attn::YieldOp::create(eb, l, s);
  }
  return a.featureAxis ? swapTokensFeatures(l, op.getResult()) : op.getResult();
}

Value ModuleBuilder::emitOutput(const OutputDecl &o) {
  Location l = loc(o.loc);
  // A bare attention name needs no map.
  if (o.expr->kind == Expr::Kind::Ident) {
    Value t = tensors.lookup(o.expr->name);
    if (t && !inputDecls.count(o.expr->name))
      return t;
  }
  Value shapeOf;
  forEachNode(o.expr, [&](const Expr &x) {
    if (!shapeOf && x.kind == Expr::Kind::Ident)
      for (const AttentionDecl &a : spec.attentions)
        if (a.name == x.name)
          shapeOf = tensors.lookup(a.name);
  });
  if (!shapeOf) {
    error(o.loc) << "an output must use at least one attention result";
    return nullptr;
  }
  auto ty = cast<RankedTensorType>(shapeOf.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < ty.getRank(); ++d)
    if (ty.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, l, shapeOf, d));
  auto op = attn::MapOp::create(b, l, ty, ValueRange{}, b.getAffineMapArrayAttr({}), sizes);
  Block *blk = new Block();
  op.getBody().push_back(blk);
  Scope scope;
  const char *names[] = {"b", "h", "i", "d"};
  for (int n = 0; n < 4; ++n) {
    Value a = blk->addArgument(b.getIndexType(), l);
    scope.vars[names[n]] = TV{a, Kind::Int};
    scope.indices.push_back(a);
  }
  for (const AttentionDecl &a : spec.attentions) {
    Value t = tensors.lookup(a.name);
    if (t && t.getType() == ty)
      scope.tensors[a.name] = t;
  }
  OpBuilder eb = OpBuilder::atBlockEnd(blk);
  auto v = emit(eb, *o.expr, scope);
  if (!v)
    return nullptr;
  if (v->k == Kind::Bool) {
    error(o.expr->loc) << "an output must be a number, not a condition";
    return nullptr;
  }
  attn::YieldOp::create(eb, l, toElem(eb, l, toFloat(eb, l, *v)));
  return op.getResult();
}

OwningOpRef<ModuleOp> ModuleBuilder::build() {
  Location l = loc(spec.loc);
  OwningOpRef<ModuleOp> module = ModuleOp::create(l);
  integerInputs = inferIntegerInputs(spec);
  // q/k/v (and the inputs their lets transform) take the tensor element type.
  llvm::StringMap<std::string> letSource;
  for (const LetDecl &let : spec.lets)
    letSource[let.name] = let.source;
  for (const AttentionDecl &a : spec.attentions)
    for (std::string name : {a.q, a.k, a.v}) {
      while (letSource.count(name))
        name = letSource[name];
      attentionOperands[name] = true;
    }
  SmallVector<Type> argTypes;
  for (const InputDecl &in : spec.inputs) {
    argTypes.push_back(inputType(in));
    inputDecls[in.name] = &in;
  }
  b.setInsertionPointToEnd(module->getBody());
  auto fn = func::FuncOp::create(b, l, spec.name, b.getFunctionType(argTypes, {}));
  entry = fn.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  for (auto [in, arg] : llvm::zip(spec.inputs, entry->getArguments()))
    tensors[in.name] = in.dtype != "f8e4m3"
                           ? Value(arg)
                           : widenFloat8(arg, attentionOperands.lookup(in.name) ? elem : scalar,
                                         in.name);
  for (const LetDecl &let : spec.lets) {
    Value v = emitLet(let);
    if (!v)
      return nullptr;
    tensors[let.name] = v;
  }
  for (const AttentionDecl &a : spec.attentions) {
    Value v = emitAttention(a);
    if (!v)
      return nullptr;
    tensors[a.name] = v;
  }
  SmallVector<Value> results;
  for (const OutputDecl &o : spec.outputs) {
    Value v = emitOutput(o);
    if (!v)
      return nullptr;
    results.push_back(v);
  }
  if (opts.returnLse) {
    for (const OutputDecl &o : spec.outputs) {
      auto att = o.expr && o.expr->kind == Expr::Kind::Ident
                     ? tensors.lookup(o.expr->name).getDefiningOp<attn::AttentionOp>()
                     : attn::AttentionOp();
      if (!att || !att.getLse()) {
        error(o.loc) << "output '" << o.name << "' has no LSE: it is not an attention's result";
        return nullptr;
      }
      results.push_back(att.getLse());
    }
  }
  func::ReturnOp::create(b, l, results);
  SmallVector<Type> resultTypes;
  for (Value r : results)
    resultTypes.push_back(r.getType());
  fn.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  attn::VariantSignature sig = variantSignature(spec);
  if (opts.returnLse)
    for (size_t n = 0, e = spec.outputs.size(); n < e; ++n) {
      attn::VariantSignature::Tensor t = sig.outputs[n];
      t.name += "_lse";
      t.shape.resize(3);
      t.attention.clear();
      sig.outputs.push_back(t);
    }
  attn::setVariantSignature(fn, sig);
  if (failedFlag || failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace attnc::frontend

using namespace attnc::frontend;

llvm::StringMap<bool> attnc::inferIntegerInputs(const Spec &spec) {
  llvm::StringMap<bool> inMask, elsewhere;
  auto mark = [](llvm::StringMap<bool> &m, const ExprPtr &e) {
    forEachNode(e, [&](const Expr &x) {
      if (x.kind == Expr::Kind::Index || x.kind == Expr::Kind::Ident)
        m[x.name] = true;
    });
  };
  llvm::StringMap<bool> carrierArgs;
  for (const AttentionDecl &a : spec.attentions) {
    for (const ExprPtr &m : a.masks) mark(inMask, m);
    for (const ExprPtr &s : a.scores) mark(elsewhere, s);
    if (a.scale) mark(elsewhere, *a.scale);
    for (const CarrierDecl &c : a.carriers)
      for (const Arg &arg : c.args)
        if (arg.kind == Arg::Kind::Word)
          carrierArgs[arg.word] = true;
    elsewhere[a.q] = elsewhere[a.k] = elsewhere[a.v] = true;
  }
  for (const LetDecl &l : spec.lets) {
    mark(elsewhere, l.expr);
    elsewhere[l.source] = true;
    for (const Arg &arg : l.args) // paged's page table
      if (arg.key == "table" && arg.kind == Arg::Kind::Word)
        carrierArgs[arg.word] = true;
  }
  for (const OutputDecl &o : spec.outputs) mark(elsewhere, o.expr);
  llvm::StringMap<bool> result;
  for (const InputDecl &in : spec.inputs)
    result[in.name] = !in.dtype.empty() ? in.dtype == "i32"
                                        : carrierArgs.count(in.name) ||
                                              (inMask.count(in.name) && !elsewhere.count(in.name));
  return result;
}

OwningOpRef<ModuleOp> attnc::buildModule(MLIRContext &ctx, const Spec &spec,
                                         const LoweringOptions &options) {
  ctx.loadDialect<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect, scf::SCFDialect>();
  return ModuleBuilder(ctx, spec, options).build();
}
