#include "aff/exact_index.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "amx_screen.h"
#include "checks.h"
#include "file_io.h"
#include "simd.h"
#include "topk.h"

// Fortran BLAS, as FAISS uses it; Debian's alternatives resolve it to OpenBLAS at run time.
extern "C" int sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                      const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                      const float* beta, float* c, const int* ldc);

namespace aff {
namespace {

constexpr char kMagic[8] = {'A', 'F', 'F', 'E', 'X', 'A', 'C', 'T'};
constexpr uint32_t kVersion = 1;
constexpr int32_t kMaxDim = 1 << 16;
// From this many queries on, scores come from AMX screening or BLAS sgemm; below it, from the SIMD dot kernels.
constexpr int64_t kGemmMinBatch = 16;
// Query blocks (both large-batch paths) and sgemm row tiles: large enough for BLAS to run near its peak
// (measured: 1024 x 2048 beats 256 x 256 by ~25% at d=512).
constexpr int64_t kGemmQueryBlock = 1024;
constexpr size_t kGemmTileRows = 2048;
// A thread gets at least this many rows, so small indexes do not pay for starting a thread team.
constexpr size_t kMinRowsPerThread = 32768;

// Rows per tile on the SIMD (small batch) path: about 128 KiB of fp32 rows, so a tile stays in L2 while every
// query of the block reads it.
size_t tile_rows(int32_t dim) {
  const size_t t = (size_t{1} << 15) / static_cast<size_t>(dim);
  return std::clamp<size_t>(t & ~size_t{15}, 16, 1024);
}

}  // namespace

struct ExactIndex::Impl {
  int32_t dim;
  Metric metric;
  Storage storage;
  std::vector<float> rows32;
  std::vector<uint16_t> rows16;
  std::vector<float> norms;  // ||x||^2 of each stored row (L2 only)
  std::vector<int64_t> ids;
  std::unordered_map<int64_t, size_t> row_of;
  // bf16 screening needs every stored value far from the bf16 overflow threshold (almost always true).
  bool screenable = true;
  mutable std::shared_mutex mutex;

  Impl(int32_t d, int32_t m, int32_t s) : dim(d), metric(static_cast<Metric>(m)), storage(static_cast<Storage>(s)) {
    require(d >= 1 && d <= kMaxDim, "dimension must be in [1, 65536], got " + std::to_string(d));
    require(m == INNER_PRODUCT || m == L2, "unknown metric " + std::to_string(m));
    require(s == FLOAT32 || s == FLOAT16, "unknown storage " + std::to_string(s));
  }

  size_t size() const { return ids.size(); }

  // Appends rows (already checked) and their ids.
  void append(int64_t n, const float* x, const int64_t* new_ids) {
    const auto& k = simd::best_kernels();
    const size_t d = static_cast<size_t>(dim), start = size(), count = static_cast<size_t>(n);
    for (size_t i = 0; i < count * d && screenable; ++i) screenable = std::fabs(x[i]) < 1e30f;
    if (storage == FLOAT32) {
      rows32.insert(rows32.end(), x, x + count * d);
    } else {
      rows16.resize((start + count) * d);
      k.f32_to_f16(x, count * d, rows16.data() + start * d);
    }
    if (metric == L2) {
      norms.resize(start + count);
      if (storage == FLOAT32) {
        k.norms_f32(rows32.data() + start * d, count, d, norms.data() + start);
      } else {  // the norms of the rows as stored, so distances agree with the fp16 scores
        std::vector<float> row(d);
        for (size_t j = 0; j < count; ++j) {
          k.f16_to_f32(rows16.data() + (start + j) * d, d, row.data());
          k.norms_f32(row.data(), 1, d, &norms[start + j]);
        }
      }
    }
    for (size_t j = 0; j < count; ++j) {
      ids.push_back(new_ids[j]);
      row_of.emplace(new_ids[j], start + j);
    }
  }

