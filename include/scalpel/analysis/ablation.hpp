#pragma once
/// @file
/// @brief Ablations and the per-layer ablation sweep (contracts.md "Localization").
///
/// - `layer_ablation`: one layer's block contribution to the residual stream — the feed-forward block's f in
///   x ← r + f (after all its post-norms, MoE included: the `ffn_out` hook's data), or the attention block's
///   RMSNorm_post_attention(o) — set to zero, replaced by its mean over a reference corpus, or scaled by α, at
///   every position. (Scaling the attention output *before* its post-norm would do nothing: RMSNorm undoes it.)
/// - `neuron_ablation`: a hook scaling chosen GeGLU activations (`ffn_act`) of one layer at every position
///   (gain 0 = zeroing, the contract's neuron ablation).
/// - `sweep_layers`: M with each layer ablated in turn, and the KL divergence of the ablated model from the
///   unablated one on a reference text. Each bank item's unablated forward pass runs once; the run with layer
///   l ablated resumes from the stored residual entering layer l (`detail::prefix_runner`), so a sweep over all
///   L layers costs about L/2 forward passes per item instead of L.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/analysis/bank.hpp"
#include "scalpel/analysis/detail/layer_runner.hpp"
#include "scalpel/analysis/logprob.hpp"
#include "scalpel/analysis/reference_text.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

enum class ablation_mode : std::uint8_t { zero, mean, scale };

constexpr std::string_view block_component_name(block_component c) noexcept {
  return c == block_component::mlp ? "mlp" : "attn";
}

/// What a layer ablation does: component × mode (× α for scale).
struct ablation_spec {
  block_component component = block_component::mlp;
  ablation_mode mode = ablation_mode::zero;
  float alpha = 0.0f;  ///< scale factor (mode scale)

  /// "zero", "mean" or "scale:α" (the CLI's --mode).
  [[nodiscard]] std::string mode_string() const {
    if (mode == ablation_mode::zero) return "zero";
    if (mode == ablation_mode::mean) return "mean";
    std::string a = std::to_string(alpha);
    while (a.size() > 1 && a.back() == '0') a.pop_back();
    if (!a.empty() && a.back() == '.') a.pop_back();
    return "scale:" + a;
  }

