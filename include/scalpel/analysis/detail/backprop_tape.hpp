#pragma once
// IWYU pragma: private, include "scalpel/analysis/backprop.hpp"
/// @file
/// @brief The recording forward pass used by reverse mode: one Gemma 4 layer over a whole sequence (positions
/// 0 … T−1, no cache), storing what the backward pass needs in a `layer_tape`. It calls the same kernels in
/// the same order as `model::forward_chunk` (spec §2), so its activations match the engine's; the tests
/// compare the two on every variant.
///
/// What a tape holds (T tokens, H hidden, I_l MLP width, d head dim, P PLE width, K experts per token):
/// x_in [T,H] · q_raw [T,n_q·d] · k_raw/v_raw [T,n_kv·d] (owning layers) · o [T,H] (o_proj output) ·
/// r [T,H] (residual after attention) · gate, up [T,I_l] · m [T,H] (down_proj output) · MoE: s [T,H] (expert sum
/// before post_norm_2), probs [T,E], sel / w [T,K], e_gu [T·K, 2·I_e], e_y [T·K, H] · PLE: x1 [T,H], pg [T,P],
/// pp [T,H]. Everything else (normed inputs, Q after norm and RoPE, GELU values) is recomputed in the backward
/// pass: it is cheap and saves memory. K/V after norm and RoPE live in `kv_tensors`, one per owning layer.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/model/attention.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/model/ffn.hpp"
#include "scalpel/model/forward.hpp"
#include "scalpel/model/weights.hpp"
#include "scalpel/simd/matmul.hpp"
#include "scalpel/simd/ops.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis::detail {

using model::vec_f32;

/// Final K and V (after k_norm + RoPE, v_norm) of one owning layer for all T positions, and their gradients.
struct kv_tensors {
  vec_f32 k, v;    ///< [T, n_kv·d]
  vec_f32 dk, dv;  ///< [T, n_kv·d] gradient accumulators (filled by this layer and the layers sharing it)
};

/// What the backward pass of one layer needs (see the file comment for shapes).
struct layer_tape {
  bool filled = false;  ///< everything below x_in is present (false: only x_in, recompute before use)
  vec_f32 x_in;
  vec_f32 q_raw, k_raw, v_raw;
  vec_f32 o, r;
  vec_f32 gate, up, m;
  vec_f32 s, probs, w, e_gu, e_y;
  std::vector<std::int32_t> sel;
  vec_f32 x1, pg, pp;

  void release() {
    for (vec_f32* v : {&q_raw, &k_raw, &v_raw, &o, &r, &gate, &up, &m, &s, &probs, &w, &e_gu, &e_y, &x1, &pg, &pp})
      vec_f32().swap(*v);
    std::vector<std::int32_t>().swap(sel);
    filled = false;
  }
};

/// Bytes a filled tape of layer `g` takes for T tokens (an estimate used to choose full taping or recompute).
inline std::size_t tape_bytes(const model::gemma4_config& c, const model::layer_geometry& g, std::size_t T) {
  const std::size_t H = c.hidden_size;
  std::size_t n = H /*x_in*/ + g.q_dim() + (g.owns_kv ? 2 * g.kv_dim() : 0) + 2 * H /*o, r*/ + 2 * g.ffn_dim + H;
  if (g.moe) n += H + c.num_experts + 2 * c.top_k_experts + c.top_k_experts * (2 * c.moe_intermediate_size + H);
  if (c.has_ple()) n += 2 * H + c.ple_dim;
  return n * T * sizeof(float);
}

/// Everything one recorded forward pass shares across layers.
struct tape_context {
  const model::gemma4_config& c;
  const model::model_weights& w;
  const model::forward_tables& tab;
  std::size_t T = 0;
  std::vector<std::size_t> positions;  ///< 0 … T−1
  vec_f32 ple;                         ///< [T, L, P] per-layer inputs (PLE models)
  std::vector<kv_tensors> kv;          ///< per layer (allocated for owning layers)
};

