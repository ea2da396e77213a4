// AVX-512 kernels (F, BW, VL, DQ + F16C). Compiled with those flags for this file only; run only when the CPU has them.
#include <immintrin.h>

#include "simd.h"

namespace aff::simd {
namespace {

inline __mmask16 tail_mask(size_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
}

// Four rows at a time so each query load feeds four independent FMA chains.
template <typename LoadRow>
inline void dot_rows(const float* q, size_t n, size_t d, float* out, LoadRow load_row) {
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (size_t i = 0; i < d; i += 16) {
      const __mmask16 m = tail_mask(d - i);
      const __m512 qv = _mm512_maskz_loadu_ps(m, q + i);
      a0 = _mm512_fmadd_ps(qv, load_row(j + 0, i, m), a0);
      a1 = _mm512_fmadd_ps(qv, load_row(j + 1, i, m), a1);
      a2 = _mm512_fmadd_ps(qv, load_row(j + 2, i, m), a2);
      a3 = _mm512_fmadd_ps(qv, load_row(j + 3, i, m), a3);
    }
    out[j + 0] = _mm512_reduce_add_ps(a0);
    out[j + 1] = _mm512_reduce_add_ps(a1);
    out[j + 2] = _mm512_reduce_add_ps(a2);
    out[j + 3] = _mm512_reduce_add_ps(a3);
  }
  // Leftover rows (and single-row calls, as in screening): four accumulators break the FMA dependency chain.
  for (; j < n; ++j) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    const __mmask16 all = 0xffff;
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load_row(j, i, all), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), load_row(j, i + 16, all), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 32), load_row(j, i + 32, all), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 48), load_row(j, i + 48, all), a3);
    }
    for (; i < d; i += 16) {
      const __mmask16 m = tail_mask(d - i);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), load_row(j, i, m), a0);
    }
    out[j] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
}

void dot_f32(const float* q, const float* x, size_t n, size_t d, float* out) {
  dot_rows(q, n, d, out, [=](size_t j, size_t i, __mmask16 m) { return _mm512_maskz_loadu_ps(m, x + j * d + i); });
}

void dot_f16(const float* q, const uint16_t* x, size_t n, size_t d, float* out) {
  dot_rows(q, n, d, out, [=](size_t j, size_t i, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + j * d + i));
  });
}

void norms_f32(const float* x, size_t n, size_t d, float* out) {
  for (size_t j = 0; j < n; ++j) {
    const float* row = x + j * d;
    __m512 a = _mm512_setzero_ps();
    for (size_t i = 0; i < d; i += 16) {
      const __m512 v = _mm512_maskz_loadu_ps(tail_mask(d - i), row + i);
      a = _mm512_fmadd_ps(v, v, a);
    }
    out[j] = _mm512_reduce_add_ps(a);
  }
}

void f16_to_f32(const uint16_t* in, size_t n, float* out) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, in + i)));
  }
}

void f32_to_f16(const float* in, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(out + i, m, h);
  }
}

size_t select_at_least(const float* scores, size_t n, float threshold, uint32_t* out_idx) {
  const __m512 t = _mm512_set1_ps(threshold);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(16);
  size_t m = 0;
  for (size_t j = 0; j < n; j += 16) {
    const __mmask16 valid = tail_mask(n - j);
    const __mmask16 hit = _mm512_mask_cmp_ps_mask(valid, _mm512_maskz_loadu_ps(valid, scores + j), t, _CMP_GE_OQ);
    if (hit) {
      _mm512_mask_compressstoreu_epi32(out_idx + m, hit, idx);
      m += static_cast<size_t>(__builtin_popcount(hit));
    }
    idx = _mm512_add_epi32(idx, step);
  }
  return m;
}

size_t select_bound(const float* s, const float* m, const float* thr, float a, float len, float sub, size_t n,
                    uint32_t* out_idx) {
  const __m512 va = _mm512_set1_ps(a), vlen = _mm512_set1_ps(len), base = _mm512_set1_ps(1e-30f - sub);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(16);
  size_t hits = 0;
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 valid = tail_mask(n - i);
    const __m512 b = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(valid, m + i), vlen,
                                     _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(valid, s + i), base));
    const __mmask16 hit = _mm512_mask_cmp_ps_mask(valid, b, _mm512_maskz_loadu_ps(valid, thr + i), _CMP_GE_OQ);
    if (hit) {
      _mm512_mask_compressstoreu_epi32(out_idx + hits, hit, idx);
      hits += static_cast<size_t>(__builtin_popcount(hit));
    }
    idx = _mm512_add_epi32(idx, step);
  }
  return hits;
}

}  // namespace

const Kernels& avx512_kernels() {
  static const Kernels k{"avx512", dot_f32, dot_f16, norms_f32, f16_to_f32, f32_to_f16, select_at_least,
                         select_bound};
  return k;
}

}  // namespace aff::simd
