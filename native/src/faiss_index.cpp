#include "aff/faiss_index.h"

#include <faiss/AutoTune.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "checks.h"
#include "file_io.h"

namespace aff {
namespace {

constexpr char kMagic[8] = {'A', 'F', 'F', 'F', 'A', 'I', 'S', 'S'};
constexpr uint32_t kVersion = 1;

faiss::MetricType to_faiss(Metric m) { return m == L2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT; }

// Runs a FAISS call, turning its exceptions into the core's: bad arguments stay invalid_argument.
template <typename F>
auto guarded(const char* what, F&& f) {
  try {
    return f();
  } catch (const faiss::FaissException& e) {
    throw std::runtime_error(std::string("FAISS ") + what + " failed: " + e.what());
  }
}

}  // namespace

// Two ways of holding ids. IVF indexes store the caller's ids and delete in place. Every other index (HNSW, Flat,
// PQ...) numbers rows 0..ntotal-1 ("labels"); this wrapper maps labels to ids and hides removed labels from search
// (tombstones), because several of those indexes cannot delete in place.
struct FaissIndex::Impl {
  int32_t dim;
  Metric metric;
  std::string description;
  std::unique_ptr<faiss::Index> index;
  bool native_ids = false;
  std::unordered_set<int64_t> ivf_ids;            // native_ids: the stored ids
  std::vector<int64_t> label_ids;                 // !native_ids: id of each label
  std::unordered_map<int64_t, int64_t> label_of;  // !native_ids: label of each live id
  std::unordered_set<int64_t> dead_labels;        // !native_ids: removed labels still inside the index
  mutable std::shared_mutex mutex;

  void attach(faiss::Index* raw) {
    index.reset(raw);
    native_ids = dynamic_cast<faiss::IndexIVF*>(raw) != nullptr;
    require(raw->d == dim, "FAISS index dimension does not match");
  }

  int64_t size() const {
    return native_ids ? static_cast<int64_t>(ivf_ids.size()) : static_cast<int64_t>(label_of.size());
  }

  bool contains(int64_t id) const { return native_ids ? ivf_ids.count(id) != 0 : label_of.count(id) != 0; }
};

FaissIndex::FaissIndex(int32_t dim, const char* factory, int32_t metric) : impl_(new Impl) {
  std::unique_ptr<Impl> guard(impl_);
  require(dim >= 1 && dim <= (1 << 16), "dimension must be in [1, 65536], got " + std::to_string(dim));
  require(metric == INNER_PRODUCT || metric == L2, "unknown metric " + std::to_string(metric));
  require(factory && *factory, "empty FAISS factory string");
  impl_->dim = dim;
  impl_->metric = static_cast<Metric>(metric);
  impl_->description = factory;
  faiss::Index* raw = nullptr;
  try {
    raw = faiss::index_factory(dim, factory, to_faiss(impl_->metric));
  } catch (const faiss::FaissException& e) {
    throw std::invalid_argument(std::string("invalid FAISS factory string '") + factory + "': " + e.what());
  }
  impl_->attach(raw);
  guard.release();
}

FaissIndex::FaissIndex(Impl* impl) : impl_(impl) {}
FaissIndex::~FaissIndex() { delete impl_; }

int32_t FaissIndex::dim() const { return impl_->dim; }
int32_t FaissIndex::metric() const { return impl_->metric; }
const char* FaissIndex::description() const { return impl_->description.c_str(); }

int64_t FaissIndex::size() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->size();
}

bool FaissIndex::is_trained() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->index->is_trained;
}

bool FaissIndex::contains(int64_t id) const {
  std::shared_lock lock(impl_->mutex);
  return impl_->contains(id);
}

void FaissIndex::train(int64_t n, const float* vectors) {
  require(n >= 1 && vectors, "training needs at least one vector");
  require_finite(vectors, n, impl_->dim, "training vector");
  std::unique_lock lock(impl_->mutex);
  guarded("train", [&] { impl_->index->train(n, vectors); });
}

