#pragma once
/// @file
/// @brief Log-probabilities of logit rows and the KL divergence between two rows: the one implementation the
/// layer sweep's KL column (`ablation.hpp`) and the capability guard (`guard.hpp`) share.
///
/// Everything is computed in double from the f32 logits (the final soft-capped logits of the engine), over the
/// full vocabulary: log p = z − logsumexp(z), with the maximum subtracted before exponentiating.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// logsumexp(z[0..V)) in double, the maximum subtracted before exponentiating.
inline double log_sum_exp(const float* z, std::size_t V) noexcept {
  double mx = -INFINITY;
  for (std::size_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(z[v]));
  double s = 0.0;
  for (std::size_t v = 0; v < V; ++v) s += std::exp(static_cast<double>(z[v]) - mx);
  return mx + std::log(s);
}

/// out[v] = z[v] − logsumexp(z) for v < V (double). @pre out holds V values.
inline void log_softmax(const float* z, std::size_t V, double* out) noexcept {
  const double lse = log_sum_exp(z, V);
  for (std::size_t v = 0; v < V; ++v) out[v] = static_cast<double>(z[v]) - lse;
}

/// KL(p ‖ q) = Σ_v p_v (log p_v − log q_v) in nats, from log-probabilities of V entries. Clamped at 0: the exact
/// value is ≥ 0, rounding can make a KL of two equal rows −1e-17.
inline double kl_divergence(const double* lp, const double* lq, std::size_t V) noexcept {
  double kl = 0.0;
  for (std::size_t v = 0; v < V; ++v) kl += std::exp(lp[v]) * (lp[v] - lq[v]);
  return std::max(kl, 0.0);
}

/// Mean over positions of KL(p ‖ q) in nats for logits rows [n, V] (softmax in double).
inline double mean_kl(std::span<const float> base, std::span<const float> other, std::size_t V) {
  const std::size_t n = base.size() / V;
  double total = 0.0;
  std::vector<double> lp(V), lq(V);
  for (std::size_t r = 0; r < n; ++r) {
    log_softmax(base.data() + r * V, V, lp.data());
    log_softmax(other.data() + r * V, V, lq.data());
    total += kl_divergence(lp.data(), lq.data(), V);
  }
  return n ? total / static_cast<double>(n) : 0.0;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
