// Builds without nvcc: the GPU aggregation reports "no device" after the same argument checks, so callers fall
// back to the CPU reference.
#include "aff/aggregate.h"
#include "aggregate_checks.h"

namespace aff {

bool gem_whiten_cuda_host(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                          const float* whiten, const float*, int64_t out_dim, float* out) {
  detail::check_gem_args(maps, batch, channels, positions, p, whiten, out_dim, out);
  return false;
}

bool select_local_cuda_host(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                            int64_t dim, int64_t n, int64_t* indices, float* out) {
  detail::check_select_args(scores, descriptors, batch, positions, dim, n, indices, out);
  detail::check_finite_scores(scores, batch * positions);
  return false;
}

bool gem_whiten_cuda(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                     const float* whiten, const float*, int64_t out_dim, float*, float* out, void*) {
  detail::check_gem_args(maps, batch, channels, positions, p, whiten, out_dim, out);
  return false;
}

bool select_local_cuda(const float* scores, const float* descriptors, int64_t batch, int64_t positions, int64_t dim,
                       int64_t n, int64_t* indices, float* out, void*) {
  detail::check_select_args(scores, descriptors, batch, positions, dim, n, indices, out);
  return false;
}

}  // namespace aff
