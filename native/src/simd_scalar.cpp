// Portable kernels: the reference every SIMD path is tested against.
#include <cstring>

#include "simd.h"

namespace aff::simd {

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xffu) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));  // Inf / NaN
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> Inf
  if (e <= 0) {                                                // subnormal half or zero
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent: still correct
  return static_cast<uint16_t>(sign | half);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      x = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

namespace {

void dot_f32(const float* q, const float* x, size_t n, size_t d, float* out) {
  for (size_t j = 0; j < n; ++j) {
    const float* row = x + j * d;
    float s = 0.f;
    for (size_t i = 0; i < d; ++i) s += q[i] * row[i];
    out[j] = s;
  }
}

void dot_f16(const float* q, const uint16_t* x, size_t n, size_t d, float* out) {
  for (size_t j = 0; j < n; ++j) {
    const uint16_t* row = x + j * d;
    float s = 0.f;
    for (size_t i = 0; i < d; ++i) s += q[i] * half_to_float(row[i]);
    out[j] = s;
  }
}

void norms_f32(const float* x, size_t n, size_t d, float* out) {
  for (size_t j = 0; j < n; ++j) {
    const float* row = x + j * d;
    float s = 0.f;
    for (size_t i = 0; i < d; ++i) s += row[i] * row[i];
    out[j] = s;
  }
}

void f16_to_f32(const uint16_t* in, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
}

void f32_to_f16(const float* in, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = float_to_half(in[i]);
}

size_t select_at_least(const float* scores, size_t n, float threshold, uint32_t* out_idx) {
  size_t m = 0;
  for (size_t j = 0; j < n; ++j) {
    if (scores[j] >= threshold) out_idx[m++] = static_cast<uint32_t>(j);
  }
  return m;
}

size_t select_bound(const float* s, const float* m, const float* thr, float a, float len, float sub, size_t n,
                    uint32_t* out_idx) {
  size_t hits = 0;
  for (size_t i = 0; i < n; ++i) {
    if (a * s[i] + m[i] * len + 1e-30f - sub >= thr[i]) out_idx[hits++] = static_cast<uint32_t>(i);
  }
  return hits;
}

}  // namespace

const Kernels& scalar_kernels() {
  static const Kernels k{"scalar", dot_f32, dot_f16, norms_f32, f16_to_f32, f32_to_f16, select_at_least,
                         select_bound};
  return k;
}

}  // namespace aff::simd
