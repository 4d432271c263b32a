// Unit tests of the forward pass's building blocks against the spec's equations.
#include <cmath>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/model/attention.hpp"
#include "scalpel/model/ffn.hpp"
#include "scalpel/model/hf_config.hpp"

namespace ut_ops_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;

TEST_CASE("rope: proportional RoPE on a 512-dim full-layer head moves exactly dims 0–63 and 256–319") {
  const auto c = read_hf_config(std::string(SCALPEL_TEST_DATA_DIR) + "/configs/e2b.json");
  const auto& g = c.layers[4];
  REQUIRE(g.head_dim == 512);
  std::vector<float> inv(g.rope_pairs);
  for (std::size_t i = 0; i < g.rope_pairs; ++i) inv[i] = g.inv_freq(i);
  std::vector<float> x(512);
  for (std::size_t i = 0; i < 512; ++i) x[i] = 1.0f + 0.01f * static_cast<float>(i);
  auto y = x;
  const std::size_t pos = 7;
  simd::rope_neox(y.data(), 512, g.rope_pairs, inv.data(), pos);
  for (std::size_t i = 0; i < 512; ++i) {
    const bool rotating = i < 64 || (i >= 256 && i < 320);
    if (!rotating) CHECK(y[i] == x[i]);
  }
  // pair (0, 256) rotates by p radians (ω_0 = 1)
  const float c0 = std::cos(7.0f), s0 = std::sin(7.0f);
  CHECK(y[0] == doctest::Approx(x[0] * c0 - x[256] * s0).epsilon(1e-5));
  CHECK(y[256] == doctest::Approx(x[256] * c0 + x[0] * s0).epsilon(1e-5));
  CHECK(y[63] != x[63]);
  // pair 63 rotates by p · 1e6^(−126/512)
  const float a63 = 7.0f * g.inv_freq(63);
  CHECK(y[63] == doctest::Approx(x[63] * std::cos(a63) - x[319] * std::sin(a63)).epsilon(1e-5));
  // norms are preserved pairwise
  CHECK(y[5] * y[5] + y[261] * y[261] == doctest::Approx(x[5] * x[5] + x[261] * x[261]).epsilon(1e-5));
}

TEST_CASE("rope: sliding layers rotate all 128 pairs with θ = 10000 over d = 256") {
  const auto c = read_hf_config(std::string(SCALPEL_TEST_DATA_DIR) + "/configs/e2b.json");
  const auto& g = c.layers[0];
  REQUIRE(g.rope_pairs == 128);
  std::vector<float> inv(128);
  for (std::size_t i = 0; i < 128; ++i) inv[i] = g.inv_freq(i);
  std::vector<float> x(256, 1.0f), y = x;
  simd::rope_neox(y.data(), 256, 128, inv.data(), 3);
  for (std::size_t i = 0; i < 128; ++i) CHECK(y[i] != x[i]);
  CHECK(y[0] == doctest::Approx(std::cos(3.0f) - std::sin(3.0f)).epsilon(1e-6));
}

namespace {
// A cache for one layer whose V rows hold (kv_head * 100 + position) in every dim and K rows zero, so with zero
// queries every visible key gets equal weight and the output is the mean of the visible positions.
struct toy_attention {
  layer_geometry g;
  kv_cache::layer_store kv;
  toy_attention(std::size_t window, std::size_t n_q, std::size_t n_kv, std::size_t n_pos) {
    g.head_dim = 2;
    g.n_q_heads = n_q;
    g.n_kv_heads = n_kv;
    g.window = window;
    kv.row = n_kv * 2;
    kv.k.assign(n_pos * kv.row, 0.0f);
    kv.v.assign(n_pos * kv.row, 0.0f);
    for (std::size_t p = 0; p < n_pos; ++p)
      for (std::size_t h = 0; h < n_kv; ++h)
        for (std::size_t d = 0; d < 2; ++d) kv.v_row(p)[h * 2 + d] = static_cast<float>(h * 100 + p);
  }
};
}  // namespace

