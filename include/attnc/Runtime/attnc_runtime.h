/*===- attnc_runtime.h - Load and launch attnc GPU kernels -------*- C -*-===*
 *
 * The attnc runtime: a small C library that loads a kernel that attnc
 * compiled (a JSON manifest, docs/gpu-abi.md, plus a cubin or PTX beside it),
 * checks a launch's arguments against the manifest, and launches it with the
 * CUDA driver API.
 *
 * - Depends on nothing but libc/libstdc++ at build time. libcuda.so.1 is
 *   opened with dlopen() the first time a function needs the GPU, so the
 *   library builds, loads manifests and validates arguments on a machine with
 *   no GPU and no CUDA driver; those calls then fail with
 *   ATTNC_ERR_NO_DRIVER ("CUDA driver not available: ...").
 * - Never aborts on bad input: every function returns a status, and on
 *   failure attnc_last_error() (per thread) says what went wrong, naming the
 *   argument, the expected value and the value it got.
 * - Thread-safe: one attnc_kernel may be launched from several threads.
 *
 * Usage:
 *   attnc_kernel *k;
 *   if (attnc_kernel_load("out/attn_kernel.json", &k) != ATTNC_OK)
 *     fprintf(stderr, "%s\n", attnc_last_error());
 *   attnc_tensor args[5];   // one per tensor the manifest names, in manifest
 *                           // order: attnc_kernel_tensor_name(k, i)
 *   args[0] = attnc_tensor_contiguous(q_ptr, ATTNC_DTYPE_BF16, 4, q_shape, 0);
 *   ...
 *   attnc_status s = attnc_kernel_launch(k, args, 5, NULL, stream);
 *   attnc_kernel_free(k);
 *
 * Contexts: a launch uses the calling thread's current CUDA context; if the
 * thread has none, the primary context of the tensors' device is retained
 * and made current (as the CUDA runtime does). Modules are loaded lazily, once
 * per context.
 *===----------------------------------------------------------------------===*/
#ifndef ATTNC_RUNTIME_ATTNC_RUNTIME_H
#define ATTNC_RUNTIME_ATTNC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The manifest abi_version this runtime understands. */
#define ATTNC_RUNTIME_ABI_VERSION 1
/* Largest tensor rank an attnc_tensor can describe. */
#define ATTNC_MAX_RANK 8

/* In C++ the enums have int as their fixed underlying type (the C ABI is the
 * same), so that any int a C caller passes is a valid value to check. */
#ifdef __cplusplus
#define ATTNC_ENUM_BASE : int
#else
#define ATTNC_ENUM_BASE
#endif

typedef enum attnc_status ATTNC_ENUM_BASE {
  ATTNC_OK = 0,
  ATTNC_ERR_INVALID_ARGUMENT = 1, /* NULL where a value is needed, bad dtype code, bad dims[] */
  ATTNC_ERR_IO = 2,               /* a file could not be read */
  ATTNC_ERR_MANIFEST = 3,         /* malformed or unsupported manifest */
  ATTNC_ERR_ARG_COUNT = 4,        /* nargs differs from the number of tensors the kernel takes */
  ATTNC_ERR_DTYPE = 5,            /* a tensor's dtype differs from the manifest's */
  ATTNC_ERR_RANK = 6,             /* a tensor's rank differs from the manifest's */
  ATTNC_ERR_SHAPE = 7,            /* shape mismatch, inconsistent dims, violated constraint */
  ATTNC_ERR_STRIDE = 8,           /* layout the kernel cannot read (e.g. not contiguous) */
  ATTNC_ERR_ALIGNMENT = 9,        /* pointer not aligned as the kernel needs (16 B for TMA) */
  ATTNC_ERR_LIMIT = 10,           /* a size out of range (i32 params, grid, TMA limits, overflow) */
  ATTNC_ERR_POINTER = 11,         /* not device memory, other device, or allocation too small */
  ATTNC_ERR_NO_DRIVER = 12,       /* libcuda.so.1 missing or unusable, or no GPU */
  ATTNC_ERR_CUDA = 13,            /* a CUDA driver call failed */
  ATTNC_ERR_UNSUPPORTED_DEVICE = 14, /* the kernel was built for another GPU architecture */
  ATTNC_ERR_OUT_OF_MEMORY = 15
} attnc_status;

