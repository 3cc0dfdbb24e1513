//===- RuntimeProgramTest.cpp - GPU programs in the runtime, no GPU -------===//
//
// The program schema (<variant>.program.json) both ways and its refusals,
// and every check attnc_gpu_program_run makes before it touches a GPU.
//
//===----------------------------------------------------------------------===//
#include "attnc/Runtime/KernelManifest.h"
#include "attnc/Runtime/attnc_runtime.h"

#include "gtest/gtest.h"

#include <string>

namespace {
using namespace attnc::manifest;

// A generic kernel as lib/GPU writes one: a pointer per static buffer.
const char *CopyKernel = R"json({
  "abi_version": 1, "kernel": "v_step0_kernel", "chip": "sm_90a", "dims": [],
  "params": [
    {"name": "p0", "kind": "ptr", "tensor": "t0", "dtype": "bf16", "shape": [2, 8]},
    {"name": "p1", "kind": "ptr", "tensor": "t1", "dtype": "f32", "shape": [2, 8]}
  ],
  "grid": [1, 1, 1], "block": [256, 1, 1], "shared_bytes": 0, "constraints": []
})json";

Program twoSteps() {
  Program p;
  p.buffers = {{"x", ProgramBuffer::Kind::Input, 0, "bf16", {2, 8}},
               {"v_step0.t0", ProgramBuffer::Kind::Temp, -1, "f32", {2, 8}},
               {"y", ProgramBuffer::Kind::Output, 0, "f32", {2, 8}}};
  p.steps = {{"v_step0_kernel", {{"t0", 0}, {"t1", 1}}, "a let or an output expression"},
             {"v_step0_kernel", {{"t0", 0}, {"t1", 2}}, ""}};
  return p;
}

TEST(RuntimeProgram, PrintsAndParsesBack) {
  Program p = twoSteps();
  std::string text = printProgram(p);
  Program back;
  std::string err;
  ASSERT_TRUE(parseProgram(text, back, err)) << err;
  ASSERT_EQ(back.buffers.size(), 3u);
  EXPECT_EQ(back.buffers[1].name, "v_step0.t0");
  EXPECT_EQ(back.buffers[1].kind, ProgramBuffer::Kind::Temp);
  EXPECT_EQ(back.buffers[2].shape, (std::vector<int64_t>{2, 8}));
  ASSERT_EQ(back.steps.size(), 2u);
  EXPECT_EQ(back.steps[0].reason, "a let or an output expression");
  EXPECT_EQ(back.steps[1].bind, (std::vector<std::pair<std::string, int64_t>>{{"t0", 0}, {"t1", 2}}));
  EXPECT_EQ(printProgram(back), text);
}

