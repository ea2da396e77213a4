// The mixer's model (bundle loading, validation, random weights) and its CPU reference forward pass, written as
// plainly as the math (see aff/mixer.h): the CUDA kernel in kernels/mixer.cu is checked against it.
#include "aff/mixer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "crc32c.h"

namespace aff {
namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("mixer bundle: cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string tensor_name(const std::string& feature) {
  std::string s = feature;
  std::replace(s.begin(), s.end(), '.', '_');
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("mixer: " + what);
}

// The named F32 tensors of a safetensors file, shapes checked by the caller.
struct Safetensors {
  std::vector<uint8_t> bytes;
  nlohmann::json header;
  size_t data_start = 0;

  explicit Safetensors(std::vector<uint8_t> file) : bytes(std::move(file)) {
    expect(bytes.size() >= 8, "safetensors file is truncated");
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    expect(n <= bytes.size() - 8, "safetensors header is truncated");
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
    data_start = 8 + n;
  }

  std::vector<float> get(const std::string& name, const std::vector<int64_t>& shape) const {
    expect(header.contains(name), "tensor " + name + " is missing");
    const auto& t = header[name];
    expect(t.at("dtype") == "F32", "tensor " + name + " is not F32");
    const auto got = t.at("shape").get<std::vector<int64_t>>();
    expect(got == shape, "tensor " + name + " has the wrong shape");
    const auto offsets = t.at("data_offsets").get<std::vector<uint64_t>>();
    size_t count = 1;
    for (int64_t s : shape) {
      expect(s > 0, "tensor " + name + " has a non-positive dimension");
      count *= static_cast<size_t>(s);
    }
    expect(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] - offsets[0] == count * 4 &&
               offsets[1] <= bytes.size() - data_start,
           "tensor " + name + " lies outside the file");
    std::vector<float> v(count);
    std::memcpy(v.data(), bytes.data() + data_start + offsets[0], count * 4);
    return v;
  }
};

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

// y[n] = b[n] + sum_k w[n, k] x[k]
void linear(const std::vector<float>& w, const std::vector<float>& b, const double* x, int32_t in, int32_t out,
            double* y) {
  for (int32_t n = 0; n < out; ++n) {
    double s = b[n];
    for (int32_t k = 0; k < in; ++k) s += static_cast<double>(w[static_cast<size_t>(n) * in + k]) * x[k];
    y[n] = s;
  }
}

void layer_norm(double* x, int32_t d, const std::vector<float>& w, const std::vector<float>& b) {
  double mean = 0, var = 0;
  for (int32_t i = 0; i < d; ++i) mean += x[i];
  mean /= d;
  for (int32_t i = 0; i < d; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= d;
  const double inv = 1.0 / std::sqrt(var + 1e-5);
  for (int32_t i = 0; i < d; ++i) x[i] = (x[i] - mean) * inv * w[i] + b[i];
}

}  // namespace

int32_t MixerModel::tokens() const {
  int32_t t = 1;
  for (const MixerInput& in : inputs) t += in.tokens();
  return t;
}

void MixerModel::validate() const {
  expect(dim > 0 && heads > 0 && dim % heads == 0, "the width must be a positive multiple of the heads");
  expect(ffn > 0 && !inputs.empty() && !layers.empty(), "needs an FFN width, inputs and layers");
  expect(proj_w.size() == inputs.size() && proj_b.size() == inputs.size(), "one projection per input");
  const size_t d = dim;
  for (size_t i = 0; i < inputs.size(); ++i) {
    expect(inputs[i].dim > 0 && inputs[i].max_local >= 0, "input sizes must be positive");
    expect(proj_w[i].size() == d * inputs[i].dim && proj_b[i].size() == d, "projection " + inputs[i].name);
  }
  expect(fusion_token.size() == d, "fusion token length");
  for (const MixerLayer& l : layers) {
    expect(l.in_proj_w.size() == 3 * d * d && l.in_proj_b.size() == 3 * d, "in_proj size");
    expect(l.out_proj_w.size() == d * d && l.out_proj_b.size() == d, "out_proj size");
    expect(l.linear1_w.size() == ffn * d && l.linear1_b.size() == size_t(ffn), "linear1 size");
    expect(l.linear2_w.size() == d * ffn && l.linear2_b.size() == d, "linear2 size");
    expect(l.norm1_w.size() == d && l.norm1_b.size() == d && l.norm2_w.size() == d && l.norm2_b.size() == d,
           "norm sizes");
  }
}

