// GPU machine check for the aggregation kernels without gtest: the CUDA kernels against the CPU reference on fresh
// random inputs (sizes off the block sizes), max absolute error on unit-length outputs, and wall time of each side
// (GPU time includes the host<->device copies). Exit 1 on a mismatch.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "aff/aggregate.h"

namespace {

std::vector<float> uniform(std::mt19937_64& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

template <typename F> double millis(F f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  std::mt19937_64 rng(std::random_device{}());
  const int64_t batch = 257, channels = 2048, positions = 7 * 7, out_dim = 512;
  auto maps = uniform(rng, batch * channels * positions, -0.5f, 3.f);
  auto w = uniform(rng, out_dim * channels, -0.05f, 0.05f);
  std::vector<float> cpu(batch * out_dim), gpu(batch * out_dim, NAN);
  const double t_cpu = millis([&] {
    aff::gem_whiten_cpu(maps.data(), batch, channels, positions, 3.f, w.data(), nullptr, out_dim, cpu.data());
  });
  bool ran = false;
  const double t_gpu = millis([&] {
    ran = aff::gem_whiten_cuda_host(maps.data(), batch, channels, positions, 3.f, w.data(), nullptr, out_dim,
                                    gpu.data());
  });
  if (!ran) {
    std::printf("no CUDA device\n");
    return 1;
  }
  double err = 0;
  for (size_t i = 0; i < cpu.size(); ++i) err = std::fmax(err, std::fabs(cpu[i] - gpu[i]));
  std::printf("| GeM + whitening + L2, %ld x %ld x %ld -> %ld | CPU %.1f ms | GPU %.1f ms (with copies) | max err %.2e |\n",
              (long)batch, (long)channels, (long)positions, (long)out_dim, t_cpu, t_gpu, err);
  bool ok = err <= 1e-4;

  const int64_t sel_positions = 28 * 28, dim = 128, n = 64;
  auto scores = uniform(rng, batch * sel_positions, 0.f, 5.f);
  auto desc = uniform(rng, batch * sel_positions * dim, -1.f, 1.f);
  std::vector<int64_t> ci(batch * n), gi(batch * n, -1);
  std::vector<float> co(batch * n * dim), go(batch * n * dim, NAN);
  const double s_cpu = millis([&] {
    aff::select_local_cpu(scores.data(), desc.data(), batch, sel_positions, dim, n, ci.data(), co.data());
  });
  const double s_gpu = millis([&] {
    aff::select_local_cuda_host(scores.data(), desc.data(), batch, sel_positions, dim, n, gi.data(), go.data());
  });
  double serr = 0;
  for (size_t i = 0; i < co.size(); ++i) serr = std::fmax(serr, std::fabs(co[i] - go[i]));
  std::printf("| top-%ld local selection, %ld x %ld x %ld | CPU %.1f ms | GPU %.1f ms (with copies) | max err %.2e, "
              "indices %s |\n", (long)n, (long)batch, (long)sel_positions, (long)dim, s_cpu, s_gpu, serr,
              ci == gi ? "equal" : "DIFFER");
  ok = ok && serr <= 1e-5 && ci == gi;
  return ok ? 0 : 1;
}
