// Layer ablations and the per-layer sweep: the resumed runs agree with brute force (the whole forward pass
// re-run with an ablation hook), and the sweep finds the planted loop layer of the demo model.
#include "scalpel/analysis/ablation.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "localization_test_util.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_ablation_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace an = scalpel::analysis;

namespace {

/// Brute-force hooks: the feed-forward block's output f of `layer` replaced at every position.
dynamic_hooks ffn_out_hook(std::size_t layer, const an::ablation_spec& s, const std::vector<float>& mean) {
  dynamic_hooks h;
  h.add(hook_point::ffn_out, layer, [s, mean](hook_payload& p) {
    for (std::size_t t = 0; t < p.data.extent(0); ++t)
      for (std::size_t i = 0; i < p.data.extent(1); ++i) {
        float& v = p.data(t, i);
        v = s.mode == an::ablation_mode::zero ? 0.0f : s.mode == an::ablation_mode::scale ? v * s.alpha : mean[i];
      }
  });
  return h;
}

/// Brute-force mean of f (ffn_out) of every layer over the corpus positions except position 0.
std::vector<std::vector<float>> brute_ffn_means(const gemma4_model& m,
                                                const std::vector<std::vector<std::int32_t>>& corpus) {
  const std::size_t L = m.config().num_layers, H = m.config().hidden_size;
  std::vector<std::vector<double>> acc(L, std::vector<double>(H, 0.0));
  std::size_t n = 0;
  for (const auto& ids : corpus) {
    dynamic_hooks h;
    h.add(hook_point::ffn_out, dynamic_hooks::any_layer, [&](hook_payload& p) {
      for (std::size_t t = 1; t < p.data.extent(0); ++t)
        for (std::size_t i = 0; i < H; ++i) acc[p.layer][i] += static_cast<double>(p.data(t, i));
    });
    (void)an::last_logits(m, ids, h);
    n += ids.size() - 1;
  }
  std::vector<std::vector<float>> out(L, std::vector<float>(H));
  for (std::size_t l = 0; l < L; ++l)
    for (std::size_t i = 0; i < H; ++i) out[l][i] = static_cast<float>(acc[l][i] / static_cast<double>(n));
  return out;
}

/// A copy of a random f32 model whose post_attention_layernorm weight of `layer` is scaled by `alpha`: its
/// attention contribution is exactly α times the original one (RMSNorm is linear in its weight).
gemma4_model scaled_post_attn(const tiny_options& o, std::uint64_t seed, std::size_t layer, float alpha) {
  auto m = random_model(o, seed, dtype_id::f32);
  const std::string name = "layers." + std::to_string(layer) + ".post_attention_layernorm.weight";
  const any_tensor* t = m.find(name);
  REQUIRE(t != nullptr);
  const std::size_t H = m.config().hidden_size;
  tensor<f32, 1> w({H});
  const auto src = t->reshaped(make_shape({H})).as<f32, 1>();
  for (std::size_t i = 0; i < H; ++i) w.data()[i] = src(i) * alpha;
  const any_tensor edited = any_tensor::from(m.record_name(name), std::move(w)).reshaped(t->shape());
  m.replace_tensors(std::span<const any_tensor>(&edited, 1));
  return m;
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-6 * (1.0 + std::fabs(b)); }

}  // namespace

TEST_CASE("ablation: the layer-by-layer runner reproduces the engine's forward pass bit for bit") {
  simd::set_num_threads(1);
  for (const auto v : {tiny_variant::e2b, tiny_variant::e4b, tiny_variant::moe_26b_a4b, tiny_variant::dense_31b}) {
    CAPTURE(static_cast<int>(v));
    const auto m = random_model({.variant = v, .num_layers = v == tiny_variant::dense_31b ? 12u : 0u}, 21);
    const auto bank = loc_test::random_bank(m, 1, 26, 3);  // 26 tokens: crosses the 16-token window
    const model::forward_tables tab(m.config());
    an::detail::prefix_runner run(m, tab, bank.items[0].ids);
    std::vector<float> mine;
    run.logits(run.residual(m.config().num_layers), mine);
    CHECK(mine == m.logits(bank.items[0].ids, logits_mode::all));
    CHECK(run.metric(run.residual(m.config().num_layers), bank.items[0].target, bank.items[0].contrast) ==
          an::item_metric(m, bank.items[0]));
  }
}