TEST(RuntimeProgram, RefusesMalformedPrograms) {
  auto refused = [](const std::string &text, const std::string &what) {
    Program p;
    std::string err;
    EXPECT_FALSE(parseProgram(text, p, err)) << text;
    EXPECT_NE(err.find(what), std::string::npos) << err;
  };
  const std::string x = R"({"name": "x", "kind": "input", "index": 0, "dtype": "bf16", "shape": [2]})";
  const std::string y = R"({"name": "y", "kind": "output", "index": 0, "dtype": "bf16", "shape": [2]})";
  refused("[]", "expected an object with the arrays");
  refused(R"({"buffers": [)" + x + R"(], "steps": []})", "no output 0");
  refused(R"({"buffers": [)" + x + "," + x + "," + y + R"(], "steps": []})", "a second input 0");
  refused(R"({"buffers": [)" + x + "," + y + R"(], "steps": [{"kernel": "../k", "bind": {}}]})",
          "is not a file stem");
  refused(R"({"buffers": [)" + x + "," + y + R"(], "steps": [{"kernel": "k", "bind": {"t0": 2}}]})",
          "steps[0].bind.t0: expected a buffer index");
  refused(R"({"buffers": [{"name": "t", "kind": "temp", "index": -1, "dtype": "f32", "shape": [-1]}, )" + x + "," +
              y + R"(], "steps": []})",
          "a temporary of dynamic shape needs its sizes");
  refused(R"({"buffers": [{"name": "t", "kind": "temp", "index": -1, "dtype": "f32", "shape": [-1, 2], "sizes": ["N"]}, )" +
              x + "," + y + R"(], "steps": []})",
          "buffers[0].sizes: expected an array as long as the shape");
  refused(R"({"buffers": [{"name": "t", "kind": "temp", "index": -1, "dtype": "f32", "shape": [-1, 2], "sizes": ["N", "M"]}, )" +
              x + "," + y + R"(], "steps": []})",
          "buffers[0].sizes[1]: 'M' for a static size");
  refused(R"({"buffers": [{"name": "t", "kind": "temp", "index": -1, "dtype": "f32", "shape": [-1], "sizes": ["N +"]}, )" +
              x + "," + y + R"(], "steps": []})",
          "buffers[0].sizes[0]: expected an integer or a size expression");
  refused(R"({"buffers": [{"name": "t", "kind": "temp", "index": -1, "dtype": "f33", "shape": []}], "steps": []})",
          "unknown dtype 'f33'");
  refused(R"({"buffers": [)" + x + "," + y + R"(, {"name": "l", "kind": "lse", "index": 1, "dtype": "f32", "shape": [2]}], "steps": []})",
          "buffer 'l': the LSE of output 1, but the program has 1");
}

/// The program over the copy kernel (no image: it validates but cannot launch).
attnc_gpu_program *load(const Program &p) {
  attnc_kernel *k = nullptr;
  EXPECT_EQ(attnc_kernel_load_memory(CopyKernel, strlen(CopyKernel), nullptr, 0, &k), ATTNC_OK)
      << attnc_last_error();
  const char *name = "v_step0_kernel";
  std::string text = printProgram(p);
  attnc_gpu_program *prog = nullptr;
  attnc_status s = attnc_gpu_program_load_memory(text.data(), text.size(), &k, &name, 1, &prog);
  EXPECT_EQ(s, ATTNC_OK) << attnc_last_error();
  return prog;
}

TEST(RuntimeProgram, Introspection) {
  attnc_gpu_program *p = load(twoSteps());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(attnc_gpu_program_num_inputs(p), 1);
  EXPECT_EQ(attnc_gpu_program_num_outputs(p), 1);
  EXPECT_STREQ(attnc_gpu_program_input_name(p, 0), "x");
  EXPECT_STREQ(attnc_gpu_program_output_name(p, 0), "y");
  EXPECT_EQ(attnc_gpu_program_output_name(p, 1), nullptr);
  EXPECT_EQ(attnc_gpu_program_input_dtype(p, 0), ATTNC_DTYPE_BF16);
  EXPECT_EQ(attnc_gpu_program_output_dtype(p, 0), ATTNC_DTYPE_F32);
  EXPECT_EQ(attnc_gpu_program_output_dtype(p, 1), ATTNC_DTYPE_INVALID);
  int64_t shape[ATTNC_MAX_RANK];
  ASSERT_EQ(attnc_gpu_program_output_shape(p, 0, shape), 2);
  EXPECT_EQ(shape[0], 2);
  EXPECT_EQ(shape[1], 8);
  EXPECT_EQ(attnc_gpu_program_output_shape(p, 1, shape), -1);
  EXPECT_EQ(attnc_gpu_program_output_has_lse(p, 0), 0);
  EXPECT_EQ(attnc_gpu_program_num_kernels(p), 1);
  EXPECT_STREQ(attnc_kernel_name(attnc_gpu_program_kernel(p, 0)), "v_step0_kernel");
  attnc_gpu_program_free(p);
}

