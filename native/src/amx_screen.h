// Reduced-precision screening for large query batches on CPUs with AMX: bf16 tile matrix multiplies (TDPBF16PS,
// ~13x the fp32 FMA rate measured on one core) give every score with a rigorous error bound, and exact search
// recomputes in fp32 only the rows whose bound can still reach the current k-th best. Results stay exact.
#pragma once
#include <cstddef>
#include <cstdint>

namespace aff::amx {

// True when the CPU has AMX-BF16, the kernel granted this process the tile state, and screening has not been
// switched off (set_enabled(false), or AFF_AMX=0 in the environment).
bool available();
void set_enabled(bool enabled);

// |bf16 score - exact score| <= margin_factor(d) * ||q|| * ||x|| (+1e-30) for finite q, x with |values| < 1e30.
double margin_factor(size_t d);

inline size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }
// Dimensions are padded with zeros to whole AMX steps of 32 bf16.
inline size_t padded_dim(size_t d) { return round_up(d, 32); }

// Queries [nq x d] -> bf16 pairs laid out as AMX B tiles: groups of 16 queries, each [padded_dim(d) / 2 pairs][16],
// for round_up(nq, 32) queries (the padding is zero). Element 2p of a pair in the low half, rounded to nearest even.
void pack_queries(const float* q, size_t nq, size_t d, uint32_t* out);

// Rows [n x d] fp32 -> [round_up(n, 32) x padded_dim(d)] bf16 (row-major, zero padding): AMX A tiles load it as is.
void pack_rows(const float* rows, size_t n, size_t d, uint16_t* out);

// scores[j * ldc + i] = bf16 dot of row j and query i, for j < round_up(n, 32), i < round_up(nq, 32).
// Must run on a thread that called begin_thread().
void scores(const uint16_t* rows, size_t n, const uint32_t* queries, size_t nq, size_t d, float* out, size_t ldc);

// Loads / releases the tile configuration of the calling thread (AMX state is per thread).
void begin_thread();
void end_thread();

}  // namespace aff::amx