MixerModel MixerModel::load(const std::string& bundle_dir) {
  const auto meta_bytes = read_file(bundle_dir + "/bundle.json");
  const auto meta = nlohmann::json::parse(meta_bytes.begin(), meta_bytes.end());
  expect(meta.value("format", "") == "aff-model-bundle", "not an AFF model bundle");
  expect(meta.value("version", 0) == 1, "unsupported bundle version");
  const auto& enc = meta.at("encoder");
  expect(enc.at("kind") == "transformer", "the bundle's encoder is not the transformer mixer");
  auto tensors = read_file(bundle_dir + "/" + meta.at("tensors").get<std::string>());
  expect(static_cast<int64_t>(tensors.size()) == meta.at("tensorsBytes").get<int64_t>(),
         "model.safetensors has the wrong size");
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", detail::crc32c(tensors.data(), tensors.size()));
  expect(meta.at("tensorsCrc32c").get<std::string>() == crc, "model.safetensors fails its CRC-32C");
  const Safetensors st(std::move(tensors));

  MixerModel m;
  m.dim = enc.at("dim").get<int32_t>();
  m.heads = enc.at("heads").get<int32_t>();
  m.ffn = enc.at("ffn").get<int32_t>();
  const int32_t layers = enc.at("layers").get<int32_t>();
  expect(m.dim > 0 && m.heads > 0 && m.ffn > 0 && layers > 0, "the encoder's sizes must be positive");
  const int64_t d = m.dim, f = m.ffn;
  for (const auto& in : meta.at("inputs")) {
    MixerInput x;
    x.name = in.at("name").get<std::string>();
    x.dim = in.at("dim").get<int32_t>();
    x.max_local = in.at("kind") == "LOCAL" ? in.at("maxLocal").get<int32_t>() : 0;
    expect(x.dim > 0 && x.max_local >= 0, "input " + x.name + " has a non-positive size");
    expect(in.at("kind") == "LOCAL" ? x.max_local > 0 : true, "a local input needs maxLocal > 0");
    const std::string p = "encoder.project_" + tensor_name(x.name);
    m.proj_w.push_back(st.get(p + ".weight", {d, x.dim}));
    m.proj_b.push_back(st.get(p + ".bias", {d}));
    m.inputs.push_back(std::move(x));
  }
  m.fusion_token = st.get("encoder.fusion_token", {1, 1, d});
  for (int32_t c = 0; c < layers; ++c) {
    const std::string p = "encoder.layer" + std::to_string(c) + ".";
    MixerLayer l;
    l.in_proj_w = st.get(p + "self_attn.in_proj_weight", {3 * d, d});
    l.in_proj_b = st.get(p + "self_attn.in_proj_bias", {3 * d});
    l.out_proj_w = st.get(p + "self_attn.out_proj.weight", {d, d});
    l.out_proj_b = st.get(p + "self_attn.out_proj.bias", {d});
    l.linear1_w = st.get(p + "linear1.weight", {f, d});
    l.linear1_b = st.get(p + "linear1.bias", {f});
    l.linear2_w = st.get(p + "linear2.weight", {d, f});
    l.linear2_b = st.get(p + "linear2.bias", {d});
    l.norm1_w = st.get(p + "norm1.weight", {d});
    l.norm1_b = st.get(p + "norm1.bias", {d});
    l.norm2_w = st.get(p + "norm2.weight", {d});
    l.norm2_b = st.get(p + "norm2.bias", {d});
    m.layers.push_back(std::move(l));
  }
  m.validate();
  return m;
}

