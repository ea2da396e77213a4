#include "aff/aggregate.h"

#include "aggregate_checks.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace aff {

void gem_whiten_cpu(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                    const float* whiten, const float* bias, int64_t out_dim, float* out) {
  detail::check_gem_args(maps, batch, channels, positions, p, whiten, out_dim, out);
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
  detail::check_select_args(scores, descriptors, batch, positions, dim, n, indices, out);
  detail::check_finite_scores(scores, batch * positions);
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
