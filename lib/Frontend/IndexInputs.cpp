//===- IndexInputs.cpp - checks of the index tables a spec reads ----------===//
#include "attnc/Frontend/IndexInputs.h"

#include <set>
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MathExtras.h"

using namespace attnc;

namespace {
std::string wordArgOf(const std::vector<spec::Arg> &args, llvm::StringRef key) {
  for (const spec::Arg &a : args)
    if (a.key == key && a.kind == spec::Arg::Kind::Word)
      return a.word;
  return "";
}

/// An extent of an input's shape: a literal, a bound dim, or -1.
int64_t extentOf(const spec::Spec &spec, llvm::StringRef input, size_t axis,
                 const llvm::StringMap<int64_t> &dims) {
  for (const spec::InputDecl &in : spec.inputs)
    if (in.name == input && axis < in.shape.size()) {
      int64_t lit;
      if (!llvm::StringRef(in.shape[axis]).getAsInteger(10, lit))
        return lit;
      auto it = dims.find(in.shape[axis]);
      return it == dims.end() ? -1 : it->second;
    }
  return -1;
}

/// An extent of a query, through the transforms applied to it (they keep
/// its shape); -1 when it cannot be known.
int64_t queryExtent(const spec::Spec &spec, std::string tensor, size_t axis,
                    const llvm::StringMap<int64_t> &dims) {
  for (size_t hops = 0; hops <= spec.lets.size(); ++hops) {
    auto let = llvm::find_if(spec.lets, [&](const spec::LetDecl &l) { return l.name == tensor; });
    if (let == spec.lets.end())
      break;
    tensor = let->source;
  }
  return extentOf(spec, tensor, axis, dims);
}

/// The page size, pool pages and table name of a paged let (-1 if unknown).
struct PagedLet {
  int64_t ps = -1, pages = -1;
  std::string table;
};
PagedLet pagedLet(const spec::Spec &spec, const spec::LetDecl &l,
                  const llvm::StringMap<int64_t> &dims) {
  bool hnd = wordArgOf(l.args, "layout") == "hnd";
  return {extentOf(spec, l.source, hnd ? 2 : 1, dims), extentOf(spec, l.source, 0, dims),
          wordArgOf(l.args, "table")};
}

const spec::LetDecl *findPaged(const spec::Spec &spec, llvm::StringRef name) {
  for (const spec::LetDecl &l : spec.lets)
    if (l.fn == "paged" && l.name == name)
      return &l;
  return nullptr;
}

/// The paged let a tensor is read through, following the lets that keep
/// its shape (rope, norms ...); null when it is not paged.
const spec::LetDecl *pagedBehind(const spec::Spec &spec, std::string tensor) {
  for (size_t hops = 0; hops <= spec.lets.size(); ++hops) {
    if (const spec::LetDecl *l = findPaged(spec, tensor))
      return l;
    auto let = llvm::find_if(spec.lets, [&](const spec::LetDecl &l) { return l.name == tensor; });
    if (let == spec.lets.end())
      return nullptr;
    tensor = let->source;
  }
  return nullptr;
}

/// Key lengths and page tables. Each lengths table has a length per sequence
/// within [0, Lk] (Lk: the key's length through its lets, for a paged key
/// its table's pages times the page size). Each page table's pages that a
/// sequence holds (below ceil(length / PS) for the longest lengths table an
/// attention reads the paged let under, all of them when an attention reads
/// it without one) name pages of the pool. Entries past a sequence's pages
/// are never read and may hold anything (-1, stale pages).
llvm::Error validatePagedInputs(const spec::Spec &spec,
                                llvm::function_ref<const NpyArray *(llvm::StringRef)> find,
                                const llvm::StringMap<int64_t> &dims) {
  // Per paged let: every lengths table it is read under, and whether some
  // attention reads it without one (then every page counts).
  llvm::StringMap<std::vector<const NpyArray *>> lensOfLet;
  llvm::StringSet<> unbounded;
  for (const spec::AttentionDecl &a : spec.attentions) {
    const NpyArray *lens = nullptr;
    std::string lensName;
    for (const spec::CarrierDecl &c : a.carriers)
      if (c.kind == "lengths") {
        lensName = wordArgOf(c.args, "kv");
        lens = find(lensName);
      }
    const spec::LetDecl *pk = pagedBehind(spec, a.k), *pv = pagedBehind(spec, a.v);
    for (const spec::LetDecl *l : {pk, pv})
      if (l) {
        if (lens)
          lensOfLet[l->name].push_back(lens);
        else
          unbounded.insert(l->name);
      }
    if (!lens)
      continue;
    int64_t lk = -1;
    if (pk) {
      PagedLet pl = pagedLet(spec, *pk, dims);
      const NpyArray *table = find(pl.table);
      if (table && table->shape.size() == 2 && pl.ps > 0)
        lk = table->shape[1] * pl.ps;
    } else {
      lk = queryExtent(spec, a.k, 2, dims);
    }
    int64_t batch = queryExtent(spec, a.q, 0, dims);
    if (batch >= 0 && (int64_t)lens->numElements() != batch)
      return llvm::createStringError("lengths kv input '%s' has %zu entries but the batch is "
                                     "%lld (one length per sequence)",
                                     lensName.c_str(), lens->numElements(), (long long)batch);
    const int32_t *v = lens->as<int32_t>();
    for (size_t b = 0; b < lens->numElements(); ++b)
      if (v[b] < 0 || (lk >= 0 && v[b] > lk))
        return llvm::createStringError(
            "lengths kv input '%s': sequence %zu has length %d, outside [0, %lld] (the key "
            "length%s)",
            lensName.c_str(), b, v[b], (long long)lk,
            pk ? ", the page table's pages times the page size" : "");
  }
  for (const spec::LetDecl &l : spec.lets) {
    if (l.fn != "paged")
      continue;
    PagedLet pl = pagedLet(spec, l, dims);
    const NpyArray *table = find(pl.table);
    if (!table || table->shape.size() != 2 || pl.ps < 1)
      continue;
    std::vector<const NpyArray *> lens;
    if (!unbounded.contains(l.name))
      lens = lensOfLet.lookup(l.name);
    for (const NpyArray *ln : lens)
      if ((int64_t)ln->numElements() != table->shape[0])
        return llvm::createStringError("the page table '%s' has %lld rows but the lengths have "
                                       "%zu entries (one per sequence)",
                                       pl.table.c_str(), (long long)table->shape[0],
                                       ln->numElements());
    const int32_t *t = table->as<int32_t>();
    int64_t mp = table->shape[1];
    for (int64_t b = 0; b < table->shape[0]; ++b) {
      int64_t used = lens.empty() ? mp : 0;
      for (const NpyArray *ln : lens)
        used = std::max<int64_t>(used, llvm::divideCeil(ln->as<int32_t>()[b], pl.ps));
      for (int64_t n = 0; n < used && n < mp; ++n) {
        int32_t p = t[b * mp + n];
        if (p < 0 || (pl.pages >= 0 && p >= pl.pages))
          return llvm::createStringError(
              "page table '%s': sequence %lld, page %lld names pool page %d, outside [0, %lld) "
              "(the pages of '%s')",
              pl.table.c_str(), (long long)b, (long long)n, p, (long long)pl.pages,
              l.source.c_str());
      }
    }
  }
  return llvm::Error::success();
}
} // namespace