TEST(RuntimeProgram, RefusesBadRunsBeforeTheGPU) {
  attnc_gpu_program *p = load(twoSteps());
  ASSERT_NE(p, nullptr);
  int64_t s28[2] = {2, 8}, s29[2] = {2, 9};
  char buf[256];
  attnc_tensor x = attnc_tensor_contiguous(buf, ATTNC_DTYPE_BF16, 2, s28, 0);
  attnc_tensor y = attnc_tensor_contiguous(buf, ATTNC_DTYPE_F32, 2, s28, 0);
  EXPECT_EQ(attnc_gpu_program_run(p, &x, 1, &y, 0, nullptr, nullptr), ATTNC_ERR_ARG_COUNT);
  attnc_tensor xw = attnc_tensor_contiguous(buf, ATTNC_DTYPE_BF16, 2, s29, 0);
  EXPECT_EQ(attnc_gpu_program_run(p, &xw, 1, &y, 1, nullptr, nullptr), ATTNC_ERR_SHAPE);
  EXPECT_NE(std::string(attnc_last_error()).find("input 'x': expected shape [2, 8], got [2, 9]"), std::string::npos)
      << attnc_last_error();
  attnc_tensor yw = attnc_tensor_contiguous(buf, ATTNC_DTYPE_BF16, 2, s28, 0);
  EXPECT_EQ(attnc_gpu_program_run(p, &x, 1, &yw, 1, nullptr, nullptr), ATTNC_ERR_DTYPE);
  EXPECT_NE(std::string(attnc_last_error()).find("output 'y': expected f32"), std::string::npos);
  attnc_tensor lse = attnc_tensor_contiguous(buf, ATTNC_DTYPE_F32, 1, s28, 0);
  EXPECT_EQ(attnc_gpu_program_run(p, &x, 1, &y, 1, &lse, nullptr), ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attnc_last_error()).find("output 'y' has no LSE"), std::string::npos);
  attnc_gpu_program_free(p);
}

TEST(RuntimeProgram, RefusesStepsTheirKernelsCannotTake) {
  Program p = twoSteps();
  p.steps[0].bind = {{"t0", 0}}; // t1 unbound
  attnc_kernel *k = nullptr;
  ASSERT_EQ(attnc_kernel_load_memory(CopyKernel, strlen(CopyKernel), nullptr, 0, &k), ATTNC_OK);
  const char *name = "v_step0_kernel";
  std::string text = printProgram(p);
  attnc_gpu_program *prog = nullptr;
  EXPECT_EQ(attnc_gpu_program_load_memory(text.data(), text.size(), &k, &name, 1, &prog), ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("binds no buffer to its tensor 't1'"), std::string::npos);
  p = twoSteps();
  p.steps[1].bind = {{"t0", 2}, {"t1", 2}}; // an f32 buffer for the bf16 tensor
  ASSERT_EQ(attnc_kernel_load_memory(CopyKernel, strlen(CopyKernel), nullptr, 0, &k), ATTNC_OK);
  text = printProgram(p);
  EXPECT_EQ(attnc_gpu_program_load_memory(text.data(), text.size(), &k, &name, 1, &prog), ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("binds buffer 'y' (f32) to tensor 't0' (bf16)"), std::string::npos)
      << attnc_last_error();
  EXPECT_EQ(attnc_gpu_program_load("/nonexistent/p.program.json", &prog), ATTNC_ERR_IO);
  // The same kernel passed twice (under two names) is owned, and freed, once.
  ASSERT_EQ(attnc_kernel_load_memory(CopyKernel, strlen(CopyKernel), nullptr, 0, &k), ATTNC_OK);
  attnc_kernel *twice[2] = {k, k};
  const char *names[2] = {"v_step0_kernel", "other"};
  text = printProgram(twoSteps());
  ASSERT_EQ(attnc_gpu_program_load_memory(text.data(), text.size(), twice, names, 2, &prog), ATTNC_OK)
      << attnc_last_error();
  EXPECT_EQ(attnc_gpu_program_num_kernels(prog), 1);
  attnc_gpu_program_free(prog);
}
} // namespace

