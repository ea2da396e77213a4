// Native benchmark harness for exact search: the AFF exact index against FAISS IndexFlat on the same data, in the
// same process and with the same OpenMP threads. Prints a Markdown table and writes JSON.
//
//   aff_bench [--n 100000,1000000] [--d 128,512] [--batch 1,64,1024] [--k 10,100] [--metric ip|l2]
//             [--storage fp32|fp16] [--min-seconds 1.0] [--json out.json]
//   aff_bench --latency [--n 100000] [--d 128] [--k 10]     single-query latency of ExactIndex::search (for JNI cost)
#include <faiss/IndexFlat.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aff/device.h"
#include "aff/exact_index.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<long> parse_list(const char* s) {
  std::vector<long> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stol(item));
  return out;
}

std::vector<float> random_vectors(size_t n, size_t d, uint64_t seed) {
  std::vector<float> v(n * d);
  const int chunks = 64;
#pragma omp parallel for
  for (int c = 0; c < chunks; ++c) {
    std::mt19937_64 rng(seed * 1000003 + c);
    std::normal_distribution<float> g;
    for (size_t i = v.size() * c / chunks; i < v.size() * (c + 1) / chunks; ++i) v[i] = g(rng);
  }
  return v;
}

// Median seconds per call: repeats until min_seconds have passed (at least 3 calls, after one warm-up call).
template <typename F>
double median_seconds(F&& call, double min_seconds) {
  call();
  std::vector<double> t;
  const auto start = Clock::now();
  while (t.size() < 3 || std::chrono::duration<double>(Clock::now() - start).count() < min_seconds) {
    const auto a = Clock::now();
    call();
    t.push_back(std::chrono::duration<double>(Clock::now() - a).count());
    if (t.size() >= 1000) break;
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Row {
  long n, d, batch, k;
  double aff_qps, faiss_qps, agreement;
};

const char* arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return true;
  }
  return false;
}

int latency(int argc, char** argv) {
  const long n = std::stol(arg(argc, argv, "--n", "100000"));
  const long d = std::stol(arg(argc, argv, "--d", "128"));
  const long k = std::stol(arg(argc, argv, "--k", "10"));
  const auto x = random_vectors(n, d, 1);
  const auto q = random_vectors(64, d, 2);
  std::vector<int64_t> ids(n);
  for (long i = 0; i < n; ++i) ids[i] = i;
  aff::ExactIndex index(d, aff::INNER_PRODUCT, aff::FLOAT32);
  index.add(n, x.data(), ids.data());
  std::vector<float> s(k);
  std::vector<int64_t> r(k);
  size_t next = 0;
  const double sec = median_seconds([&] { index.search(1, q.data() + (next++ % 64) * d, k, s.data(), r.data()); }, 2.0);
  std::printf("{\"n\": %ld, \"d\": %ld, \"k\": %ld, \"cpp_single_query_us\": %.3f}\n", n, d, k, sec * 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (flag(argc, argv, "--help")) {
    std::puts("see the comment at the top of bench/native/search_bench.cpp");
    return 0;
  }
  if (flag(argc, argv, "--latency")) return latency(argc, argv);
  const auto ns = parse_list(arg(argc, argv, "--n", "100000,1000000"));
  const auto ds = parse_list(arg(argc, argv, "--d", "128,512"));
  const auto batches = parse_list(arg(argc, argv, "--batch", "1,64,1024"));
  const auto ks = parse_list(arg(argc, argv, "--k", "10,100"));
  const bool l2 = std::strcmp(arg(argc, argv, "--metric", "ip"), "l2") == 0;
  const bool fp16 = std::strcmp(arg(argc, argv, "--storage", "fp32"), "fp16") == 0;
  const double min_seconds = std::stod(arg(argc, argv, "--min-seconds", "1.0"));
  const char* json_path = arg(argc, argv, "--json", nullptr);

  std::printf("# exact search, %s, %s rows, %d OpenMP threads, CPU kernels: %s, AMX screening: %s\n\n",
              l2 ? "L2" : "inner product", fp16 ? "fp16" : "fp32", omp_get_max_threads(), aff::cpu_simd_level(),
              aff::cpu_amx_screening() ? "on" : "off");
  std::printf("| N | d | batch | k | AFF QPS | FAISS Flat QPS | AFF / FAISS | top-k agreement |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  std::vector<Row> rows;
  for (long n : ns) {
    for (long d : ds) {
      const auto x = random_vectors(n, d, 7);
      std::vector<int64_t> ids(n);
      for (long i = 0; i < n; ++i) ids[i] = i;
      aff::ExactIndex ours(d, l2 ? aff::L2 : aff::INNER_PRODUCT, fp16 ? aff::FLOAT16 : aff::FLOAT32);
      ours.add(n, x.data(), ids.data());
      faiss::IndexFlat flat(d, l2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
      flat.add(n, x.data());
      const long max_batch = *std::max_element(batches.begin(), batches.end());
      const auto queries = random_vectors(max_batch * 4, d, 11);
      for (long batch : batches) {
        for (long k : ks) {
          std::vector<float> s1(batch * k), s2(batch * k);
          std::vector<int64_t> r1(batch * k), r2(batch * k);
          // Rotate through several query sets so neither side profits from a warm cache of the same queries.
          int turn = 0;
          auto qset = [&](int t) { return queries.data() + (t % 4) * std::min(batch, max_batch) * d; };
          const double t_aff =
              median_seconds([&] { ours.search(batch, qset(turn++), k, s1.data(), r1.data()); }, min_seconds);
          const double t_faiss =
              median_seconds([&] { flat.search(batch, qset(turn++), k, s2.data(), r2.data()); }, min_seconds);
          // Same queries on both sides, then the fraction of FAISS's top-k that AFF also returned.
          ours.search(batch, qset(0), k, s1.data(), r1.data());
          flat.search(batch, qset(0), k, s2.data(), r2.data());
          size_t same = 0;
          for (long i = 0; i < batch; ++i) {
            const std::set<int64_t> a(r1.begin() + i * k, r1.begin() + (i + 1) * k);
            for (long j = 0; j < k; ++j) same += a.count(r2[i * k + j]);
          }
          const Row row{n, d, batch, k, batch / t_aff, batch / t_faiss, double(same) / double(batch * k)};
          rows.push_back(row);
          std::printf("| %ld | %ld | %ld | %ld | %.1f | %.1f | %.2f | %.4f |\n", n, d, batch, k, row.aff_qps,
                      row.faiss_qps, row.aff_qps / row.faiss_qps, row.agreement);
          std::fflush(stdout);
        }
      }
    }
  }
  if (json_path) {
    std::ofstream out(json_path);
    out << "{\"metric\": \"" << (l2 ? "l2" : "ip") << "\", \"storage\": \"" << (fp16 ? "fp16" : "fp32")
        << "\", \"threads\": " << omp_get_max_threads() << ", \"simd\": \"" << aff::cpu_simd_level()
        << "\", \"amx\": " << (aff::cpu_amx_screening() ? "true" : "false") << ", \"rows\": [";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      out << (i ? ", " : "") << "{\"n\": " << r.n << ", \"d\": " << r.d << ", \"batch\": " << r.batch
          << ", \"k\": " << r.k << ", \"aff_qps\": " << r.aff_qps << ", \"faiss_flat_qps\": " << r.faiss_qps
          << ", \"ratio\": " << r.aff_qps / r.faiss_qps << ", \"agreement\": " << r.agreement << "}";
    }
    out << "]}\n";
  }
  return 0;
}
