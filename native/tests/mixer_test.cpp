#include "aff/mixer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <vector>

#include "aff/device.h"
#include "test_util.h"

namespace {

using aff::MixerBatch;
using aff::MixerInput;
using aff::MixerModel;
using aff::test_util::fresh_seed;

// A batch of random features with random padding (some local sets fully padded).
struct Features {
  std::vector<std::vector<float>> values;
  std::vector<std::vector<uint8_t>> padding;
  MixerBatch batch;

  Features(const MixerModel& m, int64_t batch_size, std::mt19937_64& rng) {
    std::normal_distribution<float> g(0.f, 1.f);
    std::uniform_int_distribution<int> coin(0, 3);
    batch.batch = batch_size;
    for (const MixerInput& in : m.inputs) {
      std::vector<float> v(static_cast<size_t>(batch_size) * in.tokens() * in.dim);
      for (float& x : v) x = g(rng);
      values.push_back(std::move(v));
      std::vector<uint8_t> pad;
      if (in.max_local > 0) {
        pad.resize(static_cast<size_t>(batch_size) * in.max_local);
        for (int64_t b = 0; b < batch_size; ++b) {
          const int keep = coin(rng) == 0 ? 0 : 1 + static_cast<int>(rng() % in.max_local);  // 0: all padded
          for (int t = 0; t < in.max_local; ++t) pad[b * in.max_local + t] = t >= keep;
        }
      }
      padding.push_back(std::move(pad));
    }
    for (size_t i = 0; i < values.size(); ++i) {
      batch.features.push_back(values[i].data());
      batch.padding.push_back(padding[i].empty() ? nullptr : padding[i].data());
    }
  }
};

MixerModel bundle_shaped(std::mt19937_64& rng) {
  return MixerModel::random(128, 2, 4, 256, {{"resnet-gem", 128, 0}, {"vgg-gem", 96, 0}, {"delf", 32, 16}}, rng);
}

// The fused vector ignores padded tokens (bit for bit: they never reach the fusion row), does not depend on the order
// of the local tokens, does depend on a real token, and is unit length.
TEST(Mixer, CpuReferenceFollowsTheModelsInvariants) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const MixerModel m = bundle_shaped(rng);
  Features f(m, 6, rng);
  for (int64_t b = 0; b < 6; ++b) {  // item b keeps b + 1 local tokens
    for (int t = 0; t < 16; ++t) f.padding[2][b * 16 + t] = t > b;
  }
  std::vector<float> base(6 * 128), other(6 * 128);
  aff::mixer_forward_cpu(m, f.batch, base.data());
  for (int64_t b = 0; b < 6; ++b) {
    double n = 0;
    for (int i = 0; i < 128; ++i) n += base[b * 128 + i] * base[b * 128 + i];
    EXPECT_NEAR(n, 1.0, 1e-5);
  }
  for (int t = 6; t < 16; ++t) f.values[2][(0 * 16 + t) * 32 + 3] += 5.f;  // item 0: padded tokens only
  std::swap_ranges(&f.values[2][(3 * 16 + 0) * 32], &f.values[2][(3 * 16 + 1) * 32], &f.values[2][(3 * 16 + 2) * 32]);
  f.values[0][5 * 128 + 7] += 1.f;  // item 5: a real token
  aff::mixer_forward_cpu(m, f.batch, other.data());
  for (int i = 0; i < 128; ++i) {
    EXPECT_EQ(base[i], other[i]) << "padded tokens changed item 0, seed " << seed;
    EXPECT_NEAR(base[3 * 128 + i], other[3 * 128 + i], 1e-6) << "token order changed item 3, seed " << seed;
  }
  double moved = 0;
  for (int i = 0; i < 128; ++i) moved += std::fabs(base[5 * 128 + i] - other[5 * 128 + i]);
  EXPECT_GT(moved, 1e-3) << "a real token did not change item 5";
}