TEST_CASE("ablation: sweep-layers agrees with brute-force ablation (mlp zero / scale / mean, attn zero / scale)") {
  simd::set_num_threads(1);
  for (const auto v : {tiny_variant::e2b, tiny_variant::moe_26b_a4b}) {
    CAPTURE(static_cast<int>(v));
    const tiny_options to{.variant = v, .num_layers = 8};
    const auto m = random_model(to, 5, dtype_id::f32);
    const auto bank = loc_test::random_bank(m, 3, 20, 7);
    const std::vector<std::size_t> layers = {0, 3, 5, 7};  // e2b (8 layers): 5 and 7 read shared KV
    std::vector<std::vector<std::int32_t>> corpus;
    for (const auto& it : bank.items) corpus.push_back(it.ids);
    const auto means = brute_ffn_means(m, corpus);
    for (const char* mode : {"zero", "scale:-0.5", "mean"}) {
      CAPTURE(mode);
      an::sweep_options o;
      o.spec = an::ablation_spec::parse("mlp", mode);
      o.layers = layers;
      const auto r = an::sweep_layers(m, bank, o);
      CHECK(close(r.metric_base, an::bank_metric(m, bank)));
      REQUIRE(r.layers.size() == layers.size());
      for (const auto& row : r.layers) {
        CAPTURE(row.layer);
        auto h = ffn_out_hook(row.layer, o.spec, means[row.layer]);
        const double brute = loc_test::brute_metric(m, bank, h);
        CHECK(close(row.metric, brute));
        CHECK(close(row.delta, brute - r.metric_base));
        CHECK_FALSE(row.kl.has_value());
      }
    }
    // attention, zero: the contribution RMSNorm(o) is 0 exactly when o is (hook attn_out)
    an::sweep_options oz;
    oz.spec = an::ablation_spec::parse("attn", "zero");
    oz.layers = layers;
    for (const auto& row : an::sweep_layers(m, bank, oz).layers) {
      dynamic_hooks h;
      h.add(hook_point::attn_out, row.layer, [](hook_payload& p) {
        for (std::size_t t = 0; t < p.data.extent(0); ++t)
          for (std::size_t i = 0; i < p.data.extent(1); ++i) p.data(t, i) = 0.0f;
      });
      CHECK(close(row.metric, loc_test::brute_metric(m, bank, h)));
    }
    // attention, scale α: brute force = the model with that layer's post-attention norm weight × α
    an::sweep_options os;
    os.spec = an::ablation_spec::parse("attn", "scale:2.5");
    os.layers = {3};
    const auto rs = an::sweep_layers(m, bank, os);
    const auto edited = scaled_post_attn(to, 5, 3, 2.5f);
    CHECK(std::fabs(rs.layers[0].metric - an::bank_metric(edited, bank)) <=
          1e-4 * (1.0 + std::fabs(rs.layers[0].metric)));
    CHECK(std::fabs(rs.layers[0].delta) > 1e-3);  // the ablation did something
  }
}

