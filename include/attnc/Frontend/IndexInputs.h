//===- IndexInputs.h - checks of the index tables a spec reads --*- C++ -*-===//
#ifndef ATTNC_FRONTEND_INDEXINPUTS_H
#define ATTNC_FRONTEND_INDEXINPUTS_H

#include "attnc/Spec/SpecAST.h"
#include "attnc/Support/Npy.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

namespace attnc {

/// Index inputs steer loads in the generated code (document boundaries,
/// block-list rows): they are checked before a run so that bad data gives
/// an error naming the input instead of an out-of-bounds read. `arrays[k]`
/// holds input `names[k]` (int32); `dims` are the bound sizes.
llvm::Error validateIndexInputs(const spec::Spec &spec, llvm::ArrayRef<std::string> names,
                                llvm::ArrayRef<const NpyArray *> arrays,
                                const llvm::StringMap<int64_t> &dims);

/// Whether validateIndexInputs checks input `name`: the tables of document,
/// block_list and lengths carriers and of paged lets.
bool isIndexTable(const spec::Spec &spec, llvm::StringRef name);

} // namespace attnc

#endif // ATTNC_FRONTEND_INDEXINPUTS_H
