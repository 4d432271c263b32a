// 06_expert_mask: the two meanings of "masking" a routed expert of a Mixture-of-Experts model (Gemma 4 26B-A4B),
// with routing statistics from the `expert_selection` hook.
//
//   usage: 06_expert_mask [MODEL]
//     MODEL  a 26B-A4B-architecture checkpoint (e.g. `scalpel make-tiny --variant 26b-a4b --out DIR`); without
//            one, a random tiny 26B-A4B-architecture model with 6 layers is built in memory.
//
// Each MoE layer's router scores every expert per token, keeps the top k, renormalises their probabilities and
// multiplies by a per-expert scale. Two edits remove an expert, and they are not the same:
//   routing exclusion (edit::expert_mask): the router logit is set to −∞ before top-k, so the expert is never
//     selected and another expert takes its slot and probability mass. Run time only: no weight edit can do this
//     (the router has no bias), so `edit::apply(m, edit::expert_mask{...})` does not compile.
//   silencing (edit::expert_silence): the expert's per-expert scale becomes 0. It is still selected — it keeps
//     its slot and the others keep their weights — but contributes nothing. Static or at run time.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "scalpel/core/error.hpp"
#include "scalpel/edit/apply.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/edit/policies.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/model/random_model.hpp"

namespace {
using namespace scalpel;

// Observer at `expert_selection`: per layer, how many top-k slots each expert took and its total weight.
struct routing_stats {
  template <model::hook_point P>
  static constexpr bool wants = P == model::hook_point::expert_selection;

  std::size_t experts = 0;
  std::vector<std::vector<std::size_t>> count{};  // [layer][expert]
  std::vector<std::vector<double>> weight{};      // [layer][expert]
  std::vector<std::vector<std::int32_t>> ids{};   // [layer]: every selection, in token order

