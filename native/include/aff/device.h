// Which compute backends this build and this machine offer. The CUDA build answers from the driver;
// a build without nvcc always reports no device, and callers fall back to the CPU.
#pragma once
#include <cstdint>

namespace aff {

// True when libaff was compiled with the CUDA kernels.
bool cuda_compiled();
// Number of usable CUDA devices (0 when none, when the driver is missing, or when CUDA was not compiled).
int32_t cuda_device_count();
// Writes "name, N MiB, sm_XY" of a device into buf (NUL-terminated, truncated to len). Returns false when absent.
bool cuda_device_describe(int32_t device, char* buf, int32_t len);
// The SIMD path the CPU kernels chose at run time: "avx512", "avx2" or "scalar".
const char* cpu_simd_level();
// True when large exact-search batches are screened with AMX bf16 tiles (CPU support, kernel permission,
// and AFF_AMX not set to 0).
bool cpu_amx_screening();

}  // namespace aff