// Flips one bit of the stored CRC-32C in bundle.json.
void corrupt_crc(const std::filesystem::path& dir) {
  std::ifstream in(dir / "bundle.json");
  nlohmann::json meta = nlohmann::json::parse(in);
  std::string crc = meta["tensorsCrc32c"];
  crc.back() = crc.back() == '0' ? '1' : '0';
  meta["tensorsCrc32c"] = crc;
  std::ofstream(dir / "bundle.json") << meta.dump(2);
}

TEST(Mixer, LoadsABundleAndRefusesACorruptOne) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const MixerModel m = bundle_shaped(rng);
  const auto dir = std::filesystem::temp_directory_path() / ("aff_mixer_test_" + std::to_string(seed));
  m.save((dir / "good").string());
  m.save((dir / "bad").string());
  corrupt_crc(dir / "bad");
  const MixerModel loaded = MixerModel::load((dir / "good").string());
  EXPECT_EQ(loaded.dim, 128);
  EXPECT_EQ(loaded.heads, 4);
  EXPECT_EQ(loaded.tokens(), 19);
  EXPECT_EQ(loaded.layers[1].linear2_w, m.layers[1].linear2_w);
  Features f(m, 3, rng);
  std::vector<float> a(3 * 128), b(3 * 128);
  aff::mixer_forward_cpu(m, f.batch, a.data());
  aff::mixer_forward_cpu(loaded, f.batch, b.data());
  EXPECT_EQ(a, b);
  EXPECT_THROW(MixerModel::load((dir / "bad").string()), std::invalid_argument);
  EXPECT_THROW(MixerModel::load((dir / "missing").string()), std::invalid_argument);
  std::filesystem::remove_all(dir);
}

// Both fused GPU kernels against the CPU reference (fp32 within 1e-4, fp16 tensor cores within 1e-2): the bundle's
// shape, an odd one (width 72 and FFN 100, not multiples of the 16-wide tensor-core steps, head width 24, three
// local inputs, a batch that is no multiple of the items per block) and one with 48-wide heads (the wide-head
// attention path), random padding, NaN-poisoned output.
TEST(Mixer, GpuKernelMatchesTheCpuReference) {
  if (aff::cuda_device_count() == 0) {
    GTEST_SKIP() << "no CUDA device: the kernel compiled (" << (aff::cuda_compiled() ? "nvcc" : "no nvcc")
                 << ") but was not run";
  }
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  std::vector<MixerModel> models;
  models.push_back(bundle_shaped(rng));
  models.push_back(MixerModel::random(72, 1, 3, 100, {{"a", 40, 0}, {"b", 8, 5}, {"c", 16, 3}, {"e", 24, 7}}, rng));
  models.push_back(MixerModel::random(96, 2, 2, 64, {{"x", 20, 0}, {"y", 16, 9}}, rng));  // 48-wide heads
  for (const MixerModel& m : models) {
    const int64_t batch = 37;
    Features f(m, batch, rng);
    std::vector<float> want(batch * m.dim);
    aff::mixer_forward_cpu(m, f.batch, want.data());
    for (auto precision : {aff::MixerPrecision::FP32, aff::MixerPrecision::FP16}) {
      const double tolerance = precision == aff::MixerPrecision::FP32 ? 1e-4 : 1e-2;
      std::vector<float> got(batch * m.dim, std::numeric_limits<float>::quiet_NaN());
      aff::CudaMixer mixer(m, 0, precision);
      mixer.forward(f.batch, got.data());
      for (int64_t b = 0; b < batch; ++b) {
        double err = 0, ref = 0;
        for (int i = 0; i < m.dim; ++i) {
          ASSERT_TRUE(std::isfinite(got[b * m.dim + i])) << "item " << b << " unwritten";
          err += std::pow(got[b * m.dim + i] - want[b * m.dim + i], 2);
          ref += std::pow(want[b * m.dim + i], 2);
        }
        EXPECT_LE(std::sqrt(err / ref), tolerance)
            << "item " << b << ", d " << m.dim << ", precision " << static_cast<int>(precision) << ", seed " << seed;
      }
    }
  }
}

}  // namespace
