// Approximate index backed by FAISS (any index_factory string: "HNSW32", "IVF1024,PQ16", "Flat", ...).
// Ids are int64 given by the caller. Thread-safe like ExactIndex: searches share, add/train/remove exclude.
#pragma once
#include <cstdint>

#include "aff/types.h"

namespace aff {

class FaissIndex {
 public:
  // Throws std::invalid_argument for an unknown factory string.
  FaissIndex(int32_t dim, const char* factory, int32_t metric);
  ~FaissIndex();
  FaissIndex(const FaissIndex&) = delete;
  FaissIndex& operator=(const FaissIndex&) = delete;

  static FaissIndex* load(const char* path);
  // Same as load(), as a constructor (the form the Java bindings allocate).
  explicit FaissIndex(const char* path);

  int32_t dim() const;
  int32_t metric() const;
  int64_t size() const;
  bool is_trained() const;
  // The factory string the index was made from (owned by the index).
  const char* description() const;

  // Trains the coarse quantiser / codebooks (IVF, PQ). A no-op for indexes that need no training.
  void train(int64_t n, const float* vectors);
  // Same contract as ExactIndex::add; throws std::logic_error when the index needs training first.
  void add(int64_t n, const float* vectors, const int64_t* ids);
  // Same contract as ExactIndex::remove. Indexes that cannot delete in place (HNSW) hide removed ids from search.
  void remove(int64_t n, const int64_t* ids);
  bool contains(int64_t id) const;

  // Removed ids still held inside an index that cannot delete in place (0 for IVF).
  int64_t tombstones() const;
  // Rebuilds such an index without its tombstones, freeing their memory; returns how many were dropped. Training
  // is kept and the live vectors are read back with FAISS reconstruct(): exact for Flat-stored indexes (HNSW),
  // the decoded approximation for compressed ones. Throws std::runtime_error where FAISS cannot reconstruct.
  int64_t compact();

  // Sets a search-time parameter known to FAISS's ParameterSpace ("efSearch", "nprobe", ...).
  void set_parameter(const char* name, double value);

  // Like ExactIndex::search, approximately. Where the index finds fewer than k rows, the rest are id -1.
  void search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids) const;

  void save(const char* path) const;

 private:
  struct Impl;
  Impl* impl_;
  explicit FaissIndex(Impl* impl);
  static Impl* read(const char* path);
};

}  // namespace aff