MixerModel MixerModel::random(int32_t dim, int32_t layers, int32_t heads, int32_t ffn, std::vector<MixerInput> inputs,
                              std::mt19937_64& rng) {
  auto uniform = [&rng](size_t n, double bound) {
    std::uniform_real_distribution<float> u(static_cast<float>(-bound), static_cast<float>(bound));
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
  };
  auto near_one = [&rng](size_t n) {
    std::uniform_real_distribution<float> u(0.8f, 1.2f);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
  };
  MixerModel m;
  m.dim = dim;
  m.heads = heads;
  m.ffn = ffn;
  m.inputs = std::move(inputs);
  const size_t d = dim, f = ffn;
  for (const MixerInput& in : m.inputs) {
    m.proj_w.push_back(uniform(d * in.dim, 1.0 / std::sqrt(in.dim)));
    m.proj_b.push_back(uniform(d, 1.0 / std::sqrt(in.dim)));
  }
  m.fusion_token = uniform(d, 0.5);
  for (int32_t c = 0; c < layers; ++c) {
    MixerLayer l;
    const double bd = 1.0 / std::sqrt(static_cast<double>(d)), bf = 1.0 / std::sqrt(static_cast<double>(f));
    l.in_proj_w = uniform(3 * d * d, bd);
    l.in_proj_b = uniform(3 * d, 0.1);
    l.out_proj_w = uniform(d * d, bd);
    l.out_proj_b = uniform(d, 0.1);
    l.linear1_w = uniform(f * d, bd);
    l.linear1_b = uniform(f, bd);
    l.linear2_w = uniform(d * f, bf);
    l.linear2_b = uniform(d, bf);
    l.norm1_w = near_one(d);
    l.norm1_b = uniform(d, 0.1);
    l.norm2_w = near_one(d);
    l.norm2_b = uniform(d, 0.1);
    m.layers.push_back(std::move(l));
  }
  m.validate();
  return m;
}

void MixerModel::save(const std::string& bundle_dir) const {
  validate();
  const MixerModel& m = *this;
  const std::filesystem::path dir(bundle_dir);
  std::filesystem::create_directories(dir);
  nlohmann::json header;
  std::vector<uint8_t> data;
  auto put = [&](const std::string& name, const std::vector<float>& v, std::vector<int64_t> shape) {
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + v.size() * 4}}};
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    data.insert(data.end(), p, p + v.size() * 4);
  };
  const int64_t d = m.dim, f = m.ffn;
  nlohmann::json inputs = nlohmann::json::array();
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    std::string t = m.inputs[i].name;
    for (char& c : t) c = (c == '-' || c == '.') ? '_' : c;
    put("encoder.project_" + t + ".weight", m.proj_w[i], {d, m.inputs[i].dim});
    put("encoder.project_" + t + ".bias", m.proj_b[i], {d});
    inputs.push_back({{"name", m.inputs[i].name}, {"kind", m.inputs[i].max_local ? "LOCAL" : "GLOBAL"},
                      {"dim", m.inputs[i].dim}, {"maxLocal", m.inputs[i].max_local}});
  }
  put("encoder.fusion_token", m.fusion_token, {1, 1, d});
  for (size_t c = 0; c < m.layers.size(); ++c) {
    const auto& l = m.layers[c];
    const std::string p = "encoder.layer" + std::to_string(c) + ".";
    put(p + "self_attn.in_proj_weight", l.in_proj_w, {3 * d, d});
    put(p + "self_attn.in_proj_bias", l.in_proj_b, {3 * d});
    put(p + "self_attn.out_proj.weight", l.out_proj_w, {d, d});
    put(p + "self_attn.out_proj.bias", l.out_proj_b, {d});
    put(p + "linear1.weight", l.linear1_w, {f, d});
    put(p + "linear1.bias", l.linear1_b, {f});
    put(p + "linear2.weight", l.linear2_w, {d, f});
    put(p + "linear2.bias", l.linear2_b, {d});
    put(p + "norm1.weight", l.norm1_w, {d});
    put(p + "norm1.bias", l.norm1_b, {d});
    put(p + "norm2.weight", l.norm2_w, {d});
    put(p + "norm2.bias", l.norm2_b, {d});
  }
  const std::string h = header.dump();
  std::vector<uint8_t> file(8);
  const uint64_t n = h.size();
  std::memcpy(file.data(), &n, 8);
  file.insert(file.end(), h.begin(), h.end());
  file.insert(file.end(), data.begin(), data.end());
  std::ofstream(dir / "model.safetensors", std::ios::binary).write(reinterpret_cast<const char*>(file.data()),
                                                                   static_cast<std::streamsize>(file.size()));
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", detail::crc32c(file.data(), file.size()));
  nlohmann::json meta = {{"format", "aff-model-bundle"},
                         {"version", 1},
                         {"encoder", {{"kind", "transformer"}, {"dim", d}, {"layers", m.layers.size()},
                                      {"heads", m.heads}, {"ffn", f}}},
                         {"inputs", inputs},
                         {"tensors", "model.safetensors"},
                         {"tensorsBytes", file.size()},
                         {"tensorsCrc32c", crc}};
  std::ofstream(dir / "bundle.json") << meta.dump(2);
}