// A generic kernel of dynamic sizes as lib/GPU writes one: each buffer its
// descriptor (two pointers, offset, sizes, strides), the grid over its sizes.
const char *DynCopyKernel = R"json({
  "abi_version": 1, "kernel": "d_kernel", "chip": "sm_90a", "dims": ["t0_0", "t1_0"],
  "params": [
    {"name": "p0_allocated", "kind": "ptr", "tensor": "t0", "dtype": "bf16", "shape": ["t0_0", 8]},
    {"name": "p0_aligned", "kind": "ptr", "tensor": "t0", "dtype": "bf16", "shape": ["t0_0", 8]},
    {"name": "p0_offset", "kind": "i64", "value": 0},
    {"name": "p0_size0", "kind": "i64", "value": "t0_0"},
    {"name": "p0_stride0", "kind": "i64", "value": 8},
    {"name": "p1_allocated", "kind": "ptr", "tensor": "t1", "dtype": "f32", "shape": ["t1_0", 8]},
    {"name": "p1_aligned", "kind": "ptr", "tensor": "t1", "dtype": "f32", "shape": ["t1_0", 8]},
    {"name": "s2", "kind": "i64", "value": "t0_0*4294967296"}
  ],
  "grid": ["((t1_0)*(8)+(255))/(256)", 1, 1], "block": [256, 1, 1], "shared_bytes": 0, "constraints": []
})json";

/// x [N, 8] -> a temporary [2*N, 8] -> y [N, 8].
Program dynamicSteps() {
  using K = ProgramBuffer::Kind;
  Program p;
  p.buffers = {{"x", K::Input, 0, "bf16", {-1, 8}, {"N", "8"}},
               {"d.t0", K::Temp, -1, "f32", {-1, 8}, {"2*N", "8"}},
               {"y", K::Output, 0, "f32", {-1, 8}, {"N", "8"}}};
  p.steps = {{"d_kernel", {{"t0", 0}, {"t1", 1}}, ""}, {"d_kernel", {{"t0", 0}, {"t1", 2}}, ""}};
  return p;
}

TEST(RuntimeProgram, DynamicSizesRoundTrip) {
  std::string text = printProgram(dynamicSteps());
  EXPECT_NE(text.find(R"("shape": [-1, 8], "sizes": ["2*N", 8])"), std::string::npos) << text;
  Program back;
  std::string err;
  ASSERT_TRUE(parseProgram(text, back, err)) << err;
  EXPECT_EQ(back.buffers[1].sizes, (std::vector<std::string>{"2*N", "8"}));
  EXPECT_EQ(printProgram(back), text);
  // A temporary of dynamic size is kept too (the run keys it by the dims);
  // the step that writes the output is never static.
  EXPECT_EQ(staticSteps(back, {true}), (std::vector<bool>{true, false}));
  EXPECT_EQ(staticSteps(back, {false}), (std::vector<bool>{false, false}));
}

