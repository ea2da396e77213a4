#include "aff/feature_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "checks.h"
#include "crc32c.h"
#include "simd.h"

namespace aff {
namespace {

using detail::crc32c;

// A read-only mapping of one shard file.
struct Mapped {
  const uint8_t* data = nullptr;
  size_t bytes = 0;
};

struct Model {
  std::string name;
  int32_t kind = 0;  // 0 global, 1 local
  int32_t dim = 0;
  std::vector<Mapped> vectors, offsets, rows, positions;  // per shard
};

}  // namespace

struct FeatureStoreReader::Impl {
  std::string dir;
  int64_t size = 0;
  int64_t shard_size = 1;
  std::vector<Model> models;
  std::vector<Mapped> mappings;

  ~Impl() {
    for (const Mapped& m : mappings) {
      if (m.data && m.bytes) munmap(const_cast<uint8_t*>(m.data), m.bytes);
    }
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error(dir + " is not a readable feature store: " + why);
  }

  Mapped map(const nlohmann::json& entry, uint64_t expected_bytes) {
    const std::string file = entry.at("file").get<std::string>();
    if (file.find('/') != std::string::npos || file == "." || file == "..") fail("bad file name " + file);
    const std::string path = dir + "/" + file;
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) fail("cannot open " + file);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      fail("cannot stat " + file);
    }
    const uint64_t bytes = static_cast<uint64_t>(st.st_size);
    if (bytes != entry.at("bytes").get<uint64_t>() || bytes != expected_bytes) {
      ::close(fd);
      fail(file + " has " + std::to_string(bytes) + " bytes, expected " + std::to_string(expected_bytes) +
           " (truncated or corrupted)");
    }
    Mapped m;
    m.bytes = bytes;
    if (bytes > 0) {
      void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        fail("cannot map " + file);
      }
      m.data = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
    mappings.push_back(m);
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", crc32c(m.data, m.bytes));
    if (entry.at("crc32c").get<std::string>() != hex) fail(file + ": checksum mismatch (corrupted)");
    return m;
  }

  void open() {
    nlohmann::json manifest;
    std::ifstream in(dir + "/manifest.json");
    if (!in) fail("no manifest.json");
    try {
      manifest = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("manifest.json: ") + e.what());
    }
    try {
      if (manifest.at("format") != "aff-feature-store" || manifest.at("version") != 1) fail("unknown format");
      size = manifest.at("size").get<int64_t>();
      shard_size = manifest.at("shardSize").get<int64_t>();
      if (size < 0 || shard_size < 1) fail("bad size");
      for (const auto& spec : manifest.at("models")) {
        Model m;
        m.name = spec.at("name").get<std::string>();
        m.kind = spec.at("kind").get<std::string>() == "LOCAL" ? 1 : 0;
        m.dim = spec.at("dim").get<int32_t>();
        if (m.dim < 1) fail("bad dimension for " + m.name);
        models.push_back(m);
      }
      int64_t first = 0;
      for (const auto& shard : manifest.at("shards")) {
        const int64_t count = shard.at("count").get<int64_t>();
        if (shard.at("first").get<int64_t>() != first) fail("shards out of order");
        first += count;
        for (Model& m : models) {
          const auto& parts = shard.at("files").at(m.name);
          const uint64_t d = static_cast<uint64_t>(m.dim), n = static_cast<uint64_t>(count);
          if (m.kind == 0) {
            m.vectors.push_back(map(parts.at("vectors"), n * d * 2));
          } else {
            Mapped off = map(parts.at("offsets"), (n + 1) * 8);
            int64_t total = 0;
            std::memcpy(&total, off.data + n * 8, 8);
            if (total < 0) fail("bad local offsets in " + m.name);
            m.offsets.push_back(off);
            m.rows.push_back(map(parts.at("rows"), static_cast<uint64_t>(total) * d * 2));
            m.positions.push_back(map(parts.at("positions"), static_cast<uint64_t>(total) * 12));
          }
        }
      }
      if (first != size) fail("incomplete: " + std::to_string(first) + " of " + std::to_string(size) + " images");
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("manifest.json: ") + e.what());
    }
  }

  const Model& model(int32_t m) const {
    require(m >= 0 && m < static_cast<int32_t>(models.size()), "no model " + std::to_string(m));
    return models[static_cast<size_t>(m)];
  }

  // Shard and position of an image.
  std::pair<size_t, size_t> locate(int64_t image) const {
    require(image >= 0 && image < size, "image " + std::to_string(image) + " outside [0, " + std::to_string(size) +
                                             ")");
    return {static_cast<size_t>(image / shard_size), static_cast<size_t>(image % shard_size)};
  }

  std::pair<int64_t, int64_t> local_range(const Model& m, int64_t image) const {
    require(m.kind == 1, m.name + " is not a local model");
    const auto [shard, at] = locate(image);
    int64_t range[2];
    std::memcpy(range, m.offsets[shard].data + at * 8, 16);
    return {range[0], range[1]};
  }
};

FeatureStoreReader::FeatureStoreReader(const char* dir) : impl_(new Impl) {
  impl_->dir = dir;
  try {
    impl_->open();
  } catch (...) {
    delete impl_;
    throw;
  }
}

FeatureStoreReader::~FeatureStoreReader() { delete impl_; }

int64_t FeatureStoreReader::size() const { return impl_->size; }
int32_t FeatureStoreReader::model_count() const { return static_cast<int32_t>(impl_->models.size()); }

int32_t FeatureStoreReader::model_index(const char* name) const {
  for (size_t i = 0; i < impl_->models.size(); ++i) {
    if (impl_->models[i].name == name) return static_cast<int32_t>(i);
  }
  return -1;
}

const char* FeatureStoreReader::model_name(int32_t model) const { return impl_->model(model).name.c_str(); }
int32_t FeatureStoreReader::model_kind(int32_t model) const { return impl_->model(model).kind; }
int32_t FeatureStoreReader::model_dim(int32_t model) const { return impl_->model(model).dim; }

const uint16_t* FeatureStoreReader::global_halves(int32_t model, int64_t image) const {
  const Model& m = impl_->model(model);
  require(m.kind == 0, m.name + " is not a global model");
  const auto [shard, at] = impl_->locate(image);
  return reinterpret_cast<const uint16_t*>(m.vectors[shard].data) + at * static_cast<size_t>(m.dim);
}

void FeatureStoreReader::global(int32_t model, int64_t image, float* out) const {
  simd::best_kernels().f16_to_f32(global_halves(model, image), static_cast<size_t>(impl_->model(model).dim), out);
}

int64_t FeatureStoreReader::local_count(int32_t model, int64_t image) const {
  const auto [a, b] = impl_->local_range(impl_->model(model), image);
  return b - a;
}

void FeatureStoreReader::local(int32_t model, int64_t image, float* rows, float* positions) const {
  const Model& m = impl_->model(model);
  const auto [a, b] = impl_->local_range(m, image);
  const size_t shard = static_cast<size_t>(image / impl_->shard_size);
  const size_t d = static_cast<size_t>(m.dim), n = static_cast<size_t>(b - a);
  simd::best_kernels().f16_to_f32(reinterpret_cast<const uint16_t*>(m.rows[shard].data) + a * d, n * d, rows);
  std::memcpy(positions, m.positions[shard].data + a * 12, n * 12);
}

}  // namespace aff
