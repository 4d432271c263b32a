#pragma once
/// @file
/// @brief Reverse mode of the Gemma 4 forward pass on the CPU (f32): the gradient of one bank item's metric
/// term m = z[target] − z[contrast] (final soft-capped logits at the last position) with respect to the
/// GeGLU activations of chosen layers (the `ffn_act` hook's basis: one value per MLP neuron and position),
/// the residual stream entering chosen layers (`residual_in`) and the scaled embeddings (`embed_out`).
///
/// What is differentiated: final soft-cap, final RMSNorm, the tied unembedding (only the target and contrast
/// rows: the log-sum-exp of the log-softmax cancels), and per layer the layer scalar, the PLE injection (GELU
/// gate, projection, post norm; the PLE inputs themselves, including their context part computed from the
/// embeddings), the feed-forward block (post norms, down_proj, GeGLU, gate/up, pre norm), the MoE block
/// (experts, per-expert weights, the three extra norms, and — unless `router_gradient` is off — the router
/// through the renormalised weights of the selected experts), attention (post norm, o_proj, softmax with the
/// sliding-window mask and scale 1, RoPE of both kinds, q_norm, k_norm, weightless v_norm, GQA, k_eq_v, KV
/// sharing: gradients flow into the donor layer's K/V) and the input norms.
/// What is held fixed: the routing choice (which experts are in the top-k at each position) — the top-k
/// selection is piecewise constant, so this is the exact gradient almost everywhere. No weight gradients.
///
/// Cost: one recording forward pass plus one backward pass; the backward does the transposed product of every
/// matmul of the forward pass once (no weight gradients) and recomputes attention probabilities, so it costs
/// about one forward pass. Memory: the tape of every layer from the lowest one asked for (`detail::tape_bytes`);
/// past `max_tape_bytes` only each layer's input is kept and its tape is rebuilt just before its backward step
/// (one more forward pass in total).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "scalpel/analysis/detail/backprop_kernels.hpp"
#include "scalpel/analysis/detail/backprop_layer.hpp"
#include "scalpel/analysis/detail/backprop_tape.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/simd/matmul.hpp"
#include "scalpel/simd/ops.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

using model::vec_f32;

/// What the backward pass may reuse across calls on one model (filled lazily; pass the same object again).
struct backprop_cache {
  std::vector<std::vector<double>> down_col_sq;  ///< per layer: squared column norms of down_proj
};

struct backprop_options {
  std::vector<std::size_t> act_layers;       ///< layers whose ∂m/∂(GeGLU activation) to return
  std::vector<std::size_t> residual_layers;  ///< layers whose ∂m/∂(residual_in) to return
  bool embedding = false;         ///< also return ∂m/∂(embed_out) (through the layers and the PLE inputs)
  bool router_gradient = true;    ///< MoE: differentiate the selected experts' routing weights
  bool zeroing_estimate = false;  ///< also return d_zero for act_layers (detail::zeroing_estimate)
  std::size_t max_tape_bytes = std::size_t{4} << 30;  ///< beyond this, rebuild each layer's tape when needed
  double seed_scale = 1.0;          ///< differentiate seed_scale · m (e.g. 1/n: the item's share of the bank mean M)
  backprop_cache* cache = nullptr;  ///< optional reuse across calls (same model only)
};

struct backprop_result {
  double metric = 0.0;         ///< m = z[target] − z[contrast] from the recording forward pass (not scaled)
  std::size_t tokens = 0;      ///< T
  bool recomputed = false;     ///< tapes were rebuilt layer by layer (memory budget)
  std::vector<vec_f32> act;    ///< per act_layers entry: GeGLU activations a [T, I_l] (as the ffn_act hook sees)
  std::vector<vec_f32> d_act;  ///< per act_layers entry: seed_scale · ∂m/∂a [T, I_l]
  /// per act_layers entry (when asked): seed_scale · the norm-aware estimate of the change of m from zeroing
  /// neuron j at position t alone [T, I_l] (exact through the neuron's own post-norm, linear after it)
  std::vector<vec_f32> d_zero;
  std::vector<vec_f32> d_residual;  ///< per residual_layers entry: seed_scale · ∂m/∂(residual_in) [T, H]
  vec_f32 d_embed;                  ///< seed_scale · ∂m/∂(embed_out) [T, H] when asked
};

