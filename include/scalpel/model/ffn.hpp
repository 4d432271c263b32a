#pragma once
/// @file
/// @brief Feed-forward blocks: the dense GeGLU MLP (spec §2.7) and the MoE block of 26B-A4B-like layers
/// (spec §2.8: router on the un-normalised residual, softmax over all experts, top-k, renormalise, per-expert
/// scale, fused gate_up experts, dense branch in parallel, three extra norms). Experts are dispatched grouped
/// by expert (one matmul per expert over all its tokens), so prefill is not a loop of GEMVs and the result does
/// not depend on the chunking.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/weights.hpp"
#include "scalpel/simd/matmul.hpp"
#include "scalpel/simd/ops.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// Context handed to hooks from inside a layer.
struct hook_ctx {
  std::size_t layer;
  std::span<const std::size_t> positions;
  std::span<const std::int32_t> token_ids;
};

template <hook_point P, class Hooks>
inline void fire(Hooks& hooks, const hook_ctx& ctx, float* data, std::size_t rows, std::size_t cols) {
  if constexpr (Hooks::template wants<P>) {
    hook_payload p;
    p.point = P;
    p.layer = ctx.layer;
    p.positions = ctx.positions;
    p.token_ids = ctx.token_ids;
    p.data = matrix_view<f32>(data, {rows, cols});
    hooks.on(p);
  } else {
    (void)hooks, (void)ctx, (void)data, (void)rows, (void)cols;
  }
}

/// RMSNorm applied to each of T rows of width n (in place when out == x).
inline void rmsnorm_rows(const float* x, const float* w, float eps, std::size_t T, std::size_t n, float* out) noexcept {
  for (std::size_t t = 0; t < T; ++t) simd::rmsnorm(x + t * n, w, eps, n, out + t * n);
}

/// MoE routing of one token (spec §2.8 steps 2–4): `z` [E] router logits (overwritten with softmax
/// probabilities over all experts); picks the top-k by probability (ties -> lower expert id), renormalises
/// their probabilities to sum to 1 and multiplies by the per-expert scale. `order` is scratch of size E.
inline void route_top_k(float* z, std::size_t E, std::size_t K, const float* per_expert_scale,
                        std::vector<std::size_t>& order, std::int32_t* ids, float* weights) {
  simd::softmax(z, E);
  order.resize(E);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(K), order.end(),
                    [&](std::size_t a, std::size_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
  float sum = 0.0f;
  for (std::size_t k = 0; k < K; ++k) sum += z[order[k]];
  for (std::size_t k = 0; k < K; ++k) {
    const std::size_t e = order[k];
    ids[k] = static_cast<std::int32_t>(e);
    weights[k] = (sum > 0.0f ? z[e] / sum : 0.0f) * per_expert_scale[e];
  }
}

struct ffn_scratch {
  vec_f32 gate, up, act, tmp, moe_out, router, u2;
  vec_f32 expert_y;  // [Σ_e n_e, H] routed expert outputs, grouped by expert
  std::vector<std::int32_t> sel_ids;
  std::vector<float> sel_w;
};

/// Dense GeGLU MLP: `in` [T, H] (pre-normed) -> `out` [T, H] (down_proj output, before any post-norm).
template <class Hooks>
inline void dense_mlp(const gemma4_config& c, const layer_geometry& g, const mlp_weights& w, const float* in,
                      std::size_t T, ffn_scratch& s, Hooks& hooks, const hook_ctx& ctx, float* out) {
  const std::size_t H = c.hidden_size, I = g.ffn_dim;
  s.gate.resize(T * I);
  s.up.resize(T * I);
  simd::matmul(w.gate, in, T, H, s.gate.data(), I);
  simd::matmul(w.up, in, T, H, s.up.data(), I);
  simd::geglu(s.gate.data(), s.up.data(), T * I, s.gate.data());
  fire<hook_point::ffn_act>(hooks, ctx, s.gate.data(), T, I);
  simd::matmul(w.down, s.gate.data(), T, I, out, H);
}

/// MoE branch: `r` [T, H] is the residual entering the FFN (not normalised); adds Σ_e w_e·expert_e(u) to
/// `out` [T, H] (zeroed by the caller). u = pre_feedforward_layernorm_2(r).
template <class Hooks>
inline void moe_experts(const gemma4_config& c, const moe_weights& w, const float* r, std::size_t T, ffn_scratch& s,
                        Hooks& hooks, const hook_ctx& ctx, float* out) {
  const std::size_t H = c.hidden_size, E = c.num_experts, K = c.top_k_experts, Ie = c.moe_intermediate_size;
  const float eps = c.rms_norm_eps;
  // Router: ρ = RMSNorm_∅(r) ⊙ router.scale · H^−½;  z = W_r ρ.
  s.tmp.resize(T * H);
  rmsnorm_rows(r, nullptr, eps, T, H, s.tmp.data());
  const float hscale = 1.0f / std::sqrt(static_cast<float>(H));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < H; ++i) s.tmp[t * H + i] *= w.router_scale[i] * hscale;
  s.router.resize(T * E);
  simd::matmul(w.router, s.tmp.data(), T, H, s.router.data(), E);
  fire<hook_point::router_logits>(hooks, ctx, s.router.data(), T, E);

  s.sel_ids.assign(T * K, 0);
  s.sel_w.assign(T * K, 0.0f);
  std::vector<std::size_t> order(E);
  for (std::size_t t = 0; t < T; ++t)
    route_top_k(s.router.data() + t * E, E, K, w.per_expert_scale.data(), order, s.sel_ids.data() + t * K,
                s.sel_w.data() + t * K);
  if constexpr (Hooks::template wants<hook_point::expert_selection>) {
    hook_payload p;
    p.point = hook_point::expert_selection;
    p.layer = ctx.layer;
    p.positions = ctx.positions;
    p.token_ids = ctx.token_ids;
    p.expert_ids = s.sel_ids;
    p.expert_weights = s.sel_w;
    p.top_k = K;
    hooks.on(p);
  }

  // Expert input u = RMSNorm_{pre_ffw_2}(r); dispatch grouped by expert.
  s.u2.resize(T * H);
  rmsnorm_rows(r, w.pre_norm_2.data(), eps, T, H, s.u2.data());
  std::vector<std::vector<std::size_t>> rows_of(E);
  std::vector<std::vector<float>> weight_of(E);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t k = 0; k < K; ++k) {
      const auto e = static_cast<std::size_t>(s.sel_ids[t * K + k]);
      if (e >= E) continue;  // a hook may have written an invalid id: ignore that slot
      rows_of[e].push_back(t);
      weight_of[e].push_back(s.sel_w[t * K + k]);
    }
  // Experts run in parallel, one expert per thread at a time (the busiest first), each with a single-threaded
  // matmul: one fork/join per layer instead of two per expert, and small per-expert GEMMs (≈ T·K/E tokens) keep
  // whole weight panels per thread. A matmul's result does not depend on its thread count, and the outputs are
  // added below in expert order, so the sum is bit-identical for any number of threads.
  std::vector<std::size_t> active, offset(E + 1, 0);
  for (std::size_t e = 0; e < E; ++e) {
    offset[e + 1] = offset[e] + rows_of[e].size();
    if (!rows_of[e].empty()) active.push_back(e);
  }
  std::stable_sort(active.begin(), active.end(),
                   [&](std::size_t a, std::size_t b) { return rows_of[a].size() > rows_of[b].size(); });
  s.expert_y.resize(offset[E] * H);  // expert e's outputs at rows offset[e] .. offset[e+1]
  const auto n_active = static_cast<std::ptrdiff_t>(active.size());
