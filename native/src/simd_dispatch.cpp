// Chooses the CPU kernels once, from what the running CPU supports (not from build flags).
#include <cstdlib>
#include <cstring>

#include "aff/device.h"
#include "simd.h"

namespace aff::simd {

bool cpu_supports(const char* level) {
  __builtin_cpu_init();
  if (std::strcmp(level, "scalar") == 0) return true;
  if (std::strcmp(level, "avx2") == 0) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  }
  if (std::strcmp(level, "avx512") == 0) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && cpu_supports("avx2");
  }
  return false;
}

namespace {
const Kernels& choose() {
  // AFF_SIMD may only lower the level: asking for more than the CPU has falls back to the best it supports.
  const char* wanted = std::getenv("AFF_SIMD");
  const bool allow512 = !wanted || std::strcmp(wanted, "avx512") == 0;
  const bool allow2 = allow512 || std::strcmp(wanted, "avx2") == 0;
  if (allow512 && cpu_supports("avx512")) return avx512_kernels();
  if (allow2 && cpu_supports("avx2")) return avx2_kernels();
  return scalar_kernels();
}
}  // namespace

const Kernels& best_kernels() {
  static const Kernels& chosen = choose();
  return chosen;
}

}  // namespace aff::simd

namespace aff {
const char* cpu_simd_level() { return simd::best_kernels().name; }
}  // namespace aff