void FaissIndex::add(int64_t n, const float* vectors, const int64_t* ids) {
  require(n >= 0, "number of vectors must be >= 0, got " + std::to_string(n));
  if (n == 0) return;
  require(vectors && ids, "null buffer");
  require_finite(vectors, n, impl_->dim, "vector");
  std::unique_lock lock(impl_->mutex);
  if (!impl_->index->is_trained) {
    throw std::logic_error("FAISS index '" + impl_->description + "' must be trained before vectors are added");
  }
  require_new_ids(n, ids, [this](int64_t id) { return impl_->contains(id); });
  if (impl_->native_ids) {
    guarded("add", [&] { impl_->index->add_with_ids(n, vectors, ids); });
    impl_->ivf_ids.insert(ids, ids + n);
  } else {
    const int64_t first = impl_->index->ntotal;
    guarded("add", [&] { impl_->index->add(n, vectors); });
    for (int64_t i = 0; i < n; ++i) {
      impl_->label_ids.push_back(ids[i]);
      impl_->label_of.emplace(ids[i], first + i);
    }
  }
}

void FaissIndex::remove(int64_t n, const int64_t* ids) {
  require(n >= 0, "number of ids must be >= 0, got " + std::to_string(n));
  if (n == 0) return;
  require(ids != nullptr, "null buffer");
  std::unique_lock lock(impl_->mutex);
  require_present_ids(n, ids, [this](int64_t id) { return impl_->contains(id); });
  if (impl_->native_ids) {
    const faiss::IDSelectorBatch selector(static_cast<size_t>(n), ids);
    guarded("remove", [&] { return impl_->index->remove_ids(selector); });
    for (int64_t i = 0; i < n; ++i) impl_->ivf_ids.erase(ids[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      impl_->dead_labels.insert(impl_->label_of.at(ids[i]));
      impl_->label_of.erase(ids[i]);
    }
  }
}

int64_t FaissIndex::tombstones() const {
  std::shared_lock lock(impl_->mutex);
  return static_cast<int64_t>(impl_->dead_labels.size());
}

int64_t FaissIndex::compact() {
  std::unique_lock lock(impl_->mutex);
  Impl& m = *impl_;
  if (m.native_ids || m.dead_labels.empty()) return 0;
  const size_t d = static_cast<size_t>(m.dim), live = m.label_of.size();
  std::vector<float> rows(live * d);
  std::vector<int64_t> ids;
  ids.reserve(live);
  // Read everything back before touching the index, so a failure leaves it as it was.
  for (int64_t label = 0; label < m.index->ntotal; ++label) {
    if (m.dead_labels.count(label)) continue;
    guarded("reconstruct", [&] { m.index->reconstruct(label, rows.data() + ids.size() * d); });
    ids.push_back(m.label_ids[static_cast<size_t>(label)]);
  }
  const int64_t dropped = static_cast<int64_t>(m.dead_labels.size());
  guarded("compact", [&] {
    m.index->reset();
    m.index->add(static_cast<int64_t>(live), rows.data());
  });
  m.label_ids = std::move(ids);
  m.label_of.clear();
  for (size_t label = 0; label < m.label_ids.size(); ++label) m.label_of.emplace(m.label_ids[label], label);
  m.dead_labels.clear();
  return dropped;
}

void FaissIndex::set_parameter(const char* name, double value) {
  require(name && *name, "empty parameter name");
  std::unique_lock lock(impl_->mutex);
  try {
    faiss::ParameterSpace().set_index_parameter(impl_->index.get(), name, value);
  } catch (const faiss::FaissException& e) {
    throw std::invalid_argument(std::string("cannot set '") + name + "' on '" + impl_->description + "': " + e.what());
  }
}

void FaissIndex::search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids) const {
  std::shared_lock lock(impl_->mutex);
  const Impl& m = *impl_;
  require_search_args(nq, queries, k, m.size(), m.dim, out_scores, out_ids);
  if (nq == 0) return;
  if (m.native_ids) {
    guarded("search", [&] { m.index->search(nq, queries, k, out_scores, out_ids); });
    return;
  }
  // Ask for enough extra rows that k live ones remain after dropping every tombstone.
  const int64_t wide = std::min<int64_t>(m.index->ntotal, k + static_cast<int64_t>(m.dead_labels.size()));
  std::vector<float> scores(static_cast<size_t>(nq * wide));
  std::vector<int64_t> labels(static_cast<size_t>(nq * wide));
  guarded("search", [&] { m.index->search(nq, queries, wide, scores.data(), labels.data()); });
  const float missing = m.metric == L2 ? std::numeric_limits<float>::max() : -std::numeric_limits<float>::max();
  for (int64_t q = 0; q < nq; ++q) {
    int64_t filled = 0;
    for (int64_t j = 0; j < wide && filled < k; ++j) {
      const int64_t label = labels[q * wide + j];
      if (label < 0 || m.dead_labels.count(label)) continue;
      out_ids[q * k + filled] = m.label_ids[static_cast<size_t>(label)];
      out_scores[q * k + filled] = scores[q * wide + j];
      ++filled;
    }
    for (; filled < k; ++filled) {
      out_ids[q * k + filled] = -1;
      out_scores[q * k + filled] = missing;
    }
  }
}

