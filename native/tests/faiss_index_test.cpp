#include "aff/faiss_index.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <unistd.h>

#include "aff/exact_index.h"
#include "test_util.h"

using namespace aff;

namespace {

std::string temp_path(const char* name) {
  return ::testing::TempDir() + "aff_" + std::to_string(::getpid()) + "_" + name;
}

// Fraction of the exact top-k that the approximate index also returns.
double recall(const std::vector<int64_t>& approx, const std::vector<int64_t>& exact, size_t nq, int64_t k) {
  size_t found = 0;
  for (size_t i = 0; i < nq; ++i) {
    const std::set<int64_t> truth(exact.begin() + i * k, exact.begin() + (i + 1) * k);
    for (int64_t j = 0; j < k; ++j) found += truth.count(approx[i * k + j]);
  }
  return static_cast<double>(found) / static_cast<double>(nq * k);
}

struct Data {
  size_t n = 5000, d = 32, nq = 50;
  std::vector<float> x, q;
  std::vector<int64_t> ids;
  explicit Data(std::mt19937_64& rng) {
    x = test_util::random_vectors(rng, n, d);
    q = test_util::random_vectors(rng, nq, d);
    ids = test_util::random_ids(rng, n);
  }
  std::vector<int64_t> exact(Metric metric, int64_t k, const std::vector<int64_t>& skip = {}) const {
    ExactIndex index(d, metric, FLOAT32);
    index.add(n, x.data(), ids.data());
    if (!skip.empty()) index.remove(skip.size(), skip.data());
    std::vector<float> s(nq * k);
    std::vector<int64_t> r(nq * k);
    index.search(nq, q.data(), k, s.data(), r.data());
    return r;
  }
};

std::vector<int64_t> search(const FaissIndex& index, const Data& data, int64_t k) {
  std::vector<float> s(data.nq * k);
  std::vector<int64_t> r(data.nq * k);
  index.search(data.nq, data.q.data(), k, s.data(), r.data());
  return r;
}

TEST(FaissIndex, HnswFindsTheExactNeighbours) {
  std::mt19937_64 rng(test_util::fresh_seed());
  const Data data(rng);
  for (Metric metric : {INNER_PRODUCT, L2}) {
    FaissIndex index(data.d, "HNSW32", metric);
    EXPECT_TRUE(index.is_trained());
    index.add(data.n, data.x.data(), data.ids.data());
    index.set_parameter("efSearch", 128);
    EXPECT_GE(recall(search(index, data, 10), data.exact(metric, 10), data.nq, 10), 0.9);
  }
}

TEST(FaissIndex, IvfPqNeedsTrainingAndThenRecalls) {
  std::mt19937_64 rng(test_util::fresh_seed());
  const Data data(rng);
  FaissIndex index(data.d, "IVF16,Flat", L2);
  EXPECT_FALSE(index.is_trained());
  EXPECT_THROW(index.add(data.n, data.x.data(), data.ids.data()), std::logic_error);
  index.train(data.n, data.x.data());
  index.add(data.n, data.x.data(), data.ids.data());
  index.set_parameter("nprobe", 16);  // every list: exact
  EXPECT_GE(recall(search(index, data, 10), data.exact(L2, 10), data.nq, 10), 0.99);

  FaissIndex pq(data.d, "IVF16,PQ8", L2);
  pq.train(data.n, data.x.data());
  pq.add(data.n, data.x.data(), data.ids.data());
  pq.set_parameter("nprobe", 16);
  EXPECT_GE(recall(search(pq, data, 10), data.exact(L2, 10), data.nq, 10), 0.3);  // PQ8 on 32-d noise is coarse
}

TEST(FaissIndex, RemovedIdsNeverComeBack) {
  std::mt19937_64 rng(test_util::fresh_seed());
  const Data data(rng);
  for (const char* factory : {"HNSW16", "IVF8,Flat", "Flat"}) {
    FaissIndex index(data.d, factory, INNER_PRODUCT);
    index.train(data.n, data.x.data());
    index.add(data.n, data.x.data(), data.ids.data());
    // Remove the exact top-5 of every query: they would otherwise be found first.
    const auto before = data.exact(INNER_PRODUCT, 5);
    std::set<int64_t> gone_set(before.begin(), before.end());
    const std::vector<int64_t> gone(gone_set.begin(), gone_set.end());
    index.remove(gone.size(), gone.data());
    EXPECT_EQ(index.size(), static_cast<int64_t>(data.n - gone.size())) << factory;
    EXPECT_FALSE(index.contains(gone[0]));
    const std::string kind = factory;
    if (kind != "Flat") index.set_parameter(kind.rfind("IVF", 0) == 0 ? "nprobe" : "efSearch", 64);
    const auto got = search(index, data, 10);
    for (int64_t id : got) EXPECT_EQ(gone_set.count(id), 0u) << factory;
    if (kind == "Flat") {
      EXPECT_EQ(got, data.exact(INNER_PRODUCT, 10, gone));
    }
    // A removed id may be added again and is then found.
    index.add(1, data.q.data(), &gone[0]);
    std::vector<float> s(1);
    std::vector<int64_t> r(1);
    index.search(1, data.q.data(), 1, s.data(), r.data());
    EXPECT_EQ(r[0], gone[0]) << factory;
    EXPECT_THROW(index.remove(1, &gone[1]), std::invalid_argument);
  }
}

TEST(FaissIndex, CompactDropsTombstonesAndKeepsResults) {
  std::mt19937_64 rng(test_util::fresh_seed());
  const Data data(rng);
  FaissIndex index(data.d, "HNSW32", L2);
  index.add(data.n, data.x.data(), data.ids.data());
  std::vector<int64_t> gone(data.ids.begin(), data.ids.begin() + data.n / 2);
  index.remove(gone.size(), gone.data());
  EXPECT_EQ(index.tombstones(), static_cast<int64_t>(gone.size()));
  index.set_parameter("efSearch", 128);
  const auto exact = data.exact(L2, 10, gone);
  const double before = recall(search(index, data, 10), exact, data.nq, 10);
  EXPECT_EQ(index.compact(), static_cast<int64_t>(gone.size()));
  EXPECT_EQ(index.tombstones(), 0);
  EXPECT_EQ(index.compact(), 0);
  EXPECT_EQ(index.size(), static_cast<int64_t>(data.n - gone.size()));
  EXPECT_FALSE(index.contains(gone[0]));
  EXPECT_TRUE(index.contains(data.ids.back()));
  const double after = recall(search(index, data, 10), exact, data.nq, 10);
  EXPECT_GE(after, 0.9);
  EXPECT_GE(after, before - 0.05);
  // Ids keep working after the relabelling: remove and re-add one.
  index.remove(1, &data.ids.back());
  index.add(1, data.x.data() + (data.n - 1) * data.d, &data.ids.back());
  EXPECT_TRUE(index.contains(data.ids.back()));
  FaissIndex ivf(data.d, "IVF8,Flat", L2);
  ivf.train(data.n, data.x.data());
  ivf.add(data.n, data.x.data(), data.ids.data());
  ivf.remove(3, data.ids.data());
  EXPECT_EQ(ivf.tombstones(), 0);
  EXPECT_EQ(ivf.compact(), 0);
}

TEST(FaissIndex, SaveLoadRoundTrip) {
  std::mt19937_64 rng(test_util::fresh_seed());
  const Data data(rng);
  for (const char* factory : {"HNSW16", "IVF8,PQ4"}) {
    FaissIndex index(data.d, factory, L2);
    index.train(data.n, data.x.data());
    index.add(data.n, data.x.data(), data.ids.data());
    index.remove(3, data.ids.data());
    const std::string path = temp_path("faiss.idx");
    index.save(path.c_str());
    std::unique_ptr<FaissIndex> back(FaissIndex::load(path.c_str()));
    EXPECT_EQ(back->size(), index.size());
    EXPECT_STREQ(back->description(), factory);
    EXPECT_EQ(search(*back, data, 10), search(index, data, 10)) << factory;
    EXPECT_FALSE(back->contains(data.ids[0]));
    EXPECT_TRUE(back->contains(data.ids[4]));

    std::ifstream in(path, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), {}};
    in.close();
    bytes[bytes.size() / 2] ^= 1;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    EXPECT_THROW(FaissIndex::load(path.c_str()), std::runtime_error);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, 100);
    EXPECT_THROW(FaissIndex::load(path.c_str()), std::runtime_error);
    std::remove(path.c_str());
  }
}

TEST(FaissIndex, BadInput) {
  EXPECT_THROW(FaissIndex(8, "NoSuchIndex42", L2), std::invalid_argument);
  EXPECT_THROW(FaissIndex(0, "Flat", L2), std::invalid_argument);
  FaissIndex index(2, "HNSW8", L2);
  const float x[4] = {1, 2, 3, NAN};
  const int64_t ids[2] = {1, 2};
  EXPECT_THROW(index.add(2, x, ids), std::invalid_argument);
  EXPECT_EQ(index.size(), 0);
  index.add(1, x, ids);
  EXPECT_THROW(index.add(1, x, ids), std::invalid_argument);
  EXPECT_THROW(index.set_parameter("noSuchParameter", 1), std::invalid_argument);
  float s[2];
  int64_t r[2];
  EXPECT_THROW(index.search(1, x, 2, s, r), std::invalid_argument);
  EXPECT_THROW(index.search(1, x + 2, 1, s, r), std::invalid_argument);
}

}  // namespace
