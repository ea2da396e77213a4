#include "aff/aggregate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "aff/device.h"
#include "test_util.h"

namespace {

using aff::test_util::fresh_seed;

std::vector<float> uniform(std::mt19937_64& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// GeM of a constant map is the constant; p = 1 is the mean; with the identity as whitening the output is the
// pooled vector, normalised; ReLU-like clamping keeps negative activations out.
TEST(Aggregate, GemWhitenCpuFollowsTheDefinition) {
  const int64_t c = 3, hw = 4;
  std::vector<float> maps = {2, 2, 2, 2, /**/ 1, 2, 3, 6, /**/ -5, 4, 0, 0};
  std::vector<float> eye = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  std::vector<float> out(3);
  aff::gem_whiten_cpu(maps.data(), 1, c, hw, 1.f, eye.data(), nullptr, 3, out.data());
  const double pooled[3] = {2.0, 3.0, (1e-6 + 4 + 1e-6 + 1e-6) / 4};
  const double norm = std::sqrt(pooled[0] * pooled[0] + pooled[1] * pooled[1] + pooled[2] * pooled[2]);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(out[i], pooled[i] / norm, 1e-6);

  aff::gem_whiten_cpu(maps.data(), 1, c, hw, 3.f, eye.data(), nullptr, 3, out.data());
  const double g1 = std::cbrt((1.0 + 8 + 27 + 216) / 4);
  const double g2 = std::cbrt((1e-18 + 64 + 1e-18 + 1e-18) / 4);
  const double n3 = std::sqrt(4.0 + g1 * g1 + g2 * g2);
  EXPECT_NEAR(out[0], 2.0 / n3, 1e-6);
  EXPECT_NEAR(out[1], g1 / n3, 1e-6);
  EXPECT_NEAR(out[2], g2 / n3, 1e-6);

  EXPECT_THROW(aff::gem_whiten_cpu(maps.data(), 1, c, hw, 0.f, eye.data(), nullptr, 3, out.data()),
               std::invalid_argument);
  EXPECT_THROW(aff::gem_whiten_cpu(maps.data(), 0, c, hw, 3.f, eye.data(), nullptr, 3, out.data()),
               std::invalid_argument);
  EXPECT_THROW(aff::gem_whiten_cpu(nullptr, 1, c, hw, 3.f, eye.data(), nullptr, 3, out.data()),
               std::invalid_argument);
}

// The kept positions are the n best by a full sort (ties to the smaller position), rows unit length and parallel to
// their source descriptors.
TEST(Aggregate, SelectLocalCpuKeepsTheBestPositions) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const int64_t batch = 3, positions = 50, dim = 7, n = 9;
  std::vector<float> scores = uniform(rng, batch * positions, 0.f, 1.f);
  scores[10] = scores[20] = scores[30] = 2.f;  // a tie at the top of image 0
  std::vector<float> desc = uniform(rng, batch * positions * dim, -1.f, 1.f);
  std::vector<int64_t> idx(batch * n);
  std::vector<float> out(batch * n * dim);
  aff::select_local_cpu(scores.data(), desc.data(), batch, positions, dim, n, idx.data(), out.data());
  EXPECT_EQ(idx[0], 10) << seed;
  EXPECT_EQ(idx[1], 20);
  EXPECT_EQ(idx[2], 30);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> order(positions);
    std::iota(order.begin(), order.end(), int64_t{0});
    const float* s = scores.data() + b * positions;
    std::stable_sort(order.begin(), order.end(), [s](int64_t x, int64_t y) { return s[x] > s[y]; });
    for (int64_t k = 0; k < n; ++k) {
      ASSERT_EQ(idx[b * n + k], order[k]) << "seed " << seed;
      double dot = 0, nn = 0, ns = 0;
      for (int64_t j = 0; j < dim; ++j) {
        const double o = out[(b * n + k) * dim + j], d = desc[(b * positions + order[k]) * dim + j];
        dot += o * d;
        nn += o * o;
        ns += d * d;
      }
      EXPECT_NEAR(nn, 1.0, 1e-5);
      EXPECT_NEAR(dot / std::sqrt(nn * ns), 1.0, 1e-5);
    }
  }
  EXPECT_THROW(aff::select_local_cpu(scores.data(), desc.data(), batch, positions, dim, positions + 1, idx.data(),
                                     out.data()),
               std::invalid_argument);
  // A score that is not finite is refused by every host entry point (it would leave the order undefined).
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    scores[2 * positions + 7] = bad;
    EXPECT_THROW(aff::select_local_cpu(scores.data(), desc.data(), batch, positions, dim, n, idx.data(), out.data()),
                 std::invalid_argument);
    EXPECT_THROW(aff::select_local_cuda_host(scores.data(), desc.data(), batch, positions, dim, n, idx.data(),
                                             out.data()),
                 std::invalid_argument);
  }
}

