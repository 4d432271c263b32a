// diff recovers the plan: random plan -> edit -> diff -> the same (coalesced) plan.
#include <random>

#include <doctest/doctest.h>

#include "scalpel/edit.hpp"
#include "scalpel/model/random_model.hpp"

namespace ut_diff_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace ed = scalpel::edit;

namespace {
ed::plan random_plan(const gemma4_config& c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  ed::plan p;
  const float factors[] = {0.0f, -1.0f, -0.8f, -0.5f, 2.0f, 3.0f, 0.25f, 1.5f};
  const int n = 1 + static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) {
    const std::size_t layer = rng() % c.num_layers;
    std::vector<std::size_t> neurons;
    const std::size_t k = 1 + rng() % 4;
    while (neurons.size() < k) {
      const std::size_t j = rng() % c.layers[layer].ffn_dim;
      if (std::find(neurons.begin(), neurons.end(), j) == neurons.end()) neurons.push_back(j);
    }
    const float f = factors[rng() % 8];
    if (f == 0.0f)
      p.add(ed::strip{layer, neurons});
    else if (f == -1.0f)
      p.add(ed::negate{layer, neurons});
    else
      p.add(ed::scale{layer, neurons, f});
  }
  if (c.enable_moe_block) p.add(ed::expert_silence{rng() % c.num_layers, {rng() % c.num_experts}});
  return p;
}

// Plans are compared by effect: per (layer, neuron) gain, silenced experts per layer. Two edits of the same neuron
// compose, so a random plan and the recovered one may list edits differently yet mean the same.
bool same_effect(const ed::plan& a, const ed::plan& b, const gemma4_config& c) {
  const auto x = ed::coalesce(a, c), y = ed::coalesce(b, c);
  for (std::size_t l = 0; l < c.num_layers; ++l) {
    auto gx = x.layers[l].gains, gy = y.layers[l].gains;
    if (gx.empty()) gx.assign(c.layers[l].ffn_dim, 1.0f);
    if (gy.empty()) gy.assign(c.layers[l].ffn_dim, 1.0f);
    if (gx != gy || x.layers[l].silenced != y.layers[l].silenced) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("diff: random plan -> edit -> diff recovers the same plan (bf16 and f32, every variant)") {
  for (auto v : {tiny_variant::e2b, tiny_variant::moe_26b_a4b, tiny_variant::dense_31b}) {
    for (auto dt : {dtype_id::bf16, dtype_id::f32}) {
      for (std::uint32_t seed = 1; seed <= 4; ++seed) {
        CAPTURE(static_cast<int>(v));
        CAPTURE(seed);
        tiny_options o;
        o.variant = v;
        const auto base = random_model(o, 11, dt);
        auto edited = random_model(o, 11, dt);
        const auto p = random_plan(base.config(), seed);
        (void)ed::apply(edited, p);
        const auto r = ed::diff(base, edited);
        CHECK(r.others.empty());
        // gains that multiply back to exactly 1 leave no trace, as they should
        CHECK(same_effect(r.recovered, p, base.config()));
      }
    }
  }
}

TEST_CASE("diff: factors written by people come back exactly, with the op that wrote them") {
  tiny_options o;
  o.variant = tiny_variant::e2b;
  for (auto dt : {dtype_id::bf16, dtype_id::f32}) {
    const auto base = random_model(o, 12, dt);
    auto edited = random_model(o, 12, dt);
    (void)ed::apply(edited, ed::scale{10, {3, 4}, -0.8f} | ed::negate{20, {500}} | ed::strip{0, {7}});
    const auto r = ed::diff(base, edited);
    REQUIRE(r.recovered.edits.size() == 3);
    const auto j = r.recovered.to_json()["edits"];
    CHECK(j[0] == nlohmann::json::parse(R"({"op":"strip","layer":0,"neurons":[7]})"));
    CHECK(j[1]["op"] == "scale");
    CHECK(j[1]["layer"] == 10);
    CHECK(j[1]["neurons"] == nlohmann::json::parse("[3,4]"));
    CHECK(j[1]["factor"].get<float>() == -0.8f);
    CHECK(j[2] == nlohmann::json::parse(R"({"op":"negate","layer":20,"neurons":[500]})"));
  }
}

TEST_CASE("diff: identical models, and changes that are not edits") {
  tiny_options o;
  o.variant = tiny_variant::dense_31b;
  const auto a = random_model(o, 2);
  const auto b = random_model(o, 2);
  CHECK(ed::diff(a, b).identical());
  const auto c = random_model(o, 3);  // different weights everywhere
  const auto r = ed::diff(a, c);
  CHECK(!r.identical());
  CHECK(r.others.size() > 10);
  const auto j = r.to_json();
  CHECK(j["other_differences"].size() == r.others.size());
  o.variant = tiny_variant::e2b;
  CHECK_THROWS_AS((void)ed::diff(a, random_model(o, 2)), error);
}

}  // namespace ut_diff_test
