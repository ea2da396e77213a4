#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#if AFF_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "aff/cuda_index.h"
#include "aff/device.h"
#include "aff/types.h"
#include "simd.h"
#include "test_util.h"

namespace {

using aff::CudaExactIndex;
using aff::test_util::fresh_seed;

bool have_gpu() { return aff::cuda_device_count() > 0; }

#define SKIP_WITHOUT_GPU()                                                                                   \
  if (!have_gpu()) {                                                                                         \
    GTEST_SKIP() << "no CUDA device: the kernels compiled (" << (aff::cuda_compiled() ? "nvcc" : "no nvcc") \
                 << ") but were not run";                                                                    \
  }

std::vector<uint16_t> to_half(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = aff::simd::float_to_half(v[i]);
  return h;
}

double exact_score(const std::vector<uint16_t>& rows, int64_t row, const std::vector<uint16_t>& q, int64_t qi, int d,
                   int metric) {
  double s = 0;
  for (int i = 0; i < d; ++i) {
    const double a = aff::simd::half_to_float(q[qi * d + i]), b = aff::simd::half_to_float(rows[row * d + i]);
    s += metric == aff::L2 ? (a - b) * (a - b) : a * b;
  }
  return s;
}

// The GPU result against the double-precision reference, rank by rank: scores within tolerance, and each returned id
// really has (within tolerance) the reference's score at that rank (near-ties may swap ids, never scores).
void expect_matches_reference(const std::vector<uint16_t>& rows, const std::vector<int64_t>& ids, int d, int metric,
                              const std::vector<uint16_t>& q, int64_t nq, int64_t k, const std::vector<float>& scores,
                              const std::vector<int64_t>& got_ids, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(ids.size());
  std::vector<float> want_s(nq * k);
  std::vector<int64_t> want_i(nq * k);
  aff::exact_search_f16_reference(rows.data(), ids.data(), n, d, metric, q.data(), nq, k, want_s.data(),
                                  want_i.data());
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
  auto row_of = [&](int64_t id) {
    auto it = std::lower_bound(order.begin(), order.end(), id, [&](int64_t r, int64_t v) { return ids[r] < v; });
    return it != order.end() && ids[*it] == id ? *it : int64_t{-1};
  };
  double max_row_sq = 0;
  for (int64_t r = 0; r < n; ++r) max_row_sq = std::max(max_row_sq, exact_score(rows, r, rows, r, d, aff::INNER_PRODUCT));
  for (int64_t qi = 0; qi < nq; ++qi) {
    const double q_sq = exact_score(q, qi, q, qi, d, aff::INNER_PRODUCT);
    const double tol = 1e-4 * (metric == aff::L2 ? q_sq + max_row_sq : std::sqrt(q_sq * max_row_sq)) + 1e-6;
    std::set<int64_t> seen;
    for (int64_t i = 0; i < k; ++i) {
      const int64_t at = qi * k + i;
      ASSERT_TRUE(std::isfinite(scores[at])) << "query " << qi << " rank " << i << " unwritten, seed " << seed;
      ASSERT_NEAR(scores[at], want_s[at], tol) << "query " << qi << " rank " << i << ", seed " << seed;
      const int64_t row = row_of(got_ids[at]);
      ASSERT_GE(row, 0) << "unknown id " << got_ids[at] << ", seed " << seed;
      ASSERT_TRUE(seen.insert(got_ids[at]).second) << "id returned twice, seed " << seed;
      ASSERT_NEAR(exact_score(rows, row, q, qi, d, metric), want_s[at], tol) << "query " << qi << " rank " << i;
    }
  }
}

struct Case {
  int64_t n;
  int d;
  int metric;
  int64_t nq;
  int64_t k;
};

void run_case(const Case& c) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const auto rows = to_half(aff::test_util::random_vectors(rng, c.n, c.d));
  const auto ids = aff::test_util::random_ids(rng, c.n);
  const auto q = to_half(aff::test_util::random_vectors(rng, c.nq, c.d));
  CudaExactIndex index(c.d, c.metric);
  // Two adds: the second grows the device buffers.
  const int64_t half = c.n / 3;
  index.add_f16(half, rows.data(), ids.data());
  index.add_f16(c.n - half, rows.data() + half * c.d, ids.data() + half);
  ASSERT_EQ(index.size(), c.n);
  std::vector<float> scores(c.nq * c.k, std::numeric_limits<float>::quiet_NaN());
  std::vector<int64_t> got(c.nq * c.k, -1);
  index.search_f16(c.nq, q.data(), c.k, scores.data(), got.data());
  expect_matches_reference(rows, ids, c.d, c.metric, q, c.nq, c.k, scores, got, seed);
  EXPECT_GE(index.last_chunks(), 1);
}