TEST_CASE("attention: a sliding query sees exactly W positions including itself — full layers are causal") {
  const std::size_t W = 4, n_pos = 10;
  toy_attention sl(W, 1, 1, n_pos), full(0, 1, 1, n_pos);
  std::vector<float> q(n_pos * 2, 0.0f), o(n_pos * 2);
  attend(sl.g, sl.kv, q.data(), n_pos, 0, o.data());
  for (std::size_t p = 0; p < n_pos; ++p) {
    const std::size_t first = p + 1 > W ? p + 1 - W : 0;
    CAPTURE(p);
    CHECK(o[p * 2] == doctest::Approx((static_cast<double>(first) + static_cast<double>(p)) / 2.0));
  }
  attend(full.g, full.kv, q.data(), n_pos, 0, o.data());
  for (std::size_t p = 0; p < n_pos; ++p) CHECK(o[p * 2] == doctest::Approx(static_cast<double>(p) / 2.0));
  // A chunk that starts later (p0 = 6) sees the same windows.
  std::vector<float> o2(4 * 2);
  attend(sl.g, sl.kv, q.data(), 4, 6, o2.data());
  CHECK(o2[0] == doctest::Approx((3.0 + 6.0) / 2.0));
  CHECK(o2[6] == doctest::Approx((6.0 + 9.0) / 2.0));
}

TEST_CASE("attention: GQA maps query heads to KV heads in contiguous groups") {
  toy_attention t(0, 4, 2, 3);  // heads 0,1 -> kv 0; heads 2,3 -> kv 1
  std::vector<float> q(3 * 4 * 2, 0.0f), o(3 * 4 * 2);
  attend(t.g, t.kv, q.data(), 3, 0, o.data());
  const std::size_t last = 2;
  for (std::size_t h = 0; h < 4; ++h) {
    const double expect = static_cast<double>(h / 2) * 100.0 + 1.0;  // mean of positions 0..2 = 1
    CHECK(o[(last * 4 + h) * 2] == doctest::Approx(expect));
  }
}

TEST_CASE("attention: the scale is 1.0 (no 1/sqrt(d))") {
  toy_attention t(0, 1, 1, 2);
  t.kv.k_row(0)[0] = 1.0f;                                // key 0 = (1, 0); key 1 = (0, 0)
  std::vector<float> q = {0.0f, 0.0f, 3.0f, 0.0f}, o(4);  // query at pos 1 = (3, 0): scores 3 and 0
  attend(t.g, t.kv, q.data(), 2, 0, o.data());
  const double w0 = std::exp(3.0) / (std::exp(3.0) + 1.0);
  CHECK(o[2] == doctest::Approx(w0 * 0.0 + (1.0 - w0) * 1.0).epsilon(1e-6));
}

TEST_CASE("moe: top-k routing renormalises, applies per-expert scales and breaks ties by lower id") {
  std::vector<std::size_t> order;
  std::int32_t ids[2];
  float w[2];
  {
    std::vector<float> z = {0.0f, 2.0f, 1.0f, 2.0f};
    const float scale[4] = {1.0f, 0.5f, 1.0f, 2.0f};
    route_top_k(z.data(), 4, 2, scale, order, ids, w);
    CHECK(ids[0] == 1);  // tie between 1 and 3: lower id first
    CHECK(ids[1] == 3);
    CHECK(w[0] == doctest::Approx(0.5 * 0.5));
    CHECK(w[1] == doctest::Approx(0.5 * 2.0));
  }
  {
    std::vector<float> z = {1.0f, 0.0f, 3.0f, -INFINITY};
    const float scale[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    route_top_k(z.data(), 4, 2, scale, order, ids, w);
    CHECK(ids[0] == 2);
    CHECK(ids[1] == 0);
    const double p2 = std::exp(3.0), p0 = std::exp(1.0);
    CHECK(w[0] == doctest::Approx(p2 / (p2 + p0)));
    CHECK(w[0] + w[1] == doctest::Approx(1.0));
  }
}

TEST_CASE("ple: per-layer inputs have shape [T, L, P] and combine both parts") {
  const auto c = read_hf_config(std::string(SCALPEL_TEST_DATA_DIR) + "/golden/e2b-like/config.json");
  CHECK(c.ple_dim == 16);
  CHECK(c.num_layers * c.ple_dim == 160);  // the [V, L·P] table row width
}

}  // namespace ut_ops_test
