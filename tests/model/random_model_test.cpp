#include "scalpel/model/random_model.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include <doctest/doctest.h>

#include "scalpel/model/hf_config.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_random_model_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;

namespace {
gemma4_model build(tiny_variant v, std::uint64_t seed) {
  tiny_options o;
  o.variant = v;
  auto cfg = make_tiny_config(o);
  auto tensors = random_weights(cfg, seed, "model.language_model.");
  return gemma4_model(
      std::move(cfg), std::move(tensors), [](std::string_view c) { return "model.language_model." + std::string(c); },
      checkpoint_format::memory, "random");
}
}  // namespace

TEST_CASE("make-tiny: configs keep each variant's architecture features") {
  tiny_options o;
  o.variant = tiny_variant::e2b;
  auto e2b = make_tiny_config(o);
  CHECK(e2b.num_layers == 35);
  CHECK(e2b.first_kv_shared_layer() == 15);
  CHECK(e2b.layers[20].ffn_dim == 2 * e2b.layers[0].ffn_dim);
  CHECK(e2b.has_ple());
  CHECK(e2b.layers[34].kv_source == 14);
  o.variant = tiny_variant::e4b;
  auto e4b = make_tiny_config(o);
  CHECK(e4b.num_layers == 42);
  CHECK(e4b.layers[41].kv_source == 23);
  CHECK(e4b.layers[40].kv_source == 22);
  o.variant = tiny_variant::moe_26b_a4b;
  auto moe = make_tiny_config(o);
  CHECK(moe.enable_moe_block);
  CHECK(!moe.layers[5].has_v_proj);
  CHECK(moe.layers[5].n_kv_heads == 2);
  o.variant = tiny_variant::dense_31b;
  o.real_dims = true;
  auto big = make_tiny_config(o);
  CHECK(big.detect_variant() == variant::dense_31b);
  o.variant = tiny_variant::e2b;
  CHECK(make_tiny_config(o).detect_variant() == variant::e2b);
  o.num_layers = 20;
  o.vocab_size = 32768;
  auto cut = make_tiny_config(o);  // the llamaref e2b-real-dims shape
  CHECK(cut.num_kv_shared_layers == 10);
  CHECK(cut.layers[9].kind == layer_kind::full);
  CHECK(cut.layers[8].kind == layer_kind::sliding);
  CHECK(planned_bytes(cut) > 2'000'000'000u);
  CHECK_THROWS_AS((void)parse_tiny_variant("e3b"), error);
}

TEST_CASE("make-tiny: weights are deterministic for a seed, independent of the thread count") {
  simd::set_num_threads(1);
  tiny_options o;
  o.variant = tiny_variant::moe_26b_a4b;
  const auto cfg = make_tiny_config(o);
  const auto a = random_weights(cfg, 5);
  simd::set_num_threads(2);
  const auto b = random_weights(cfg, 5);
  const auto c = random_weights(cfg, 6);
  REQUIRE(a.size() == b.size());
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& x = a.tensors()[i];
    const auto& y = b.tensors()[i];
    CHECK(x.name() == y.name());
    CHECK(std::memcmp(x.data(), y.data(), x.size_bytes()) == 0);
    differs = differs || std::memcmp(x.data(), c.tensors()[i].data(), x.size_bytes()) != 0;
  }
  CHECK(differs);
}

TEST_CASE("make-tiny: every variant runs and gives non-degenerate logits") {
  for (auto v : {tiny_variant::e2b, tiny_variant::e4b, tiny_variant::moe_26b_a4b, tiny_variant::dense_31b}) {
    const auto m = build(v, 1);
    const std::vector<std::int32_t> ids = {2, 400, 401, 402, 403, 404, 405, 406};
    const auto l = m.logits(ids);
    double mean = 0, sq = 0;
    for (float x : l) {
      REQUIRE(std::isfinite(x));
      mean += static_cast<double>(x);
    }
    mean /= static_cast<double>(l.size());
    for (float x : l) sq += (static_cast<double>(x) - mean) * (static_cast<double>(x) - mean);
    const double sd = std::sqrt(sq / static_cast<double>(l.size()));
    MESSAGE("variant ", static_cast<int>(v), " logit std ", sd);
    CHECK(sd > 0.5);
    CHECK(sd < 15.0);
  }
}

TEST_CASE("make-tiny: config.json round-trips through the HF parser") {
  tiny_options o;
  o.variant = tiny_variant::dense_31b;
  const auto c = make_tiny_config(o);
  const auto back = parse_hf_config(config_to_hf_json(c), "roundtrip");
  REQUIRE(back.layers.size() == c.layers.size());
  for (std::size_t l = 0; l < c.layers.size(); ++l) {
    CHECK(back.layers[l].head_dim == c.layers[l].head_dim);
    CHECK(back.layers[l].n_kv_heads == c.layers[l].n_kv_heads);
    CHECK(back.layers[l].kind == c.layers[l].kind);
  }
  const auto tok = tiny_tokenizer_json(1024);
  CHECK(tok["model"]["vocab"]["<|turn>"] == 105);
  CHECK(tok["model"]["vocab"]["\n"] == 107);
  CHECK(tok["model"]["vocab"].size() == 1024);
}

}  // namespace ut_random_model_test
