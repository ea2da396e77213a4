// The native GPU benchmark: exact search, the fused mixer and the aggregation kernels, each timed with CUDA events
// (median of many runs, input sets rotated so caches do not flatter) and checked against its CPU reference on part
// of the same inputs. Prints a markdown table and writes JSON; also saves the mixer's weights, inputs and outputs so
// bench/gpu/torch_reference.py can time PyTorch on the same model and check our outputs against its layers.
//
//   aff_gpu_bench [--quick] [--reps N] [--json FILE] [--work DIR] [--bundle DIR]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "aff/aggregate.h"
#include "aff/cuda_index.h"
#include "aff/mixer.h"
#include "aff/types.h"
#include "simd.h"

#ifdef AFF_HAVE_CUDA
#include <cuda_runtime.h>

namespace {

using nlohmann::json;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

struct Device {
  void* ptr = nullptr;
  explicit Device(size_t bytes) { check(cudaMalloc(&ptr, bytes), "cudaMalloc"); }
  ~Device() { cudaFree(ptr); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  template <typename T> T* as() const { return static_cast<T*>(ptr); }
};

// The stream every timed call runs on (the events are recorded on it too).
cudaStream_t bench_stream() {
  static cudaStream_t s = [] {
    cudaStream_t created;
    check(cudaStreamCreate(&created), "stream");
    return created;
  }();
  return s;
}

// Median milliseconds of `reps` runs of f(rep) between CUDA events on bench_stream(), after two warm-up runs.
template <typename F> double median_ms(int reps, F f) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "event");
  check(cudaEventCreate(&b), "event");
  f(0);
  f(1);
  check(cudaDeviceSynchronize(), "warm-up");
  std::vector<float> t;
  for (int r = 0; r < reps; ++r) {
    check(cudaEventRecord(a, bench_stream()), "record");
    f(r);
    check(cudaEventRecord(b, bench_stream()), "record");
    check(cudaEventSynchronize(b), "sync");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a, b), "elapsed");
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

template <typename F> double wall_ms(F f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Fast uniform values in [-1, 1) (xorshift), fp16 or fp32: billions of benchmark values in seconds.
struct Random {
  uint64_t s;
  explicit Random(uint64_t seed) : s(seed | 1) {}
  float next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<float>(static_cast<int32_t>(s >> 32)) * (1.f / 2147483648.f);
  }
  std::vector<uint16_t> halves(size_t n) {
    std::vector<uint16_t> v(n);
    for (auto& x : v) x = aff::simd::float_to_half(next());
    return v;
  }
  std::vector<float> floats(size_t n, float lo, float hi) {
    std::vector<float> v(n);
    for (auto& x : v) x = lo + (next() * 0.5f + 0.5f) * (hi - lo);
    return v;
  }
};

void progress(const std::string& what) {
  std::fprintf(stderr, "[gpu_bench] %s\n", what.c_str());
  std::fflush(stderr);
}

double copy_bandwidth_gbs(int reps) {
  const size_t bytes = size_t(2) << 30;
  Device a(bytes), b(bytes);
  check(cudaMemset(a.ptr, 1, bytes), "memset");
  const double ms = median_ms(reps, [&](int) {
    check(cudaMemcpyAsync(b.ptr, a.ptr, bytes, cudaMemcpyDeviceToDevice, bench_stream()), "copy");
  });
  return 2.0 * bytes / ms / 1e6;  // bytes read + written
}

// A database of n random fp16 rows (ids 0..n-1); `sample` keeps the first rows for the reference check.
std::unique_ptr<aff::CudaExactIndex> build_index(int64_t n, int d, Random& rng, std::vector<uint16_t>& sample) {
  progress("building the index: N=" + std::to_string(n) + " d=" + std::to_string(d));
  auto index = std::make_unique<aff::CudaExactIndex>(d, aff::INNER_PRODUCT);
  const int64_t block = 1 << 20;
  std::vector<int64_t> ids(block);
  for (int64_t r0 = 0; r0 < n; r0 += block) {
    const int64_t len = std::min(block, n - r0);
    auto rows = rng.halves(static_cast<size_t>(len) * d);
    for (int64_t i = 0; i < len; ++i) ids[i] = r0 + i;
    index->add_f16(len, rows.data(), ids.data());
    if (r0 == 0) sample = std::move(rows);
  }
  return index;
}

