#pragma once
/// @file
/// @brief Neuron attribution (contracts.md "Localization", `scalpel attribute`): which MLP neurons, zeroed at
/// every position, lower the bank metric M the most.
///
/// Sign convention. For neuron j of layer l with GeGLU activation a_j(t) at position t of item i (the
/// `ffn_act` hook's value), zeroing it changes M by Δ_j = M(a_j ≡ 0) − M. The first-order estimate is
///   score_j = Σ_i (1/n) Σ_t (0 − a_j(t)) · ∂m_i/∂a_j(t) = −Σ_i (1/n) Σ_t a_j(t) · ∂m_i/∂a_j(t)
/// (gradient × activation, summed over positions, averaged over the n items), so score and exact_delta are
/// in the same units and a negative value means "zeroing this neuron weakens the loop". All neurons of the
/// chosen layers are scored by one backward pass per item (analysis/backprop.hpp).
///
/// The blind spot of gradient × activation: the MLP output goes through its post-norm (RMSNorm, scale-invariant)
/// first, so a neuron that dominates its layer's output has ∂M/∂a ≈ 0 however much M depends on it (the demo
/// model's planted neuron is such a neuron). The same backward pass therefore also gives `score_norm`, the
/// change estimated exactly through the neuron's own post-norm and linearly after it (summed over positions;
/// see detail::zeroing_estimate). Candidates for exact re-scoring are taken alternately from the two rankings
/// (most negative first) until `exact` distinct neurons are chosen; they are re-scored by exact ablation (the
/// neuron's activation set to zero at every position via a hook, M recomputed; each run resumes from the stored
/// residual entering its layer) and listed first, ordered by exact_delta. The list is filled up to `top` with
/// the remaining neurons of best score, ordered by score, with no exact_delta.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "scalpel/analysis/ablation.hpp"
#include "scalpel/analysis/backprop.hpp"
#include "scalpel/analysis/bank.hpp"
#include "scalpel/analysis/detail/layer_runner.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

struct attribute_options {
  std::vector<std::size_t> layers;  ///< layers to score (empty = all)
  std::size_t top = 20;             ///< neurons listed
  std::size_t exact = 10;           ///< of those, how many are re-scored by exact ablation (≤ top)
  bool per_position = false;        ///< list each (item, position) term of the score of the listed neurons
  bool router_gradient = true;      ///< see backprop_options
  std::size_t max_tape_bytes = std::size_t{4} << 30;  ///< see backprop_options
  /// Progress: (stage "gradient" | "exact" | "positions", done, total).
  std::function<void(std::string_view, std::size_t, std::size_t)> progress;
};

/// One term of a neuron's score: −(1/n)·a_j(t)·∂m_i/∂a_j(t) for item i, position t.
struct position_term {
  std::size_t item = 0, position = 0;
  double score = 0.0;
};

struct neuron_score {
  std::size_t layer = 0, neuron = 0;
  double score = 0.0;                       ///< gradient × activation estimate of M(zeroed) − M
  double score_norm = 0.0;                  ///< the norm-aware estimate of M(zeroed) − M
  std::optional<double> exact_delta;        ///< M(zeroed) − M, when re-scored
  std::vector<position_term> per_position;  ///< when asked
};

struct attribution_result {
  double metric_base = 0.0;           ///< M of the unedited model (engine forward pass)
  std::vector<neuron_score> neurons;  ///< ranked (see the file comment)
  std::size_t neurons_scored = 0;     ///< every neuron of the chosen layers
  bool recomputed = false;            ///< some backward pass rebuilt tapes (memory budget)
  double forward_seconds = 0.0;       ///< one engine forward pass over the bank (metric_base)
  double gradient_seconds = 0.0;      ///< recording forward + backward passes over the bank
  double exact_seconds = 0.0;         ///< exact re-scoring
};