TEST(RuntimeProgram, DynamicSizesBindFromTheCallersTensors) {
  attnc_kernel *k = nullptr;
  ASSERT_EQ(attnc_kernel_load_memory(DynCopyKernel, strlen(DynCopyKernel), nullptr, 0, &k), ATTNC_OK)
      << attnc_last_error();
  const char *name = "d_kernel";
  std::string text = printProgram(dynamicSteps());
  attnc_gpu_program *p = nullptr;
  ASSERT_EQ(attnc_gpu_program_load_memory(text.data(), text.size(), &k, &name, 1, &p), ATTNC_OK)
      << attnc_last_error();
  int64_t s38[2] = {3, 8}, s48[2] = {4, 8};
  char buf[256];
  attnc_tensor x = attnc_tensor_contiguous(buf, ATTNC_DTYPE_BF16, 2, s38, 0);
  int64_t shape[ATTNC_MAX_RANK] = {};
  EXPECT_EQ(attnc_gpu_program_output_shape(p, 0, shape), 2);
  EXPECT_EQ(shape[0], -1);
  ASSERT_EQ(attnc_gpu_program_output_shape_for(p, 0, &x, 1, shape), 2) << attnc_last_error();
  EXPECT_EQ(shape[0], 3);
  EXPECT_EQ(shape[1], 8);
  EXPECT_EQ(attnc_gpu_program_output_shape_for(p, 1, &x, 1, shape), -1);
  attnc_tensor y4 = attnc_tensor_contiguous(buf, ATTNC_DTYPE_F32, 2, s48, 0);
  EXPECT_EQ(attnc_gpu_program_run(p, &x, 1, &y4, 1, nullptr, nullptr), ATTNC_ERR_SHAPE);
  EXPECT_NE(std::string(attnc_last_error()).find("output 'y' axis 0: size 4, but N = 3 from input 'x'"),
            std::string::npos)
      << attnc_last_error();
  attnc_gpu_program_free(p);
  // A size naming a dim that no input or output gives.
  Program unbound = dynamicSteps();
  unbound.buffers[1].sizes[0] = "M";
  text = printProgram(unbound);
  ASSERT_EQ(attnc_kernel_load_memory(DynCopyKernel, strlen(DynCopyKernel), nullptr, 0, &k), ATTNC_OK);
  ASSERT_EQ(attnc_gpu_program_load_memory(text.data(), text.size(), &k, &name, 1, &p), ATTNC_OK)
      << attnc_last_error();
  attnc_tensor y3 = attnc_tensor_contiguous(buf, ATTNC_DTYPE_F32, 2, s38, 0);
  EXPECT_EQ(attnc_gpu_program_run(p, &x, 1, &y3, 1, nullptr, nullptr), ATTNC_ERR_SHAPE);
  EXPECT_NE(std::string(attnc_last_error()).find("temporary 'd.t0' axis 0 (M): dim 'M' is not the size of any"),
            std::string::npos)
      << attnc_last_error();
  attnc_gpu_program_free(p);
}

// A mask's classification as the compiler writes it: two steps over the table
// t alone, then the attention over q, t and their result.
Program classified() {
  using K = ProgramBuffer::Kind;
  Program p;
  p.buffers = {{"q", K::Input, 0, "bf16", {2, 8}},
               {"t", K::Input, 1, "i32", {2, 8}},
               {"rows", K::Temp, -1, "i32", {2, 8}},
               {"classes", K::Temp, -1, "i32", {2, 8}},
               {"lse", K::Lse, 0, "f32", {-1}},
               {"o", K::Output, 0, "bf16", {2, 8}}};
  p.steps = {{"rows_kernel", {{"t0", 1}, {"t1", 2}}, ""},
             {"classes_kernel", {{"t0", 2}, {"t1", 3}}, ""},
             {"attn_kernel", {{"q", 0}, {"extra_0", 1}, {"extra_1", 3}, {"o", 5}, {"lse", 4}}, ""}};
  return p;
}