/// Softmax attention of every query row of `q` [T, n_q·d] over `k`, `v` [T, n_kv·d] with the causal (and for
/// sliding layers windowed) mask; writes `out` [T, n_q·d]. Same arithmetic as model::attend.
inline void tape_attend(const model::layer_geometry& g, const float* q, const float* k, const float* v, std::size_t T,
                        float* out) {
  const std::size_t d = g.head_dim, nq = g.n_q_heads, group = g.group(), kvd = g.kv_dim();
  const auto total = static_cast<std::ptrdiff_t>(T * nq);
#if SCALPEL_HAS_OPENMP
#pragma omp parallel if (total > 1 && T * d * static_cast <std::size_t>(total) > 65536)
#endif
  {
    std::vector<float> scores;
#if SCALPEL_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t th = 0; th < total; ++th) {
      const std::size_t t = static_cast<std::size_t>(th) / nq, h = static_cast<std::size_t>(th) % nq;
      const std::size_t first = (g.window > 0 && t + 1 > g.window) ? t + 1 - g.window : 0;
      const std::size_t n = t + 1 - first;
      scores.resize(n);
      const float* qh = q + (t * nq + h) * d;
      const std::size_t kvh = h / group;
      // The same operations in the same order as model::attend, so the recording pass reproduces the engine.
      for (std::size_t j = 0; j < n; ++j) scores[j] = simd::dot(qh, k + (first + j) * kvd + kvh * d, d);
      simd::softmax(scores.data(), n);
      float* oh = out + (t * nq + h) * d;
      std::fill(oh, oh + d, 0.0f);
      for (std::size_t j = 0; j < n; ++j) simd::axpy(oh, scores[j], v + (first + j) * kvd + kvh * d, d);
    }
  }
}

/// Q after q_norm and RoPE from the stored raw projection.
inline void tape_queries(const tape_context& cx, const model::layer_geometry& g, const model::layer_weights& lw,
                         const float* q_raw, vec_f32& q) {
  q.assign(q_raw, q_raw + cx.T * g.q_dim());
  model::norm_rope_heads(q.data(), cx.T, g.n_q_heads, g, lw.attn.q_norm.data(), cx.c.rms_norm_eps, cx.positions.data(),
                         cx.tab.inv_freq[g.index].data(), true);
}