// Beyond the kernel's 12,288 positions the host entry point hands back to the CPU reference instead of failing.
TEST(Aggregate, SelectLocalHostBeyondTheKernelLimitFallsBack) {
  const int64_t positions = 12 * 1024 + 1, dim = 2, n = 3;
  std::vector<float> scores(positions, 0.5f), desc(positions * dim, 1.f), out(n * dim);
  std::vector<int64_t> idx(n);
  EXPECT_FALSE(aff::select_local_cuda_host(scores.data(), desc.data(), 1, positions, dim, n, idx.data(), out.data()));
}

// GPU against the CPU reference: fresh random inputs, sizes that are no multiple of the block or warp sizes,
// outputs poisoned with NaN first so every element must be written.
TEST(Aggregate, GpuKernelsMatchTheCpuReference) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const int64_t batch = 5, channels = 37, positions = 49, out_dim = 19;
  std::vector<float> maps = uniform(rng, batch * channels * positions, -0.5f, 3.f);
  std::vector<float> w = uniform(rng, out_dim * channels, -1.f, 1.f);
  std::vector<float> bias = uniform(rng, out_dim, -0.1f, 0.1f);
  std::vector<float> want(batch * out_dim);
  aff::gem_whiten_cpu(maps.data(), batch, channels, positions, 3.f, w.data(), bias.data(), out_dim, want.data());
  std::vector<float> got(batch * out_dim, std::numeric_limits<float>::quiet_NaN());
  if (!aff::gem_whiten_cuda_host(maps.data(), batch, channels, positions, 3.f, w.data(), bias.data(), out_dim,
                                 got.data())) {
    GTEST_SKIP() << "no CUDA device: the kernels compiled (" << (aff::cuda_compiled() ? "nvcc" : "no nvcc")
                 << ") but were not run";
  }
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-4) << "element " << i << ", seed " << seed;  // unit vectors: relative 1e-4
  }

  const int64_t sel_positions = 196, dim = 40, n = 16;
  std::vector<float> scores = uniform(rng, batch * sel_positions, 0.f, 5.f);
  std::vector<float> desc = uniform(rng, batch * sel_positions * dim, -1.f, 1.f);
  std::vector<int64_t> want_idx(batch * n), got_idx(batch * n, -1);
  std::vector<float> want_out(batch * n * dim), got_out(batch * n * dim, std::numeric_limits<float>::quiet_NaN());
  aff::select_local_cpu(scores.data(), desc.data(), batch, sel_positions, dim, n, want_idx.data(), want_out.data());
  ASSERT_TRUE(aff::select_local_cuda_host(scores.data(), desc.data(), batch, sel_positions, dim, n, got_idx.data(),
                                          got_out.data()));
  EXPECT_EQ(got_idx, want_idx) << "seed " << seed;
  for (size_t i = 0; i < want_out.size(); ++i) ASSERT_NEAR(got_out[i], want_out[i], 1e-5) << "element " << i;
}

}  // namespace
