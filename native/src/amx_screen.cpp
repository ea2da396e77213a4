// AMX-BF16 screening kernels. Compiled with -mamx-tile -mamx-bf16 for this file only; called only when available().
#include "amx_screen.h"

#include "aff/device.h"

#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace aff::amx {
namespace {

constexpr long kArchReqXcompPerm = 0x1023;  // arch_prctl: ask for an extended state component
constexpr long kXfeatureXtiledata = 18;     // the AMX tile data

std::atomic<bool> g_enabled{[] {
  const char* env = std::getenv("AFF_AMX");
  return !(env && std::strcmp(env, "0") == 0);
}()};

bool request_tiles() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16")) return false;
  // Linux hands out the 8 KiB of tile state only on request, once per process.
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

// Round to nearest even; inputs are finite and far from the bf16 overflow threshold.
inline uint32_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return u >> 16;
}

inline uint32_t pair_of(const float* v, size_t d, size_t p) {
  const size_t i = 2 * p;
  if (i >= d) return 0u;
  const uint32_t lo = to_bf16(v[i]);
  const uint32_t hi = i + 1 < d ? to_bf16(v[i + 1]) : 0u;
  return lo | (hi << 16);
}

// Palette 1: tiles 0-3 accumulate 16 rows x 16 queries of fp32 scores, 4-5 hold 16 rows x 32 bf16, 6-7 hold
// 16 pairs x 16 queries;
// all eight are 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
// A constant in memory: GCC does not see ldtilecfg read its operand and drops stores to a local config.
const TileConfig kTileConfig = {1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

}  // namespace

bool available() {
  static const bool granted = request_tiles();
  return granted && g_enabled.load(std::memory_order_relaxed);
}

void set_enabled(bool enabled) { g_enabled.store(enabled); }

double margin_factor(size_t d) {
  // bf16 rounding of both operands: (2u + u^2) per product with u = 2^-8; fp32 accumulation of d + 1 terms and
  // the fp32 norms used in the margin: 2 (d + 2) 2^-24 relative. A 1% cushion on top.
  const double dd = static_cast<double>(d);
  return 1.01 * (std::ldexp(1.0, -7) + std::ldexp(1.0, -16) + 2.0 * (dd + 2.0) * std::ldexp(1.0, -24));
}

void pack_queries(const float* q, size_t nq, size_t d, uint32_t* out) {
  const size_t pairs = padded_dim(d) / 2, padded = round_up(nq, 32);
  for (size_t i = 0; i < padded; ++i) {
    uint32_t* dst = out + (i / 16) * pairs * 16 + (i % 16);
    for (size_t p = 0; p < pairs; ++p) dst[p * 16] = i < nq ? pair_of(q + i * d, d, p) : 0u;
  }
}

void pack_rows(const float* rows, size_t n, size_t d, uint16_t* out) {
  const size_t dp = padded_dim(d), padded = round_up(n, 32);
  for (size_t j = 0; j < n; ++j) {
    const float* row = rows + j * d;
    uint16_t* dst = out + j * dp;
    for (size_t i = 0; i < d; ++i) dst[i] = static_cast<uint16_t>(to_bf16(row[i]));
    for (size_t i = d; i < dp; ++i) dst[i] = 0;
  }
  std::memset(out + n * dp, 0, (padded - n) * dp * sizeof(uint16_t));
}

void begin_thread() { _tile_loadconfig(&kTileConfig); }

void end_thread() { _tile_release(); }

void scores(const uint16_t* rows, size_t n, const uint32_t* queries, size_t nq, size_t d, float* out, size_t ldc) {
  const size_t dp = padded_dim(d), pairs = dp / 2, nrows = round_up(n, 32), nqueries = round_up(nq, 32);
  const size_t row_stride = dp * sizeof(uint16_t), cstride = ldc * sizeof(float);
  // 32 queries (two B tiles per step, kept in L1) against every block of 32 rows; 32 dimensions per step.
  for (size_t i = 0; i < nqueries; i += 32) {
    const uint32_t* b0 = queries + (i / 16) * pairs * 16;
    const uint32_t* b1 = b0 + pairs * 16;
    for (size_t j = 0; j < nrows; j += 32) {
      const uint16_t* a0 = rows + j * dp;
      const uint16_t* a1 = a0 + 16 * dp;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (size_t k = 0; k < dp; k += 32) {
        _tile_loadd(4, a0 + k, row_stride);
        _tile_loadd(5, a1 + k, row_stride);
        _tile_loadd(6, b0 + k / 2 * 16, 64);
        _tile_loadd(7, b1 + k / 2 * 16, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      float* c = out + j * ldc + i;
      _tile_stored(0, c, cstride);
      _tile_stored(1, c + 16, cstride);
      _tile_stored(2, c + 16 * ldc, cstride);
      _tile_stored(3, c + 16 * ldc + 16, cstride);
    }
  }
}

}  // namespace aff::amx

namespace aff {
bool cpu_amx_screening() { return amx::available(); }
}  // namespace aff
