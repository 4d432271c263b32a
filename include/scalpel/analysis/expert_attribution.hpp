#pragma once
/// @file
/// @brief Expert attribution for MoE models (contracts.md "Localization", `scalpel attribute-experts`): for every
/// (layer, expert), how often the router picks it at the bank's loop positions and at its other positions, and
/// the exact change of M from
/// - routing exclusion (`delta_route`): the expert's router logit set to −∞ before top-k at every position, so
///   another expert takes its slot (edit::expert_mask semantics);
/// - silencing (`delta_silence`): its routing weight set to 0 at every position; it still occupies its top-k slot
///   and probability mass (edit::expert_silence semantics, = router.per_expert_scale[e] = 0).
///
/// Loop positions are the last position of each item (where the loop-continuing token is predicted); the other
/// positions of the bank prompts, except position 0 (`<bos>`), are the clean positions. `freq` = the fraction of
/// loop positions whose top-k contains the expert; `freq_clean` the same over the clean positions.
///
/// Cost: per item one forward pass, then two resumed runs (from the expert's layer on) for every (layer, expert)
/// the router selected at some position of that item. An expert never selected at a layer in an item changes
/// nothing there (excluding an unselected expert leaves the top-k and the renormalised weights as they were, up
/// to f32 rounding of the softmax, ~1e-6 of M; silencing it scales nothing) and is not run for that item.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "scalpel/analysis/bank.hpp"
#include "scalpel/analysis/detail/layer_runner.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Hook: exclude (route) or silence one expert of one layer at every position.
struct expert_ablation {
  std::size_t layer = 0;
  std::size_t expert = 0;
  bool route = true;  ///< true: router logit −∞ (exclusion); false: routing weight 0 (silencing)

  template <model::hook_point P>
  static constexpr bool wants = P == model::hook_point::router_logits || P == model::hook_point::expert_selection;
  void on(model::hook_payload& p) const noexcept {
    if (p.layer != layer) return;
    if (route && p.point == model::hook_point::router_logits) {
      for (std::size_t t = 0; t < p.data.extent(0); ++t) p.data(t, expert) = -std::numeric_limits<float>::infinity();
    } else if (!route && p.point == model::hook_point::expert_selection) {
      for (std::size_t i = 0; i < p.expert_ids.size(); ++i)
        if (static_cast<std::size_t>(p.expert_ids[i]) == expert) p.expert_weights[i] = 0.0f;
    }
  }
};

struct expert_row {
  std::size_t layer = 0, expert = 0;
  double delta_route = 0.0;    ///< M(excluded) − M
  double delta_silence = 0.0;  ///< M(silenced) − M
  double freq = 0.0;           ///< fraction of loop positions routed to it
  double freq_clean = 0.0;     ///< fraction of clean positions routed to it
};

struct expert_options {
  std::vector<std::size_t> layers;  ///< MoE layers to examine (empty = all)
  /// Called after each item with (done, total).
  std::function<void(std::size_t, std::size_t)> progress;
};

struct expert_result {
  double metric_base = 0.0;
  std::vector<expert_row> experts;  ///< ordered by min(delta_route, delta_silence), most negative first
  std::size_t loop_positions = 0, clean_positions = 0;
  std::size_t runs = 0;  ///< resumed runs done
};

/// @throws errc::unsupported for a model without MoE layers; as validate_bank; errc::out_of_range for a layer.
inline expert_result attribute_experts(const model::gemma4_model& m, const loop_bank& bank,
                                       const expert_options& o = {}) {
  const auto& c = m.config();
  validate_bank(bank, c);
  std::vector<std::size_t> layers = o.layers;
  if (layers.empty())
    for (const auto& g : c.layers)
      if (g.moe) layers.push_back(g.index);
  if (layers.empty()) fail(errc::unsupported, "attribute-experts: the model has no MoE layers");
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  for (const auto l : layers) {
    if (l >= c.num_layers)
      fail(errc::out_of_range,
           "layer " + std::to_string(l) + " is out of range (the model has " + std::to_string(c.num_layers) + ")");
    if (!c.layers[l].moe) fail(errc::invalid_argument, "layer " + std::to_string(l) + " has no MoE block");
  }
  const std::size_t E = c.num_experts, K = c.top_k_experts, L = c.num_layers, n = bank.items.size();
  std::vector<double> sum_route(L * E, 0.0), sum_silence(L * E, 0.0), loop_hits(L * E, 0.0), clean_hits(L * E, 0.0);
  expert_result res;
  const model::forward_tables tab(c);
  model::vec_f32 x;
  const detail::no_ablation* none = nullptr;
  double base = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& it = bank.items[i];
    const std::size_t T = it.ids.size();
    // Routing of the unablated pass (engine forward with a recording hook).
    std::vector<std::vector<char>> selected(L, std::vector<char>(E, 0));
    model::dynamic_hooks rec;
    rec.add(model::hook_point::expert_selection, model::dynamic_hooks::any_layer, [&](model::hook_payload& p) {
      for (std::size_t t = 0; t < p.expert_ids.size() / K; ++t)
        for (std::size_t k = 0; k < K; ++k) {
          const auto e = static_cast<std::size_t>(p.expert_ids[t * K + k]);
          if (e >= E) continue;
          selected[p.layer][e] = 1;
          if (t + 1 == T)
            loop_hits[p.layer * E + e] += 1.0;
          else if (t > 0)
            clean_hits[p.layer * E + e] += 1.0;
        }
    });
    (void)last_logits(m, it.ids, rec);
    res.loop_positions += 1;
    res.clean_positions += T >= 2 ? T - 2 : 0;

    detail::prefix_runner run(m, tab, it.ids);
    const double mb = run.metric(run.residual(L), it.target, it.contrast);
    base += mb;
    for (auto li = layers.size(); li-- > 0;) {  // latest layer first (no cache restores)
      const std::size_t l = layers[li];
      for (std::size_t e = 0; e < E; ++e) {
        if (!selected[l][e]) {
          sum_route[l * E + e] += mb;
          sum_silence[l * E + e] += mb;
          continue;
        }
        for (const bool route : {true, false}) {
          expert_ablation h{l, e, route};
          run.run_from(l, h, none, x);
          (route ? sum_route : sum_silence)[l * E + e] += run.metric(x, it.target, it.contrast);
          ++res.runs;
        }
      }
    }
    if (o.progress) o.progress(i + 1, n);
  }
  const auto nd = static_cast<double>(n);
  res.metric_base = base / nd;
  for (const auto l : layers)
    for (std::size_t e = 0; e < E; ++e) {
      expert_row r;
      r.layer = l;
      r.expert = e;
      r.delta_route = sum_route[l * E + e] / nd - res.metric_base;
      r.delta_silence = sum_silence[l * E + e] / nd - res.metric_base;
      r.freq = loop_hits[l * E + e] / static_cast<double>(res.loop_positions);
      r.freq_clean = res.clean_positions ? clean_hits[l * E + e] / static_cast<double>(res.clean_positions) : 0.0;
      res.experts.push_back(r);
    }
  std::stable_sort(res.experts.begin(), res.experts.end(), [](const expert_row& a, const expert_row& b) {
    return std::min(a.delta_route, a.delta_silence) < std::min(b.delta_route, b.delta_silence);
  });
  return res;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