TEST_CASE("ablation: the KL column equals the brute-force KL on the reference text") {
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::e4b, .num_layers = 8}, 9, dtype_id::f32);
  const auto bank = loc_test::random_bank(m, 2, 12, 1);
  an::sweep_options o;
  o.spec = an::ablation_spec::parse("mlp", "scale:0.5");
  o.kl_ids = loc_test::random_bank(m, 1, 30, 77).items[0].ids;
  std::size_t calls = 0;
  o.progress = [&](std::size_t done, std::size_t total) {
    ++calls;
    CHECK(done <= total);
  };
  const auto r = an::sweep_layers(m, bank, o);
  CHECK(calls == 3);
  CHECK(r.kl_tokens == o.kl_ids.size());
  REQUIRE(r.layers.size() == 8);
  const auto base = m.logits(o.kl_ids, logits_mode::all);
  for (const auto& row : r.layers) {
    auto h = ffn_out_hook(row.layer, o.spec, {});
    auto cache = m.make_cache(o.kl_ids.size());
    std::vector<float> abl;
    m.forward(o.kl_ids, cache, abl, logits_mode::all, h);
    REQUIRE(row.kl.has_value());
    const double brute = an::mean_kl(base, abl, m.config().vocab_size);
    CHECK(*row.kl == doctest::Approx(brute).epsilon(1e-9));
    CHECK(*row.kl > 0.0);
  }
  // scale 1 changes nothing: KL 0, delta 0
  o.spec = an::ablation_spec::parse("mlp", "scale:1");
  o.progress = nullptr;
  for (const auto& row : an::sweep_layers(m, bank, o).layers) {
    CHECK(row.delta == 0.0);
    CHECK(*row.kl == doctest::Approx(0.0).scale(1.0).epsilon(1e-12));
  }
}

TEST_CASE("ablation: the sweep points at the planted loop layer of the demo model") {
  simd::set_num_threads(1);
  for (const auto& [layer, neuron, attractor, seed] :
       std::vector<std::tuple<std::size_t, std::size_t, std::size_t, std::uint64_t>>{
           {2, 37, 14, 1}, {3, 5, 20, 2}, {2, 100, 40, 3}, {3, 77, 9, 4}, {3, 64, 60, 5}}) {
    CAPTURE(layer);
    CAPTURE(attractor);
    an::planted_loop_options po;
    po.loop_layer = layer;
    po.loop_neuron = neuron;
    po.attractor = attractor;
    po.seed = seed;
    const auto demo = an::build_planted_loop(po);
    const auto bank = loc_test::planted_bank(demo);
    no_hooks none;
    for (const auto& it : bank.items) {
      // the bank is what the model does: greedy continues the loop
      const auto z = an::last_logits(demo.model, it.ids, none);
      CHECK(an::best_token(z) == it.target);
    }
    an::sweep_options o;
    const auto r = an::sweep_layers(demo.model, bank, o);
    CHECK(r.metric_base > 0.0);
    const auto best = std::min_element(r.layers.begin(), r.layers.end(),
                                       [](const auto& a, const auto& b) { return a.delta < b.delta; });
    CHECK(best->layer == layer);
    CHECK(best->delta < -r.metric_base);  // ablating it flips the preference to the correct entry
  }
}

TEST_CASE("ablation: option errors") {
  CHECK_THROWS_AS(an::ablation_spec::parse("mlp", "scale:"), scalpel::error);
  CHECK_THROWS_AS(an::ablation_spec::parse("mlp", "scale:x"), scalpel::error);
  CHECK_THROWS_AS(an::ablation_spec::parse("mlp", "half"), scalpel::error);
  CHECK_THROWS_AS(an::ablation_spec::parse("moe", "zero"), scalpel::error);
  CHECK(an::ablation_spec::parse("attn", "scale:-0.8").alpha == -0.8f);
  CHECK(an::ablation_spec::parse("mlp", "scale:-0.8").mode_string() == "scale:-0.8");
  const auto m = random_model({.variant = tiny_variant::dense_31b, .num_layers = 2}, 1);
  auto bank = loc_test::random_bank(m, 1, 5, 1);
  an::sweep_options o;
  o.layers = {2};
  CHECK_THROWS_AS(an::sweep_layers(m, bank, o), scalpel::error);
  o.layers.clear();
  bank.items[0].target = 5000;
  CHECK_THROWS_AS(an::sweep_layers(m, bank, o), scalpel::error);
}

}  // namespace ut_ablation_test