json bench_search(aff::CudaExactIndex& index, const std::vector<uint16_t>& sample, int64_t n, int d, int64_t nq,
                  int64_t k, int reps, double copy_gbs, Random& rng) {
  progress("search N=" + std::to_string(n) + " d=" + std::to_string(d) + " batch=" + std::to_string(nq) +
           " k=" + std::to_string(k));
  const int sets = 4;
  std::vector<std::vector<uint16_t>> host_q;
  Device q(sizeof(uint16_t) * sets * nq * d), scores(sizeof(float) * nq * k), out_ids(sizeof(int64_t) * nq * k);
  for (int s = 0; s < sets; ++s) {
    host_q.push_back(rng.halves(static_cast<size_t>(nq) * d));
    check(cudaMemcpy(q.as<uint16_t>() + s * nq * d, host_q.back().data(), sizeof(uint16_t) * nq * d,
                     cudaMemcpyHostToDevice),
          "queries");
  }
  const double ms = median_ms(reps, [&](int r) {
    index.search_device(nq, q.as<uint16_t>() + (r % sets) * nq * d, k, scores.as<float>(), out_ids.as<int64_t>(),
                        bench_stream());
  });
  // Check: on a database of the first rows only (the full reference would take minutes), same queries.
  const int64_t check_rows = std::min<int64_t>(n, 200000), check_q = std::min<int64_t>(nq, 2);
  aff::CudaExactIndex small(d, aff::INNER_PRODUCT);
  std::vector<int64_t> small_ids(check_rows);
  for (int64_t i = 0; i < check_rows; ++i) small_ids[i] = i;
  small.add_f16(check_rows, sample.data(), small_ids.data());
  std::vector<float> got_s(check_q * k), want_s(check_q * k);
  std::vector<int64_t> got_i(check_q * k), want_i(check_q * k);
  small.search_f16(check_q, host_q[0].data(), k, got_s.data(), got_i.data());
  aff::exact_search_f16_reference(sample.data(), small_ids.data(), check_rows, d, aff::INNER_PRODUCT,
                                  host_q[0].data(), check_q, k, want_s.data(), want_i.data());
  double max_err = 0;
  int64_t id_mismatch = 0;
  for (int64_t i = 0; i < check_q * k; ++i) {
    max_err = std::max(max_err, std::fabs(double(got_s[i]) - want_s[i]) / std::max(1e-6, std::fabs(double(want_s[i]))));
    id_mismatch += got_i[i] != want_i[i];
  }
  const double flops = 2.0 * nq * n * d;
  json row = {{"kernel", "search"}, {"n", n}, {"d", d}, {"batch", nq}, {"k", k}, {"ms", ms},
              {"qps", nq / ms * 1e3}, {"tflops", flops / ms / 1e9}, {"db_read_gbs", 2.0 * n * d / ms / 1e6},
              {"copy_fraction", 2.0 * n * d / ms / 1e6 / copy_gbs}, {"chunks", index.last_chunks()},
              {"overflowed_queries", index.last_overflowed_queries()}, {"check_rows", check_rows},
              {"max_rel_err", max_err}, {"id_mismatches", id_mismatch}, {"device_mib", index.device_bytes() >> 20}};
  return row;
}

std::vector<aff::MixerInput> bundle_shape() {
  return {{"resnet-gem", 128, 0}, {"vgg-gem", 96, 0}, {"delf", 32, 16}};
}