/// One recording forward pass and one backward pass for `ids` (fed verbatim) and the metric term of
/// (`target`, `contrast`). @throws errc::out_of_range for a token id, target, contrast or layer out of range.
inline backprop_result backprop(const model::gemma4_model& mdl, std::span<const std::int32_t> ids, std::int32_t target,
                                std::int32_t contrast, const backprop_options& o = {}) {
  const auto& c = mdl.config();
  const auto& w = mdl.weights();
  const std::size_t T = ids.size(), H = c.hidden_size, L = c.num_layers, V = c.vocab_size;
  if (T == 0) fail(errc::invalid_argument, "backprop: empty token list");
  if (T > c.max_position_embeddings)
    fail(errc::context_overflow, "backprop: " + std::to_string(T) + " tokens exceed the context limit " +
                                     std::to_string(c.max_position_embeddings));
  for (std::size_t t = 0; t < T; ++t)
    if (ids[t] < 0 || static_cast<std::size_t>(ids[t]) >= V)
      fail(errc::out_of_range, "backprop: token id " + std::to_string(ids[t]) + " at index " + std::to_string(t) +
                                   " is out of range (vocab size " + std::to_string(V) + ")");
  for (const auto id : {target, contrast})
    if (id < 0 || static_cast<std::size_t>(id) >= V)
      fail(errc::out_of_range, "backprop: target/contrast token id " + std::to_string(id) +
                                   " is out of range (vocab size " + std::to_string(V) + ")");
  std::size_t lowest = o.embedding ? 0 : L;
  for (const auto* list : {&o.act_layers, &o.residual_layers})
    for (const auto l : *list) {
      if (l >= L)
        fail(errc::out_of_range,
             "backprop: layer " + std::to_string(l) + " is out of range (the model has " + std::to_string(L) + ")");
      lowest = std::min(lowest, l);
    }

  const model::forward_tables tab(c);
  detail::tape_context cx{c, w, tab, T, {}, {}, {}};
  cx.positions.resize(T);
  for (std::size_t t = 0; t < T; ++t) cx.positions[t] = t;
  cx.kv.resize(L);

  std::size_t need = 0;
  for (std::size_t l = lowest; l < L; ++l) need += detail::tape_bytes(c, c.layers[l], T);
  backprop_result res;
  res.tokens = T;
  res.recomputed = need > o.max_tape_bytes;

  // Recording forward pass.
  vec_f32 x, x0;
  detail::tape_embed(cx, ids, x);
  if (o.embedding) x0 = x;
  std::vector<detail::layer_tape> tapes(L);
  for (std::size_t l = 0; l < L; ++l) {
    detail::tape_layer_forward(cx, l, x.data(), tapes[l], l >= lowest && !res.recomputed);
    if (l < lowest) vec_f32().swap(tapes[l].x_in);
  }

  // Output: y = RMSNorm_final(x[T−1]); u_v = E[v]·y for v ∈ {target, contrast}; z = cap·tanh(u/cap).
  const float* xl = x.data() + (T - 1) * H;
  vec_f32 y(H);
  simd::rmsnorm(xl, w.final_norm.data(), c.rms_norm_eps, H, y.data());
  const float cap = c.final_logit_softcapping;
  double du[2] = {0.0, 0.0};
  float z[2] = {0.0f, 0.0f};
  const std::int32_t tok[2] = {target, contrast};
  for (int i = 0; i < 2; ++i) {
    float u = 0.0f;
    simd::matmul(w.embed.rows_slice(static_cast<std::size_t>(tok[i]), 1), y.data(), 1, H, &u, 1);
    const double sign = i == 0 ? 1.0 : -1.0;
    if (cap > 0.0f) {
      const float inv = 1.0f / cap;
      z[i] = cap * std::tanh(u * inv);
      const double th = std::tanh(static_cast<double>(u) / static_cast<double>(cap));
      du[i] = sign * o.seed_scale * (1.0 - th * th);
    } else {
      z[i] = u;
      du[i] = sign * o.seed_scale;
    }
  }
  res.metric = static_cast<double>(z[0]) - static_cast<double>(z[1]);
  if (lowest >= L) return res;

  vec_f32 dy(H, 0.0f), row(H), dx(T * H, 0.0f);
  for (int i = 0; i < 2; ++i) {
    if (target == contrast) break;  // m ≡ 0
    w.embed.decode_row(static_cast<std::size_t>(tok[i]), row.data());
    for (std::size_t k = 0; k < H; ++k) dy[k] += static_cast<float>(du[i] * static_cast<double>(row[k]));
  }
  detail::rmsnorm_backward_acc(xl, w.final_norm.data(), c.rms_norm_eps, H, dy.data(), dx.data() + (T - 1) * H);

  // Backward pass, last layer first.
  for (std::size_t l = 0; l < L; ++l)
    if (c.layers[l].owns_kv) {
      cx.kv[l].dk.assign(T * c.layers[l].kv_dim(), 0.0f);
      cx.kv[l].dv.assign(T * c.layers[l].kv_dim(), 0.0f);
    }
  res.act.resize(o.act_layers.size());
  res.d_act.resize(o.act_layers.size());
  if (o.zeroing_estimate) res.d_zero.resize(o.act_layers.size());
  res.d_residual.resize(o.residual_layers.size());
  vec_f32 d_ple;
  if (o.embedding && c.has_ple()) d_ple.assign(T * L * c.ple_dim, 0.0f);
  vec_f32 d_act_tmp, act_tmp, d_zero_tmp;
  for (std::size_t l = L; l-- > lowest;) {
    auto& tp = tapes[l];
    if (!tp.filled) {
      vec_f32 xin = tp.x_in;
      detail::tape_layer_forward(cx, l, xin.data(), tp, true);
    }
    detail::layer_grads lg;
    lg.router_gradient = o.router_gradient;
    lg.d_ple = d_ple.empty() ? nullptr : &d_ple;
    const auto act_it = std::find(o.act_layers.begin(), o.act_layers.end(), l);
    if (act_it != o.act_layers.end()) {
      lg.d_act = &d_act_tmp;
      lg.act = &act_tmp;
      if (o.zeroing_estimate) lg.d_zero = &d_zero_tmp;
      if (o.cache != nullptr) {
        o.cache->down_col_sq.resize(L);
        lg.down_col_sq = &o.cache->down_col_sq[l];
      }
    }
    detail::layer_backward(cx, l, tp, dx.data(), lg);
    for (std::size_t i = 0; i < o.act_layers.size(); ++i) {
      if (o.act_layers[i] != l) continue;
      res.d_act[i] = d_act_tmp;
      res.act[i] = act_tmp;
      if (o.zeroing_estimate) res.d_zero[i] = d_zero_tmp;
    }
    for (std::size_t i = 0; i < o.residual_layers.size(); ++i)
      if (o.residual_layers[i] == l) res.d_residual[i] = dx;
    if (res.recomputed) tp.release();
  }

  if (o.embedding) {
    res.d_embed = dx;
    if (c.has_ple()) {
      // ple = (RMSNorm_pln(W_pmp·x0·H^−½) + E_ple[id]·√P)·2^−½ per P-slice.
      const std::size_t P = c.ple_dim, LP = L * P;
      const float hs = 1.0f / std::sqrt(static_cast<float>(H));
      const float inv_sqrt2 = 1.0f / std::sqrt(2.0f);
      vec_f32 bs(T * LP), dbs(T * LP, 0.0f), db(T * LP);
      simd::matmul(w.ple_model_proj, x0.data(), T, H, bs.data(), LP);
      simd::scale(bs.data(), hs, T * LP);
      for (std::size_t i = 0; i < T * LP; ++i) db[i] = d_ple[i] * inv_sqrt2;
      for (std::size_t i = 0; i < T * L; ++i)
        detail::rmsnorm_backward_acc(bs.data() + i * P, w.ple_proj_norm.data(), c.rms_norm_eps, P, db.data() + i * P,
                                     dbs.data() + i * P);
      simd::scale(dbs.data(), hs, T * LP);
      detail::matmul_t_acc(w.ple_model_proj, dbs.data(), T, LP, res.d_embed.data(), H);
    }
  }
  return res;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
