#pragma once
// IWYU pragma: private, include "scalpel/analysis/backprop.hpp"
/// @file
/// @brief The backward pass of one Gemma 4 decoder layer (the transpose of `tape_layer_forward`): layer scalar,
/// PLE injection, the feed-forward block (dense GeGLU, or dense + MoE with the routing choice held fixed), the
/// attention block (post norm, o_proj, softmax attention with the sliding-window mask, q_norm / k_norm /
/// weightless v_norm, RoPE, GQA, k_eq_v, KV sharing) and the input norm.
///
/// KV sharing: a shared layer's attention adds its K/V gradients to the donor's accumulators
/// (`kv_tensors::dk/dv`); the donor consumes them when the backward pass reaches it (donors come earlier, so
/// every contribution has arrived by then).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "scalpel/analysis/detail/backprop_kernels.hpp"
#include "scalpel/analysis/detail/backprop_tape.hpp"
#include "scalpel/config.hpp"
#include "scalpel/simd/ops.hpp"

#if SCALPEL_HAS_OPENMP
#include <omp.h>
#endif

SCALPEL_BEGIN_NAMESPACE
namespace analysis::detail {

/// Per-layer outputs of the backward pass that callers may ask for.
struct layer_grads {
  vec_f32* d_act = nullptr;   ///< if set: receives ∂M/∂(GeGLU activation) [T, I_l] (the ffn_act hook's basis)
  vec_f32* act = nullptr;     ///< if set: receives the GeGLU activations [T, I_l]
  vec_f32* d_zero = nullptr;  ///< if set: receives the norm-aware zeroing estimate [T, I_l] (see zeroing_estimate)
  std::vector<double>* down_col_sq = nullptr;  ///< column norms² of down_proj (computed here when empty; reused)
  vec_f32* d_ple = nullptr;                    ///< if set: accumulates ∂M/∂(PLE input of this layer) into [T, L, P]
  bool router_gradient = true;                 ///< include the gradient through the selected experts' routing weights
};

/// Σ_r W[r, c]² for every column c of W [rows, cols].
inline std::vector<double> column_sq_norms(const matrix_ref& w) {
  std::vector<double> out(w.cols(), 0.0);
  std::vector<float> row(w.cols());
  for (std::size_t r = 0; r < w.rows(); ++r) {
    w.decode_row(r, row.data());
    for (std::size_t c = 0; c < w.cols(); ++c) out[c] += static_cast<double>(row[c]) * static_cast<double>(row[c]);
  }
  return out;
}

/// The norm-aware estimate of zeroing each neuron at each position: the MLP output m = D·a goes through its own
/// post-norm f = RMSNorm_w(m) before anything else sees it, and that norm is scale-invariant — a neuron that
/// dominates m has ∂f/∂a_j ≈ 0 however much f depends on it. So the neuron's own norm is done exactly and
/// only the rest of the network is linearised: out[t, j] = g_t·(RMSNorm_w(m_t − a_j(t)·D_j) − f_t), g = ∂M/∂f.
/// With r = (‖m‖²/H + ε)^−½: ‖m − a·D_j‖² = ‖m‖² − 2a·(Dᵀm)_j + a²·‖D_j‖², and g·(w ⊙ (m − a·D_j)) =
/// g·(w ⊙ m) − a·u_j with u = Dᵀ(g ⊙ w). The backward pass already has dact = Dᵀ dm, dm = r·(g ⊙ w) − c·m,
/// c = r³/H · g·(w ⊙ m), so u = (dact + c·Dᵀm)/r: one more transposed product (Dᵀm) and the column norms of D.
inline void zeroing_estimate(const matrix_ref& down, const float* m, const float* w, const float* g, const float* act,
                             const float* dact, std::size_t T, std::size_t H, std::size_t I, float eps,
                             std::vector<double>& cn, float* out) {
  vec_f32 mj(T * I, 0.0f);
  matmul_t_acc(down, m, T, H, mj.data(), I);
  if (cn.size() != I) cn = column_sq_norms(down);
  const double inv_h = 1.0 / static_cast<double>(H), e = static_cast<double>(eps);
  for (std::size_t t = 0; t < T; ++t) {
    double ss = 0.0, gwm = 0.0;
    for (std::size_t i = 0; i < H; ++i) {
      const double mi = m[t * H + i];
      ss += mi * mi;
      gwm += static_cast<double>(g[t * H + i]) * static_cast<double>(w[i]) * mi;
    }
    const double r = 1.0 / std::sqrt(ss * inv_h + e), c = r * r * r * inv_h * gwm, base = gwm * r;
    for (std::size_t j = 0; j < I; ++j) {
      const double a = act[t * I + j];
      if (a == 0.0) {
        out[t * I + j] = 0.0f;
        continue;
      }
      const double p = mj[t * I + j], u = (static_cast<double>(dact[t * I + j]) + c * p) / r;
      const double ss2 = std::max(ss - 2.0 * a * p + a * a * cn[j], 0.0);
      out[t * I + j] = static_cast<float>((gwm - a * u) / std::sqrt(ss2 * inv_h + e) - base);
    }
  }
}

/// Backward of softmax attention (see tape_attend): given dO [T, n_q·d] returns dQ [T, n_q·d] and accumulates
/// dK, dV [T, n_kv·d]. Probabilities are recomputed. Threads keep private dK/dV and sum them at the end.
inline void attend_backward(const model::layer_geometry& g, const float* q, const float* k, const float* v,
                            std::size_t T, const float* d_out, float* dq, float* dk, float* dv) {
  const std::size_t d = g.head_dim, nq = g.n_q_heads, group = g.group(), kvd = g.kv_dim();
  const auto total = static_cast<std::ptrdiff_t>(T * nq);
  int n_threads = 1;
#if SCALPEL_HAS_OPENMP
  const bool par = total > 1 && T * d * static_cast<std::size_t>(total) > 65536;
  if (par) n_threads = omp_get_max_threads();
#endif
  std::vector<vec_f32> priv(static_cast<std::size_t>(n_threads > 1 ? n_threads : 0));
#if SCALPEL_HAS_OPENMP
#pragma omp parallel if (par) num_threads(n_threads)
#endif
  {
    float* my_dk = dk;
    float* my_dv = dv;
#if SCALPEL_HAS_OPENMP
    if (n_threads > 1) {
      auto& buf = priv[static_cast<std::size_t>(omp_get_thread_num())];
      buf.assign(2 * T * kvd, 0.0f);
      my_dk = buf.data();
      my_dv = buf.data() + T * kvd;
    }
#endif
    std::vector<float> p, dp;
#if SCALPEL_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t th = 0; th < total; ++th) {
      const std::size_t t = static_cast<std::size_t>(th) / nq, h = static_cast<std::size_t>(th) % nq;
      const std::size_t first = (g.window > 0 && t + 1 > g.window) ? t + 1 - g.window : 0;
      const std::size_t n = t + 1 - first;
      p.resize(n);
      dp.resize(n);
      const float* qh = q + (t * nq + h) * d;
      const float* go = d_out + (t * nq + h) * d;
      const std::size_t kvh = h / group;
      // The forward probabilities, recomputed exactly as model::attend computes them.
      for (std::size_t j = 0; j < n; ++j) p[j] = simd::dot(qh, k + (first + j) * kvd + kvh * d, d);
      simd::softmax(p.data(), n);
      double pdp = 0.0;
      for (std::size_t j = 0; j < n; ++j) {
        const float* vj = v + (first + j) * kvd + kvh * d;
        dp[j] = simd::dot(go, vj, d);
        pdp += static_cast<double>(p[j]) * static_cast<double>(dp[j]);
        simd::axpy(my_dv + (first + j) * kvd + kvh * d, p[j], go, d);
      }
      float* gq = dq + (t * nq + h) * d;
      for (std::size_t j = 0; j < n; ++j) {
        const float ds = p[j] * (dp[j] - static_cast<float>(pdp));
        if (ds == 0.0f) continue;
        simd::axpy(gq, ds, k + (first + j) * kvd + kvh * d, d);
        simd::axpy(my_dk + (first + j) * kvd + kvh * d, ds, qh, d);
      }
    }
  }
  for (const auto& buf : priv) {
    if (buf.empty()) continue;  // a thread the runtime did not start
    simd::add(dk, buf.data(), T * kvd);
    simd::add(dv, buf.data() + T * kvd, T * kvd);
  }
}

