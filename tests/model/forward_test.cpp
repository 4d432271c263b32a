// Forward-pass properties on the golden models: prefill vs decode, chunking, cache forks, hooks, errors.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/model/loader.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_forward_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;

namespace {
std::string golden_dir(const std::string& v) { return std::string(SCALPEL_TEST_DATA_DIR) + "/golden/" + v; }

std::vector<std::int32_t> test_ids(std::size_t n, std::int32_t vocab, std::uint32_t seed) {
  std::vector<std::int32_t> ids{2};
  std::uint32_t s = seed;
  while (ids.size() < n) {
    s = s * 1664525u + 1013904223u;
    ids.push_back(static_cast<std::int32_t>(5 + (s >> 8) % static_cast<std::uint32_t>(vocab - 5)));
  }
  return ids;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}
}  // namespace

TEST_CASE("forward: prefill and token-by-token decode agree across many sliding windows") {
  for (const char* v : {"e2b-like", "moe-like", "dense-like"}) {
    CAPTURE(v);
    const auto m = load_model(golden_dir(v));
    const std::size_t V = m.config().vocab_size;
    const auto ids = test_ids(90, static_cast<std::int32_t>(V), 7);  // window 16: crosses it 5+ times
    const auto prefill = m.logits(ids, logits_mode::all);

    auto cache = m.make_cache(ids.size());
    std::vector<float> decoded, step;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      m.forward(std::span<const std::int32_t>(&ids[i], 1), cache, step);
      decoded.insert(decoded.end(), step.begin(), step.end());
    }
    CHECK(max_diff(prefill, decoded) <= 1e-4f);

    // Chunked prefill (chunks smaller than the window and not dividing the length).
    auto chunked_cache = m.make_cache(ids.size(), 7);
    std::vector<float> chunked;
    m.forward(ids, chunked_cache, chunked, logits_mode::all);
    CHECK(max_diff(prefill, chunked) <= 1e-4f);
  }
}

TEST_CASE("forward: a copied cache forks the state") {
  const auto m = load_model(golden_dir("e2b-like"));
  const auto ids = test_ids(40, 512, 3);
  auto cache = m.make_cache(64);
  std::vector<float> l;
  m.forward(std::span<const std::int32_t>(ids).first(30), cache, l);
  kv_cache fork = cache;  // continue two ways from the same prefix
  std::vector<float> a, b;
  m.forward(std::span<const std::int32_t>(ids).subspan(30), cache, a);
  m.forward(std::span<const std::int32_t>(ids).subspan(30), fork, b);
  CHECK(max_diff(a, b) == 0.0f);
  const auto full = m.logits(ids);
  CHECK(max_diff(a, full) <= 1e-4f);
  CHECK(fork.size() == 40);
}

TEST_CASE("forward: the result does not depend on the thread count") {
  const auto m = load_model(golden_dir("moe-like"));
  const auto ids = test_ids(33, 512, 11);
  simd::set_num_threads(1);
  const auto one = m.logits(ids, logits_mode::all);
  simd::set_num_threads(2);
  const auto two = m.logits(ids, logits_mode::all);
  CHECK(max_diff(one, two) == 0.0f);
}

TEST_CASE("forward: bad input gives errors, not crashes") {
  const auto m = load_model(golden_dir("dense-like"));
  std::vector<std::int32_t> ids{2, 7, 512};
  try {
    (void)m.logits(ids);
    FAIL("expected out_of_range");
  } catch (const error& e) {
    CHECK(e.code() == errc::out_of_range);
    CHECK(std::string(e.what()).find("token id 512 at index 2") != std::string::npos);
  }
  ids = {2, -1};
  CHECK_THROWS_AS((void)m.logits(ids), error);
  auto cache = m.make_cache(4);
  std::vector<float> l;
  const std::vector<std::int32_t> five{2, 3, 4, 5, 6};
  try {
    m.forward(five, cache, l);
    FAIL("expected context_overflow");
  } catch (const error& e) {
    CHECK(e.code() == errc::context_overflow);
  }
  CHECK_THROWS_AS((void)m.make_cache(m.config().max_position_embeddings + 1), error);
}

