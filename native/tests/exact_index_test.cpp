#include "aff/exact_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "amx_screen.h"
#include "simd.h"
#include "test_util.h"

using namespace aff;
using aff::test_util::Hit;

namespace {

struct Case {
  Metric metric;
  Storage storage;
  size_t n, d, nq;
  int64_t k;
};

std::string describe(const Case& c) {
  return std::string(c.metric == L2 ? "L2" : "IP") + (c.storage == FLOAT16 ? "/fp16" : "/fp32") + " n=" +
         std::to_string(c.n) + " d=" + std::to_string(c.d) + " nq=" + std::to_string(c.nq) + " k=" + std::to_string(c.k);
}

std::string temp_path(const char* name) {
  return ::testing::TempDir() + "aff_" + std::to_string(::getpid()) + "_" + name;
}

// Checks one query's results against the double reference: scores agree to a relative 1e-4 of the score scale,
// and every returned id truly has the score of its rank (so near-ties may swap, nothing else may).
void expect_matches_reference(const Case& c, const float* q, const std::vector<float>& stored,
                              const std::vector<int64_t>& ids, const float* scores, const int64_t* got_ids,
                              const std::string& context) {
  const auto ref = test_util::reference_ranking(q, stored, ids, c.d, c.metric);
  std::unordered_map<int64_t, double> truth;
  for (const Hit& h : ref) truth[h.id] = h.score;
  const double scale = std::max(1.0, std::fabs(ref[0].score));
  for (int64_t j = 0; j < c.k; ++j) {
    const double expected = c.metric == L2 ? -ref[j].score : ref[j].score;
    ASSERT_LE(std::fabs(scores[j] - expected) / scale, 1e-4) << context << " rank " << j;
    ASSERT_TRUE(truth.count(got_ids[j])) << context << " unknown id at rank " << j;
    ASSERT_LE(std::fabs(truth[got_ids[j]] - ref[j].score) / scale, 1e-4) << context << " rank " << j;
  }
}

// Every case runs twice where the CPU has AMX: with bf16 screening and with plain BLAS / SIMD scores.
class ExactSearch : public ::testing::TestWithParam<std::tuple<Case, bool>> {
 protected:
  void TearDown() override { amx::set_enabled(true); }
};

TEST_P(ExactSearch, MatchesNaiveReference) {
  const Case c = std::get<0>(GetParam());
  amx::set_enabled(std::get<1>(GetParam()));
  const uint64_t seed = test_util::fresh_seed();
  const std::string context = describe(c) + (amx::available() ? " amx" : "") + " seed " + std::to_string(seed);
  std::mt19937_64 rng(seed);
  auto x = test_util::random_vectors(rng, c.n, c.d);
  const auto ids = test_util::random_ids(rng, c.n);
  const auto q = test_util::random_vectors(rng, c.nq, c.d);
  ExactIndex index(static_cast<int32_t>(c.d), c.metric, c.storage);
  index.add(static_cast<int64_t>(c.n), x.data(), ids.data());
  // The reference sees what the index stores: fp16 rows are rounded.
  if (c.storage == FLOAT16) {
    for (float& v : x) v = simd::half_to_float(simd::float_to_half(v));
  }
  std::vector<float> scores(c.nq * c.k, NAN);
  std::vector<int64_t> got(c.nq * c.k, -7);
  index.search(static_cast<int64_t>(c.nq), q.data(), c.k, scores.data(), got.data());
  for (size_t i = 0; i < c.nq; ++i) {
    expect_matches_reference(c, q.data() + i * c.d, x, ids, scores.data() + i * c.k, got.data() + i * c.k,
                             context + " query " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ExactSearch,
    ::testing::Combine(::testing::Values(Case{INNER_PRODUCT, FLOAT32, 1000, 64, 1, 10}, Case{L2, FLOAT32, 1000, 64, 1, 10},
                      Case{INNER_PRODUCT, FLOAT16, 1000, 64, 3, 10}, Case{L2, FLOAT16, 1000, 33, 5, 7},
                      // batches that take the BLAS path, with a partial query block and odd sizes
                      Case{INNER_PRODUCT, FLOAT32, 3001, 37, 300, 100}, Case{L2, FLOAT32, 3001, 37, 17, 50},
                      Case{INNER_PRODUCT, FLOAT16, 2049, 128, 40, 1024}, Case{L2, FLOAT16, 2049, 128, 16, 1},
                      // enough rows for several threads
                      Case{INNER_PRODUCT, FLOAT32, 70001, 16, 2, 1024}, Case{L2, FLOAT32, 70001, 16, 20, 10},
                      Case{INNER_PRODUCT, FLOAT32, 50, 5, 4, 50}, Case{L2, FLOAT16, 4099, 200, 100, 333},
                      Case{INNER_PRODUCT, FLOAT32, 1000, 1, 33, 20}),
                      ::testing::Bool()),
    [](const ::testing::TestParamInfo<std::tuple<Case, bool>>& info) {
      const Case& c = std::get<0>(info.param);
      return std::string(c.metric == L2 ? "L2" : "IP") + (c.storage == FLOAT16 ? "_fp16" : "_fp32") + "_n" +
             std::to_string(c.n) + "_d" + std::to_string(c.d) + "_q" + std::to_string(c.nq) + "_k" +
             std::to_string(c.k) + (std::get<1>(info.param) ? "_screened" : "_plain");
    });

// Small integer vectors make many exact ties: the result must then follow (score, smaller id) exactly,
// on every path (SIMD dot, BLAS, several threads).
TEST(ExactIndex, TiesAreBrokenBySmallerId) {
  const uint64_t seed = test_util::fresh_seed();
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> small(-2, 2);
  const size_t n = 70001, d = 6;
  std::vector<float> x(n * d);
  for (float& v : x) v = static_cast<float>(small(rng));
  const auto ids = test_util::random_ids(rng, n);
  for (bool screening : {true, false}) {
    amx::set_enabled(screening);
    for (Metric metric : {INNER_PRODUCT, L2}) {
      for (Storage storage : {FLOAT32, FLOAT16}) {
        ExactIndex index(d, metric, storage);
        index.add(n, x.data(), ids.data());
        for (size_t nq : {1, 18}) {
          std::vector<float> q(nq * d);
          for (float& v : q) v = static_cast<float>(small(rng));
          const int64_t k = 300;
          std::vector<float> scores(nq * k);
          std::vector<int64_t> got(nq * k);
          index.search(nq, q.data(), k, scores.data(), got.data());
          for (size_t i = 0; i < nq; ++i) {
            const auto ref = test_util::reference_ranking(q.data() + i * d, x, ids, d, metric);
            for (int64_t j = 0; j < k; ++j) {
              ASSERT_EQ(got[i * k + j], ref[j].id)
                  << "seed " << seed << " metric " << metric << " nq " << nq << " screening " << screening;
            }
          }
        }
      }
    }
  }
  amx::set_enabled(true);
}

TEST(ExactIndex, RemoveThenSearchSeesOnlyRemainingRows) {
  const uint64_t seed = test_util::fresh_seed();
  std::mt19937_64 rng(seed);
  const size_t n = 2000, d = 24;
  const auto x = test_util::random_vectors(rng, n, d);
  const auto ids = test_util::random_ids(rng, n);
  ExactIndex index(d, L2, FLOAT32);
  index.add(n, x.data(), ids.data());
  std::vector<int64_t> removed, kept_ids;
  std::vector<float> kept;
  for (size_t j = 0; j < n; ++j) {
    if (j % 3 == 0) {
      removed.push_back(ids[j]);
    } else {
      kept_ids.push_back(ids[j]);
      kept.insert(kept.end(), x.begin() + j * d, x.begin() + (j + 1) * d);
    }
  }
  index.remove(removed.size(), removed.data());
  EXPECT_EQ(index.size(), static_cast<int64_t>(kept_ids.size()));
  EXPECT_FALSE(index.contains(removed[0]));
  EXPECT_TRUE(index.contains(kept_ids[0]));
  std::vector<float> row(d);
  index.reconstruct(kept_ids[5], row.data());
  for (size_t i = 0; i < d; ++i) EXPECT_EQ(row[i], kept[5 * d + i]);
  const auto q = test_util::random_vectors(rng, 3, d);
  const Case c{L2, FLOAT32, kept_ids.size(), d, 3, 20};
  std::vector<float> scores(3 * 20);
  std::vector<int64_t> got(3 * 20);
  index.search(3, q.data(), 20, scores.data(), got.data());
  for (int i = 0; i < 3; ++i) {
    expect_matches_reference(c, q.data() + i * d, kept, kept_ids, scores.data() + i * 20, got.data() + i * 20,
                             "seed " + std::to_string(seed));
  }
  // Re-adding a removed id is allowed.
  index.add(1, x.data(), &removed[0]);
  EXPECT_TRUE(index.contains(removed[0]));
}

TEST(ExactIndex, BadInputIsRejectedAndChangesNothing) {
  ExactIndex index(4, INNER_PRODUCT, FLOAT32);
  const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t ids[2] = {10, 11};
  index.add(2, x, ids);
  const float nan_row[8] = {1, 2, 3, 4, 5, NAN, 7, 8};
  const int64_t fresh[2] = {12, 13};
  EXPECT_THROW(index.add(2, nan_row, fresh), std::invalid_argument);
  const float inf_row[4] = {1, INFINITY, 3, 4};
  EXPECT_THROW(index.add(1, inf_row, fresh), std::invalid_argument);
  const int64_t dup_existing[2] = {12, 10};
  EXPECT_THROW(index.add(2, x, dup_existing), std::invalid_argument);
  const int64_t dup_batch[2] = {14, 14};
  EXPECT_THROW(index.add(2, x, dup_batch), std::invalid_argument);
  EXPECT_EQ(index.size(), 2);
  EXPECT_FALSE(index.contains(12));
  const int64_t unknown[2] = {10, 99};
  EXPECT_THROW(index.remove(2, unknown), std::invalid_argument);
  EXPECT_TRUE(index.contains(10));
  float s[3];
  int64_t r[3];
  EXPECT_THROW(index.search(1, x, 0, s, r), std::invalid_argument);
  EXPECT_THROW(index.search(1, x, 3, s, r), std::invalid_argument);
  EXPECT_THROW(index.search(1, nan_row + 4, 1, s, r), std::invalid_argument);
  EXPECT_THROW(ExactIndex(0, INNER_PRODUCT, FLOAT32), std::invalid_argument);
  EXPECT_THROW(ExactIndex(4, 7, FLOAT32), std::invalid_argument);
  ExactIndex half(2, INNER_PRODUCT, FLOAT16);
  const float big[2] = {1e6f, 0};
  EXPECT_THROW(half.add(1, big, ids), std::invalid_argument);
}

TEST(ExactIndex, SaveLoadRoundTripGivesIdenticalResults) {
  std::mt19937_64 rng(test_util::fresh_seed());
  for (Storage storage : {FLOAT32, FLOAT16}) {
    const size_t n = 1500, d = 20;
    const auto x = test_util::random_vectors(rng, n, d);
    const auto ids = test_util::random_ids(rng, n);
    ExactIndex index(d, L2, storage);
    index.add(n, x.data(), ids.data());
    const int64_t gone[2] = {ids[3], ids[700]};
    index.remove(2, gone);
    const std::string path = temp_path("roundtrip.idx");
    index.save(path.c_str());
    std::unique_ptr<ExactIndex> back(ExactIndex::load(path.c_str()));
    EXPECT_EQ(back->size(), index.size());
    EXPECT_EQ(back->storage(), storage);
    EXPECT_EQ(back->metric(), L2);
    const auto q = test_util::random_vectors(rng, 4, d);
    std::vector<float> s1(40), s2(40);
    std::vector<int64_t> r1(40), r2(40);
    index.search(4, q.data(), 10, s1.data(), r1.data());
    back->search(4, q.data(), 10, s2.data(), r2.data());
    EXPECT_EQ(r1, r2);
    for (size_t i = 0; i < s1.size(); ++i) EXPECT_FLOAT_EQ(s1[i], s2[i]);
    std::remove(path.c_str());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(ExactIndex, CorruptedTruncatedOrForeignFilesAreRefused) {
  std::mt19937_64 rng(test_util::fresh_seed());
  const auto x = test_util::random_vectors(rng, 100, 8);
  const auto ids = test_util::random_ids(rng, 100);
  ExactIndex index(8, INNER_PRODUCT, FLOAT32);
  index.add(100, x.data(), ids.data());
  const std::string path = temp_path("corrupt.idx");
  index.save(path.c_str());
  const std::string good = read_file(path);

  auto refused = [&](const std::string& bytes, const char* expect) {
    write_file(path, bytes);
    try {
      delete ExactIndex::load(path.c_str());
      ADD_FAILURE() << "accepted a bad file (" << expect << ")";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  refused(flipped, "checksum");
  refused(good.substr(0, good.size() - 9), "truncated");
  refused(good.substr(0, 3), "truncated");
  refused("", "truncated");
  std::string foreign = good;
  foreign[0] = 'X';
  refused(foreign, "magic");
  std::string huge_count = good;
  huge_count[28] = 0x7f;  // count field: the header promises far more rows than the file holds
  refused(huge_count, "size does not match");
  EXPECT_THROW(ExactIndex::load((path + ".missing").c_str()), std::runtime_error);
  std::remove(path.c_str());
}

TEST(ExactIndex, EmptyIndexAndEmptyBatches) {
  ExactIndex index(3, L2, FLOAT32);
  EXPECT_EQ(index.size(), 0);
  float s[1];
  int64_t r[1];
  const float q[3] = {1, 2, 3};
  EXPECT_THROW(index.search(1, q, 1, s, r), std::invalid_argument);
  index.add(0, nullptr, nullptr);
  index.remove(0, nullptr);
  const int64_t id = 5;
  index.add(1, q, &id);
  index.search(0, nullptr, 1, nullptr, nullptr);
  index.search(1, q, 1, s, r);
  EXPECT_EQ(r[0], 5);
  EXPECT_NEAR(s[0], 0.f, 1e-6);
}

}  // namespace
