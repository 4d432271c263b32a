#pragma once
/// @file
/// @brief The Gemma 4 forward pass over one chunk of tokens (spec §2, Appendix A): embedding × √H, per-layer
/// embeddings (PLE), the decoder layers (attention, feed-forward or MoE, PLE injection, layer scalar), the
/// final norm, the tied unembedding and the soft-cap. Prefill (T > 1) and decode (T = 1) are the same code.
///
/// `Hooks` is a compile-time hook set (`no_hooks` compiles every hook away) or `dynamic_hooks`.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/attention.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/model/ffn.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/kv_cache.hpp"
#include "scalpel/model/weights.hpp"
#include "scalpel/simd/matmul.hpp"
#include "scalpel/simd/ops.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// Which positions of a chunk produce logits.
enum class logits_mode : std::uint8_t { none, last, all };

/// Precomputed per-model constants for the forward pass (RoPE inverse frequencies per layer kind).
struct forward_tables {
  std::vector<vec_f32> inv_freq;  ///< per layer: [rope_pairs] (shared by layers of equal geometry)

  explicit forward_tables(const gemma4_config& c) {
    inv_freq.resize(c.num_layers);
    for (const auto& g : c.layers) {
      inv_freq[g.index].resize(std::max<std::size_t>(g.rope_pairs, 1));
      for (std::size_t i = 0; i < g.rope_pairs; ++i) inv_freq[g.index][i] = g.inv_freq(i);
    }
  }
};

/// Per-layer inputs (PLE) for T tokens: [T, L, P] (spec §2.3).
inline void compute_ple(const gemma4_config& c, const model_weights& w, std::span<const std::int32_t> ids,
                        const float* x0, vec_f32& ple) {
  const std::size_t T = ids.size(), L = c.num_layers, P = c.ple_dim, H = c.hidden_size;
  ple.resize(T * L * P);
  // Context part: W_pmp · h0 · H^−½, then RMSNorm per P-slice with the shared weight.
  simd::matmul(w.ple_model_proj, x0, T, H, ple.data(), L * P);
  const float hs = 1.0f / std::sqrt(static_cast<float>(H));
  simd::scale(ple.data(), hs, T * L * P);
  for (std::size_t i = 0; i < T * L; ++i)
    simd::rmsnorm(ple.data() + i * P, w.ple_proj_norm.data(), c.rms_norm_eps, P, ple.data() + i * P);
  // Token-identity part: E_ple[id] · √P; sum × 2^−½.
  vec_f32 row(L * P);
  const float ps = std::sqrt(static_cast<float>(P));
  const float inv_sqrt2 = 1.0f / std::sqrt(2.0f);
  for (std::size_t t = 0; t < T; ++t) {
    w.ple_embed.decode_row(static_cast<std::size_t>(ids[t]), row.data());
    float* dst = ple.data() + t * L * P;
    for (std::size_t i = 0; i < L * P; ++i) dst[i] = (dst[i] + row[i] * ps) * inv_sqrt2;
  }
}