  void on(model::hook_payload& p) {
    if (count.size() <= p.layer) count.resize(p.layer + 1), weight.resize(p.layer + 1), ids.resize(p.layer + 1);
    count[p.layer].resize(experts, 0);
    weight[p.layer].resize(experts, 0.0);
    for (std::size_t i = 0; i < p.expert_ids.size(); ++i) {  // [tokens × k], row-major by token
      const auto e = static_cast<std::size_t>(p.expert_ids[i]);
      ++count[p.layer][e];
      weight[p.layer][e] += static_cast<double>(p.expert_weights[i]);
      ids[p.layer].push_back(p.expert_ids[i]);
    }
  }
};

// Run the prompt with `edit_hooks` (or none) and an observer; returns the logits [T × V].
template <class EditHooks>
std::vector<float> run(const model::gemma4_model& m, const std::vector<std::int32_t>& ids, EditHooks* edit_hooks,
                       routing_stats& stats) {
  std::vector<float> logits;
  model::kv_cache cache = m.make_cache(ids.size());
  if (edit_hooks) {
    model::hook_pair<EditHooks, routing_stats> both{*edit_hooks, stats};  // the edit first, then the observer
    m.forward(ids, cache, logits, model::logits_mode::all, both);
  } else {
    m.forward(ids, cache, logits, model::logits_mode::all, stats);
  }
  return logits;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2) {
    std::fprintf(stderr, "usage: %s [MODEL]\n", argv[0]);
    return 2;
  }
  try {
    std::optional<model::gemma4_model> loaded;
    if (argc > 1)
      loaded.emplace(model::load_model(argv[1]));
    else
      loaded.emplace(model::random_model({.variant = model::tiny_variant::moe_26b_a4b, .num_layers = 6}, 11));
    model::gemma4_model& m = *loaded;
    const model::gemma4_config& cfg = m.config();
    if (!cfg.enable_moe_block) fail(errc::invalid_argument, m.source() + " has no routed experts (not 26B-A4B)");
    const std::size_t E = cfg.num_experts, K = cfg.top_k_experts;
    std::vector<std::int32_t> ids = {2};
    for (std::int32_t k = 1; k < 48; ++k) ids.push_back((131 * k + 7) % static_cast<std::int32_t>(cfg.vocab_size));
    const std::size_t slots = ids.size() * K;
    std::printf("model: %s: %zu layers, %zu experts, top-%zu; %zu tokens = %zu slots per layer\n", m.source().c_str(),
                cfg.num_layers, E, K, ids.size(), slots);

    // ---- 1. Base routing. Pick layer 1 and its busiest expert.
    routing_stats base{.experts = E};
    const std::vector<float> base_logits = run<edit::plan_hooks>(m, ids, nullptr, base);
    const std::size_t layer = 1;
    const auto& bc = base.count[layer];
    const std::size_t ex = static_cast<std::size_t>(std::max_element(bc.begin(), bc.end()) - bc.begin());
    std::printf("layer %zu: expert %zu is the busiest (%zu of %zu slots)\n", layer, ex, bc[ex], slots);

    // ---- 2. The two edits at run time (plan_hooks validates: an exclusion must leave >= k experts).
    edit::plan exclude, silence;
    exclude.add(edit::expert_mask{layer, {ex}});
    silence.add(edit::expert_silence{layer, {ex}});
    edit::plan_hooks exclude_hooks(exclude, cfg), silence_hooks(silence, cfg);
    routing_stats excl{.experts = E}, sil{.experts = E}, sil_static{.experts = E};
    run(m, ids, &exclude_hooks, excl);
    const std::vector<float> sil_logits = run(m, ids, &silence_hooks, sil);

    // ---- 3. Silencing as a static weight edit (router.per_expert_scale[ex] = 0), then undone.
    static_assert(!edit::weight_edit<edit::expert_mask> && edit::weight_edit<edit::expert_silence>);
    edit::journal j = edit::apply(m, edit::expert_silence{layer, {ex}});
    const std::vector<float> static_logits = run<edit::plan_hooks>(m, ids, nullptr, sil_static);
    j.revert(m);

    // ---- 4. Routing statistics of the edited layer: slots taken (and routing weight) per expert.
    std::printf("\nlayer %zu   slots: base  excluded  silenced    weight: base  excluded  silenced\n", layer);
    for (std::size_t e = 0; e < E; ++e)
      std::printf("expert %3zu        %5zu  %8zu  %8zu          %6.2f  %8.2f  %8.2f%s\n", e, bc[e],
                  excl.count[layer][e], sil.count[layer][e], base.weight[layer][e], excl.weight[layer][e],
                  sil.weight[layer][e], e == ex ? "   <- edited" : "");
    // Later layers see a different residual stream, so their routing shifts too.
    std::printf("\nselections that differ from the base, per layer (exclusion / silencing):\n");
    for (std::size_t l = 0; l < cfg.num_layers; ++l) {
      std::size_t dx = 0, ds = 0;
      for (std::size_t i = 0; i < base.ids[l].size(); ++i) {
        dx += static_cast<std::size_t>(excl.ids[l][i] != base.ids[l][i]);
        ds += static_cast<std::size_t>(sil.ids[l][i] != base.ids[l][i]);
      }
      std::printf("  layer %2zu: %4zu / %4zu of %zu\n", l, dx, ds, slots);
    }

    // ---- 5. What must hold.
    const bool never = excl.count[layer][ex] == 0;
    const bool kept = sil.ids[layer] == base.ids[layer] && sil.weight[layer][ex] == 0.0;
    float d = 0.0f;
    for (std::size_t i = 0; i < sil_logits.size(); ++i) d = std::max(d, std::abs(sil_logits[i] - static_logits[i]));
    float moved = 0.0f;
    for (std::size_t i = 0; i < sil_logits.size(); ++i)
      moved = std::max(moved, std::abs(sil_logits[i] - base_logits[i]));
    std::printf("\nexclusion: expert %zu never selected in layer %zu, its slots taken by others: %s\n", ex, layer,
                never ? "yes" : "NO");
    std::printf("silencing: same selections in layer %zu, expert %zu has zero weight: %s\n", layer, ex,
                kept ? "yes" : "NO");
    std::printf("silencing moves the logits by max |Δ| = %.4g\n", static_cast<double>(moved));
    std::printf("static vs run-time silencing: max |Δ| = %.3g\n", static_cast<double>(d));
    return never && kept && d <= 1e-5f ? 0 : 1;
  } catch (const error& e) {
    std::fprintf(stderr, "06_expert_mask: %s\n", e.what());
    return 1;
  }
}