  // Moves the last row into the hole at `row`, so removal is O(dim).
  void erase_row(size_t row) {
    const size_t last = size() - 1, d = static_cast<size_t>(dim);
    row_of.erase(ids[row]);
    if (row != last) {
      if (storage == FLOAT32) {
        std::memcpy(&rows32[row * d], &rows32[last * d], d * sizeof(float));
      } else {
        std::memcpy(&rows16[row * d], &rows16[last * d], d * sizeof(uint16_t));
      }
      if (metric == L2) norms[row] = norms[last];
      ids[row] = ids[last];
      row_of[ids[row]] = row;
    }
    ids.pop_back();
    if (metric == L2) norms.pop_back();
    if (storage == FLOAT32) {
      rows32.resize(last * d);
    } else {
      rows16.resize(last * d);
    }
  }

  void search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids) const;
  // Scores rows [lo, hi) against a block of queries and feeds each query's collector (BLAS or SIMD dots).
  void exact_range(size_t lo, size_t hi, size_t tile, bool gemm, const float* qs, int64_t qb,
                   std::vector<TopK>& best) const;
  // The same through AMX bf16 screening and fp32 recomputation of the rows that can still enter.
  void screen_range(size_t lo, size_t hi, const float* qs, size_t qb, const uint32_t* q_pairs, const float* q_margin,
                    std::vector<TopK>& best) const;
};

void ExactIndex::Impl::exact_range(size_t lo, size_t hi, size_t tile, bool gemm, const float* qs, int64_t qb,
                                   std::vector<TopK>& best) const {
  const auto& kern = simd::best_kernels();
  const size_t d = static_cast<size_t>(dim);
  std::vector<float> scores(static_cast<size_t>(qb) * tile);
  std::vector<uint32_t> hits(tile);
  std::vector<float> widened(gemm && storage == FLOAT16 ? tile * d : 0);
  for (size_t r = lo; r < hi; r += tile) {
    const size_t tn = std::min(tile, hi - r);
    if (gemm) {
      const float* x = rows32.data() + r * d;
      if (storage == FLOAT16) {
        kern.f16_to_f32(rows16.data() + r * d, tn * d, widened.data());
        x = widened.data();
      }
      // Column-major view: scores^T (tn x qb) = X (d x tn)^T * Q (d x qb); row-major scores[qi * tile + j].
      const int m = static_cast<int>(tn), nn = static_cast<int>(qb), kk = static_cast<int>(d);
      const int ldc = static_cast<int>(tile);
      const float one = 1.f, zero = 0.f;
      sgemm_("T", "N", &m, &nn, &kk, &one, x, &kk, qs, &kk, &zero, scores.data(), &ldc);
    } else {
      for (int64_t i = 0; i < qb; ++i) {
        float* s = scores.data() + static_cast<size_t>(i) * tile;
        if (storage == FLOAT32) {
          kern.dot_f32(qs + static_cast<size_t>(i) * d, rows32.data() + r * d, tn, d, s);
        } else {
          kern.dot_f16(qs + static_cast<size_t>(i) * d, rows16.data() + r * d, tn, d, s);
        }
      }
    }
    const float* nr = metric == L2 ? norms.data() + r : nullptr;
    for (int64_t i = 0; i < qb; ++i) {
      float* s = scores.data() + static_cast<size_t>(i) * tile;
      // L2 ranks by 2<q,x> - ||x||^2 (higher is closer); ||q||^2 is added back when writing distances.
      if (nr) {
        for (size_t j = 0; j < tn; ++j) s[j] = 2.f * s[j] - nr[j];
      }
      TopK& top = best[static_cast<size_t>(i)];
      const size_t m = kern.select_at_least(s, tn, top.threshold(), hits.data());
      for (size_t h = 0; h < m; ++h) top.push(s[hits[h]], ids[r + hits[h]]);
    }
  }
}

