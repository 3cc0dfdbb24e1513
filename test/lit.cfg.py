# lit configuration for attnc: pass tests (.mlir through attnc-opt) and spec
# tests (.attn through attnc), each checked with FileCheck.
import os
import lit.formats
from lit.llvm import llvm_config

config.name = "ATTNC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".attn", ".json", ".test"]
config.test_source_root = os.path.join(os.path.dirname(__file__), "lit")
config.test_exec_root = os.path.join(config.attnc_obj_root, "test", "lit")
config.excludes = ["Inputs"]
llvm_config.use_default_substitutions()
# No test writes to the user's kernel cache (~/.cache/attnc): an empty
# ATTNC_CACHE_DIR means none; tests of the cache name their own folder.
config.environment["ATTNC_CACHE_DIR"] = ""
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["attnc-opt", "attnc", "attnc-device-check"], [os.path.join(config.attnc_obj_root, "bin")])
config.substitutions.append(("%make_cases", os.path.join(config.attnc_src_root, "test", "device", "make-cases")))
config.substitutions.append(("%attnc_bin", os.path.join(config.attnc_obj_root, "bin", "attnc")))
config.substitutions.append(("%examples", os.path.join(config.attnc_src_root, "examples")))

# GPU code generation tests need the GPU passes (ATTNC_ENABLE_GPU=ON).
if getattr(config, "attnc_gpu_codegen", "OFF").upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("gpu-codegen")

# mlir-runner and its C runner utils (tests that execute host IR).
_runner_utils = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib",
                             "libmlir_c_runner_utils.so")
if os.path.exists(_runner_utils) and os.path.exists(
        os.path.join(config.llvm_tools_dir, "mlir-runner")):
    config.available_features.add("mlir-runner")
    config.substitutions.append(("%mlir_c_runner_utils", _runner_utils))

# The CUDA toolkit (ptxas) turns GPU modules into cubins.
if os.path.exists(os.environ.get("CUDA_HOME", "/usr/local/cuda") + "/bin/ptxas"):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", os.environ.get("CUDA_HOME", "/usr/local/cuda") + "/bin/ptxas"))

# A GPU on this machine (tests of the no-GPU error paths are unsupported there).
if os.path.exists("/dev/nvidia0"):
    config.available_features.add("gpu-device")