json bench_mixer(const aff::MixerModel& model, int64_t batch, aff::MixerPrecision precision, int reps,
                 const std::filesystem::path& work) {
  const char* label = precision == aff::MixerPrecision::FP16 ? "fp16" : "fp32";
  progress(std::string("mixer ") + label + " batch=" + std::to_string(batch));
  Random rng(42 + batch);
  const int sets = 2;
  std::vector<std::vector<std::vector<float>>> feats(sets);
  std::vector<std::vector<std::vector<uint8_t>>> pads(sets);
  std::vector<std::unique_ptr<Device>> device_buffers;
  std::vector<aff::MixerBatch> device_batches(sets), host_batches(sets);
  for (int s = 0; s < sets; ++s) {
    device_batches[s].batch = host_batches[s].batch = batch;
    for (const auto& in : model.inputs) {
      feats[s].push_back(rng.floats(static_cast<size_t>(batch) * in.tokens() * in.dim, -1.f, 1.f));
      std::vector<uint8_t> pad;
      if (in.max_local > 0) {
        pad.resize(static_cast<size_t>(batch) * in.max_local);
        for (int64_t b = 0; b < batch; ++b) {
          const int keep = 1 + static_cast<int>((rng.next() * 0.5f + 0.5f) * (in.max_local - 1));
          for (int t = 0; t < in.max_local; ++t) pad[b * in.max_local + t] = t >= keep;
        }
      }
      pads[s].push_back(std::move(pad));
    }
    for (size_t i = 0; i < model.inputs.size(); ++i) {
      const size_t fb = feats[s][i].size() * sizeof(float);
      device_buffers.push_back(std::make_unique<Device>(fb));
      check(cudaMemcpy(device_buffers.back()->ptr, feats[s][i].data(), fb, cudaMemcpyHostToDevice), "features");
      device_batches[s].features.push_back(device_buffers.back()->as<float>());
      host_batches[s].features.push_back(feats[s][i].data());
      if (!pads[s][i].empty()) {
        device_buffers.push_back(std::make_unique<Device>(pads[s][i].size()));
        check(cudaMemcpy(device_buffers.back()->ptr, pads[s][i].data(), pads[s][i].size(), cudaMemcpyHostToDevice),
              "padding");
        device_batches[s].padding.push_back(device_buffers.back()->as<uint8_t>());
        host_batches[s].padding.push_back(pads[s][i].data());
      } else {
        device_batches[s].padding.push_back(nullptr);
        host_batches[s].padding.push_back(nullptr);
      }
    }
  }
  aff::CudaMixer mixer(model, 0, precision);
  Device out(sizeof(float) * batch * model.dim);
  const double ms = median_ms(reps, [&](int r) { mixer.forward_device(device_batches[r % sets], out.as<float>(), bench_stream()); });
  // Check the first items of set 0 against the CPU reference (and time the reference on them).
  mixer.forward_device(device_batches[0], out.as<float>(), bench_stream());
  check(cudaStreamSynchronize(bench_stream()), "mixer");
  const int64_t checked = std::min<int64_t>(batch, 256);
  std::vector<float> got(batch * model.dim), want(checked * model.dim);
  check(cudaMemcpy(got.data(), out.ptr, got.size() * sizeof(float), cudaMemcpyDeviceToHost), "out");
  aff::MixerBatch part = host_batches[0];
  part.batch = checked;
  const double cpu_ms = wall_ms([&] { aff::mixer_forward_cpu(model, part, want.data()); });
  double worst = 0;
  for (int64_t b = 0; b < checked; ++b) {
    double e = 0, r = 0;
    for (int i = 0; i < model.dim; ++i) {
      e += std::pow(got[b * model.dim + i] - want[b * model.dim + i], 2);
      r += std::pow(want[b * model.dim + i], 2);
    }
    worst = std::max(worst, std::sqrt(e / r));
  }
  // Inputs and outputs of the checked items for the PyTorch comparison (fp32 runs).
  std::filesystem::create_directories(work);
  if (precision == aff::MixerPrecision::FP32) {
  auto dump = [&](const std::string& name, const void* p, size_t bytes) {
    std::ofstream(work / name, std::ios::binary).write(static_cast<const char*>(p), static_cast<std::streamsize>(bytes));
  };
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    const auto& in = model.inputs[i];
    dump("mixer_in" + std::to_string(i) + ".f32", feats[0][i].data(), sizeof(float) * checked * in.tokens() * in.dim);
    if (!pads[0][i].empty()) dump("mixer_pad" + std::to_string(i) + ".u8", pads[0][i].data(), checked * in.max_local);
  }
  dump("mixer_out.f32", got.data(), sizeof(float) * checked * model.dim);
  }
  int64_t macs = 0;  // what the kernel computes: full layers, then the trimmed last layer
  {
    const int64_t d = model.dim, f = model.ffn, s = model.tokens();
    for (const auto& in : model.inputs) macs += int64_t(in.tokens()) * in.dim * d;
    const int64_t layers = static_cast<int64_t>(model.layers.size());
    macs += (layers - 1) * (s * (4 * d * d + 2 * d * f) + 2 * s * s * d);
    macs += s * 2 * d * d + (2 * d * d + 2 * d * f) + 2 * s * d;
  }
  return {{"kernel", "mixer"}, {"precision", label}, {"batch", batch}, {"dim", model.dim}, {"layers", model.layers.size()},
          {"tokens", model.tokens()}, {"ms", ms}, {"items_per_s", batch / ms * 1e3},
          {"tflops", 2.0 * macs * batch / ms / 1e9}, {"cpu_items_per_s", checked / cpu_ms * 1e3},
          {"checked", checked}, {"max_rel_err", worst}};
}