typedef enum attnc_dtype ATTNC_ENUM_BASE {
  ATTNC_DTYPE_INVALID = 0,
  ATTNC_DTYPE_F32 = 1,
  ATTNC_DTYPE_F16 = 2,
  ATTNC_DTYPE_BF16 = 3,
  ATTNC_DTYPE_F64 = 4,
  ATTNC_DTYPE_I32 = 5,
  ATTNC_DTYPE_I64 = 6,
  ATTNC_DTYPE_I8 = 7,
  ATTNC_DTYPE_U8 = 8,
  ATTNC_DTYPE_BOOL = 9, /* one byte per element */
  ATTNC_DTYPE_F8E4M3 = 10 /* FP8 e4m3 (OCP "fn": no infinities), one byte per element */
} attnc_dtype;

/* A strided view of device memory. strides are in elements, not bytes. */
typedef struct attnc_tensor {
  void *data;                      /* device pointer (first element) */
  int32_t dtype;                   /* an attnc_dtype */
  int32_t rank;                    /* 0..ATTNC_MAX_RANK */
  int64_t shape[ATTNC_MAX_RANK];
  int64_t strides[ATTNC_MAX_RANK]; /* elements */
  int32_t device;                  /* CUDA device ordinal that holds data */
} attnc_tensor;

typedef struct attnc_kernel attnc_kernel; /* a loaded kernel and its manifest */

/* ---- errors ------------------------------------------------------------ */

/* The message of the last failing call on this thread ("" if none). The
 * pointer stays valid until the next attnc_* call on this thread. */
const char *attnc_last_error(void);
/* "ATTNC_OK", "ATTNC_ERR_SHAPE", ... */
const char *attnc_status_name(attnc_status status);
/* Bytes per element of a dtype (0 for an invalid code); its name ("bf16"). */
size_t attnc_dtype_size(attnc_dtype dtype);
const char *attnc_dtype_name(attnc_dtype dtype);

/* A row-major contiguous tensor (strides filled in). shape may be NULL when
 * rank is 0; rank is clamped to 0..ATTNC_MAX_RANK. */
attnc_tensor attnc_tensor_contiguous(void *data, attnc_dtype dtype, int rank, const int64_t *shape,
                                     int device);

/* ---- loading ----------------------------------------------------------- */

/* Reads and checks the manifest and reads the binary beside it: the file
 * named by the manifest's "binary" field if present, else the first of
 * <stem>.cubin, <stem>.ptx, <kernel>.cubin, <kernel>.ptx that exists (stem =
 * the manifest's file name without ".json"). Needs no GPU. */
attnc_status attnc_kernel_load(const char *manifest_path, attnc_kernel **out);
/* Same, from memory. The image (cubin, fatbin or NUL-terminated-or-not PTX
 * text) is copied. image may be NULL (size 0): the kernel then validates but
 * cannot launch. */
attnc_status attnc_kernel_load_memory(const char *manifest_json, size_t manifest_size,
                                      const void *image, size_t image_size, attnc_kernel **out);
/* Frees the kernel and unloads its modules. NULL is allowed. The caller must
 * make sure no launch of it is still running. */
void attnc_kernel_free(attnc_kernel *kernel);

/* ---- introspection ----------------------------------------------------- */

const char *attnc_kernel_name(const attnc_kernel *kernel);
/* The tensors a launch takes, in the order args[] must list them. */
int attnc_kernel_num_tensors(const attnc_kernel *kernel);
const char *attnc_kernel_tensor_name(const attnc_kernel *kernel, int index);
attnc_dtype attnc_kernel_tensor_dtype(const attnc_kernel *kernel, int index);
int attnc_kernel_tensor_rank(const attnc_kernel *kernel, int index);
/* The named run-time sizes ("B", "Lq", ...), in the order dims[] lists them:
 * the manifest's "dims" field if present, else the names of the i32
 * parameters in parameter order, then any other name in order of use. */
int attnc_kernel_num_dims(const attnc_kernel *kernel);
const char *attnc_kernel_dim_name(const attnc_kernel *kernel, int index);
/* Top-level scalar manifest fields ("head_dim", "scale", "causal", ...).
 * Return the default / NULL when the field is absent or of another type. */
int64_t attnc_kernel_info_int(const attnc_kernel *kernel, const char *key, int64_t dflt);
double attnc_kernel_info_number(const attnc_kernel *kernel, const char *key, double dflt);
const char *attnc_kernel_info_string(const attnc_kernel *kernel, const char *key);
int attnc_kernel_info_bool(const attnc_kernel *kernel, const char *key, int dflt);