// Batches that take the streaming kernel (1-4 queries) and the tensor-core kernel (5+), sizes off the 128 x 128 x 32
// tiles, both metrics, k from 1 to the maximum.
TEST(CudaSearch, MatchesTheReferenceInnerProduct) {
  SKIP_WITHOUT_GPU();
  run_case({30011, 200, aff::INNER_PRODUCT, 1, 10});
  run_case({30011, 200, aff::INNER_PRODUCT, 3, 100});
  run_case({30011, 200, aff::INNER_PRODUCT, 300, 100});
  run_case({20000, 72, aff::INNER_PRODUCT, 5, 1});
  run_case({9000, 136, aff::INNER_PRODUCT, 129, 1024});
}

// The single pass (1-4 queries, k <= 32) at every row layout it has: 4, 2 and 1 rows per warp load, 1-4 column steps,
// a database smaller than one block's share, and k at its limit.
TEST(CudaSearch, SinglePassMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  run_case({20011, 56, aff::INNER_PRODUCT, 4, 32});
  run_case({20011, 128, aff::L2, 3, 5});
  run_case({20011, 248, aff::INNER_PRODUCT, 1, 1});
  run_case({20011, 512, aff::L2, 2, 32});
  run_case({10007, 520, aff::INNER_PRODUCT, 4, 17});
  run_case({10007, 1024, aff::INNER_PRODUCT, 1, 10});
  run_case({45, 64, aff::INNER_PRODUCT, 2, 32});
}

TEST(CudaSearch, MatchesTheReferenceL2) {
  SKIP_WITHOUT_GPU();
  run_case({25000, 64, aff::L2, 2, 20});
  run_case({25000, 64, aff::L2, 130, 50});
  run_case({5000, 1032, aff::L2, 4, 7});  // wider than the streaming kernel's registers: tensor cores for 4 queries
}

// Rows stored in increasing score order defeat the running thresholds: every chunk overflows the candidate buffer
// and the queries take the slow path, which must still be exact. For the single pass (nq <= 4, k <= 32) the same data
// makes every warp merge at every step, which must be exact too.
void run_ordered_case(int64_t nq, int64_t k, bool expect_overflow) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const int d = 32;
  const int64_t n = 60000;
  std::normal_distribution<float> noise(0.f, 0.01f);
  std::vector<float> x(n * d), qf(nq * d);
  for (int64_t j = 0; j < n; ++j)
    for (int i = 0; i < d; ++i) x[j * d + i] = static_cast<float>(j) / n + noise(rng);
  for (float& v : qf) v = 1.f + noise(rng);
  const auto rows = to_half(x), q = to_half(qf);
  const auto ids = aff::test_util::random_ids(rng, n);
  CudaExactIndex index(d, aff::INNER_PRODUCT);
  index.add_f16(n, rows.data(), ids.data());
  std::vector<float> scores(nq * k, std::numeric_limits<float>::quiet_NaN());
  std::vector<int64_t> got(nq * k, -1);
  index.search_f16(nq, q.data(), k, scores.data(), got.data());
  if (expect_overflow) {
    EXPECT_GT(index.last_overflowed_queries(), 0) << "the ordered data should overflow the candidate buffer";
  } else {
    EXPECT_EQ(index.last_overflowed_queries(), 0);
  }
  expect_matches_reference(rows, ids, d, aff::INNER_PRODUCT, q, nq, k, scores, got, seed);
}