/// Backward of per-head RMSNorm (weighted or not) followed by RoPE (when `rope`): `g` [T, n_heads·d] is the
/// gradient w.r.t. the normed (and roped) heads; accumulates the gradient w.r.t. the raw heads into `dx`.
inline void norm_rope_heads_backward(const tape_context& cx, const model::layer_geometry& g, const float* raw,
                                     std::size_t n_heads, const float* norm_w, bool rope, float* gbuf, float* dx) {
  const std::size_t d = g.head_dim;
  const float* inv_freq = cx.tab.inv_freq[g.index].data();
  for (std::size_t t = 0; t < cx.T; ++t)
    for (std::size_t h = 0; h < n_heads; ++h) {
      const std::size_t off = (t * n_heads + h) * d;
      if (rope) rope_neox_backward(gbuf + off, d, g.rope_pairs, inv_freq, cx.positions[t]);
      rmsnorm_backward_acc(raw + off, norm_w, cx.c.rms_norm_eps, d, gbuf + off, dx + off);
    }
}

/// Backward of the MoE expert branch (routing choice fixed). `ds` [T,H] is ∂M/∂s; accumulates ∂M/∂r into `dr`.
inline void moe_backward(const tape_context& cx, const model::layer_weights& lw, const layer_tape& tp, const float* ds,
                         bool router_gradient, float* dr) {
  const auto& c = cx.c;
  const auto& mw = lw.moe;
  const std::size_t T = cx.T, H = c.hidden_size, E = c.num_experts, K = c.top_k_experts, Ie = c.moe_intermediate_size;
  const float eps = c.rms_norm_eps;
  const float* r = tp.r.data();
  // Routing weights: dw[slot] = <ds_t, y_slot>.
  std::vector<double> dw(T * K, 0.0);
  std::vector<std::vector<std::size_t>> slots_of(E);
  for (std::size_t i = 0; i < T * K; ++i) {
    slots_of[static_cast<std::size_t>(tp.sel[i])].push_back(i);
    dw[i] = static_cast<double>(simd::dot(ds + (i / K) * H, tp.e_y.data() + i * H, H));
  }
  // Experts: dy = w·ds_t → d act = D_eᵀ dy → d gate, d up → du2 += [G_e; U_e]ᵀ [dgate; dup].
  vec_f32 du2(T * H, 0.0f), dy, dact, dgu, dx, gel, der;
  for (std::size_t e = 0; e < E; ++e) {
    const auto& sl = slots_of[e];
    const std::size_t n = sl.size();
    if (n == 0) continue;
    dy.resize(n * H);
    for (std::size_t i = 0; i < n; ++i) {
      const float wk = tp.w[sl[i]];
      const float* src = ds + (sl[i] / K) * H;
      for (std::size_t j = 0; j < H; ++j) dy[i * H + j] = wk * src[j];
    }
    dact.assign(n * Ie, 0.0f);
    matmul_t_acc(mw.expert_down(e, H), dy.data(), n, H, dact.data(), Ie);
    dgu.resize(n * 2 * Ie);
    gel.resize(Ie);
    der.resize(Ie);
    for (std::size_t i = 0; i < n; ++i) {
      const float* gu = tp.e_gu.data() + sl[i] * 2 * Ie;
      gelu_and_derivative(gu, Ie, gel.data(), der.data());
      for (std::size_t j = 0; j < Ie; ++j) {
        const float da = dact[i * Ie + j];
        dgu[i * 2 * Ie + j] = da * gu[Ie + j] * der[j];
        dgu[i * 2 * Ie + Ie + j] = da * gel[j];
      }
    }
    dx.assign(n * H, 0.0f);
    matmul_t_acc(mw.expert_gate_up(e, Ie), dgu.data(), n, 2 * Ie, dx.data(), H);
    for (std::size_t i = 0; i < n; ++i) simd::add(du2.data() + (sl[i] / K) * H, dx.data() + i * H, H);
  }
  rmsnorm_backward_rows(r, mw.pre_norm_2.data(), eps, T, H, du2.data(), dr);
  if (!router_gradient) return;
  // Router: w_k = c_{e_k} · p_k with p = softmax over the selected logits (the renormalised probabilities), so
  // dz_{e_k} = p_k (dp_k − Σ_j p_j dp_j) with dp_k = c_{e_k} · dw_k; unselected logits get no gradient.
  vec_f32 dz(T * E, 0.0f);
  for (std::size_t t = 0; t < T; ++t) {
    double tot = 0.0;
    for (std::size_t k = 0; k < K; ++k)
      tot += static_cast<double>(tp.probs[t * E + static_cast<std::size_t>(tp.sel[t * K + k])]);
    if (!(tot > 0.0)) continue;
    std::vector<double> p(K), dp(K);
    double pdp = 0.0;
    for (std::size_t k = 0; k < K; ++k) {
      const auto e = static_cast<std::size_t>(tp.sel[t * K + k]);
      p[k] = static_cast<double>(tp.probs[t * E + e]) / tot;
      dp[k] = static_cast<double>(mw.per_expert_scale[e]) * dw[t * K + k];
      pdp += p[k] * dp[k];
    }
    for (std::size_t k = 0; k < K; ++k)
      dz[t * E + static_cast<std::size_t>(tp.sel[t * K + k])] += static_cast<float>(p[k] * (dp[k] - pdp));
  }
  vec_f32 drho(T * H, 0.0f);
  matmul_t_acc(mw.router, dz.data(), T, E, drho.data(), H);
  const float hscale = 1.0f / std::sqrt(static_cast<float>(H));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < H; ++i) drho[t * H + i] *= mw.router_scale[i] * hscale;
  rmsnorm_backward_rows(r, nullptr, eps, T, H, drho.data(), dr);
}