/// Exact ΔM for zeroing each of `cands` (layer, neuron) at every position: mean over items of the resumed run.
inline std::vector<double> exact_neuron_deltas(const model::gemma4_model& m, const loop_bank& bank,
                                               const std::vector<std::pair<std::size_t, std::size_t>>& cands,
                                               double metric_base,
                                               const std::function<void(std::size_t, std::size_t)>& progress = {}) {
  const auto& c = m.config();
  std::vector<std::size_t> order(cands.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  // Latest layer first: each resumed run then only dirties layers an earlier run already rewrote.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cands[a].first > cands[b].first; });
  std::vector<double> sum(cands.size(), 0.0);
  const model::forward_tables tab(c);
  model::vec_f32 x;
  const detail::no_ablation* none = nullptr;
  for (std::size_t i = 0; i < bank.items.size(); ++i) {
    const auto& it = bank.items[i];
    detail::prefix_runner run(m, tab, it.ids);
    for (const auto k : order) {
      neuron_ablation h{cands[k].first, {cands[k].second}, 0.0f};
      run.run_from(cands[k].first, h, none, x);
      sum[k] += run.metric(x, it.target, it.contrast);
    }
    if (progress) progress(i + 1, bank.items.size());
  }
  std::vector<double> out(cands.size());
  for (std::size_t k = 0; k < cands.size(); ++k) out[k] = sum[k] / static_cast<double>(bank.items.size()) - metric_base;
  return out;
}

/// Score every MLP neuron of the chosen layers and re-score the best candidates exactly.
/// @throws as validate_bank; errc::out_of_range for a layer ≥ L.
inline attribution_result attribute_neurons(const model::gemma4_model& m, const loop_bank& bank,
                                            const attribute_options& o = {}) {
  using clock = std::chrono::steady_clock;
  const auto& c = m.config();
  validate_bank(bank, c);
  std::vector<std::size_t> layers = o.layers;
  if (layers.empty())
    for (std::size_t l = 0; l < c.num_layers; ++l) layers.push_back(l);
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  for (const auto l : layers)
    if (l >= c.num_layers)
      fail(errc::out_of_range,
           "layer " + std::to_string(l) + " is out of range (the model has " + std::to_string(c.num_layers) + ")");
  const std::size_t n = bank.items.size();
  attribution_result res;

  // Gradient × activation over the bank.
  backprop_options bo;
  bo.act_layers = layers;
  bo.router_gradient = o.router_gradient;
  bo.max_tape_bytes = o.max_tape_bytes;
  bo.seed_scale = 1.0 / static_cast<double>(n);
  bo.zeroing_estimate = true;
  backprop_cache cache;
  bo.cache = &cache;
  std::vector<std::vector<double>> score(layers.size()), score_norm(layers.size());
  for (std::size_t li = 0; li < layers.size(); ++li) {
    score[li].assign(c.layers[layers[li]].ffn_dim, 0.0);
    score_norm[li].assign(c.layers[layers[li]].ffn_dim, 0.0);
  }
  auto t0 = clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& it = bank.items[i];
    const auto g = backprop(m, it.ids, it.target, it.contrast, bo);
    res.recomputed = res.recomputed || g.recomputed;
    for (std::size_t li = 0; li < layers.size(); ++li) {
      const std::size_t I = score[li].size();
      for (std::size_t t = 0; t < g.tokens; ++t)
        for (std::size_t j = 0; j < I; ++j) {
          score[li][j] -= static_cast<double>(g.act[li][t * I + j]) * static_cast<double>(g.d_act[li][t * I + j]);
          score_norm[li][j] += static_cast<double>(g.d_zero[li][t * I + j]);
        }
    }
    if (o.progress) o.progress("gradient", i + 1, n);
  }
  res.gradient_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  // M0 with the engine's forward pass (timed after the gradient pass, so both see warm caches and threads).
  t0 = clock::now();
  res.metric_base = bank_metric(m, bank);
  res.forward_seconds = std::chrono::duration<double>(clock::now() - t0).count();

  // Candidates: alternately the best by score and by score_norm; then fill the list by score.
  std::vector<neuron_score> all;
  for (std::size_t li = 0; li < layers.size(); ++li)
    for (std::size_t j = 0; j < score[li].size(); ++j)
      all.push_back({layers[li], j, score[li][j], score_norm[li][j], std::nullopt, {}});
  res.neurons_scored = all.size();
  const std::size_t top = std::min(o.top, all.size()), n_exact = std::min(o.exact, top);
  auto ranked = [&](auto key) {
    std::vector<std::size_t> idx(all.size());
    for (std::size_t k = 0; k < idx.size(); ++k) idx[k] = k;
    const std::size_t want = std::min(idx.size(), top + n_exact);
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(want), idx.end(),
                      [&](std::size_t a, std::size_t b) {
                        return key(all[a]) < key(all[b]) || (key(all[a]) == key(all[b]) && a < b);
                      });
    idx.resize(want);
    return idx;
  };
  const auto by_score = ranked([](const neuron_score& s) { return s.score; });
  const auto by_norm = ranked([](const neuron_score& s) { return s.score_norm; });
  std::vector<std::size_t> pick;
  std::vector<bool> taken(all.size(), false);
  for (std::size_t k = 0; pick.size() < n_exact && k < by_score.size(); ++k)
    for (const auto* list : {&by_score, &by_norm})
      if (pick.size() < n_exact && !taken[(*list)[k]]) {
        taken[(*list)[k]] = true;
        pick.push_back((*list)[k]);
      }
  std::vector<neuron_score> listed;
  listed.reserve(std::max(top, pick.size()));
  for (const auto k : pick) listed.push_back(all[k]);
  for (std::size_t k = 0; listed.size() < top && k < by_score.size(); ++k)
    if (!taken[by_score[k]]) {
      taken[by_score[k]] = true;
      listed.push_back(all[by_score[k]]);
    }

  // Exact re-scoring of the candidates.
  t0 = clock::now();
  if (n_exact > 0) {
    std::vector<std::pair<std::size_t, std::size_t>> cands;
    for (std::size_t k = 0; k < n_exact; ++k) cands.emplace_back(listed[k].layer, listed[k].neuron);
    std::function<void(std::size_t, std::size_t)> pr;
    if (o.progress) pr = [&](std::size_t d, std::size_t t) { o.progress("exact", d, t); };
    const auto d = exact_neuron_deltas(m, bank, cands, res.metric_base, pr);
    for (std::size_t k = 0; k < n_exact; ++k) listed[k].exact_delta = d[k];
    std::stable_sort(listed.begin(), listed.begin() + static_cast<std::ptrdiff_t>(n_exact),
                     [](const neuron_score& a, const neuron_score& b) { return *a.exact_delta < *b.exact_delta; });
  }
  res.exact_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  // Per-position terms of the listed neurons (a second gradient pass: storing every neuron's terms would not fit).
  if (o.per_position && !listed.empty()) {
    std::vector<std::size_t> need;
    need.reserve(listed.size());
    for (const auto& s : listed) need.push_back(s.layer);
    std::sort(need.begin(), need.end());
    need.erase(std::unique(need.begin(), need.end()), need.end());
    bo.act_layers = need;
    bo.zeroing_estimate = false;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& it = bank.items[i];
      const auto g = backprop(m, it.ids, it.target, it.contrast, bo);
      for (auto& s : listed) {
        const std::size_t li = static_cast<std::size_t>(std::find(need.begin(), need.end(), s.layer) - need.begin());
        const std::size_t I = c.layers[s.layer].ffn_dim;
        for (std::size_t t = 0; t < g.tokens; ++t)
          s.per_position.push_back(
              {i, t,
               -static_cast<double>(g.act[li][t * I + s.neuron]) * static_cast<double>(g.d_act[li][t * I + s.neuron])});
      }
      if (o.progress) o.progress("positions", i + 1, n);
    }
  }
  res.neurons = std::move(listed);
  return res;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
