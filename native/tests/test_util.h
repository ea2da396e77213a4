// Helpers for the native tests: fresh random data and a naive double-precision reference search.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "aff/types.h"

namespace aff::test_util {

// A seed that differs per run (printed by the test on failure), so tests see fresh inputs every time.
inline uint64_t fresh_seed() { return std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32); }

inline std::vector<float> random_vectors(std::mt19937_64& rng, size_t n, size_t d) {
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> v(n * d);
  for (float& x : v) x = g(rng);
  return v;
}

inline std::vector<int64_t> random_ids(std::mt19937_64& rng, size_t n) {
  // Distinct, unordered, negative and large ids: the index must not assume 0..n-1.
  std::vector<int64_t> ids(n);
  std::iota(ids.begin(), ids.end(), int64_t{0});
  std::shuffle(ids.begin(), ids.end(), rng);
  for (int64_t& id : ids) id = id * 7919 - 1000000007LL;
  return ids;
}

struct Hit {
  double score;
  int64_t id;
};

// Exact scores in double; "higher is better" order for both metrics (L2 compares negated distances), ties by id.
inline std::vector<Hit> reference_ranking(const float* q, const std::vector<float>& x, const std::vector<int64_t>& ids,
                                          size_t d, Metric metric) {
  std::vector<Hit> hits(ids.size());
  for (size_t j = 0; j < ids.size(); ++j) {
    double s = 0;
    for (size_t i = 0; i < d; ++i) {
      const double a = q[i], b = x[j * d + i];
      s += metric == L2 ? (a - b) * (a - b) : a * b;
    }
    hits[j] = {metric == L2 ? -s : s, ids[j]};
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  });
  return hits;
}

}  // namespace aff::test_util