TEST(RuntimeProgram, StaticStepsReadOnlyStaticInputs) {
  Program p = classified();
  EXPECT_EQ(staticSteps(p, {false, true}), (std::vector<bool>{true, true, false}));
  // Nothing is static: nothing is kept; q alone makes no step static either.
  EXPECT_EQ(staticSteps(p, {false, false}), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(staticSteps(p, {true, false}), (std::vector<bool>{false, false, false}));
  // A step that also reads q is not static even when t is; nor, then, the
  // step before it (a generic step binding its temporary may write it).
  p.steps[1].bind.push_back({"t2", 0});
  EXPECT_EQ(staticSteps(p, {false, true}), (std::vector<bool>{false, false, false}));
  // Nor one that writes an output (nor what reads its temporaries).
  p = classified();
  p.steps[0].bind.push_back({"t2", 5});
  EXPECT_EQ(staticSteps(p, {false, true}), (std::vector<bool>{false, false, false}));
  // A step that reads no input depends on the sizes alone: static whatever
  // is declared, while only the attention kernel reads its temporary ...
  p = classified();
  p.buffers.push_back({"zeros", ProgramBuffer::Kind::Temp, -1, "i32", {2, 8}});
  p.steps.insert(p.steps.begin(), {"fill_kernel", {{"t0", 6}}, ""});
  p.steps.back().bind.push_back({"extra_2", 6});
  EXPECT_EQ(staticSteps(p, {false, true}), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(staticSteps(p, {false, false}), (std::vector<bool>{true, false, false, false}));
  // ... but not when it fills a temporary that a later generic step updates
  // (as Sinkhorn's first step does).
  p.steps.insert(p.steps.begin() + 1, {"update_kernel", {{"t0", 0}, {"t1", 6}}, ""});
  EXPECT_EQ(staticSteps(p, {false, true}), (std::vector<bool>{false, false, true, true, false}));
  // Classification over positions only (a shifted window): kept with nothing
  // declared, whether it binds no input or reads only q's sizes.
  p = classified();
  p.steps[0].bind = {{"t0", 2}};
  EXPECT_EQ(staticSteps(p, {false, false}), (std::vector<bool>{true, true, false}));
  p.steps[0].bind.push_back({"t1", 0});
  EXPECT_EQ(staticSteps(p, {false, false}), (std::vector<bool>{false, false, false}));
  p.steps[0].shapeOnly = {"t1"};
  EXPECT_EQ(staticSteps(p, {false, false}), (std::vector<bool>{true, true, false}));
  std::string text = printProgram(p);
  EXPECT_NE(text.find(R"("bind": {"t0": 2, "t1": 0}, "shape_only": ["t1"]})"), std::string::npos) << text;
  Program back;
  std::string err;
  ASSERT_TRUE(parseProgram(text, back, err)) << err;
  EXPECT_EQ(back.steps[0].shapeOnly, (std::vector<std::string>{"t1"}));
  // A shape-only name must be one of the step's bound tensors.
  size_t at = text.find(R"(["t1"])");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 6, R"(["t9"])");
  EXPECT_FALSE(parseProgram(text, back, err));
  EXPECT_NE(err.find("steps[0].shape_only: expected names of bound tensors"), std::string::npos) << err;
  // A generic step that binds a static step's temporary may write it: that
  // step is not static (the attention kernel's extras are read-only).
  p = classified();
  p.steps.push_back({"update_kernel", {{"t0", 0}, {"t1", 2}}, ""});
  EXPECT_EQ(staticSteps(p, {false, true}), (std::vector<bool>{false, false, false, false}));
}

TEST(RuntimeProgram, KeepStaticChecksItsInputs) {
  attnc_gpu_program *p = load(twoSteps());
  ASSERT_NE(p, nullptr);
  int bad = 3, x = 0;
  EXPECT_EQ(attnc_gpu_program_keep_static(p, &bad, 1), ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attnc_last_error()).find("input 3 out of range (the program has 1)"), std::string::npos)
      << attnc_last_error();
  EXPECT_EQ(attnc_gpu_program_keep_static(nullptr, &x, 1), ATTNC_ERR_INVALID_ARGUMENT);
  // x feeds the let, which writes a temporary from x alone: one step to keep.
  EXPECT_EQ(attnc_gpu_program_keep_static(p, &x, 1), ATTNC_OK);
  EXPECT_EQ(attnc_gpu_program_num_static_steps(p), 1);
  EXPECT_EQ(attnc_gpu_program_keep_static(p, nullptr, 0), ATTNC_OK);
  EXPECT_EQ(attnc_gpu_program_num_static_steps(p), 0);
  attnc_gpu_program_free(p);
}
