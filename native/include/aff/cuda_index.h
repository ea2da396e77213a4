// Exact search on the GPU: the database lives in device memory as fp16 rows; scores are fp16 products summed in
// fp32 on the tensor cores (batches of 5+ queries) or by a streaming kernel (1-4 queries), and each query's top k is
// selected on the fly (a top k per warp for 1-4 queries and k <= 32; otherwise a tile's scores are compared with the
// query's running k-th best and only the survivors are kept), so the full query x database score matrix is never
// written to memory. Same contract as ExactIndex (best
// first, ties to the smaller id); the CPU reference is exact_search_f16_reference() below.
#pragma once
#include <cstdint>

namespace aff {

class CudaExactIndex {
 public:
  // Throws std::runtime_error when there is no CUDA device (or libaff was built without CUDA), and
  // std::invalid_argument for a dimension that is not a positive multiple of 8 (rows are read 16 bytes at a time)
  // or an unknown metric.
  CudaExactIndex(int32_t dim, int32_t metric, int32_t device = 0);
  ~CudaExactIndex();
  CudaExactIndex(const CudaExactIndex&) = delete;
  CudaExactIndex& operator=(const CudaExactIndex&) = delete;

  int32_t dim() const;
  int32_t metric() const;
  int64_t size() const;
  // Device memory held: rows, ids, norms and the search workspace.
  int64_t device_bytes() const;

  // Appends n rows (host, row-major n x dim) with caller-given ids. All-or-nothing: a value that is not finite or
  // does not fit fp16, an id already present or repeated in the batch throws std::invalid_argument.
  void add(int64_t n, const float* vectors, const int64_t* ids);
  void add_f16(int64_t n, const uint16_t* vectors, const int64_t* ids);
  // Removes n ids (the last row moves into each freed slot). All-or-nothing: an unknown or repeated id throws.
  void remove(int64_t n, const int64_t* ids);
  bool contains(int64_t id) const;
  // Copies the stored (fp16) row of an id into out[dim], widened. Throws std::invalid_argument for an unknown id.
  void reconstruct(int64_t id, float* out) const;
  // Every stored id, in row order, into out[size()].
  void ids(int64_t* out) const;
  // Rows [start, start + n) in row order: their fp16 bit patterns into out[n x dim] and their ids into ids_out[n],
  // in one device copy (what saving reads). Throws std::invalid_argument for a range outside [0, size()].
  void rows_f16(int64_t start, int64_t n, uint16_t* out, int64_t* ids_out) const;

  // Host buffers in and out: queries [nq x dim] (fp32 queries are rounded to fp16), out [nq x k] best first
  // (inner product, or squared L2 distance). Requires 1 <= k <= min(1024, size()). Searches are serialised.
  void search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids);
  void search_f16(int64_t nq, const uint16_t* queries, int64_t k, float* out_scores, int64_t* out_ids);
  // Device buffers, on a CUDA stream (null: the default stream): queries fp16 [nq x dim], out [nq x k]. The results
  // are written in stream order. Batches of 1-4 queries with k <= 32 return at once (one pass, nothing to ask the
  // device); others synchronise the stream once, to learn whether any query needs the slow path. Searches on any
  // streams are ordered among themselves, and add/remove wait for those in flight.
  void search_device(int64_t nq, const void* queries_f16, int64_t k, float* out_scores, int64_t* out_ids,
                     void* stream);

  // How the last search went: chunks of the database scanned, and queries whose candidates overflowed and were
  // searched again the slow way (rows stored in score order, or thousands of rows tied at the threshold).
  int32_t last_chunks() const;
  int64_t last_overflowed_queries() const;

  static constexpr int64_t kMaxK = 1024;

 private:
  struct Impl;
  Impl* impl_;
};

// The CPU reference of CudaExactIndex: fp16 rows and queries, products summed in double, ties to the smaller id.
void exact_search_f16_reference(const uint16_t* rows, const int64_t* ids, int64_t n, int32_t dim, int32_t metric,
                                const uint16_t* queries, int64_t nq, int64_t k, float* out_scores, int64_t* out_ids);

}  // namespace aff
