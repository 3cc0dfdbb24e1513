/*===- attnc.h - compile attention specs in process (C API) -------*- C -*-===*
 *
 * libattnc: compile a spec (text or JSON form) with its dims bound, for the
 * host (a JIT-compiled CPU function) or for a GPU (kernels loaded through the
 * runtime, attnc_runtime.h), and run it. MLIR stays inside the library.
 *
 *   attnc_program *p;
 *   attnc_compile_options o = attnc_compile_options_default();
 *   const char *names[] = {"B", "H", "L", "D"}; int64_t values[] = {1, 2, 128, 64};
 *   if (attnc_compile(text, strlen(text), "causal.attn", 4, names, values, &o, &p) != ATTNC_OK)
 *     fprintf(stderr, "%s\n", attnc_last_error());  // spec diagnostics, FILE:LINE:COL
 *
 * Errors are a status plus attnc_last_error() (per thread), as in the runtime.
 * Every function is thread-safe; a program may be run from several threads.
 *===----------------------------------------------------------------------===*/
#ifndef ATTNC_ATTNC_H
#define ATTNC_ATTNC_H

#include "attnc/Runtime/attnc_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ATTNC_TARGET_CPU = 0,   /* the CPU reference, JIT-compiled for this host */
  ATTNC_TARGET_SM90A = 1, /* Hopper kernels (cubin), launched through the runtime */
} attnc_target;

typedef struct {
  attnc_target target;
  /* CPU: ATTNC_DTYPE_F32 (default) or ATTNC_DTYPE_F64; GPU: ATTNC_DTYPE_BF16
   * (default) or ATTNC_DTYPE_F16 for q, k, v and the outputs. */
  attnc_dtype dtype;
  /* GPU: the kernel cache folder (NULL or "": $ATTNC_CACHE_DIR when set, an
   * empty value meaning none, else $XDG_CACHE_HOME/attnc, else
   * ~/.cache/attnc, as for the attnc CLI). */
  const char *cache_dir;
  /* GPU: the decode (split-KV) schedule. */
  int decode;
  /* Context parallelism (docs/context-parallel.md): NULL or "" for none, else
   * "ring", "striped" or "tree" over WORLD ranks. The program is then one
   * shard of the spec's attention: it takes an extra i32 input cp_offsets [2]
   * (the global positions of its first query row and first key) and writes
   * each output's LSE, which the shards' results merge by (CPU programs take
   * it through attnc_program_run_cpu_lse). */
  const char *context_parallel;
  int world;
} attnc_compile_options;

typedef struct attnc_program attnc_program;

/* Start every attnc_compile_options from this (fields are added over time). */
attnc_compile_options attnc_compile_options_default(void);

/* Parses, checks and compiles SPEC (SPEC_SIZE bytes). NAME labels the spec
 * in diagnostics; a name ending in ".json" selects the JSON form. Every dim
 * the spec declares must be bound (DIM_NAMES[i] = DIM_VALUES[i]). */
attnc_status attnc_compile(const char *spec, size_t spec_size, const char *name, int num_dims,
                           const char *const *dim_names, const int64_t *dim_values,
                           const attnc_compile_options *options, attnc_program **out);
void attnc_program_free(attnc_program *program);

/* The variant's name, and its inputs and outputs in declaration order: name,
 * element type and shape (the dims bound). */
const char *attnc_program_name(const attnc_program *program);
attnc_target attnc_program_target(const attnc_program *program);
int attnc_program_num_inputs(const attnc_program *program);
int attnc_program_num_outputs(const attnc_program *program);
const char *attnc_program_input_name(const attnc_program *program, int index);
const char *attnc_program_output_name(const attnc_program *program, int index);
attnc_dtype attnc_program_input_dtype(const attnc_program *program, int index);
attnc_dtype attnc_program_output_dtype(const attnc_program *program, int index);
/* Rank, and the shape into SHAPE (ATTNC_MAX_RANK entries); -1 if out of range. */
int attnc_program_input_shape(const attnc_program *program, int index, int64_t *shape);
int attnc_program_output_shape(const attnc_program *program, int index, int64_t *shape);

/* CPU programs: runs on host buffers, inputs then outputs in declaration
 * order; each must have its input's or output's dtype and shape and be
 * contiguous. Index inputs (document offsets, block lists) are checked
 * first. */
attnc_status attnc_program_run_cpu(attnc_program *program, const attnc_tensor *inputs,
                                   int num_inputs, const attnc_tensor *outputs, int num_outputs);