TEST_CASE("hooks: an observer sees the MLP activations and an intervention changes the logits") {
  const auto m = load_model(golden_dir("e2b-like"));
  const auto ids = test_ids(12, 512, 5);
  const auto base = m.logits(ids);

  dynamic_hooks hooks;
  std::vector<std::size_t> seen_layers;
  std::size_t act_cols = 0;
  float act_abs = 0.0f;
  hooks.add(hook_point::ffn_act, dynamic_hooks::any_layer, [&](hook_payload& p) {
    seen_layers.push_back(p.layer);
    CHECK(p.data.extent(0) == ids.size());
    CHECK(p.positions.size() == ids.size());
    if (p.layer == 7) act_cols = p.data.extent(1);
    for (std::size_t i = 0; i < p.data.size(); ++i) act_abs += std::abs(p.data.data_handle()[i]);
  });
  auto cache = m.make_cache(32);
  std::vector<float> observed;
  m.forward(ids, cache, observed, logits_mode::last, hooks);
  CHECK(seen_layers.size() == m.config().num_layers);
  CHECK(act_cols == m.config().layers[7].ffn_dim);  // 256: the double-wide layer
  CHECK(act_abs > 0.0f);
  CHECK(observed == base);  // observers change nothing

  // Intervention: zero neuron 3 of layer 2 -> logits change; same as editing down_proj column 3 (issue 7).
  hooks.clear();
  hooks.add(hook_point::ffn_act, 2, [](hook_payload& p) {
    for (std::size_t t = 0; t < p.data.extent(0); ++t) p.data(t, 3) = 0.0f;
  });
  auto cache2 = m.make_cache(32);
  std::vector<float> edited;
  m.forward(ids, cache2, edited, logits_mode::last, hooks);
  CHECK(max_diff(edited, base) > 1e-3f);

  // Zeroing the whole feed-forward block of every layer changes the output too.
  hooks.clear();
  hooks.add(hook_point::ffn_out, dynamic_hooks::any_layer,
            [](hook_payload& p) { std::fill(p.data.data_handle(), p.data.data_handle() + p.data.size(), 0.0f); });
  auto cache3 = m.make_cache(32);
  std::vector<float> ablated;
  m.forward(ids, cache3, ablated, logits_mode::last, hooks);
  CHECK(max_diff(ablated, base) > 1e-2f);
}

TEST_CASE("hooks: router logits are writable and masked experts are never selected") {
  const auto m = load_model(golden_dir("moe-like"));
  const auto ids = test_ids(20, 512, 9);
  dynamic_hooks hooks;
  std::size_t selections = 0, hits_of_3 = 0;
  hooks.add(hook_point::router_logits, dynamic_hooks::any_layer, [](hook_payload& p) {
    for (std::size_t t = 0; t < p.data.extent(0); ++t) p.data(t, 3) = -INFINITY;
  });
  hooks.add(hook_point::expert_selection, dynamic_hooks::any_layer, [&](hook_payload& p) {
    CHECK(p.top_k == m.config().top_k_experts);
    for (std::size_t i = 0; i < p.expert_ids.size(); ++i) {
      ++selections;
      hits_of_3 += p.expert_ids[i] == 3;
    }
    // renormalised weights (times per-expert scales) are positive
    for (float w : p.expert_weights) CHECK(w > 0.0f);
  });
  auto cache = m.make_cache(32);
  std::vector<float> l;
  m.forward(ids, cache, l, logits_mode::last, hooks);
  CHECK(selections == ids.size() * m.config().num_layers * m.config().top_k_experts);
  CHECK(hits_of_3 == 0);
  CHECK(max_diff(l, m.logits(ids)) > 1e-4f);
}

TEST_CASE("hooks: no_hooks and an empty dynamic registry give identical logits") {
  const auto m = load_model(golden_dir("moe-like"));
  const auto ids = test_ids(10, 512, 1);
  dynamic_hooks none;
  auto cache = m.make_cache(16);
  std::vector<float> l;
  m.forward(ids, cache, l, logits_mode::all, none);
  CHECK(l == m.logits(ids, logits_mode::all));
}

}  // namespace ut_forward_test