bool attnc::isIndexTable(const spec::Spec &spec, llvm::StringRef name) {
  for (const spec::AttentionDecl &a : spec.attentions)
    for (const spec::CarrierDecl &c : a.carriers)
      if (c.kind == "document" || c.kind == "block_list" || c.kind == "lengths")
        for (const spec::Arg &arg : c.args)
          if (arg.kind == spec::Arg::Kind::Word && arg.word == name)
            return true;
  for (const spec::LetDecl &l : spec.lets)
    if (l.fn == "paged" && wordArgOf(l.args, "table") == name)
      return true;
  return false;
}

llvm::Error attnc::validateIndexInputs(const spec::Spec &spec, llvm::ArrayRef<std::string> names,
                                       llvm::ArrayRef<const NpyArray *> arrays,
                                       const llvm::StringMap<int64_t> &dims) {
  auto find = [&](llvm::StringRef name) -> const NpyArray * {
    for (size_t k = 0; k < names.size(); ++k)
      if (names[k] == name)
        return arrays[k];
    return nullptr;
  };
  auto wordArg = [](const spec::CarrierDecl &c, llvm::StringRef key) {
    return wordArgOf(c.args, key);
  };
  auto numArg = [](const spec::CarrierDecl &c, llvm::StringRef key, int64_t dflt) -> int64_t {
    for (const spec::Arg &a : c.args)
      if (a.key == key && a.kind == spec::Arg::Kind::Number)
        return (int64_t)a.number;
    return dflt;
  };
  auto dimOf = [&](const std::string &query, size_t axis) {
    return queryExtent(spec, query, axis, dims);
  };
  if (llvm::Error e = validatePagedInputs(spec, find, dims))
    return e;
  for (const spec::AttentionDecl &a : spec.attentions)
    for (const spec::CarrierDecl &c : a.carriers) {
      if (c.kind == "document") {
        std::string name = wordArg(c, "seqlens");
        const NpyArray *cu = find(name);
        if (!cu)
          continue;
        const int32_t *v = cu->as<int32_t>();
        if (cu->numElements() < 1)
          return llvm::createStringError("%s:%u:%u: seqlens input '%s' is empty; it needs the "
                                         "cumulative offsets [0, l0, l0+l1, ...]",
                                         c.loc.file.c_str(), c.loc.line, c.loc.col, name.c_str());
        for (size_t n = 1; n < cu->numElements(); ++n)
          if (v[n] < v[n - 1])
            return llvm::createStringError("seqlens input '%s' must be nondecreasing, but "
                                           "%s[%zu] = %d < %s[%zu] = %d",
                                           name.c_str(), name.c_str(), n, v[n], name.c_str(),
                                           n - 1, v[n - 1]);
      } else if (c.kind == "block_list") {
        std::string offName = wordArg(c, "offsets"), idxName = wordArg(c, "indices");
        const NpyArray *off = find(offName), *idx = find(idxName);
        if (!off || !idx)
          continue;
        int64_t qBlock = numArg(c, "q_block", 64);
        int64_t lq = dimOf(a.q, 2);
        if (lq < 1)
          return llvm::createStringError("block_list: the length of the query '%s' is not bound; "
                                         "bind its dims to check the block tables",
                                         a.q.c_str());
        int64_t rows = llvm::divideCeil(lq, qBlock) + 1;
        if (off->shape.size() != 3 || off->shape[2] < rows)
          return llvm::createStringError(
              "block_list offsets '%s' must be [B, H, ceil(Lq/%lld)+1] = [.., .., %lld] for Lq = %lld",
              offName.c_str(), (long long)qBlock, (long long)rows, (long long)lq);
        int64_t nnz = idx->shape.size() == 3 ? idx->shape[2] : 0;
        const int32_t *o = off->as<int32_t>();
        size_t perHead = off->shape[2];
        for (size_t r = 0; r < off->numElements(); ++r) {
          bool rowStart = r % perHead == 0;
          if (o[r] < 0 || o[r] > nnz || (!rowStart && o[r] < o[r - 1]))
            return llvm::createStringError(
                "block_list offsets '%s' must be nondecreasing along the last axis and within "
                "[0, %lld] (the indices' last extent); element %zu is %d",
                offName.c_str(), (long long)nnz, r, o[r]);
        }
        // A block listed twice in one row is one block of the carrier (a set),
        // but a kernel that visits the list would count it twice: refuse it.
        if (idx->shape.size() != 3 || idx->shape[0] != off->shape[0] ||
            idx->shape[1] != off->shape[1])
          return llvm::createStringError("block_list indices '%s' must be [B, H, NNZ] with the "
                                         "offsets' B and H",
                                         idxName.c_str());
        const int32_t *ix = idx->as<int32_t>();
        size_t heads = off->numElements() / perHead;
        for (size_t p = 0; p < heads; ++p)
          for (size_t r = 0; r + 1 < perHead; ++r) {
            int32_t lo = o[p * perHead + r], hi = o[p * perHead + r + 1];
            std::set<int32_t> seen;
            for (int32_t e = lo; e < hi; ++e) {
              // A block past Lk keeps nothing (docs/semantics.md); a negative
              // one names no block at all.
              if (ix[p * nnz + e] < 0)
                return llvm::createStringError(
                    "block_list indices '%s' list key block %d in query block %zu of (batch, "
                    "head) %zu; key blocks are numbered from 0",
                    idxName.c_str(), ix[p * nnz + e], r, p);
              if (!seen.insert(ix[p * nnz + e]).second)
                return llvm::createStringError(
                    "block_list indices '%s' list key block %d twice in query block %zu of "
                    "(batch, head) %zu",
                    idxName.c_str(), ix[p * nnz + e], r, p);
            }
          }
      }
    }
  return llvm::Error::success();
}