/// MoE expert branch forward (spec §2.8), recording routing and per-slot expert values. `r` [T,H] is the
/// residual entering the FFN; writes tp.s [T,H] = Σ_k w_k · y_k (before post_feedforward_layernorm_2).
inline void tape_moe(const tape_context& cx, const model::layer_weights& lw, const float* r, layer_tape& tp) {
  const auto& c = cx.c;
  const auto& mw = lw.moe;
  const std::size_t T = cx.T, H = c.hidden_size, E = c.num_experts, K = c.top_k_experts, Ie = c.moe_intermediate_size;
  const float eps = c.rms_norm_eps;
  vec_f32 rho(T * H);
  model::rmsnorm_rows(r, nullptr, eps, T, H, rho.data());
  const float hscale = 1.0f / std::sqrt(static_cast<float>(H));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < H; ++i) rho[t * H + i] *= mw.router_scale[i] * hscale;
  tp.probs.resize(T * E);
  simd::matmul(mw.router, rho.data(), T, H, tp.probs.data(), E);
  tp.sel.assign(T * K, 0);
  tp.w.assign(T * K, 0.0f);
  std::vector<std::size_t> order(E);
  for (std::size_t t = 0; t < T; ++t)
    model::route_top_k(tp.probs.data() + t * E, E, K, mw.per_expert_scale.data(), order, tp.sel.data() + t * K,
                       tp.w.data() + t * K);
  vec_f32 u2(T * H);
  model::rmsnorm_rows(r, mw.pre_norm_2.data(), eps, T, H, u2.data());
  std::vector<std::vector<std::size_t>> slots_of(E);  // slot = t·K + k, in token order
  for (std::size_t i = 0; i < T * K; ++i) slots_of[static_cast<std::size_t>(tp.sel[i])].push_back(i);
  tp.e_gu.resize(T * K * 2 * Ie);
  tp.e_y.resize(T * K * H);
  tp.s.assign(T * H, 0.0f);
  vec_f32 xin, gu, act, y;
  for (std::size_t e = 0; e < E; ++e) {
    const auto& sl = slots_of[e];
    const std::size_t n = sl.size();
    if (n == 0) continue;
    xin.resize(n * H);
    for (std::size_t i = 0; i < n; ++i) std::copy_n(u2.data() + (sl[i] / K) * H, H, xin.data() + i * H);
    gu.resize(n * 2 * Ie);
    simd::matmul(mw.expert_gate_up(e, Ie), xin.data(), n, H, gu.data(), 2 * Ie);
    act.resize(n * Ie);
    for (std::size_t i = 0; i < n; ++i)
      simd::geglu(gu.data() + i * 2 * Ie, gu.data() + i * 2 * Ie + Ie, Ie, act.data() + i * Ie);
    y.resize(n * H);
    simd::matmul(mw.expert_down(e, H), act.data(), n, Ie, y.data(), H);
    for (std::size_t i = 0; i < n; ++i) {
      std::copy_n(gu.data() + i * 2 * Ie, 2 * Ie, tp.e_gu.data() + sl[i] * 2 * Ie);
      std::copy_n(y.data() + i * H, H, tp.e_y.data() + sl[i] * H);
      simd::axpy(tp.s.data() + (sl[i] / K) * H, tp.w[sl[i]], y.data() + i * H, H);
    }
  }
}

