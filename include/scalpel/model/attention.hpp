#pragma once
/// @file
/// @brief The attention block of one layer: q/k/v projections, q_norm / k_norm / weightless v_norm, RoPE,
/// KV-cache append (owning layers), GQA attention with scale 1.0 and the sliding-window mask, o_proj.
/// Spec §2.5; pitfalls 2–5, 11, 12.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/model/kv_cache.hpp"
#include "scalpel/model/weights.hpp"
#include "scalpel/simd/matmul.hpp"
#include "scalpel/simd/ops.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// Per-head RMSNorm (weighted or weightless) and RoPE on rows of [T, n_heads·d].
inline void norm_rope_heads(float* x, std::size_t T, std::size_t n_heads, const layer_geometry& g, const float* norm_w,
                            float eps, const std::size_t* positions, const float* inv_freq, bool rope) noexcept {
  const std::size_t d = g.head_dim;
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * d;
      simd::rmsnorm(v, norm_w, eps, d, v);
      if (rope) simd::rope_neox(v, d, g.rope_pairs, inv_freq, positions[t]);
    }
  }
}

/// Causal (and for sliding layers windowed) attention of T queries at positions p0..p0+T-1 over the cache
/// of the source layer, which already holds positions [0, p0 + T).
/// @param q    [T, n_q·d] normed + roped queries
/// @param out  [T, n_q·d]
inline void attend(const layer_geometry& g, const kv_cache::layer_store& kv, const float* q, std::size_t T,
                   std::size_t p0, float* out) {
  const std::size_t d = g.head_dim, nq = g.n_q_heads, group = g.group();
  const std::size_t row = kv.row;
  const auto total = static_cast<std::ptrdiff_t>(T * nq);
#if SCALPEL_HAS_OPENMP
#pragma omp parallel if (total > 1 && (p0 + T) * d * static_cast <std::size_t>(total) > 65536)
#endif
  {
    std::vector<float> scores;
#if SCALPEL_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t th = 0; th < total; ++th) {
      const std::size_t t = static_cast<std::size_t>(th) / nq, h = static_cast<std::size_t>(th) % nq;
      const std::size_t pos = p0 + t;
      const std::size_t first = (g.window > 0 && pos + 1 > g.window) ? pos + 1 - g.window : 0;
      const std::size_t n = pos + 1 - first;
      scores.resize(n);
      const float* qh = q + (t * nq + h) * d;
      const std::size_t kvh = h / group;
      // GQA: query head h reads KV head h / group straight from the cache (no per-head copies).
      for (std::size_t j = 0; j < n; ++j)
        scores[j] = simd::dot(qh, kv.k_row(first + j) + kvh * d, d);  // scale 1.0 (spec §2.5 step 3)
      simd::softmax(scores.data(), n);                                // vectorised max, exp, sum, 1/sum
      float* oh = out + (t * nq + h) * d;
      std::fill(oh, oh + d, 0.0f);
      for (std::size_t j = 0; j < n; ++j) simd::axpy(oh, scores[j], kv.v_row(first + j) + kvh * d, d);
    }
  }
  (void)row;
}

/// Scratch for one attention block call.
struct attention_scratch {
  vec_f32 q, k, v, o;
  void ensure(std::size_t T, const layer_geometry& g) {
    q.resize(T * g.q_dim());
    o.resize(T * g.q_dim());
    k.resize(T * g.kv_dim());
    v.resize(T * g.kv_dim());
  }
};

/// Attention block: `a` [T, H] (input_layernorm applied) -> `out` [T, H] (o_proj output, before the post-norm).
/// Appends this layer's K/V for positions p0.. to `cache` when the layer owns a cache.
inline void attention_block(const gemma4_config& c, const layer_geometry& g, const attention_weights& w, const float* a,
                            std::size_t T, const std::size_t* positions, kv_cache& cache, attention_scratch& s,
                            const float* inv_freq, float* out) {
  const std::size_t H = c.hidden_size;
  s.ensure(T, g);
  simd::matmul(w.q_proj, a, T, H, s.q.data(), g.q_dim());
  norm_rope_heads(s.q.data(), T, g.n_q_heads, g, w.q_norm.data(), c.rms_norm_eps, positions, inv_freq, true);
  if (g.owns_kv) {
    auto& store = cache.layer(g.index);
    simd::matmul(w.k_proj, a, T, H, s.k.data(), g.kv_dim());
    if (g.has_v_proj) {
      simd::matmul(w.v_proj, a, T, H, s.v.data(), g.kv_dim());
    } else {
      std::copy(s.k.begin(), s.k.begin() + static_cast<std::ptrdiff_t>(T * g.kv_dim()),
                s.v.begin());  // k_eq_v: V = raw K
    }
    norm_rope_heads(s.k.data(), T, g.n_kv_heads, g, w.k_norm.data(), c.rms_norm_eps, positions, inv_freq, true);
    norm_rope_heads(s.v.data(), T, g.n_kv_heads, g, nullptr, c.rms_norm_eps, positions, inv_freq, false);
    for (std::size_t t = 0; t < T; ++t) {
      std::copy_n(s.k.data() + t * g.kv_dim(), g.kv_dim(), store.k_row(positions[t]));
      std::copy_n(s.v.data() + t * g.kv_dim(), g.kv_dim(), store.v_row(positions[t]));
    }
  }
  attend(g, cache.layer(g.kv_source), s.q.data(), T, positions[0], s.o.data());
  simd::matmul(w.o_proj, s.o.data(), T, g.q_dim(), out, H);
}

}  // namespace model
SCALPEL_END_NAMESPACE