/// Run one chunk of `ids` (T ≥ 1 tokens) at positions cache.size() … cache.size()+T−1, appending to `cache`.
/// @param logits_out  resized to [n_out, V]: n_out = 0 (none), 1 (last) or T (all)
/// @throws errc::out_of_range for a token id ≥ vocab size; errc::context_overflow past the cache limit.
template <hook_set Hooks>
void forward_chunk(const gemma4_config& c, const model_weights& w, const forward_tables& tab,
                   std::span<const std::int32_t> ids, kv_cache& cache, Hooks& hooks, logits_mode mode,
                   std::vector<float>& logits_out) {
  const std::size_t T = ids.size(), H = c.hidden_size, V = c.vocab_size;
  if (T == 0) {
    logits_out.clear();
    return;
  }
  for (std::size_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || static_cast<std::size_t>(ids[t]) >= V)
      fail(errc::out_of_range, "token id " + std::to_string(ids[t]) + " at index " + std::to_string(t) +
                                   " is out of range (vocab size " + std::to_string(V) + ")");
  }
  cache.reserve_append(T);
  const std::size_t p0 = cache.size();
  std::vector<std::size_t> positions(T);
  std::iota(positions.begin(), positions.end(), p0);

  // Embedding: x = E[id] · √H (exact f32 √H, as llama.cpp and an f32 transformers run; docs/model.md).
  vec_f32 x(T * H);
  for (std::size_t t = 0; t < T; ++t) w.embed.decode_row(static_cast<std::size_t>(ids[t]), x.data() + t * H);
  simd::scale(x.data(), c.embed_scale(), T * H);
  hook_ctx ctx{0, positions, ids};
  fire<hook_point::embed_out>(hooks, ctx, x.data(), T, H);

  vec_f32 ple;
  if (c.has_ple()) compute_ple(c, w, ids, x.data(), ple);

  vec_f32 a(T * H), tmp(T * H), ple_gate, ple_sel;
  attention_scratch as;
  ffn_scratch fs;
  for (std::size_t l = 0; l < c.num_layers; ++l) {
    const layer_geometry& g = c.layers[l];
    const layer_weights& lw = w.layers[l];
    ctx.layer = l;
    fire<hook_point::residual_in>(hooks, ctx, x.data(), T, H);

    // 1. attention: x += RMSNorm_post_attn(Attn(RMSNorm_input(x)))
    rmsnorm_rows(x.data(), lw.input_norm.data(), c.rms_norm_eps, T, H, a.data());
    attention_block(c, g, lw.attn, a.data(), T, positions.data(), cache, as, tab.inv_freq[l].data(), tmp.data());
    fire<hook_point::attn_out>(hooks, ctx, tmp.data(), T, H);
    rmsnorm_rows(tmp.data(), lw.post_attn_norm.data(), c.rms_norm_eps, T, H, tmp.data());
    simd::add(x.data(), tmp.data(), T * H);

    // 2. feed-forward: x = r + f
    ffn_block(c, g, lw, x.data(), T, fs, hooks, ctx, tmp.data());
    simd::add(x.data(), tmp.data(), T * H);

    // 3. PLE injection: x += RMSNorm_post(W_proj (gelu(W_gate x) ⊙ ple[:, l]))
    if (c.has_ple()) {
      const std::size_t P = c.ple_dim, L = c.num_layers;
      ple_sel.resize(T * P);
      for (std::size_t t = 0; t < T; ++t) std::copy_n(ple.data() + (t * L + l) * P, P, ple_sel.data() + t * P);
      fire<hook_point::ple_in>(hooks, ctx, ple_sel.data(), T, P);
      ple_gate.resize(T * P);
      simd::matmul(lw.ple.input_gate, x.data(), T, H, ple_gate.data(), P);
      simd::geglu(ple_gate.data(), ple_sel.data(), T * P, ple_gate.data());
      simd::matmul(lw.ple.projection, ple_gate.data(), T, P, tmp.data(), H);
      rmsnorm_rows(tmp.data(), lw.ple.post_norm.data(), c.rms_norm_eps, T, H, tmp.data());
      simd::add(x.data(), tmp.data(), T * H);
    }
    // 4. layer scalar on the whole hidden state
    simd::scale(x.data(), lw.layer_scalar, T * H);
    fire<hook_point::residual_out>(hooks, ctx, x.data(), T, H);
  }
  cache.commit_append(T);

  // Output: logits = softcap(E · RMSNorm_final(x)) for the requested positions.
  const std::size_t first = mode == logits_mode::all ? 0 : T - 1;
  const std::size_t n_out = mode == logits_mode::none ? 0 : T - first;
  logits_out.resize(n_out * V);
  if (n_out == 0) return;
  rmsnorm_rows(x.data() + first * H, w.final_norm.data(), c.rms_norm_eps, n_out, H, a.data());
  simd::matmul(w.embed, a.data(), n_out, H, logits_out.data(), V);
  if (c.final_logit_softcapping > 0.0f) {
    const float cap = c.final_logit_softcapping, inv = 1.0f / cap;
    for (auto& v : logits_out) v = cap * std::tanh(v * inv);
  }
  ctx.layer = c.num_layers;
  ctx.positions = std::span<const std::size_t>(positions).subspan(first);
  ctx.token_ids = ids.subspan(first);
  fire<hook_point::logits>(hooks, ctx, logits_out.data(), n_out, V);
}

}  // namespace model
SCALPEL_END_NAMESPACE