json bench_gem(int reps) {
  progress("aggregation: GeM + whitening");
  const int64_t batch = 256, channels = 2048, positions = 49, out_dim = 512;
  Random rng(7);
  const int sets = 2;
  std::vector<std::vector<float>> maps;
  Device d_maps(sizeof(float) * sets * batch * channels * positions), d_w(sizeof(float) * out_dim * channels),
      d_pooled(sizeof(float) * batch * channels), d_out(sizeof(float) * batch * out_dim);
  for (int s = 0; s < sets; ++s) {
    maps.push_back(rng.floats(batch * channels * positions, -0.5f, 3.f));
    check(cudaMemcpy(d_maps.as<float>() + s * batch * channels * positions, maps.back().data(),
                     sizeof(float) * maps.back().size(), cudaMemcpyHostToDevice),
          "maps");
  }
  const auto w = rng.floats(out_dim * channels, -0.05f, 0.05f);
  check(cudaMemcpy(d_w.ptr, w.data(), sizeof(float) * w.size(), cudaMemcpyHostToDevice), "whiten");
  const double ms = median_ms(reps, [&](int r) {
    aff::gem_whiten_cuda(d_maps.as<float>() + (r % sets) * batch * channels * positions, batch, channels, positions, 3.f,
                         d_w.as<float>(), nullptr, out_dim, d_pooled.as<float>(), d_out.as<float>(), bench_stream());
  });
  aff::gem_whiten_cuda(d_maps.as<float>(), batch, channels, positions, 3.f, d_w.as<float>(), nullptr, out_dim,
                       d_pooled.as<float>(), d_out.as<float>(), nullptr);
  std::vector<float> got(batch * out_dim), want(batch * out_dim);
  check(cudaMemcpy(got.data(), d_out.ptr, sizeof(float) * got.size(), cudaMemcpyDeviceToHost), "out");
  const double cpu_ms = wall_ms([&] {
    aff::gem_whiten_cpu(maps[0].data(), batch, channels, positions, 3.f, w.data(), nullptr, out_dim, want.data());
  });
  double err = 0;
  for (size_t i = 0; i < got.size(); ++i) err = std::max(err, double(std::fabs(got[i] - want[i])));
  return {{"kernel", "gem_whiten"}, {"batch", batch}, {"channels", channels}, {"positions", positions},
          {"out_dim", out_dim}, {"ms", ms}, {"cpu_ms", cpu_ms}, {"max_abs_err", err},
          {"read_gbs", 4.0 * batch * channels * positions / ms / 1e6}};
}