/// One decoder layer forward over the whole sequence: `x` [T,H] enters as residual_in and leaves as
/// residual_out. Records into `tp` (x_in always; the rest when `record`), and writes this layer's K/V into
/// cx.kv[l] when it owns them.
inline void tape_layer_forward(tape_context& cx, std::size_t l, float* x, layer_tape& tp, bool record) {
  const auto& c = cx.c;
  const model::layer_geometry& g = c.layers[l];
  const model::layer_weights& lw = cx.w.layers[l];
  const std::size_t T = cx.T, H = c.hidden_size, I = g.ffn_dim;
  const float eps = c.rms_norm_eps;
  const float* inv_freq = cx.tab.inv_freq[l].data();
  tp.x_in.assign(x, x + T * H);

  // 1. attention
  vec_f32 a(T * H), tmp(T * H), q, ocat(T * g.q_dim());
  model::rmsnorm_rows(x, lw.input_norm.data(), eps, T, H, a.data());
  vec_f32 q_raw(T * g.q_dim());
  simd::matmul(lw.attn.q_proj, a.data(), T, H, q_raw.data(), g.q_dim());
  tape_queries(cx, g, lw, q_raw.data(), q);
  if (g.owns_kv) {
    auto& kv = cx.kv[l];
    vec_f32 k_raw(T * g.kv_dim()), v_raw;
    simd::matmul(lw.attn.k_proj, a.data(), T, H, k_raw.data(), g.kv_dim());
    if (g.has_v_proj) {
      v_raw.resize(T * g.kv_dim());
      simd::matmul(lw.attn.v_proj, a.data(), T, H, v_raw.data(), g.kv_dim());
    }
    kv.k = k_raw;
    kv.v = g.has_v_proj ? v_raw : k_raw;  // k_eq_v: V = v_norm(raw K)
    model::norm_rope_heads(kv.k.data(), T, g.n_kv_heads, g, lw.attn.k_norm.data(), eps, cx.positions.data(), inv_freq,
                           true);
    model::norm_rope_heads(kv.v.data(), T, g.n_kv_heads, g, nullptr, eps, cx.positions.data(), inv_freq, false);
    if (record) {
      tp.k_raw = std::move(k_raw);
      tp.v_raw = std::move(v_raw);
    }
  }
  const kv_tensors& src = cx.kv[g.kv_source];
  tape_attend(g, q.data(), src.k.data(), src.v.data(), T, ocat.data());
  simd::matmul(lw.attn.o_proj, ocat.data(), T, g.q_dim(), tmp.data(), H);
  if (record) {
    tp.q_raw = std::move(q_raw);
    tp.o = tmp;
  }
  model::rmsnorm_rows(tmp.data(), lw.post_attn_norm.data(), eps, T, H, tmp.data());
  simd::add(x, tmp.data(), T * H);
  if (record) tp.r.assign(x, x + T * H);

  // 2. feed-forward: x = r + f
  vec_f32 in(T * H), m(T * H), gate(T * I), up(T * I);
  model::rmsnorm_rows(x, lw.pre_ffn_norm.data(), eps, T, H, in.data());
  simd::matmul(lw.mlp.gate, in.data(), T, H, gate.data(), I);
  simd::matmul(lw.mlp.up, in.data(), T, H, up.data(), I);
  vec_f32 act(T * I);
  simd::geglu(gate.data(), up.data(), T * I, act.data());
  simd::matmul(lw.mlp.down, act.data(), T, I, m.data(), H);
  if (record) {
    tp.gate = std::move(gate);
    tp.up = std::move(up);
    tp.m = m;
  }
  if (!g.moe) {
    model::rmsnorm_rows(m.data(), lw.post_ffn_norm.data(), eps, T, H, tmp.data());
  } else {
    model::rmsnorm_rows(m.data(), lw.moe.post_norm_1.data(), eps, T, H, m.data());
    layer_tape moe_tp;
    layer_tape& mt = record ? tp : moe_tp;
    tape_moe(cx, lw, x, mt);
    vec_f32 f2(T * H);
    model::rmsnorm_rows(mt.s.data(), lw.moe.post_norm_2.data(), eps, T, H, f2.data());
    simd::add(m.data(), f2.data(), T * H);
    model::rmsnorm_rows(m.data(), lw.post_ffn_norm.data(), eps, T, H, tmp.data());
  }
  simd::add(x, tmp.data(), T * H);

  // 3. PLE injection
  if (c.has_ple()) {
    const std::size_t P = c.ple_dim, L = c.num_layers;
    if (record) tp.x1.assign(x, x + T * H);
    vec_f32 sel(T * P), pg(T * P), gg(T * P);
    for (std::size_t t = 0; t < T; ++t) std::copy_n(cx.ple.data() + (t * L + l) * P, P, sel.data() + t * P);
    simd::matmul(lw.ple.input_gate, x, T, H, pg.data(), P);
    simd::geglu(pg.data(), sel.data(), T * P, gg.data());
    simd::matmul(lw.ple.projection, gg.data(), T, P, tmp.data(), H);
    if (record) {
      tp.pg = std::move(pg);
      tp.pp = tmp;
    }
    model::rmsnorm_rows(tmp.data(), lw.ple.post_norm.data(), eps, T, H, tmp.data());
    simd::add(x, tmp.data(), T * H);
  }
  // 4. layer scalar
  simd::scale(x, lw.layer_scalar, T * H);
  tp.filled = record;
}

/// Embedding (× √H) and the PLE inputs for `ids`; `x` [T,H] receives the scaled embeddings.
inline void tape_embed(tape_context& cx, std::span<const std::int32_t> ids, vec_f32& x) {
  const std::size_t T = ids.size(), H = cx.c.hidden_size;
  x.resize(T * H);
  for (std::size_t t = 0; t < T; ++t) cx.w.embed.decode_row(static_cast<std::size_t>(ids[t]), x.data() + t * H);
  simd::scale(x.data(), cx.c.embed_scale(), T * H);
  if (cx.c.has_ple()) model::compute_ple(cx.c, cx.w, ids, x.data(), cx.ple);
}

}  // namespace analysis::detail
SCALPEL_END_NAMESPACE
