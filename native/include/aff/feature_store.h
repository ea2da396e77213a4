// Reads a feature store written by the Java side (java/data FeatureStoreWriter): manifest.json plus plain
// little-endian shard files, memory-mapped, so native code (the mixer, CUDA uploads) reads features without a copy.
// Opening checks the manifest's format, that the store is complete, every file's size and its CRC-32C.
#pragma once
#include <cstdint>

namespace aff {

class FeatureStoreReader {
 public:
  // Throws std::runtime_error naming the problem (missing or corrupt manifest, incomplete store, bad size, checksum).
  explicit FeatureStoreReader(const char* dir);
  ~FeatureStoreReader();
  FeatureStoreReader(const FeatureStoreReader&) = delete;
  FeatureStoreReader& operator=(const FeatureStoreReader&) = delete;

  int64_t size() const;
  int32_t model_count() const;
  // Index of a model by name, -1 when the store has none.
  int32_t model_index(const char* name) const;
  const char* model_name(int32_t model) const;
  // 0 global, 1 local.
  int32_t model_kind(int32_t model) const;
  int32_t model_dim(int32_t model) const;

  // Global models: the fp16 values of image i, in the mapped file (no copy), and the same widened to fp32.
  const uint16_t* global_halves(int32_t model, int64_t image) const;
  void global(int32_t model, int64_t image, float* out) const;

  // Local models: how many descriptors image i has, and its rows [count, dim] and positions [count, 3].
  int64_t local_count(int32_t model, int64_t image) const;
  void local(int32_t model, int64_t image, float* rows, float* positions) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace aff