void ExactIndex::Impl::screen_range(size_t lo, size_t hi, const float* qs, size_t qb, const uint32_t* q_pairs,
                                    const float* q_margin, std::vector<TopK>& best) const {
  const auto& kern = simd::best_kernels();
  const size_t d = static_cast<size_t>(dim), ldc = amx::round_up(qb, 32);
  // 32 rows at a time: their bf16 copy stays in L1 and their scores against the whole query block in L2.
  constexpr size_t kChunk = 32;
  std::vector<uint16_t> packed(kChunk * amx::padded_dim(d));
  std::vector<float> scores(kChunk * ldc), lengths(kChunk), widened(storage == FLOAT16 ? kChunk * d : 0);
  std::vector<uint32_t> hits(ldc);
  // Per query, the score below which no row can enter its top k (the collector's k-th best so far).
  std::vector<float> floor(qb, -std::numeric_limits<float>::infinity());
  amx::begin_thread();
  for (size_t r = lo; r < hi; r += kChunk) {
    const size_t tn = std::min(kChunk, hi - r);
    const float* x = rows32.data() + r * d;
    if (storage == FLOAT16) {
      kern.f16_to_f32(rows16.data() + r * d, tn * d, widened.data());
      x = widened.data();
    }
    amx::pack_rows(x, tn, d, packed.data());
    amx::scores(packed.data(), tn, q_pairs, qb, d, scores.data(), ldc);
    kern.norms_f32(x, tn, d, lengths.data());
    const float* nr = metric == L2 ? norms.data() + r : nullptr;
    // Row by row against every query at once: the bf16 score plus its error bound caps the exact score, and only
    // rows whose cap reaches a query's floor are recomputed in fp32 (L2 ranks by 2<q,x> - ||x||^2, as above).
    for (size_t j = 0; j < tn; ++j) {
      const size_t m = kern.select_bound(scores.data() + j * ldc, q_margin, floor.data(), nr ? 2.f : 1.f,
                                         std::sqrt(lengths[j]), nr ? nr[j] : 0.f, qb, hits.data());
      for (size_t h = 0; h < m; ++h) {
        const size_t i = hits[h];
        float exact = 0.f;
        kern.dot_f32(qs + i * d, x + j * d, 1, d, &exact);
        TopK& top = best[i];
        top.push(nr ? 2.f * exact - nr[j] : exact, ids[r + j]);
        floor[i] = top.threshold();
      }
    }
  }
  amx::end_thread();
}