void mixer_forward_cpu(const MixerModel& m, const MixerBatch& batch, float* out) {
  m.validate();
  expect(batch.batch > 0 && out, "empty batch or null output");
  expect(batch.features.size() == m.inputs.size() && batch.padding.size() == m.inputs.size(),
         "one feature buffer (and padding entry) per input");
  for (const float* f : batch.features) expect(f != nullptr, "null feature buffer");
  const int32_t d = m.dim, s_len = m.tokens(), hd = d / m.heads;
  std::vector<double> z(static_cast<size_t>(s_len) * d), qkv(static_cast<size_t>(s_len) * 3 * d),
      attn(static_cast<size_t>(s_len) * d), tmp(std::max(d, m.ffn)), hidden(m.ffn), x(std::max(d, 1));
  std::vector<uint8_t> masked(s_len);
  std::vector<double> p(s_len);
  for (int64_t b = 0; b < batch.batch; ++b) {
    // Tokens: the fusion token, then each input's projected descriptors.
    std::fill(masked.begin(), masked.end(), 0);
    for (int32_t i = 0; i < d; ++i) z[i] = m.fusion_token[i];
    int32_t row = 1;
    for (size_t in = 0; in < m.inputs.size(); ++in) {
      const MixerInput& spec = m.inputs[in];
      for (int32_t t = 0; t < spec.tokens(); ++t, ++row) {
        const float* src = batch.features[in] + (b * spec.tokens() + t) * spec.dim;
        std::vector<double> v(src, src + spec.dim);
        linear(m.proj_w[in], m.proj_b[in], v.data(), spec.dim, d, &z[static_cast<size_t>(row) * d]);
        if (spec.max_local > 0 && batch.padding[in]) masked[row] = batch.padding[in][b * spec.max_local + t] != 0;
      }
    }
    for (const MixerLayer& l : m.layers) {
      for (int32_t r = 0; r < s_len; ++r) {
        linear(l.in_proj_w, l.in_proj_b, &z[static_cast<size_t>(r) * d], d, 3 * d, &qkv[static_cast<size_t>(r) * 3 * d]);
      }
      const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
      for (int32_t h = 0; h < m.heads; ++h) {
        for (int32_t i = 0; i < s_len; ++i) {
          double top = -INFINITY;
          for (int32_t j = 0; j < s_len; ++j) {
            if (masked[j]) continue;
            double s = 0;
            for (int32_t e = 0; e < hd; ++e) {
              s += qkv[static_cast<size_t>(i) * 3 * d + h * hd + e] * scale *
                   qkv[static_cast<size_t>(j) * 3 * d + d + h * hd + e];
            }
            p[j] = s;
            top = std::max(top, s);
          }
          double sum = 0;
          for (int32_t j = 0; j < s_len; ++j) {
            p[j] = masked[j] ? 0.0 : std::exp(p[j] - top);
            sum += p[j];
          }
          for (int32_t e = 0; e < hd; ++e) {
            double o = 0;
            for (int32_t j = 0; j < s_len; ++j) o += p[j] * qkv[static_cast<size_t>(j) * 3 * d + 2 * d + h * hd + e];
            attn[static_cast<size_t>(i) * d + h * hd + e] = o / sum;
          }
        }
      }
      for (int32_t r = 0; r < s_len; ++r) {
        double* zr = &z[static_cast<size_t>(r) * d];
        linear(l.out_proj_w, l.out_proj_b, &attn[static_cast<size_t>(r) * d], d, d, tmp.data());
        for (int32_t i = 0; i < d; ++i) zr[i] += tmp[i];
        layer_norm(zr, d, l.norm1_w, l.norm1_b);
        linear(l.linear1_w, l.linear1_b, zr, d, m.ffn, hidden.data());
        for (double& v : hidden) v = gelu(v);
        linear(l.linear2_w, l.linear2_b, hidden.data(), m.ffn, d, tmp.data());
        for (int32_t i = 0; i < d; ++i) zr[i] += tmp[i];
        layer_norm(zr, d, l.norm2_w, l.norm2_b);
      }
    }
    double norm = 0;
    for (int32_t i = 0; i < d; ++i) norm += z[i] * z[i];
    const double inv = 1.0 / std::max(std::sqrt(norm), 1e-12);
    for (int32_t i = 0; i < d; ++i) out[b * d + i] = static_cast<float>(z[i] * inv);
  }
}

}  // namespace aff