json bench_select(int reps) {
  progress("aggregation: local selection");
  const int64_t batch = 256, positions = 784, dim = 128, n = 64;
  Random rng(8);
  const auto scores = rng.floats(batch * positions, 0.f, 5.f);
  const auto desc = rng.floats(batch * positions * dim, -1.f, 1.f);
  Device d_s(sizeof(float) * scores.size()), d_d(sizeof(float) * desc.size()), d_i(sizeof(int64_t) * batch * n),
      d_o(sizeof(float) * batch * n * dim);
  check(cudaMemcpy(d_s.ptr, scores.data(), sizeof(float) * scores.size(), cudaMemcpyHostToDevice), "scores");
  check(cudaMemcpy(d_d.ptr, desc.data(), sizeof(float) * desc.size(), cudaMemcpyHostToDevice), "descriptors");
  const double ms = median_ms(reps, [&](int) {
    aff::select_local_cuda(d_s.as<float>(), d_d.as<float>(), batch, positions, dim, n, d_i.as<int64_t>(),
                           d_o.as<float>(), bench_stream());
  });
  std::vector<int64_t> got_i(batch * n), want_i(batch * n);
  std::vector<float> want_o(batch * n * dim);
  check(cudaMemcpy(got_i.data(), d_i.ptr, sizeof(int64_t) * got_i.size(), cudaMemcpyDeviceToHost), "indices");
  const double cpu_ms = wall_ms([&] {
    aff::select_local_cpu(scores.data(), desc.data(), batch, positions, dim, n, want_i.data(), want_o.data());
  });
  int64_t mismatches = 0;
  for (size_t i = 0; i < got_i.size(); ++i) mismatches += got_i[i] != want_i[i];
  return {{"kernel", "select_local"}, {"batch", batch}, {"positions", positions}, {"dim", dim}, {"n", n},
          {"ms", ms}, {"cpu_ms", cpu_ms}, {"index_mismatches", mismatches}};
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int reps = 20;
  std::string json_path, bundle;
  std::filesystem::path work = "gpu-bench-work";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
    else if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--work" && i + 1 < argc) work = argv[++i];
    else if (a == "--bundle" && i + 1 < argc) bundle = argv[++i];
    else {
      std::fprintf(stderr, "usage: aff_gpu_bench [--quick] [--reps N] [--json FILE] [--work DIR] [--bundle DIR]\n");
      return 2;
    }
  }
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("no CUDA device: nothing to measure\n");
    return 2;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "properties");
  const double copy_gbs = copy_bandwidth_gbs(reps);
  json result = {{"device", prop.name}, {"sms", prop.multiProcessorCount}, {"copy_gbs", copy_gbs}, {"rows", json::array()}};
  std::printf("# %s, %d SMs, device-to-device copy %.0f GB/s (read + write)\n\n", prop.name, prop.multiProcessorCount,
              copy_gbs);
  Random rng(2026);
  struct SearchCase {
    int64_t n;
    int d;
    int64_t nq, k;
  };
  std::vector<SearchCase> cases =
      quick ? std::vector<SearchCase>{{200000, 512, 1024, 100}, {200000, 512, 1, 10}}
            : std::vector<SearchCase>{{1000000, 512, 1024, 100}, {1000000, 512, 1, 10},    {1000000, 512, 1024, 1000},
                                      {1000000, 512, 16, 10},    {1000000, 512, 4096, 100}, {10000000, 128, 1024, 100},
                                      {10000000, 128, 1, 10},    {10000000, 128, 1024, 1000}};
  std::printf("| search N | d | batch | k | ms | QPS | TFLOP/s | DB read GB/s | of copy BW | chunks | check err | id diffs |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::unique_ptr<aff::CudaExactIndex> index;
  std::vector<uint16_t> sample;
  for (const auto& c : cases) {
    if (!index || index->size() != c.n || index->dim() != c.d) {
      index.reset();
      index = build_index(c.n, c.d, rng, sample);
    }
    json row = bench_search(*index, sample, c.n, c.d, c.nq, c.k, reps, copy_gbs, rng);
    std::printf("| %ld | %d | %ld | %ld | %.3f | %.0f | %.1f | %.0f | %.2f | %d | %.1e | %ld |\n", (long)c.n, c.d,
                (long)c.nq, (long)c.k, row["ms"].get<double>(), row["qps"].get<double>(), row["tflops"].get<double>(),
                row["db_read_gbs"].get<double>(), row["copy_fraction"].get<double>(), row["chunks"].get<int>(),
                row["max_rel_err"].get<double>(), (long)row["id_mismatches"].get<int64_t>());
    std::fflush(stdout);
    result["rows"].push_back(row);
  }
  index.reset();

  std::mt19937_64 mrng(5);
  const aff::MixerModel model =
      bundle.empty() ? aff::MixerModel::random(128, 2, 4, 256, bundle_shape(), mrng) : aff::MixerModel::load(bundle);
  model.save((work / "bundle").string());
  std::printf("\n| mixer | batch | tokens | ms | items/s | TFLOP/s | CPU reference items/s | max rel err |\n|---|---|---|---|---|---|---|---|\n");
  for (auto precision : {aff::MixerPrecision::FP32, aff::MixerPrecision::FP16})
  for (int64_t batch : quick ? std::vector<int64_t>{1024} : std::vector<int64_t>{1024, 8192, 65536}) {
    json row = bench_mixer(model, batch, precision, reps, work);
    std::printf("| %s | %ld | %d | %.3f | %.0f | %.2f | %.0f | %.1e |\n", row["precision"].get<std::string>().c_str(),
                (long)batch, row["tokens"].get<int>(),
                row["ms"].get<double>(), row["items_per_s"].get<double>(), row["tflops"].get<double>(),
                row["cpu_items_per_s"].get<double>(), row["max_rel_err"].get<double>());
    std::fflush(stdout);
    result["rows"].push_back(row);
  }
  json gem = bench_gem(reps), sel = bench_select(reps);
  std::printf("\n| aggregation | GPU ms | CPU reference ms | check |\n|---|---|---|---|\n");
  std::printf("| GeM + whitening + L2, 256 x 2048 x 7x7 -> 512 | %.3f | %.1f | max abs err %.1e |\n",
              gem["ms"].get<double>(), gem["cpu_ms"].get<double>(), gem["max_abs_err"].get<double>());
  std::printf("| top-64 of 784 local descriptors (128-d), 256 images | %.3f | %.1f | %ld index mismatches |\n",
              sel["ms"].get<double>(), sel["cpu_ms"].get<double>(), (long)sel["index_mismatches"].get<int64_t>());
  result["rows"].push_back(gem);
  result["rows"].push_back(sel);
  if (!json_path.empty()) std::ofstream(json_path) << result.dump(1);
  return 0;
}

#else
int main() {
  std::printf("aff_gpu_bench was built without CUDA: nothing to measure\n");
  return 2;
}
#endif