void ExactIndex::Impl::search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids) const {
  const auto& kern = simd::best_kernels();
  const bool gemm = nq >= kGemmMinBatch;
  const bool screen = gemm && screenable && amx::available();
  const size_t n = size(), d = static_cast<size_t>(dim), dp = amx::padded_dim(d);
  const size_t tile = gemm ? kGemmTileRows : tile_rows(dim);
  const int64_t block = gemm ? std::min(nq, kGemmQueryBlock) : nq;
  const int threads = static_cast<int>(std::clamp<size_t>(n / kMinRowsPerThread, 1, omp_get_max_threads()));
  // Per thread, one collector per query of the block: threads own disjoint row ranges and are merged at the end.
  std::vector<std::vector<TopK>> partial(threads, std::vector<TopK>(static_cast<size_t>(block), TopK(k)));
  // Screening: bf16 queries, and per query the factor that turns ||x|| into the bound on the bf16 error.
  const size_t padded_block = amx::round_up(static_cast<size_t>(block), 32);
  std::vector<uint32_t> q_pairs(screen ? padded_block * dp / 2 : 0);
  std::vector<float> q_margin(screen ? static_cast<size_t>(block) : 0);
  const double margin = screen ? amx::margin_factor(d) : 0.0;

  for (int64_t q0 = 0; q0 < nq; q0 += block) {
    const int64_t qb = std::min(block, nq - q0);
    const float* qs = queries + q0 * static_cast<int64_t>(d);
    if (screen) {
      amx::pack_queries(qs, static_cast<size_t>(qb), d, q_pairs.data());
      for (int64_t i = 0; i < qb; ++i) {
        float qq = 0.f;
        kern.norms_f32(qs + i * static_cast<int64_t>(d), 1, d, &qq);
        q_margin[i] = static_cast<float>(margin * std::sqrt(static_cast<double>(qq)) * (metric == L2 ? 2.0 : 1.0));
      }
    }

#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const int t = omp_get_thread_num();
      // Contiguous row range per thread, in whole tiles.
      const size_t tiles = (n + tile - 1) / tile;
      const size_t lo = std::min(n, tiles * t / threads * tile), hi = std::min(n, tiles * (t + 1) / threads * tile);
      std::vector<TopK>& mine = partial[t];
      for (int64_t i = 0; i < qb; ++i) mine[i].reset();
      if (screen) {
        screen_range(lo, hi, qs, static_cast<size_t>(qb), q_pairs.data(), q_margin.data(), mine);
      } else {
        exact_range(lo, hi, tile, gemm, qs, qb, mine);
      }
    }

    for (int64_t i = 0; i < qb; ++i) {
      TopK& best = partial[0][i];
      for (int t = 1; t < threads; ++t) best.merge(partial[t][i]);
      const std::vector<Candidate>& top = best.finish();
      const int64_t qi = q0 + i;
      float qnorm = 0.f;
      if (metric == L2) kern.norms_f32(queries + qi * static_cast<int64_t>(d), 1, d, &qnorm);
      for (int64_t j = 0; j < k; ++j) {
        const Candidate& c = top[static_cast<size_t>(j)];
        out_ids[qi * k + j] = c.id;
        out_scores[qi * k + j] = metric == L2 ? std::max(0.f, qnorm - c.score) : c.score;
      }
    }
  }
}

ExactIndex::ExactIndex(int32_t dim, int32_t metric, int32_t storage) : impl_(new Impl(dim, metric, storage)) {}
ExactIndex::ExactIndex(Impl* impl) : impl_(impl) {}
ExactIndex::~ExactIndex() { delete impl_; }

int32_t ExactIndex::dim() const { return impl_->dim; }
int32_t ExactIndex::metric() const { return impl_->metric; }
int32_t ExactIndex::storage() const { return impl_->storage; }

int64_t ExactIndex::size() const {
  std::shared_lock lock(impl_->mutex);
  return static_cast<int64_t>(impl_->size());
}

bool ExactIndex::contains(int64_t id) const {
  std::shared_lock lock(impl_->mutex);
  return impl_->row_of.count(id) != 0;
}

void ExactIndex::add(int64_t n, const float* vectors, const int64_t* ids) {
  require(n >= 0, "number of vectors must be >= 0, got " + std::to_string(n));
  if (n == 0) return;
  require(vectors && ids, "null buffer");
  require_finite(vectors, n, impl_->dim, "vector");
  if (impl_->storage == FLOAT16) {
    for (int64_t i = 0; i < n * impl_->dim; ++i) {
      require(std::fabs(vectors[i]) <= 65504.f, "vector " + std::to_string(i / impl_->dim) + " has a value (" +
                                                    std::to_string(vectors[i]) + ") outside the fp16 range");
    }
  }
  std::unique_lock lock(impl_->mutex);
  require_new_ids(n, ids, [this](int64_t id) { return impl_->row_of.count(id) != 0; });
  impl_->append(n, vectors, ids);
}

void ExactIndex::remove(int64_t n, const int64_t* ids) {
  require(n >= 0, "number of ids must be >= 0, got " + std::to_string(n));
  if (n == 0) return;
  require(ids != nullptr, "null buffer");
  std::unique_lock lock(impl_->mutex);
  require_present_ids(n, ids, [this](int64_t id) { return impl_->row_of.count(id) != 0; });
  for (int64_t i = 0; i < n; ++i) impl_->erase_row(impl_->row_of.at(ids[i]));
}

