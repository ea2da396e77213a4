#include "aff/aggregate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace aff {
namespace {

void check_sizes(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

}  // namespace

void gem_whiten_cpu(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                    const float* whiten, const float* bias, int64_t out_dim, float* out) {
  check_sizes(maps && whiten && out, "gem_whiten: null buffer");
  check_sizes(batch > 0 && channels > 0 && positions > 0 && out_dim > 0, "gem_whiten: sizes must be positive");
  check_sizes(p > 0.f, "gem_whiten: p must be positive");
  std::vector<double> pooled(channels);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* x = maps + (b * channels + c) * positions;
      double sum = 0;
      for (int64_t i = 0; i < positions; ++i) sum += std::pow(std::max(static_cast<double>(x[i]), 1e-6), p);
      pooled[c] = std::pow(sum / positions, 1.0 / p);
    }
    float* y = out + b * out_dim;
    double norm = 0;
    for (int64_t d = 0; d < out_dim; ++d) {
      double v = bias ? bias[d] : 0.0;
      const float* w = whiten + d * channels;
      for (int64_t c = 0; c < channels; ++c) v += static_cast<double>(w[c]) * pooled[c];
      y[d] = static_cast<float>(v);
      norm += v * v;
    }
    const double inv = 1.0 / std::max(std::sqrt(norm), 1e-12);
    for (int64_t d = 0; d < out_dim; ++d) y[d] = static_cast<float>(y[d] * inv);
  }
}

void select_local_cpu(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                      int64_t dim, int64_t n, int64_t* indices, float* out) {
  check_sizes(scores && descriptors && indices && out, "select_local: null buffer");
  check_sizes(batch > 0 && positions > 0 && dim > 0, "select_local: sizes must be positive");
  check_sizes(n >= 1 && n <= positions, "select_local: n must be in 1..positions");
  std::vector<int64_t> order(positions);
  for (int64_t b = 0; b < batch; ++b) {
    const float* s = scores + b * positions;
    std::iota(order.begin(), order.end(), int64_t{0});
    std::partial_sort(order.begin(), order.begin() + n, order.end(), [s](int64_t x, int64_t y) {
      return s[x] != s[y] ? s[x] > s[y] : x < y;
    });
    for (int64_t k = 0; k < n; ++k) {
      const int64_t at = order[k];
      indices[b * n + k] = at;
      const float* src = descriptors + (b * positions + at) * dim;
      float* dst = out + (b * n + k) * dim;
      double norm = 0;
      for (int64_t j = 0; j < dim; ++j) norm += static_cast<double>(src[j]) * src[j];
      const double inv = 1.0 / std::max(std::sqrt(norm), 1e-12);
      for (int64_t j = 0; j < dim; ++j) dst[j] = static_cast<float>(src[j] * inv);
    }
  }
}

}  // namespace aff