  /// Parse --component (mlp | attn) and --mode (zero | mean | scale:α). @throws errc::invalid_argument.
  static ablation_spec parse(std::string_view component, std::string_view mode) {
    ablation_spec s;
    if (component == "mlp") {
      s.component = block_component::mlp;
    } else if (component == "attn") {
      s.component = block_component::attn;
    } else {
      fail(errc::invalid_argument, "component must be 'mlp' or 'attn', not '" + std::string(component) + "'");
    }
    if (mode == "zero") {
      s.mode = ablation_mode::zero;
    } else if (mode == "mean") {
      s.mode = ablation_mode::mean;
    } else if (mode.substr(0, 6) == "scale:") {
      s.mode = ablation_mode::scale;
      const std::string num(mode.substr(6));
      std::size_t used = 0;
      double a = 0.0;
      try {
        a = std::stod(num, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (num.empty() || used != num.size() || !std::isfinite(a))
        fail(errc::invalid_argument, "mode 'scale:α' needs a finite number after 'scale:', not '" + num + "'");
      s.alpha = static_cast<float>(a);
    } else {
      fail(errc::invalid_argument, "mode must be 'zero', 'mean' or 'scale:α', not '" + std::string(mode) + "'");
    }
    return s;
  }
};

/// One layer's block contribution replaced at every position (see the file comment).
struct layer_ablation {
  std::size_t layer = 0;
  ablation_spec spec;
  std::span<const float> mean;  ///< [H] the replacement (mode mean)

  void apply(std::size_t l, block_component c, float* data, std::size_t T, std::size_t H) const noexcept {
    if (l != layer || c != spec.component) return;
    for (std::size_t t = 0; t < T; ++t) {
      float* row = data + t * H;
      switch (spec.mode) {
        case ablation_mode::zero:
          std::fill(row, row + H, 0.0f);
          break;
        case ablation_mode::scale:
          for (std::size_t i = 0; i < H; ++i) row[i] *= spec.alpha;
          break;
        case ablation_mode::mean:
          std::copy(mean.begin(), mean.end(), row);
          break;
      }
    }
  }
};

/// Hook: multiply the GeGLU activations of `neurons` in `layer` by `gain` at every position (0 = zeroing).
struct neuron_ablation {
  std::size_t layer = 0;
  std::vector<std::size_t> neurons;
  float gain = 0.0f;

  template <model::hook_point P>
  static constexpr bool wants = P == model::hook_point::ffn_act;
  void on(model::hook_payload& p) const noexcept {
    if (p.point != model::hook_point::ffn_act || p.layer != layer) return;
    for (std::size_t t = 0; t < p.data.extent(0); ++t)
      for (const auto j : neurons)
        if (j < p.data.extent(1)) p.data(t, j) *= gain;
  }
};

/// Mean block contributions per layer over reference sequences (every position except position 0, the
/// `<bos>` attention sink, unless a sequence has only one token).
struct block_means {
  std::vector<model::vec_f32> mlp, attn;  ///< [L][H]
  std::size_t positions = 0;              ///< positions averaged
};

inline block_means contribution_means(const model::gemma4_model& m, std::span<const std::vector<std::int32_t>> corpus) {
  const auto& c = m.config();
  const std::size_t L = c.num_layers, H = c.hidden_size;
  std::vector<std::vector<double>> acc[2];
  for (auto& a : acc) a.assign(L, std::vector<double>(H, 0.0));
  block_means out;
  const model::forward_tables tab(c);
  for (const auto& ids : corpus) {
    if (ids.empty()) continue;
    const std::size_t skip = ids.size() > 1 ? 1 : 0;
    out.positions += ids.size() - skip;
    const detail::contrib_observer obs = [&](std::size_t l, block_component comp, float* data, std::size_t T) {
      auto& dst = acc[comp == block_component::mlp ? 0 : 1][l];
      for (std::size_t t = skip; t < T; ++t)
        for (std::size_t i = 0; i < H; ++i) dst[i] += static_cast<double>(data[t * H + i]);
    };
    detail::prefix_runner run(m, tab, ids, &obs);
  }
  if (out.positions == 0) fail(errc::invalid_argument, "mean ablation: the reference corpus is empty");
  for (int k = 0; k < 2; ++k) {
    auto& dst = k == 0 ? out.mlp : out.attn;
    dst.assign(L, model::vec_f32(H));
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t i = 0; i < H; ++i)
        dst[l][i] = static_cast<float>(acc[k][l][i] / static_cast<double>(out.positions));
  }
  return out;
}

struct sweep_options {
  ablation_spec spec;
  std::vector<std::size_t> layers;   ///< layers to ablate (empty = all)
  std::vector<std::int32_t> kl_ids;  ///< reference text for the KL column (empty = no KL)
  /// Sequences whose positions define the mean (mode mean); empty = the bank prompts.
  std::vector<std::vector<std::int32_t>> mean_corpus;
  /// Called after each item (and after the KL text) with (done, total).
  std::function<void(std::size_t, std::size_t)> progress;
};

struct sweep_row {
  std::size_t layer = 0;
  double metric = 0.0;       ///< M with this layer ablated
  double delta = 0.0;        ///< metric − metric_base
  std::optional<double> kl;  ///< mean KL(unablated ‖ ablated) over the reference text's positions, nats
};

struct sweep_result {
  double metric_base = 0.0;
  std::vector<sweep_row> layers;
  std::size_t kl_tokens = 0;       ///< positions of the KL text
  std::size_t mean_positions = 0;  ///< positions the means were taken over (mode mean)
};

/// The per-layer ablation sweep. @throws as validate_bank; errc::out_of_range for a layer ≥ L.
inline sweep_result sweep_layers(const model::gemma4_model& m, const loop_bank& bank, const sweep_options& o) {
  const auto& c = m.config();
  validate_bank(bank, c);
  std::vector<std::size_t> layers = o.layers;
  if (layers.empty()) {
    layers.resize(c.num_layers);
    for (std::size_t l = 0; l < c.num_layers; ++l) layers[l] = l;
  }
  for (const auto l : layers)
    if (l >= c.num_layers)
      fail(errc::out_of_range,
           "layer " + std::to_string(l) + " is out of range (the model has " + std::to_string(c.num_layers) + ")");
  // Descending order: a resumed run dirties only layers ≥ its start, so nothing needs restoring.
  std::vector<std::size_t> order = layers;
  std::sort(order.rbegin(), order.rend());

  sweep_result res;
  block_means means;
  if (o.spec.mode == ablation_mode::mean) {
    std::vector<std::vector<std::int32_t>> corpus = o.mean_corpus;
    if (corpus.empty())
      for (const auto& it : bank.items) corpus.push_back(it.ids);
    means = contribution_means(m, corpus);
    res.mean_positions = means.positions;
  }
  auto ablation_for = [&](std::size_t l) {
    layer_ablation a{l, o.spec, {}};
    if (o.spec.mode == ablation_mode::mean)
      a.mean = o.spec.component == block_component::mlp ? std::span<const float>(means.mlp[l])
                                                        : std::span<const float>(means.attn[l]);
    return a;
  };

  const model::forward_tables tab(c);
  std::vector<double> sum(c.num_layers, 0.0);
  double base = 0.0;
  const std::size_t total = bank.items.size() + (o.kl_ids.empty() ? 0 : 1);
  model::no_hooks none;
  model::vec_f32 x;
  for (std::size_t i = 0; i < bank.items.size(); ++i) {
    const auto& it = bank.items[i];
    detail::prefix_runner run(m, tab, it.ids);
    base += run.metric(run.residual(c.num_layers), it.target, it.contrast);
    for (const auto l : order) {
      const layer_ablation a = ablation_for(l);
      run.run_from(l, none, &a, x);
      sum[l] += run.metric(x, it.target, it.contrast);
    }
    if (o.progress) o.progress(i + 1, total);
  }
  const auto n = static_cast<double>(bank.items.size());
  res.metric_base = base / n;
  std::vector<std::optional<double>> kl(c.num_layers);
  if (!o.kl_ids.empty()) {
    detail::prefix_runner run(m, tab, o.kl_ids);
    std::vector<float> zb, za;
    run.logits(run.residual(c.num_layers), zb);
    for (const auto l : order) {
      const layer_ablation a = ablation_for(l);
      run.run_from(l, none, &a, x);
      run.logits(x, za);
      kl[l] = mean_kl(zb, za, c.vocab_size);
    }
    res.kl_tokens = o.kl_ids.size();
    if (o.progress) o.progress(total, total);
  }
  for (const auto l : layers) res.layers.push_back({l, sum[l] / n, sum[l] / n - res.metric_base, kl[l]});
  return res;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