void FaissIndex::save(const char* path) const {
  std::shared_lock lock(impl_->mutex);
  const Impl& m = *impl_;
  faiss::VectorIOWriter blob;
  guarded("write", [&] { faiss::write_index(m.index.get(), &blob); });
  FileWriter w(path);
  w.write(kMagic, sizeof kMagic);
  w.put<uint32_t>(kVersion);
  w.put<int32_t>(m.dim);
  w.put<int32_t>(m.metric);
  w.put<uint8_t>(m.native_ids ? 1 : 0);
  w.put<uint32_t>(static_cast<uint32_t>(m.description.size()));
  w.write(m.description.data(), m.description.size());
  w.put<uint64_t>(blob.data.size());
  w.write(blob.data.data(), blob.data.size());
  if (m.native_ids) {
    const std::vector<int64_t> ids(m.ivf_ids.begin(), m.ivf_ids.end());
    w.put<uint64_t>(ids.size());
    w.write(ids.data(), ids.size() * sizeof(int64_t));
  } else {
    w.put<uint64_t>(m.label_ids.size());
    w.write(m.label_ids.data(), m.label_ids.size() * sizeof(int64_t));
    const std::vector<int64_t> dead(m.dead_labels.begin(), m.dead_labels.end());
    w.put<uint64_t>(dead.size());
    w.write(dead.data(), dead.size() * sizeof(int64_t));
  }
  w.commit();
}

FaissIndex* FaissIndex::load(const char* path) { return new FaissIndex(path); }

FaissIndex::FaissIndex(const char* path) : impl_(read(path)) {}

FaissIndex::Impl* FaissIndex::read(const char* path) {
  FileReader r(path, "FAISS index");
  r.expect_header(kMagic, kVersion);
  auto impl = std::make_unique<Impl>();
  impl->dim = r.get<int32_t>();
  const auto metric = r.get<int32_t>();
  if (impl->dim < 1 || impl->dim > (1 << 16) || (metric != INNER_PRODUCT && metric != L2)) r.fail("corrupted header");
  impl->metric = static_cast<Metric>(metric);
  const bool native_ids = r.get<uint8_t>() != 0;
  const auto desc_len = r.get<uint32_t>();
  if (desc_len > r.remaining()) r.fail("truncated");
  impl->description.resize(desc_len);
  r.read(impl->description.data(), desc_len);
  const auto blob_len = r.get<uint64_t>();
  if (blob_len > r.remaining()) r.fail("truncated");
  faiss::VectorIOReader blob;
  blob.data.resize(blob_len);
  r.read(blob.data.data(), blob_len);
  auto read_ids = [&r](std::vector<int64_t>& out) {
    const auto count = r.get<uint64_t>();
    if (count > r.remaining() / 8) r.fail("truncated");
    out.resize(count);
    r.read(out.data(), count * sizeof(int64_t));
  };
  std::vector<int64_t> ids, dead;
  read_ids(ids);
  if (!native_ids) read_ids(dead);
  // The CRC is checked before FAISS parses anything, so a corrupted blob never reaches its reader.
  r.finish();
  faiss::Index* raw = nullptr;
  try {
    raw = faiss::read_index(&blob);
  } catch (const faiss::FaissException& e) {
    r.fail(std::string("FAISS cannot read the index: ") + e.what());
  }
  impl->attach(raw);
  if (impl->native_ids != native_ids) r.fail("index type does not match its id layout");
  if (impl->native_ids) {
    impl->ivf_ids.insert(ids.begin(), ids.end());
    if (impl->ivf_ids.size() != ids.size() || static_cast<int64_t>(ids.size()) != raw->ntotal) r.fail("id list does not match");
  } else {
    if (static_cast<int64_t>(ids.size()) != raw->ntotal) r.fail("id list does not match");
    impl->label_ids = std::move(ids);
    impl->dead_labels.insert(dead.begin(), dead.end());
    for (size_t label = 0; label < impl->label_ids.size(); ++label) {
      if (impl->dead_labels.count(static_cast<int64_t>(label))) continue;
      if (!impl->label_of.emplace(impl->label_ids[label], static_cast<int64_t>(label)).second) r.fail("duplicate ids");
    }
  }
  return impl.release();
}

}  // namespace aff