#if SCALPEL_HAS_OPENMP
#pragma omp parallel if (n_active > 1)
#endif
  {
    vec_f32 xin, gu, act;
#if SCALPEL_HAS_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
    for (std::ptrdiff_t a = 0; a < n_active; ++a) {
      const std::size_t e = active[static_cast<std::size_t>(a)], n = rows_of[e].size();
      xin.resize(n * H);
      for (std::size_t i = 0; i < n; ++i) std::copy_n(s.u2.data() + rows_of[e][i] * H, H, xin.data() + i * H);
      gu.resize(n * 2 * Ie);
      simd::matmul(w.expert_gate_up(e, Ie), xin.data(), n, H, gu.data(), 2 * Ie);
      act.resize(n * Ie);
      for (std::size_t i = 0; i < n; ++i)
        simd::geglu(gu.data() + i * 2 * Ie, gu.data() + i * 2 * Ie + Ie, Ie, act.data() + i * Ie);
      simd::matmul(w.expert_down(e, H), act.data(), n, Ie, s.expert_y.data() + offset[e] * H, H);
    }
  }
  for (std::size_t e = 0; e < E; ++e) {
    const std::size_t n = rows_of[e].size();
    if (n == 0) continue;
    float* y = s.expert_y.data() + offset[e] * H;
    if constexpr (Hooks::template wants<hook_point::expert_out>) {
      std::vector<std::size_t> pos(n);
      for (std::size_t i = 0; i < n; ++i) pos[i] = ctx.positions[rows_of[e][i]];
      hook_payload p;
      p.point = hook_point::expert_out;
      p.layer = ctx.layer;
      p.positions = pos;
      p.token_ids = ctx.token_ids;
      p.data = matrix_view<f32>(y, {n, H});
      p.expert = static_cast<std::int32_t>(e);
      p.token_index = rows_of[e];
      hooks.on(p);
    }
    for (std::size_t i = 0; i < n; ++i) simd::axpy(out + rows_of[e][i] * H, weight_of[e][i], y + i * H, H);
  }
}

/// The whole feed-forward block: `r` [T, H] is the residual after attention. Writes f (the block's
/// contribution, after all post-norms) to `f` [T, H]; the caller adds it to the residual.
template <class Hooks>
inline void ffn_block(const gemma4_config& c, const layer_geometry& g, const layer_weights& w, const float* r,
                      std::size_t T, ffn_scratch& s, Hooks& hooks, const hook_ctx& ctx, float* f) {
  const std::size_t H = c.hidden_size;
  const float eps = c.rms_norm_eps;
  vec_f32 in(T * H), mlp_out(T * H);
  rmsnorm_rows(r, w.pre_ffn_norm.data(), eps, T, H, in.data());
  dense_mlp(c, g, w.mlp, in.data(), T, s, hooks, ctx, mlp_out.data());
  fire<hook_point::ffn_out_raw>(hooks, ctx, mlp_out.data(), T, H);
  if (!g.moe) {
    rmsnorm_rows(mlp_out.data(), w.post_ffn_norm.data(), eps, T, H, f);
  } else {
    rmsnorm_rows(mlp_out.data(), w.moe.post_norm_1.data(), eps, T, H, mlp_out.data());
    s.moe_out.assign(T * H, 0.0f);
    moe_experts(c, w.moe, r, T, s, hooks, ctx, s.moe_out.data());
    rmsnorm_rows(s.moe_out.data(), w.moe.post_norm_2.data(), eps, T, H, s.moe_out.data());
    simd::add(mlp_out.data(), s.moe_out.data(), T * H);
    rmsnorm_rows(mlp_out.data(), w.post_ffn_norm.data(), eps, T, H, f);
  }
  fire<hook_point::ffn_out>(hooks, ctx, f, T, H);
}

}  // namespace model
SCALPEL_END_NAMESPACE
