#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "simd.h"
#include "test_util.h"

using namespace aff;

namespace {

class SimdLevels : public ::testing::TestWithParam<const char*> {
 protected:
  // The kernels of the level under test, or null when this CPU cannot run them.
  static const simd::Kernels* level_kernels() {
    const std::string level = GetParam();
    if (!simd::cpu_supports(level.c_str())) return nullptr;
    if (level == "avx512") return &simd::avx512_kernels();
    if (level == "avx2") return &simd::avx2_kernels();
    return &simd::scalar_kernels();
  }
};

double rel_err(double a, double b) { return std::fabs(a - b) / std::max(1e-6, std::fabs(b)); }

TEST_P(SimdLevels, DotProductsMatchDoubleReference) {
  if (!level_kernels()) GTEST_SKIP() << "this CPU has no " << GetParam();
  const auto& k = *level_kernels();
  const uint64_t seed = test_util::fresh_seed();
  std::mt19937_64 rng(seed);
  for (size_t d : {1, 3, 8, 15, 16, 17, 33, 128, 131, 512}) {
    const size_t n = 37;  // not a multiple of the 4-row blocks
    const auto q = test_util::random_vectors(rng, 1, d);
    const auto x = test_util::random_vectors(rng, n, d);
    std::vector<uint16_t> h(n * d);
    simd::scalar_kernels().f32_to_f16(x.data(), x.size(), h.data());
    std::vector<float> out(n, NAN), out16(n, NAN), norms(n, NAN);
    k.dot_f32(q.data(), x.data(), n, d, out.data());
    k.dot_f16(q.data(), h.data(), n, d, out16.data());
    k.norms_f32(x.data(), n, d, norms.data());
    for (size_t j = 0; j < n; ++j) {
      double ref = 0, ref16 = 0, refn = 0, mag = 0;
      for (size_t i = 0; i < d; ++i) {
        ref += double(q[i]) * x[j * d + i];
        ref16 += double(q[i]) * simd::half_to_float(h[j * d + i]);
        refn += double(x[j * d + i]) * x[j * d + i];
        mag += std::fabs(double(q[i]) * x[j * d + i]);
      }
      // Error relative to the magnitude of the terms: a dot product near zero has no relative precision.
      EXPECT_LE(std::fabs(out[j] - ref) / mag, 1e-5) << "seed " << seed << " d " << d;
      EXPECT_LE(std::fabs(out16[j] - ref16) / mag, 1e-5) << "seed " << seed << " d " << d;
      EXPECT_LE(rel_err(norms[j], refn), 1e-5) << "seed " << seed << " d " << d;
    }
  }
}

TEST_P(SimdLevels, HalfConversionsAgreeWithScalarBitForBit) {
  if (!level_kernels()) GTEST_SKIP() << "this CPU has no " << GetParam();
  const auto& k = *level_kernels();
  const uint64_t seed = test_util::fresh_seed();
  std::mt19937_64 rng(seed);
  std::vector<float> x = test_util::random_vectors(rng, 1, 1003);
  for (size_t i = 0; i < x.size(); i += 7) x[i] *= 1e-5f;  // subnormal halves
  for (size_t i = 3; i < x.size(); i += 11) x[i] *= 3e4f;  // near and past the fp16 range
  std::vector<uint16_t> a(x.size()), b(x.size());
  simd::scalar_kernels().f32_to_f16(x.data(), x.size(), a.data());
  k.f32_to_f16(x.data(), x.size(), b.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(a[i], b[i]) << "seed " << seed << " value " << x[i];
  std::vector<float> fa(x.size()), fb(x.size());
  simd::scalar_kernels().f16_to_f32(a.data(), a.size(), fa.data());
  k.f16_to_f32(a.data(), a.size(), fb.data());
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_TRUE(fa[i] == fb[i] || (std::isnan(fa[i]) && std::isnan(fb[i]))) << "seed " << seed;
  }
}

TEST_P(SimdLevels, SelectAtLeastFindsExactlyThePositions) {
  if (!level_kernels()) GTEST_SKIP() << "this CPU has no " << GetParam();
  const auto& k = *level_kernels();
  std::mt19937_64 rng(test_util::fresh_seed());
  for (size_t n : {1, 15, 16, 17, 100, 1000}) {
    const auto s = test_util::random_vectors(rng, 1, n);
    const float threshold = 0.7f;
    std::vector<uint32_t> idx(n);
    const size_t m = k.select_at_least(s.data(), n, threshold, idx.data());
    std::vector<uint32_t> expected;
    for (size_t j = 0; j < n; ++j) {
      if (s[j] >= threshold) expected.push_back(static_cast<uint32_t>(j));
    }
    ASSERT_EQ(m, expected.size());
    for (size_t j = 0; j < m; ++j) EXPECT_EQ(idx[j], expected[j]);
  }
}

INSTANTIATE_TEST_SUITE_P(AllLevels, SimdLevels, ::testing::Values("scalar", "avx2", "avx512"));

TEST(Simd, ScalarHalfConversionKnownValues) {
  EXPECT_EQ(simd::float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(simd::float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(simd::float_to_half(65504.f), 0x7bff);
  EXPECT_EQ(simd::float_to_half(1e6f), 0x7c00);
  EXPECT_EQ(simd::float_to_half(5.960464477539063e-8f), 0x0001);  // smallest subnormal
  EXPECT_FLOAT_EQ(simd::half_to_float(0x3555), 0.333251953125f);
}

}  // namespace