/* ---- validation and launch --------------------------------------------- */

/* Every host-side check of a launch, without touching the GPU: argument
 * count, dtype, rank, shape against the manifest's symbolic shapes, dims
 * consistent across tensors, the manifest's constraints, i32 and grid limits,
 * strides, alignment. dims: NULL, or attnc_kernel_num_dims() entries, each
 * >= 0 (fixes that size) or -1 (infer it from the tensors). resolved_dims:
 * NULL, or attnc_kernel_num_dims() entries that receive every size. */
attnc_status attnc_kernel_validate(const attnc_kernel *kernel, const attnc_tensor *args, int nargs,
                                   const int64_t *dims, int64_t *resolved_dims);
/* attnc_kernel_validate, then the device checks (each pointer is device
 * memory of the current context's device and the allocation holds the whole
 * tensor), then encodes the tensor maps and launches asynchronously on stream
 * (a CUstream; NULL = the default stream).
 * Tensor maps the manifest marks by_value (attnc's kernels) are kernel
 * parameters: nothing is copied to the device. Other maps and a decode
 * kernel's workspace live in a device buffer that the kernel keeps per
 * (context, stream) and reuses across launches on that stream (maps are
 * uploaded only when they change); attnc_kernel_free releases them. A launch on a stream that is being captured into a CUDA
 * graph gets a buffer of its own instead, filled before the capture returns
 * and kept until attnc_kernel_free: free the kernel only after the graphs
 * that launch it. A decode kernel's split count (the manifest's split_kv dim,
 * usually "S") is taken from dims[] when given (>= 0), else chosen from the
 * grid and the device's SM count. */
attnc_status attnc_kernel_launch(attnc_kernel *kernel, const attnc_tensor *args, int nargs,
                                 const int64_t *dims, void *stream);

/* ---- programs ------------------------------------------------------------ */

/* A GPU program: what `attnc compile --target=sm_90a` writes as
 * DIR/<variant>.program.json beside the kernels. Its steps launch kernels in
 * order over buffers: the spec's inputs and outputs, and temporaries the
 * program keeps per (device, stream) (a let, an output expression, an
 * attention the Hopper kernel does not compute). */
typedef struct attnc_gpu_program attnc_gpu_program;

/* Reads the program and loads every kernel it names from the same folder
 * (<kernel>.json and its binary, as attnc_kernel_load). Needs no GPU. */
attnc_status attnc_gpu_program_load(const char *program_path, attnc_gpu_program **out);
/* Same, from memory: the program's JSON and its kernels, each named by the
 * file stem the program uses. The program owns the kernels from the call on
 * (also when it fails). */
attnc_status attnc_gpu_program_load_memory(const char *program_json, size_t size, attnc_kernel *const *kernels,
                                           const char *const *names, int num_kernels, attnc_gpu_program **out);
/* Frees the program, its kernels and temporaries; no run of it may still be
 * in flight, and no CUDA graph that captured one may be replayed later. */
void attnc_gpu_program_free(attnc_gpu_program *program);
int attnc_gpu_program_num_inputs(const attnc_gpu_program *program);
int attnc_gpu_program_num_outputs(const attnc_gpu_program *program);
const char *attnc_gpu_program_input_name(const attnc_gpu_program *program, int index);
const char *attnc_gpu_program_output_name(const attnc_gpu_program *program, int index);
/* The dtype of an input or output (ATTNC_DTYPE_INVALID for a bad index). */
attnc_dtype attnc_gpu_program_input_dtype(const attnc_gpu_program *program, int index);
attnc_dtype attnc_gpu_program_output_dtype(const attnc_gpu_program *program, int index);
/* The rank of output INDEX (-1 for a bad index); its sizes into SHAPE (NULL,
 * or ATTNC_MAX_RANK entries), -1 where the size is a run-time value. */
int attnc_gpu_program_output_shape(const attnc_gpu_program *program, int index, int64_t *shape);
/* The shape of output INDEX for these inputs (NI of them, in order): its
 * run-time sizes from the dims the inputs' shapes give. Returns the rank, or
 * -1 with attnc_last_error() set (a bad index, inputs that disagree, or a
 * size no input gives). */