/* How a context-parallel program's partial results merge: "lse" (rows
 * normalised by the anchor: weighted by e^lse), "sum" (anchor none: the
 * partials add), or "" for a program compiled without context_parallel. */
const char *attnc_program_cp_merge(const attnc_program *program);

/* A context-parallel program's plan as JSON (docs/context-parallel.md):
 * {"layout", "world", "merge", "ranks": [[{"block", "offsets": [q, k],
 * "keeps": "none" | "some" | "all"}, ...] per rank]}: each rank's steps in
 * order, the cp_offsets of each, and whether the carrier keeps none (the
 * step is skipped), some or all of its pairs. "" without context_parallel. */
const char *attnc_program_cp_schedule(const attnc_program *program);

/* The same, also writing each output's LSE (f32 [B, H, Lq], one tensor per
 * output; LSE may be NULL) for a program whose outputs have one
 * (attnc_program_output_has_lse: CPU programs compiled for context
 * parallelism). */
attnc_status attnc_program_run_cpu_lse(attnc_program *program, const attnc_tensor *inputs,
                                       int num_inputs, const attnc_tensor *outputs, int num_outputs,
                                       const attnc_tensor *lse);

/* GPU programs: launches every kernel of the program on STREAM (a CUstream;
 * NULL = the default stream), asynchronously. INPUTS and OUTPUTS are device
 * tensors in declaration order with the dtypes and shapes of the program's
 * signature, contiguous (size-1 axes may have any stride). The tables of
 * document and block_list carriers are checked as attnc_program_run_cpu
 * checks them, by default: a run with such tables then waits for
 * STREAM and copies them to the host first (not while STREAM is being
 * captured into a CUDA graph, when they are not checked).
 * attnc_program_set_table_checks(program, 0), or ATTNC_CHECK_TABLES=0 in the
 * environment when the program is compiled, turns that off for speed; the
 * kernels never read outside a table either way. LSE: NULL, or one f32
 * tensor [B, H, Lq] per output that receives each row's log-sum-exp; without
 * it the program writes the LSE to a scratch buffer of its own, allocated on
 * the first such run (so run once before capturing, or pass LSE). Launches
 * may be captured into a CUDA graph (the graph must not outlive the
 * program). */
attnc_status attnc_program_run_gpu(attnc_program *program, const attnc_tensor *inputs, int num_inputs,
                                   const attnc_tensor *outputs, int num_outputs, const attnc_tensor *lse,
                                   void *stream);

/* Whether attnc_program_run_gpu checks the program's index inputs (1, the
 * default unless ATTNC_CHECK_TABLES=0) or not (0). */
attnc_status attnc_program_set_table_checks(attnc_program *program, int enabled);

/* GPU programs: the inputs NAMES (N of them) keep their contents from run to
 * run (a mask's tables, as a FlexAttention BlockMask is built once). The
 * steps that read only them (the block classification of a mask that the
 * compiler cannot bound, the bounds of its tables) then run on the first run
 * on each stream and are skipped on later runs given the same tensors (data
 * pointers, shapes and strides; a run captured into a CUDA graph runs them).
 * N = 0 turns it off; call it again after changing such an
 * input's contents in place. Returns the number of steps that can be skipped
 * through *SKIPPED (may be NULL). */
attnc_status attnc_program_keep_static(attnc_program *program, const char *const *names, int n, int *skipped);

/* 1 when a kernel of the GPU program writes output N's LSE (a Hopper
 * attention kernel computes it), or the CPU program computes it (context
 * parallelism), else 0: attnc_program_run_gpu refuses an
 * lse array for a program with an output that has none (a let, an output
 * expression or an attention on the generic path). */
int attnc_program_output_has_lse(const attnc_program *program, int output);

/* GPU programs: the loaded kernels (a Hopper kernel per attention it
 * computes, generic kernels for the rest), each launched with attnc_kernel_launch
 * (tensor names in attnc_kernel_tensor_name; attnc_kernel_info_string(k,
 * "spec") is not set: the spec names of a kernel's q, k, v and extras are
 * attnc_program_kernel_input). The kernels belong to the program. */
int attnc_program_num_kernels(const attnc_program *program);
attnc_kernel *attnc_program_kernel(const attnc_program *program, int index);
/* The output (index into the outputs) kernel INDEX computes, or -1. */
int attnc_program_kernel_output(const attnc_program *program, int index);
/* The spec input kernel INDEX binds to its tensor TENSOR (a kernel tensor
 * index), or NULL for o and lse. */
const char *attnc_program_kernel_input(const attnc_program *program, int index, int tensor);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTNC_ATTNC_H */
