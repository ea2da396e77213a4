#include "topk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "test_util.h"

using namespace aff;

TEST(TopK, MatchesFullSortWithTiesAndRandomOrder) {
  const uint64_t seed = test_util::fresh_seed();
  std::mt19937_64 rng(seed);
  for (int64_t k : {1, 2, 10, 100, 1024}) {
    std::vector<Candidate> all;
    std::uniform_int_distribution<int> coarse(0, 20);  // few distinct scores: many ties
    for (int64_t i = 0; i < 5000; ++i) all.push_back({static_cast<float>(coarse(rng)), (i * 7919) % 100003});
    std::shuffle(all.begin(), all.end(), rng);
    TopK top(k);
    for (const auto& c : all) top.push(c.score, c.id);
    std::sort(all.begin(), all.end(), ranks_before);
    const auto& got = top.finish();
    ASSERT_EQ(static_cast<int64_t>(got.size()), k);
    for (int64_t i = 0; i < k; ++i) {
      EXPECT_EQ(got[i].id, all[i].id) << "seed " << seed << " k " << k << " rank " << i;
      EXPECT_EQ(got[i].score, all[i].score);
    }
  }
}

TEST(TopK, MergeOfPartsEqualsWhole) {
  std::mt19937_64 rng(test_util::fresh_seed());
  const auto s = test_util::random_vectors(rng, 1, 3000);
  TopK whole(50), a(50), b(50);
  for (size_t i = 0; i < s.size(); ++i) {
    whole.push(s[i], static_cast<int64_t>(i));
    (i % 3 ? a : b).push(s[i], static_cast<int64_t>(i));
  }
  a.merge(b);
  const auto w = whole.finish();
  const auto m = a.finish();
  ASSERT_EQ(w.size(), m.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w[i].id, m[i].id);
}

TEST(TopK, FewerCandidatesThanK) {
  TopK top(10);
  top.push(1.f, 5);
  top.push(2.f, 3);
  const auto& got = top.finish();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 3);
  EXPECT_EQ(got[1].id, 5);
}
