#pragma once
// IWYU pragma: private, include "scalpel/analysis/ablation.hpp"
/// @file
/// @brief `prefix_runner`: the engine's forward pass run one layer at a time over a whole sequence, so that an
/// ablated run can resume at layer l from the stored unablated residual stream instead of starting over.
///
/// The layer body is `model::forward_chunk`'s, built from the same public pieces (`attention_block`,
/// `ffn_block`, `compute_ple`, `rmsnorm_rows`, `fire`), so a run with no ablation reproduces `model::forward`
/// bit for bit (tested). The KV cache holds the unablated K/V of every owning layer; a run from layer l rewrites
/// layers ≥ l (an ablation changes them) and leaves layers < l (and the donors they share) untouched. Before
/// each run the layers an earlier run dirtied below l are restored from a pristine copy.
///
/// Cost of a resumed run: (L − l)/L of a forward pass. Memory: the residual entering every layer, [L+1, T, H].

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/simd/matmul.hpp"
#include "scalpel/simd/ops.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Which block's contribution to the residual stream an ablation acts on.
enum class block_component : std::uint8_t {
  mlp,   ///< f in x ← r + f: the whole feed-forward block after its post-norms (MoE included; hook `ffn_out`)
  attn,  ///< RMSNorm_post_attention(o): what the attention block adds to the residual stream
};

namespace detail {

/// Called with (layer, component, contribution [T, H]) for every layer of a run (to gather means).
using contrib_observer = std::function<void(std::size_t, block_component, float*, std::size_t)>;

/// An ablation that does nothing (for plain or hook-only runs).
struct no_ablation {
  void apply(std::size_t, block_component, float*, std::size_t, std::size_t) const noexcept {}
};

class prefix_runner {
 public:
  /// Runs the unablated forward pass of `ids` (fed verbatim) and stores the residual entering every layer.
  /// `observe` (optional) sees every layer's block contributions during that pass.
  prefix_runner(const model::gemma4_model& m, const model::forward_tables& tab, std::span<const std::int32_t> ids,
                const contrib_observer* observe = nullptr)
      : m_(m), tab_(tab), ids_(ids.begin(), ids.end()) {
    const auto& c = m.config();
    const std::size_t T = ids.size(), H = c.hidden_size, V = c.vocab_size;
    if (T == 0) fail(errc::invalid_argument, "empty token list");
    for (std::size_t t = 0; t < T; ++t)
      if (ids[t] < 0 || static_cast<std::size_t>(ids[t]) >= V)
        fail(errc::out_of_range, "token id " + std::to_string(ids[t]) + " at index " + std::to_string(t) +
                                     " is out of range (vocab size " + std::to_string(V) + ")");
    positions_.resize(T);
    std::iota(positions_.begin(), positions_.end(), std::size_t{0});
    cache_ = m.make_cache(T, T);
    cache_.reserve_append(T);
    cache_.commit_append(T);
    model::vec_f32 x(T * H);
    for (std::size_t t = 0; t < T; ++t)
      m.weights().embed.decode_row(static_cast<std::size_t>(ids[t]), x.data() + t * H);
    simd::scale(x.data(), c.embed_scale(), T * H);
    if (c.has_ple()) model::compute_ple(c, m.weights(), ids_, x.data(), ple_);
    residual_.resize(c.num_layers + 1);
    model::no_hooks none;
    for (std::size_t l = 0; l < c.num_layers; ++l) {
      residual_[l] = x;
      run_layer(l, x.data(), none, static_cast<const no_ablation*>(nullptr), observe);
    }
    residual_[c.num_layers] = std::move(x);
    pristine_ = cache_;
    dirty_from_ = c.num_layers;
  }

  [[nodiscard]] std::size_t tokens() const noexcept { return ids_.size(); }
  [[nodiscard]] std::span<const std::int32_t> ids() const noexcept { return ids_; }
  /// The unablated residual entering layer l ([T, H]); l = L: the final hidden state before the final norm.
  [[nodiscard]] const model::vec_f32& residual(std::size_t l) const { return residual_[l]; }

  /// Continue the forward pass from layer `first` with `hooks` (and `abl` applied to the block contribution of
  /// its layer); writes the final hidden state [T, H] to `x`. Hooks at `embed_out` are not re-run.
  template <model::hook_set Hooks, class Ablation>
  void run_from(std::size_t first, Hooks& hooks, const Ablation* abl, model::vec_f32& x,
                const contrib_observer* observe = nullptr) {
    const auto& c = m_.config();
    if (first > c.num_layers) fail(errc::out_of_range, "prefix_runner: layer " + std::to_string(first));
    for (std::size_t l = dirty_from_; l < first; ++l) {
      if (!c.layers[l].owns_kv) continue;
      cache_.layer(l).k = pristine_.layer(l).k;
      cache_.layer(l).v = pristine_.layer(l).v;
    }
    dirty_from_ = first;
    x = residual_[first];
    for (std::size_t l = first; l < c.num_layers; ++l) run_layer(l, x.data(), hooks, abl, observe);
  }