/// Backward of one layer: `dx` [T,H] enters as ∂M/∂(residual_out) and leaves as ∂M/∂(residual_in).
/// @pre `tp` is filled (tape_layer_forward with record = true) and cx.kv holds every layer's K/V.
inline void layer_backward(tape_context& cx, std::size_t l, const layer_tape& tp, float* dx, const layer_grads& out) {
  const auto& c = cx.c;
  const model::layer_geometry& g = c.layers[l];
  const model::layer_weights& lw = cx.w.layers[l];
  const std::size_t T = cx.T, H = c.hidden_size, I = g.ffn_dim;
  const float eps = c.rms_norm_eps;

  // 4. layer scalar: x_out = λ·x2
  simd::scale(dx, lw.layer_scalar, T * H);

  // 3. PLE: x2 = x1 + RMSNorm(W_proj (gelu(W_gate x1) ⊙ ple))
  if (c.has_ple()) {
    const std::size_t P = c.ple_dim, L = c.num_layers;
    vec_f32 dpp(T * H, 0.0f), dgg(T * P, 0.0f), dpg(T * P), gel(T * P), der(T * P);
    rmsnorm_backward_rows(tp.pp.data(), lw.ple.post_norm.data(), eps, T, H, dx, dpp.data());
    matmul_t_acc(lw.ple.projection, dpp.data(), T, H, dgg.data(), P);
    gelu_and_derivative(tp.pg.data(), T * P, gel.data(), der.data());
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < P; ++i) {
        const std::size_t k = t * P + i;
        dpg[k] = dgg[k] * cx.ple[(t * L + l) * P + i] * der[k];
        if (out.d_ple) (*out.d_ple)[(t * L + l) * P + i] += dgg[k] * gel[k];
      }
    matmul_t_acc(lw.ple.input_gate, dpg.data(), T, P, dx, H);  // dx now ∂M/∂x1
  }

  // 2. feed-forward: x1 = r + f
  {
    vec_f32 dm(T * H, 0.0f), dr_ffn(T * H, 0.0f), act, g_norm;  // g_norm: ∂M/∂(output of m's own post-norm)
    vec_f32 gel(T * I), der(T * I);
    gelu_and_derivative(tp.gate.data(), T * I, gel.data(), der.data());
    if (out.act != nullptr || out.d_zero != nullptr) {
      act.resize(T * I);
      simd::geglu(tp.gate.data(), tp.up.data(), T * I, act.data());  // bit-identical to the forward pass's
    }
    if (!g.moe) {
      rmsnorm_backward_rows(tp.m.data(), lw.post_ffn_norm.data(), eps, T, H, dx, dm.data());
    } else {
      // f = N(f1 + f2), f1 = N1(m), f2 = N2(s)
      vec_f32 f1(T * H), f2(T * H), sum(T * H), dsum(T * H, 0.0f), ds(T * H, 0.0f);
      model::rmsnorm_rows(tp.m.data(), lw.moe.post_norm_1.data(), eps, T, H, f1.data());
      model::rmsnorm_rows(tp.s.data(), lw.moe.post_norm_2.data(), eps, T, H, f2.data());
      for (std::size_t i = 0; i < T * H; ++i) sum[i] = f1[i] + f2[i];
      rmsnorm_backward_rows(sum.data(), lw.post_ffn_norm.data(), eps, T, H, dx, dsum.data());
      rmsnorm_backward_rows(tp.m.data(), lw.moe.post_norm_1.data(), eps, T, H, dsum.data(), dm.data());
      rmsnorm_backward_rows(tp.s.data(), lw.moe.post_norm_2.data(), eps, T, H, dsum.data(), ds.data());
      moe_backward(cx, lw, tp, ds.data(), out.router_gradient, dr_ffn.data());
      g_norm = std::move(dsum);  // the neurons' own norm is post_feedforward_layernorm_1; linear after it
    }
    vec_f32 dact_local;
    vec_f32& dact = out.d_act ? *out.d_act : dact_local;
    dact.assign(T * I, 0.0f);
    matmul_t_acc(lw.mlp.down, dm.data(), T, H, dact.data(), I);
    if (out.d_zero != nullptr) {
      out.d_zero->resize(T * I);
      std::vector<double> cn_local;
      zeroing_estimate(lw.mlp.down, tp.m.data(), g.moe ? lw.moe.post_norm_1.data() : lw.post_ffn_norm.data(),
                       g.moe ? g_norm.data() : dx, act.data(), dact.data(), T, H, I, eps,
                       out.down_col_sq ? *out.down_col_sq : cn_local, out.d_zero->data());
    }
    vec_f32 dgate(T * I), dup(T * I);
    for (std::size_t k = 0; k < T * I; ++k) {
      dgate[k] = dact[k] * tp.up[k] * der[k];
      dup[k] = dact[k] * gel[k];
    }
    vec_f32 din(T * H, 0.0f);
    matmul_t_acc(lw.mlp.gate, dgate.data(), T, I, din.data(), H);
    matmul_t_acc(lw.mlp.up, dup.data(), T, I, din.data(), H);
    rmsnorm_backward_rows(tp.r.data(), lw.pre_ffn_norm.data(), eps, T, H, din.data(), dr_ffn.data());
    simd::add(dx, dr_ffn.data(), T * H);  // dx now ∂M/∂r
    if (out.act != nullptr) *out.act = std::move(act);
  }

  // 1. attention: r = x_in + RMSNorm_post(o), o = W_o · attend(Q, K, V)
  {
    vec_f32 d_o(T * H, 0.0f), docat(T * g.q_dim(), 0.0f), dq(T * g.q_dim(), 0.0f), q;
    rmsnorm_backward_rows(tp.o.data(), lw.post_attn_norm.data(), eps, T, H, dx, d_o.data());
    matmul_t_acc(lw.attn.o_proj, d_o.data(), T, H, docat.data(), g.q_dim());
    tape_queries(cx, g, lw, tp.q_raw.data(), q);
    kv_tensors& src = cx.kv[g.kv_source];
    attend_backward(g, q.data(), src.k.data(), src.v.data(), T, docat.data(), dq.data(), src.dk.data(), src.dv.data());
    vec_f32 dq_raw(T * g.q_dim(), 0.0f), da(T * H, 0.0f);
    norm_rope_heads_backward(cx, g, tp.q_raw.data(), g.n_q_heads, lw.attn.q_norm.data(), true, dq.data(),
                             dq_raw.data());
    matmul_t_acc(lw.attn.q_proj, dq_raw.data(), T, g.q_dim(), da.data(), H);
    if (g.owns_kv) {
      // Every layer reading this layer's K/V comes later, so its dK/dV is complete now.
      kv_tensors& own = cx.kv[l];
      vec_f32 dk_raw(T * g.kv_dim(), 0.0f), dv_raw(T * g.kv_dim(), 0.0f);
      norm_rope_heads_backward(cx, g, tp.k_raw.data(), g.n_kv_heads, lw.attn.k_norm.data(), true, own.dk.data(),
                               dk_raw.data());
      const float* v_src = g.has_v_proj ? tp.v_raw.data() : tp.k_raw.data();
      norm_rope_heads_backward(cx, g, v_src, g.n_kv_heads, nullptr, false, own.dv.data(), dv_raw.data());
      if (g.has_v_proj) {
        matmul_t_acc(lw.attn.v_proj, dv_raw.data(), T, g.kv_dim(), da.data(), H);
      } else {
        simd::add(dk_raw.data(), dv_raw.data(), T * g.kv_dim());
      }
      matmul_t_acc(lw.attn.k_proj, dk_raw.data(), T, g.kv_dim(), da.data(), H);
    }
    rmsnorm_backward_rows(tp.x_in.data(), lw.input_norm.data(), eps, T, H, da.data(), dx);  // dx += via input norm
  }
}

}  // namespace analysis::detail
SCALPEL_END_NAMESPACE
