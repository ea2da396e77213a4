// CPU kernels with one implementation per SIMD level; simd_dispatch.cpp picks one at run time.
#pragma once
#include <cstddef>
#include <cstdint>

namespace aff::simd {

struct Kernels {
  const char* name;
  // out[j] = <q, x_j> for n rows of x (row-major, stride d).
  void (*dot_f32)(const float* q, const float* x, size_t n, size_t d, float* out);
  void (*dot_f16)(const float* q, const uint16_t* x, size_t n, size_t d, float* out);
  // out[j] = ||x_j||^2.
  void (*norms_f32)(const float* x, size_t n, size_t d, float* out);
  void (*f16_to_f32)(const uint16_t* in, size_t n, float* out);
  void (*f32_to_f16)(const float* in, size_t n, uint16_t* out);
  // Writes the positions j with scores[j] >= threshold into out_idx, returns how many.
  size_t (*select_at_least)(const float* scores, size_t n, float threshold, uint32_t* out_idx);
  // Screening one row against n queries: positions i whose bound a * s[i] + m[i] * len + 1e-30 - sub >= thr[i].
  size_t (*select_bound)(const float* s, const float* m, const float* thr, float a, float len, float sub, size_t n,
                         uint32_t* out_idx);
};

const Kernels& scalar_kernels();
const Kernels& avx2_kernels();
const Kernels& avx512_kernels();

// The best kernels this CPU supports (AFF_SIMD=scalar|avx2|avx512 lowers the choice, for tests and benchmarks).
const Kernels& best_kernels();
// True when this CPU can run the given level.
bool cpu_supports(const char* level);

// Scalar IEEE-754 half conversions (round to nearest even), the reference for the SIMD paths.
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace aff::simd