  /// z[target] − z[contrast] at the last position of the final hidden state `x` [T, H].
  [[nodiscard]] double metric(const model::vec_f32& x, std::int32_t target, std::int32_t contrast) const {
    const auto& c = m_.config();
    const std::size_t H = c.hidden_size, T = tokens();
    model::vec_f32 y(H);
    simd::rmsnorm(x.data() + (T - 1) * H, m_.weights().final_norm.data(), c.rms_norm_eps, H, y.data());
    float z[2];
    const std::int32_t tok[2] = {target, contrast};
    for (int i = 0; i < 2; ++i) {
      simd::matmul(m_.weights().embed.rows_slice(static_cast<std::size_t>(tok[i]), 1), y.data(), 1, H, &z[i], 1);
      if (c.final_logit_softcapping > 0.0f) {
        const float cap = c.final_logit_softcapping, inv = 1.0f / cap;
        z[i] = cap * std::tanh(z[i] * inv);
      }
    }
    return static_cast<double>(z[0]) - static_cast<double>(z[1]);
  }

  /// Final soft-capped logits [T, V] of the final hidden state `x` (as model::forward with logits_mode::all).
  void logits(const model::vec_f32& x, std::vector<float>& out) const {
    const auto& c = m_.config();
    const std::size_t H = c.hidden_size, T = tokens(), V = c.vocab_size;
    model::vec_f32 y(T * H);
    model::rmsnorm_rows(x.data(), m_.weights().final_norm.data(), c.rms_norm_eps, T, H, y.data());
    out.resize(T * V);
    simd::matmul(m_.weights().embed, y.data(), T, H, out.data(), V);
    if (c.final_logit_softcapping > 0.0f) {
      const float cap = c.final_logit_softcapping, inv = 1.0f / cap;
      for (auto& v : out) v = cap * std::tanh(v * inv);
    }
  }

 private:
  /// One layer, exactly as model::forward_chunk, plus the optional contribution ablation / observer.
  template <model::hook_set Hooks, class Ablation>
  void run_layer(std::size_t l, float* x, Hooks& hooks, const Ablation* abl, const contrib_observer* observe) {
    const auto& c = m_.config();
    const auto& w = m_.weights();
    const model::layer_geometry& g = c.layers[l];
    const model::layer_weights& lw = w.layers[l];
    const std::size_t T = tokens(), H = c.hidden_size;
    a_.resize(T * H);
    tmp_.resize(T * H);
    model::hook_ctx ctx{l, positions_, ids_};
    model::fire<model::hook_point::residual_in>(hooks, ctx, x, T, H);

    model::rmsnorm_rows(x, lw.input_norm.data(), c.rms_norm_eps, T, H, a_.data());
    model::attention_block(c, g, lw.attn, a_.data(), T, positions_.data(), cache_, as_, tab_.inv_freq[l].data(),
                           tmp_.data());
    model::fire<model::hook_point::attn_out>(hooks, ctx, tmp_.data(), T, H);
    model::rmsnorm_rows(tmp_.data(), lw.post_attn_norm.data(), c.rms_norm_eps, T, H, tmp_.data());
    if (abl != nullptr) abl->apply(l, block_component::attn, tmp_.data(), T, H);
    if (observe != nullptr) (*observe)(l, block_component::attn, tmp_.data(), T);
    simd::add(x, tmp_.data(), T * H);

    model::ffn_block(c, g, lw, x, T, fs_, hooks, ctx, tmp_.data());
    if (abl != nullptr) abl->apply(l, block_component::mlp, tmp_.data(), T, H);
    if (observe != nullptr) (*observe)(l, block_component::mlp, tmp_.data(), T);
    simd::add(x, tmp_.data(), T * H);

    if (c.has_ple()) {
      const std::size_t P = c.ple_dim, L = c.num_layers;
      ple_sel_.resize(T * P);
      for (std::size_t t = 0; t < T; ++t) std::copy_n(ple_.data() + (t * L + l) * P, P, ple_sel_.data() + t * P);
      model::fire<model::hook_point::ple_in>(hooks, ctx, ple_sel_.data(), T, P);
      ple_gate_.resize(T * P);
      simd::matmul(lw.ple.input_gate, x, T, H, ple_gate_.data(), P);
      simd::geglu(ple_gate_.data(), ple_sel_.data(), T * P, ple_gate_.data());
      simd::matmul(lw.ple.projection, ple_gate_.data(), T, P, tmp_.data(), H);
      model::rmsnorm_rows(tmp_.data(), lw.ple.post_norm.data(), c.rms_norm_eps, T, H, tmp_.data());
      simd::add(x, tmp_.data(), T * H);
    }
    simd::scale(x, lw.layer_scalar, T * H);
    model::fire<model::hook_point::residual_out>(hooks, ctx, x, T, H);
  }

  const model::gemma4_model& m_;
  const model::forward_tables& tab_;
  std::vector<std::int32_t> ids_;
  std::vector<std::size_t> positions_;
  model::kv_cache cache_, pristine_;
  std::size_t dirty_from_ = 0;
  std::vector<model::vec_f32> residual_;
  model::vec_f32 ple_, a_, tmp_, ple_sel_, ple_gate_;
  model::attention_scratch as_;
  model::ffn_scratch fs_;
};

}  // namespace detail
}  // namespace analysis
SCALPEL_END_NAMESPACE
