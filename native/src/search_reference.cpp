// CPU reference for the GPU exact search (aff/cuda_index.h): fp16 rows and queries widened exactly, products summed
// in double, a full partial sort per query. Slow on purpose; tests and the benchmark's error column use it.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "aff/cuda_index.h"
#include "aff/types.h"
#include "simd.h"

namespace aff {

void exact_search_f16_reference(const uint16_t* rows, const int64_t* ids, int64_t n, int32_t dim, int32_t metric,
                                const uint16_t* queries, int64_t nq, int64_t k, float* out_scores, int64_t* out_ids) {
  if (!rows || !ids || !queries || !out_scores || !out_ids) throw std::invalid_argument("reference: null buffer");
  if (n <= 0 || dim <= 0 || nq <= 0 || k < 1 || k > n) throw std::invalid_argument("reference: bad sizes");
  if (metric != INNER_PRODUCT && metric != L2) throw std::invalid_argument("reference: unknown metric");
  std::vector<double> x(static_cast<size_t>(n) * dim);
  for (size_t i = 0; i < x.size(); ++i) x[i] = simd::half_to_float(rows[i]);
  struct Hit {
    double score;  // higher is better (L2: the negated distance)
    int64_t id;
  };
  std::vector<Hit> hits(static_cast<size_t>(n));
  std::vector<double> q(static_cast<size_t>(dim));
  for (int64_t qi = 0; qi < nq; ++qi) {
    for (int32_t i = 0; i < dim; ++i) q[i] = simd::half_to_float(queries[qi * dim + i]);
    for (int64_t j = 0; j < n; ++j) {
      const double* r = &x[static_cast<size_t>(j) * dim];
      double s = 0;
      if (metric == L2) {
        for (int32_t i = 0; i < dim; ++i) s -= (q[i] - r[i]) * (q[i] - r[i]);
      } else {
        for (int32_t i = 0; i < dim; ++i) s += q[i] * r[i];
      }
      hits[j] = {s, ids[j]};
    }
    std::partial_sort(hits.begin(), hits.begin() + k, hits.end(), [](const Hit& a, const Hit& b) {
      return a.score > b.score || (a.score == b.score && a.id < b.id);
    });
    for (int64_t i = 0; i < k; ++i) {
      out_scores[qi * k + i] = static_cast<float>(metric == L2 ? -hits[i].score : hits[i].score);
      out_ids[qi * k + i] = hits[i].id;
    }
  }
}

}  // namespace aff