void ExactIndex::search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids) const {
  std::shared_lock lock(impl_->mutex);
  require_search_args(nq, queries, k, static_cast<int64_t>(impl_->size()), impl_->dim, out_scores, out_ids);
  if (nq > 0) impl_->search(nq, queries, k, out_scores, out_ids);
}

void ExactIndex::reconstruct(int64_t id, float* out) const {
  std::shared_lock lock(impl_->mutex);
  const auto it = impl_->row_of.find(id);
  require(it != impl_->row_of.end(), "id " + std::to_string(id) + " is not in the index");
  const size_t d = static_cast<size_t>(impl_->dim);
  if (impl_->storage == FLOAT32) {
    std::memcpy(out, impl_->rows32.data() + it->second * d, d * sizeof(float));
  } else {
    simd::best_kernels().f16_to_f32(impl_->rows16.data() + it->second * d, d, out);
  }
}

void ExactIndex::save(const char* path) const {
  std::shared_lock lock(impl_->mutex);
  FileWriter w(path);
  w.write(kMagic, sizeof kMagic);
  w.put<uint32_t>(kVersion);
  w.put<int32_t>(impl_->dim);
  w.put<int32_t>(impl_->metric);
  w.put<int32_t>(impl_->storage);
  w.put<uint64_t>(impl_->size());
  w.write(impl_->ids.data(), impl_->size() * sizeof(int64_t));
  if (impl_->storage == FLOAT32) {
    w.write(impl_->rows32.data(), impl_->rows32.size() * sizeof(float));
  } else {
    w.write(impl_->rows16.data(), impl_->rows16.size() * sizeof(uint16_t));
  }
  w.commit();
}

ExactIndex* ExactIndex::load(const char* path) { return new ExactIndex(path); }

ExactIndex::ExactIndex(const char* path) : impl_(read(path)) {}

ExactIndex::Impl* ExactIndex::read(const char* path) {
  FileReader r(path, "exact index");
  r.expect_header(kMagic, kVersion);
  const auto dim = r.get<int32_t>();
  const auto metric = r.get<int32_t>();
  const auto storage = r.get<int32_t>();
  const auto count = r.get<uint64_t>();
  if (dim < 1 || dim > kMaxDim || (metric != INNER_PRODUCT && metric != L2) || (storage != FLOAT32 && storage != FLOAT16)) {
    r.fail("corrupted header");
  }
  // Check the size the header promises before allocating anything from it.
  const uint64_t elem = storage == FLOAT32 ? 4 : 2;
  if (count > r.remaining() / 8 || r.remaining() != count * 8 + count * static_cast<uint64_t>(dim) * elem) {
    r.fail("truncated or corrupted (size does not match the header)");
  }
  auto impl = std::make_unique<Impl>(dim, metric, storage);
  impl->ids.resize(count);
  r.read(impl->ids.data(), count * sizeof(int64_t));
  std::vector<float> rows(count * static_cast<size_t>(dim));
  if (storage == FLOAT32) {
    r.read(rows.data(), rows.size() * sizeof(float));
  } else {
    std::vector<uint16_t> halves(rows.size());
    r.read(halves.data(), halves.size() * sizeof(uint16_t));
    simd::best_kernels().f16_to_f32(halves.data(), halves.size(), rows.data());
  }
  r.finish();
  std::vector<int64_t> ids = std::move(impl->ids);
  impl->ids.clear();
  std::unordered_set<int64_t> seen(ids.begin(), ids.end());
  if (seen.size() != ids.size()) r.fail("duplicate ids");
  impl->row_of.reserve(count);
  impl->append(static_cast<int64_t>(count), rows.data(), ids.data());
  return impl.release();
}

}  // namespace aff