int attnc_gpu_program_output_shape_for(const attnc_gpu_program *program, int index, const attnc_tensor *inputs,
                                       int ni, int64_t *shape);
/* 1 when a kernel of the program writes output INDEX's LSE, else 0. */
int attnc_gpu_program_output_has_lse(const attnc_gpu_program *program, int index);
/* The distinct kernels, in the order steps first use them. */
int attnc_gpu_program_num_kernels(const attnc_gpu_program *program);
attnc_kernel *attnc_gpu_program_kernel(const attnc_gpu_program *program, int index);
/* Runs every step on STREAM. inputs/outputs: one device tensor per spec
 * input and output, in the program's order, checked against the program's
 * dtypes and static shapes (each launch is then validated as
 * attnc_kernel_launch validates it). lse: NULL, or one f32 [B, H, Lq] tensor
 * per output (every output must then have one). Runs on one stream share
 * the program's temporaries for that stream (allocated when a run first
 * needs them, inside a CUDA-graph capture too); a run is queued whole under
 * the stream's lock. CU_STREAM_PER_THREAD is refused for programs with
 * temporaries (it names a different stream in each thread). */
attnc_status attnc_gpu_program_run(attnc_gpu_program *program, const attnc_tensor *inputs, int num_inputs,
                                   const attnc_tensor *outputs, int num_outputs, const attnc_tensor *lse,
                                   void *stream);

/* Declares the inputs (spec input indices) whose contents stay the same from
 * run to run, such as a mask's tables (as a FlexAttention BlockMask is built
 * once): the steps that read nothing else (a mask's block classification,
 * the bounds of its tables) then run on the first run on each stream and
 * their results are kept for later runs on it while the same tensors (data
 * pointers, shapes and strides) and dims are passed. Steps that read no
 * input at all depend on the dims alone and are kept that way from the
 * program's load (a mask over positions only, as a shifted window).
 * Steps that read an undeclared input, or whose results another generic
 * step binds, always run. A run that a CUDA graph captures runs (captures)
 * them too and keeps nothing. n = 0 keeps only the steps that read no
 * input. After changing such an input's contents in place, call this
 * again: it drops the kept results. A run must not be in flight on another
 * thread during the call. */
attnc_status attnc_gpu_program_keep_static(attnc_gpu_program *program, const int *inputs, int n);
/* How many steps a run may skip: those of the inputs declared by
 * attnc_gpu_program_keep_static and those that read no input. */
int attnc_gpu_program_num_static_steps(const attnc_gpu_program *program);

/* ---- driver ------------------------------------------------------------- */

/* Device memory for hosts that have no CUDA runtime of their own (the attnc
 * CLI, tests): allocation on a device (its primary context is made current),
 * and synchronous copies. Errors name the call and the driver's reason. */
attnc_status attnc_device_alloc(int device, size_t bytes, void **out);
/* attnc_device_alloc for work on STREAM: when the stream is being captured
 * into a CUDA graph, the allocation is made with this thread's capture mode
 * relaxed (as PyTorch's allocator does), and the graph may use it. */
attnc_status attnc_device_alloc_for_stream(int device, void *stream, size_t bytes, void **out);
attnc_status attnc_device_free(void *ptr);
attnc_status attnc_copy_to_device(void *dst, const void *src, size_t bytes);
attnc_status attnc_copy_to_host(void *dst, const void *src, size_t bytes);
/* Waits for the work queued on a stream (NULL: the default stream). */
attnc_status attnc_stream_synchronize(void *stream);
/* *capturing = 1 while STREAM (of DEVICE, whose context is made current when
 * the thread has none) is being captured into a CUDA graph (no
 * synchronisation or host copy may then be queued on it), else 0. */
attnc_status attnc_stream_is_capturing(int device, void *stream, int *capturing);

/* ATTNC_OK if libcuda can be loaded, initialised and has a device; else
 * ATTNC_ERR_NO_DRIVER with the reason in attnc_last_error(). */
attnc_status attnc_driver_available(void);
/* Use another driver library than "libcuda.so.1" (NULL = the default); the
 * environment variable ATTNC_CUDA_DRIVER does the same. Only before the
 * driver has been loaded successfully (else ATTNC_ERR_INVALID_ARGUMENT); a
 * failed earlier attempt is forgotten, so the next use tries again. */
attnc_status attnc_set_driver_library(const char *path);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTNC_RUNTIME_ATTNC_RUNTIME_H */