TEST(CudaSearch, OverflowingQueriesAreSearchedAgainExactly) {
  SKIP_WITHOUT_GPU();
  run_ordered_case(6, 64, true);
  run_ordered_case(2, 32, false);
}

#if AFF_HAVE_CUDA
// Device buffers on the caller's stream: a single-pass batch returns before the results are there (they arrive in
// stream order), a chunked batch on another stream is ordered after it, and an add right after waits for both.
TEST(CudaSearch, DeviceBuffersOnCallerStreams) {
  SKIP_WITHOUT_GPU();
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const int d = 96;
  const int64_t n = 50000;
  const auto rows = to_half(aff::test_util::random_vectors(rng, n, d));
  const auto ids = aff::test_util::random_ids(rng, n);
  const auto q = to_half(aff::test_util::random_vectors(rng, 8, d));
  CudaExactIndex index(d, aff::L2);
  index.add_f16(n, rows.data(), ids.data());
  auto ok = [](cudaError_t e) { ASSERT_EQ(e, cudaSuccess) << cudaGetErrorString(e); };
  cudaStream_t s1, s2;
  ok(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  ok(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  void* dq = nullptr;
  float* ds = nullptr;
  int64_t* di = nullptr;
  const int64_t k_small = 10, k_big = 50;  // 2 queries x 10 (single pass), then 8 x 50 (chunks) after them
  ok(cudaMalloc(&dq, q.size() * sizeof(uint16_t)));
  ok(cudaMalloc(&ds, (2 * k_small + 8 * k_big) * sizeof(float)));
  ok(cudaMalloc(reinterpret_cast<void**>(&di), (2 * k_small + 8 * k_big) * sizeof(int64_t)));
  ok(cudaMemcpy(dq, q.data(), q.size() * sizeof(uint16_t), cudaMemcpyHostToDevice));
  index.search_device(2, dq, k_small, ds, di, s1);
  index.search_device(8, dq, k_big, ds + 2 * k_small, di + 2 * k_small, s2);
  const auto more = to_half(aff::test_util::random_vectors(rng, 1000, d));
  std::vector<int64_t> more_ids(1000);
  std::iota(more_ids.begin(), more_ids.end(), int64_t{1} << 40);
  index.add_f16(1000, more.data(), more_ids.data());  // must not change what the two searches see
  ok(cudaStreamSynchronize(s1));
  ok(cudaStreamSynchronize(s2));
  std::vector<float> scores(2 * k_small + 8 * k_big);
  std::vector<int64_t> got(scores.size());
  ok(cudaMemcpy(scores.data(), ds, scores.size() * sizeof(float), cudaMemcpyDeviceToHost));
  ok(cudaMemcpy(got.data(), di, got.size() * sizeof(int64_t), cudaMemcpyDeviceToHost));
  const std::vector<uint16_t> q2(q.begin(), q.begin() + 2 * d);
  const auto split = scores.begin() + 2 * k_small;
  const auto split_ids = got.begin() + 2 * k_small;
  expect_matches_reference(rows, ids, d, aff::L2, q2, 2, k_small, std::vector<float>(scores.begin(), split),
                           std::vector<int64_t>(got.begin(), split_ids), seed);
  expect_matches_reference(rows, ids, d, aff::L2, q, 8, k_big, std::vector<float>(split, scores.end()),
                           std::vector<int64_t>(split_ids, got.end()), seed);
  cudaFree(dq);
  cudaFree(ds);
  cudaFree(di);
  cudaStreamDestroy(s1);
  cudaStreamDestroy(s2);
}
#endif

// Exact duplicates: ties are broken by the smaller id, as on the CPU (tensor-core path and single pass).
TEST(CudaSearch, TiesGoToTheSmallerId) {
  SKIP_WITHOUT_GPU();
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const int d = 48;
  const int64_t distinct = 7, copies = 3001, n = distinct * copies;
  for (const auto [nq, k] : {std::pair<int64_t, int64_t>{9, 40}, {3, 32}, {1, 5}}) {
    const auto base = aff::test_util::random_vectors(rng, distinct, d);
    std::vector<float> x(n * d);
    for (int64_t j = 0; j < n; ++j) std::copy_n(&base[(j % distinct) * d], d, &x[j * d]);
    const auto rows = to_half(x);
    const auto ids = aff::test_util::random_ids(rng, n);
    const auto q = to_half(aff::test_util::random_vectors(rng, nq, d));
    CudaExactIndex index(d, aff::INNER_PRODUCT);
    index.add_f16(n, rows.data(), ids.data());
    std::vector<float> scores(nq * k);
    std::vector<int64_t> got(nq * k);
    index.search_f16(nq, q.data(), k, scores.data(), got.data());
    std::vector<float> want_s(nq * k);
    std::vector<int64_t> want_i(nq * k);
    aff::exact_search_f16_reference(rows.data(), ids.data(), n, d, aff::INNER_PRODUCT, q.data(), nq, k, want_s.data(),
                                    want_i.data());
    EXPECT_EQ(got, want_i) << "nq " << nq << ", seed " << seed;
  }
}

// Removal moves the last row into the hole; results then match the reference over what is left. fp32 adds round to
// fp16; bad input is refused and changes nothing.
TEST(CudaSearch, RemoveAndBadInput) {
  SKIP_WITHOUT_GPU();
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const int d = 64;
  const int64_t n = 5000, nq = 17, k = 25;
  const auto xf = aff::test_util::random_vectors(rng, n, d);
  const auto ids = aff::test_util::random_ids(rng, n);
  CudaExactIndex index(d, aff::INNER_PRODUCT);
  index.add(n, xf.data(), ids.data());
  std::vector<int64_t> gone(ids.begin(), ids.begin() + 700);
  index.remove(static_cast<int64_t>(gone.size()), gone.data());
  EXPECT_EQ(index.size(), n - 700);
  EXPECT_FALSE(index.contains(gone[0]));
  EXPECT_TRUE(index.contains(ids[800]));
  std::vector<float> row(d);
  index.reconstruct(ids[800], row.data());
  for (int i = 0; i < d; ++i) {
    EXPECT_EQ(row[i], aff::simd::half_to_float(aff::simd::float_to_half(xf[800 * d + i]))) << "seed " << seed;
  }
  EXPECT_THROW(index.reconstruct(gone[0], row.data()), std::invalid_argument);
  std::vector<int64_t> listed(index.size());
  index.ids(listed.data());
  EXPECT_EQ(std::set<int64_t>(listed.begin(), listed.end()), std::set<int64_t>(ids.begin() + 700, ids.end()));
  // The bulk read (two ranges, after removals moved rows) gives every row and id as reconstruct and ids do.
  const int64_t size = index.size(), half = size / 2 + 3;
  std::vector<uint16_t> bits(size * d);
  std::vector<int64_t> bulk_ids(size);
  index.rows_f16(0, half, bits.data(), bulk_ids.data());
  index.rows_f16(half, size - half, bits.data() + half * d, bulk_ids.data() + half);
  EXPECT_EQ(bulk_ids, listed);
  for (int64_t r = 0; r < size; r += 37) {
    index.reconstruct(listed[r], row.data());
    for (int i = 0; i < d; ++i) ASSERT_EQ(aff::simd::half_to_float(bits[r * d + i]), row[i]) << "row " << r;
  }
  EXPECT_THROW(index.rows_f16(size - 1, 2, bits.data(), bulk_ids.data()), std::invalid_argument);
  EXPECT_THROW(index.rows_f16(-1, 1, bits.data(), bulk_ids.data()), std::invalid_argument);

  std::vector<float> bad(d, 1.f);
  bad[5] = std::numeric_limits<float>::infinity();
  const int64_t fresh_id = 1;
  EXPECT_THROW(index.add(1, bad.data(), &fresh_id), std::invalid_argument);
  bad[5] = 1e6f;  // beyond fp16
  EXPECT_THROW(index.add(1, bad.data(), &fresh_id), std::invalid_argument);
  EXPECT_THROW(index.add(1, xf.data(), &ids[900]), std::invalid_argument);  // already present
  EXPECT_THROW(index.remove(1, &gone[0]), std::invalid_argument);           // already removed
  EXPECT_EQ(index.size(), n - 700);

  const auto rows_all = to_half(xf);
  std::vector<uint16_t> rows;
  std::vector<int64_t> kept;
  for (int64_t j = 700; j < n; ++j) {
    rows.insert(rows.end(), rows_all.begin() + j * d, rows_all.begin() + (j + 1) * d);
    kept.push_back(ids[j]);
  }
  const auto qf = aff::test_util::random_vectors(rng, nq, d);
  const auto q = to_half(qf);
  std::vector<float> scores(nq * k, std::numeric_limits<float>::quiet_NaN());
  std::vector<int64_t> got(nq * k, -1);
  index.search(nq, qf.data(), k, scores.data(), got.data());
  expect_matches_reference(rows, kept, d, aff::INNER_PRODUCT, q, nq, k, scores, got, seed);
  EXPECT_THROW(index.search(nq, qf.data(), 1025, scores.data(), got.data()), std::invalid_argument);
  EXPECT_THROW(index.search(nq, qf.data(), 0, scores.data(), got.data()), std::invalid_argument);
}

// Argument checks come before the device check, so they hold on machines without a GPU too.
TEST(CudaSearch, RefusesBadShapes) {
  EXPECT_THROW(CudaExactIndex(12, aff::INNER_PRODUCT), std::invalid_argument);
  EXPECT_THROW(CudaExactIndex(0, aff::INNER_PRODUCT), std::invalid_argument);
  EXPECT_THROW(CudaExactIndex(16, 7), std::invalid_argument);
  if (!have_gpu()) EXPECT_THROW(CudaExactIndex(16, aff::INNER_PRODUCT), std::runtime_error);
}

// The reference itself: against the test utilities' double ranking on fp16-exact data.
TEST(CudaSearch, ReferenceRanksLikeTheNaiveSort) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const int d = 24;
  const int64_t n = 500, k = 30;
  const auto rows = to_half(aff::test_util::random_vectors(rng, n, d));
  const auto ids = aff::test_util::random_ids(rng, n);
  const auto q = to_half(aff::test_util::random_vectors(rng, 1, d));
  std::vector<float> xf(n * d), qf(d);
  for (size_t i = 0; i < xf.size(); ++i) xf[i] = aff::simd::half_to_float(rows[i]);
  for (int i = 0; i < d; ++i) qf[i] = aff::simd::half_to_float(q[i]);
  for (int metric : {aff::INNER_PRODUCT, aff::L2}) {
    const auto ranking = aff::test_util::reference_ranking(qf.data(), xf, ids, d, static_cast<aff::Metric>(metric));
    std::vector<float> s(k);
    std::vector<int64_t> got(k);
    aff::exact_search_f16_reference(rows.data(), ids.data(), n, d, metric, q.data(), 1, k, s.data(), got.data());
    for (int64_t i = 0; i < k; ++i) {
      EXPECT_EQ(got[i], ranking[i].id) << "seed " << seed;
      EXPECT_NEAR(s[i], metric == aff::L2 ? -ranking[i].score : ranking[i].score, 1e-4);
    }
  }
}

}  // namespace
