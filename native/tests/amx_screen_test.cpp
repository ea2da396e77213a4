#include "amx_screen.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "test_util.h"

using namespace aff;

namespace {

// The AMX kernel against a double-precision reference: every bf16 score must lie within the bound the screening
// relies on, on fresh random data of mixed magnitudes and sizes that are not multiples of the tiles.
TEST(AmxScreen, ScoresStayWithinTheErrorBound) {
  if (!amx::available()) GTEST_SKIP() << "no AMX-BF16 on this CPU (or the kernel refused the tile state)";
  const uint64_t seed = test_util::fresh_seed();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> scale(-3.f, 3.f);
  for (size_t d : {1, 31, 32, 33, 100, 512}) {
    for (size_t nq : {1, 17, 40}) {
      const size_t n = 45;
      auto q = test_util::random_vectors(rng, nq, d);
      auto x = test_util::random_vectors(rng, n, d);
      for (float& v : x) v *= std::pow(10.f, scale(rng));  // magnitudes from 1e-3 to 1e3
      std::vector<uint32_t> qp(amx::round_up(nq, 32) * amx::padded_dim(d) / 2);
      std::vector<uint16_t> rows(amx::round_up(n, 32) * amx::padded_dim(d));
      const size_t ldc = amx::round_up(nq, 32);
      std::vector<float> out(amx::round_up(n, 32) * ldc, NAN);
      amx::pack_queries(q.data(), nq, d, qp.data());
      amx::pack_rows(x.data(), n, d, rows.data());
      amx::begin_thread();
      amx::scores(rows.data(), n, qp.data(), nq, d, out.data(), ldc);
      amx::end_thread();
      const double factor = amx::margin_factor(d);
      double err_sum = 0, bound_sum = 0;
      for (size_t j = 0; j < n; ++j) {
        for (size_t i = 0; i < nq; ++i) {
          double exact = 0, qq = 0, xx = 0;
          for (size_t c = 0; c < d; ++c) {
            exact += double(q[i * d + c]) * x[j * d + c];
            qq += double(q[i * d + c]) * q[i * d + c];
            xx += double(x[j * d + c]) * x[j * d + c];
          }
          const double bound = factor * std::sqrt(qq) * std::sqrt(xx) + 1e-30;
          const double err = std::fabs(out[j * ldc + i] - exact);
          ASSERT_LE(err, bound) << "seed " << seed << " d " << d << " row " << j << " query " << i;
          err_sum += err;
          bound_sum += bound;
        }
      }
      // The kernel computes real scores, not something that merely fits under a loose bound: on average the
      // error stays well below it.
      EXPECT_LT(err_sum, 0.75 * bound_sum) << "seed " << seed << " d " << d;
    }
  }
}

}  // namespace
