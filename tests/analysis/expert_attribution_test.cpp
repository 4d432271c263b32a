// Expert attribution: exact ΔM for routing exclusion and silencing of every (layer, expert) agrees with brute
// force (edit::plan_hooks with expert_mask / expert_silence through the engine's forward pass), and routing
// frequencies agree with a direct count.
#include "scalpel/analysis/expert_attribution.hpp"

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "localization_test_util.hpp"
#include "scalpel/edit.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_expert_attribution_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace an = scalpel::analysis;
namespace ed = scalpel::edit;

TEST_CASE("expert attribution: exclusion and silencing deltas agree with brute force (edit plans)") {
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::moe_26b_a4b, .num_layers = 4}, 31, dtype_id::f32);
  const auto& c = m.config();
  const auto bank = loc_test::random_bank(m, 2, 9, 3);
  std::size_t calls = 0;
  an::expert_options o;
  o.progress = [&](std::size_t, std::size_t) { ++calls; };
  const auto r = an::attribute_experts(m, bank, o);
  CHECK(calls == 2);
  const double m0 = an::bank_metric(m, bank);
  CHECK(r.metric_base == doctest::Approx(m0).epsilon(1e-12));
  REQUIRE(r.experts.size() == c.num_layers * c.num_experts);
  CHECK(r.loop_positions == 2);
  CHECK(r.clean_positions == (9 - 2) + (10 - 2));
  double freq_total = 0.0;
  std::size_t nonzero = 0;
  for (std::size_t k = 0; k < r.experts.size(); ++k) {
    const auto& row = r.experts[k];
    CAPTURE(row.layer);
    CAPTURE(row.expert);
    if (k > 0)
      CHECK(std::min(r.experts[k - 1].delta_route, r.experts[k - 1].delta_silence) <=
            std::min(row.delta_route, row.delta_silence));
    ed::plan mask, silence;
    mask.add(ed::expert_mask{row.layer, {row.expert}});
    silence.add(ed::expert_silence{row.layer, {row.expert}});
    ed::plan_hooks hm(mask, c), hs(silence, c);
    const double brute_route = loc_test::brute_metric(m, bank, hm) - m0;
    const double brute_silence = loc_test::brute_metric(m, bank, hs) - m0;
    // Selected experts: the same computation. Experts the router never picked in an item are not run (delta 0
    // there); brute force gives 0 up to f32 rounding of the renormalised weights (~1e-6 of M).
    CHECK(std::fabs(row.delta_route - brute_route) <= 2e-5 + 1e-6 * std::fabs(brute_route));
    CHECK(std::fabs(row.delta_silence - brute_silence) <= 2e-5 + 1e-6 * std::fabs(brute_silence));
    nonzero += (row.delta_route != 0.0 || row.delta_silence != 0.0) ? 1 : 0;
    freq_total += row.freq;
  }
  CHECK(nonzero > 10);  // the ablations do something
  // each loop position routes to exactly top_k experts per layer
  CHECK(freq_total == doctest::Approx(static_cast<double>(c.num_layers * c.top_k_experts)));

  // frequencies: a direct count
  std::vector<double> loop(c.num_layers * c.num_experts, 0.0), clean(c.num_layers * c.num_experts, 0.0);
  for (const auto& it : bank.items) {
    dynamic_hooks h;
    h.add(hook_point::expert_selection, dynamic_hooks::any_layer, [&](hook_payload& p) {
      const std::size_t T = p.expert_ids.size() / p.top_k;
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t k = 0; k < p.top_k; ++k) {
          const auto e = static_cast<std::size_t>(p.expert_ids[t * p.top_k + k]);
          if (t + 1 == T)
            loop[p.layer * c.num_experts + e] += 1.0 / 2.0;
          else if (t > 0)
            clean[p.layer * c.num_experts + e] += 1.0 / 15.0;
        }
    });
    (void)an::last_logits(m, it.ids, h);
  }
  for (const auto& row : r.experts) {
    CHECK(row.freq == doctest::Approx(loop[row.layer * c.num_experts + row.expert]));
    CHECK(row.freq_clean == doctest::Approx(clean[row.layer * c.num_experts + row.expert]));
  }
}

TEST_CASE("expert attribution: a chosen layer, and errors") {
  simd::set_num_threads(1);
  const auto moe = random_model({.variant = tiny_variant::moe_26b_a4b, .num_layers = 3}, 2, dtype_id::f32);
  const auto bank = loc_test::random_bank(moe, 1, 6, 1);
  an::expert_options o;
  o.layers = {1};
  const auto r = an::attribute_experts(moe, bank, o);
  CHECK(r.experts.size() == moe.config().num_experts);
  for (const auto& row : r.experts) CHECK(row.layer == 1);
  o.layers = {3};
  CHECK_THROWS_WITH_AS(an::attribute_experts(moe, bank, o), doctest::Contains("out of range"), scalpel::error);
  const auto dense = random_model({.variant = tiny_variant::dense_31b, .num_layers = 2}, 2);
  CHECK_THROWS_WITH_AS(an::attribute_experts(dense, loc_test::random_bank(dense, 1, 4, 1)),
                       doctest::Contains("no MoE layers"), scalpel::error);
}

}  // namespace ut_expert_attribution_test
