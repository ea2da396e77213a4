// AVX2 + FMA + F16C kernels. Compiled with those flags for this file only; run only when the CPU has them.
#include <immintrin.h>

#include "simd.h"

namespace aff::simd {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

inline __m256 load_f32(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// Four rows at a time; the last d % 8 columns are summed in scalar code.
template <typename T, typename Load, typename Widen>
inline void dot_rows(const float* q, const T* x, size_t n, size_t d, float* out, Load load, Widen widen) {
  const size_t dv = d & ~size_t{7};
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const T* r0 = x + (j + 0) * d;
    const T* r1 = x + (j + 1) * d;
    const T* r2 = x + (j + 2) * d;
    const T* r3 = x + (j + 3) * d;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (size_t i = 0; i < dv; i += 8) {
      const __m256 qv = _mm256_loadu_ps(q + i);
      a0 = _mm256_fmadd_ps(qv, load(r0 + i), a0);
      a1 = _mm256_fmadd_ps(qv, load(r1 + i), a1);
      a2 = _mm256_fmadd_ps(qv, load(r2 + i), a2);
      a3 = _mm256_fmadd_ps(qv, load(r3 + i), a3);
    }
    float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (size_t i = dv; i < d; ++i) {
      s0 += q[i] * widen(r0[i]);
      s1 += q[i] * widen(r1[i]);
      s2 += q[i] * widen(r2[i]);
      s3 += q[i] * widen(r3[i]);
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }
  // Leftover rows (and single-row calls): two accumulators halve the FMA dependency chain.
  for (; j < n; ++j) {
    const T* r = x + j * d;
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= dv; i += 16) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load(r + i), a);
      b = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load(r + i + 8), b);
    }
    for (; i < dv; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load(r + i), a);
    float s = hsum(_mm256_add_ps(a, b));
    for (size_t i = dv; i < d; ++i) s += q[i] * widen(r[i]);
    out[j] = s;
  }
}

void dot_f32(const float* q, const float* x, size_t n, size_t d, float* out) {
  dot_rows(q, x, n, d, out, load_f32, [](float v) { return v; });
}

void dot_f16(const float* q, const uint16_t* x, size_t n, size_t d, float* out) {
  dot_rows(q, x, n, d, out, load_f16, [](uint16_t v) { return _cvtsh_ss(v); });
}

void norms_f32(const float* x, size_t n, size_t d, float* out) {
  const size_t dv = d & ~size_t{7};
  for (size_t j = 0; j < n; ++j) {
    const float* row = x + j * d;
    __m256 a = _mm256_setzero_ps();
    for (size_t i = 0; i < dv; i += 8) {
      const __m256 v = _mm256_loadu_ps(row + i);
      a = _mm256_fmadd_ps(v, v, a);
    }
    float s = hsum(a);
    for (size_t i = dv; i < d; ++i) s += row[i] * row[i];
    out[j] = s;
  }
}

void f16_to_f32(const uint16_t* in, size_t n, float* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load_f16(in + i));
  for (; i < n; ++i) out[i] = _cvtsh_ss(in[i]);
}

void f32_to_f16(const float* in, size_t n, uint16_t* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = _cvtss_sh(in[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

size_t select_at_least(const float* scores, size_t n, float threshold, uint32_t* out_idx) {
  const __m256 t = _mm256_set1_ps(threshold);
  size_t m = 0;
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    unsigned bits = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(scores + j), t, _CMP_GE_OQ)));
    while (bits) {
      out_idx[m++] = static_cast<uint32_t>(j + static_cast<size_t>(__builtin_ctz(bits)));
      bits &= bits - 1;
    }
  }
  for (; j < n; ++j) {
    if (scores[j] >= threshold) out_idx[m++] = static_cast<uint32_t>(j);
  }
  return m;
}

size_t select_bound(const float* s, const float* m, const float* thr, float a, float len, float sub, size_t n,
                    uint32_t* out_idx) {
  const __m256 va = _mm256_set1_ps(a), vlen = _mm256_set1_ps(len), base = _mm256_set1_ps(1e-30f - sub);
  size_t hits = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 b = _mm256_fmadd_ps(_mm256_loadu_ps(m + i), vlen, _mm256_fmadd_ps(va, _mm256_loadu_ps(s + i), base));
    unsigned bits =
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(b, _mm256_loadu_ps(thr + i), _CMP_GE_OQ)));
    while (bits) {
      out_idx[hits++] = static_cast<uint32_t>(i + static_cast<size_t>(__builtin_ctz(bits)));
      bits &= bits - 1;
    }
  }
  for (; i < n; ++i) {
    if (a * s[i] + m[i] * len + 1e-30f - sub >= thr[i]) out_idx[hits++] = static_cast<uint32_t>(i);
  }
  return hits;
}

}  // namespace

const Kernels& avx2_kernels() {
  static const Kernels k{"avx2", dot_f32, dot_f16, norms_f32, f16_to_f32, f32_to_f16, select_at_least,
                         select_bound};
  return k;
}

}  // namespace aff::simd
