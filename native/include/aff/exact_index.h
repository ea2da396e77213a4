// Exact (brute-force) vector index: every query is compared with every stored row.
// Rows are fp32 or fp16; queries are always fp32. Thread-safe: searches run concurrently, add/remove exclude them.
#pragma once
#include <cstdint>

#include "aff/types.h"

namespace aff {

class ExactIndex {
 public:
  ExactIndex(int32_t dim, int32_t metric, int32_t storage);
  ~ExactIndex();
  ExactIndex(const ExactIndex&) = delete;
  ExactIndex& operator=(const ExactIndex&) = delete;

  // Reads an index written by save(); throws std::runtime_error on a bad magic, truncation or checksum mismatch.
  static ExactIndex* load(const char* path);
  // Same as load(), as a constructor (the form the Java bindings allocate).
  explicit ExactIndex(const char* path);

  int32_t dim() const;
  int32_t metric() const;
  int32_t storage() const;
  int64_t size() const;

  // Adds n rows (row-major n x dim) with caller-given ids. All-or-nothing: a non-finite value, an id already
  // present or repeated within the batch throws std::invalid_argument and leaves the index unchanged.
  void add(int64_t n, const float* vectors, const int64_t* ids);

  // Removes n ids. All-or-nothing: an unknown or repeated id throws std::invalid_argument.
  void remove(int64_t n, const int64_t* ids);

  // True when the id is stored.
  bool contains(int64_t id) const;

  // For each of nq queries writes the k best rows, best first: out_scores[nq*k] (inner product, or squared L2
  // distance) and out_ids[nq*k]. Ties are broken by the smaller id. Requires 1 <= k <= size().
  void search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids) const;

  // Copies the stored row of an id into out[dim] (fp16 rows are widened). Throws for an unknown id.
  void reconstruct(int64_t id, float* out) const;

  // Writes the index to path atomically (temporary file, fsync, rename) with a CRC-32 over the whole content.
  void save(const char* path) const;

 private:
  struct Impl;
  Impl* impl_;
  explicit ExactIndex(Impl* impl);
  static Impl* read(const char* path);
};

}  // namespace aff
