// Argument checks shared by the indexes: every violation is a std::invalid_argument with a message for the user.
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>

namespace aff {

inline void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// Rejects NaN and +-Inf, naming the first offending row and component.
inline void require_finite(const float* x, int64_t n, int32_t dim, const char* what) {
  const int64_t total = n * dim;
  for (int64_t i = 0; i < total; ++i) {
    if (!std::isfinite(x[i])) {
      throw std::invalid_argument(std::string(what) + " " + std::to_string(i / dim) + " has a non-finite value (" +
                                  std::to_string(x[i]) + ") at component " + std::to_string(i % dim));
    }
  }
}

inline void require_search_args(int64_t nq, const float* queries, int64_t k, int64_t size, int32_t dim,
                                const float* out_scores, const int64_t* out_ids) {
  require(nq >= 0, "number of queries must be >= 0, got " + std::to_string(nq));
  require(k >= 1, "k must be >= 1, got " + std::to_string(k));
  require(k <= size, "k = " + std::to_string(k) + " exceeds the number of indexed vectors (" + std::to_string(size) + ")");
  require(nq == 0 || (queries && out_scores && out_ids), "null buffer");
  require_finite(queries, nq, dim, "query");
}

// Ids of an add: none already present (contains(id) false), none repeated within the batch.
template <typename Contains>
void require_new_ids(int64_t n, const int64_t* ids, Contains contains) {
  std::unordered_set<int64_t> batch;
  batch.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    require(!contains(ids[i]), "id " + std::to_string(ids[i]) + " is already in the index");
    require(batch.insert(ids[i]).second, "id " + std::to_string(ids[i]) + " appears twice in the batch");
  }
}

// Ids of a remove: all present, none repeated.
template <typename Contains>
void require_present_ids(int64_t n, const int64_t* ids, Contains contains) {
  std::unordered_set<int64_t> batch;
  batch.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    require(contains(ids[i]), "id " + std::to_string(ids[i]) + " is not in the index");
    require(batch.insert(ids[i]).second, "id " + std::to_string(ids[i]) + " appears twice in the batch");
  }
}

}  // namespace aff
