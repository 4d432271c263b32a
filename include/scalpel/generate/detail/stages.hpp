#pragma once
// IWYU pragma: private, include "scalpel/generate/sampler.hpp"
/// @file
/// @brief The sampler's candidate list and the truncation / scaling stages (top-k, top-p, min-p, typical-p,
/// temperature), with llama.cpp's semantics (src/llama-sampling.cpp) and a deterministic tie order.
///
/// A candidate list is a vector of (token id, logit, probability). Stages shrink it or rewrite logits; a stage that
/// needs probabilities computes a softmax over the *current* candidates first, as llama.cpp does. Wherever
/// llama.cpp sorts with an unstable sort, scalpel sorts by the total order "logit descending, then id ascending",
/// so equal logits never make the result depend on the standard library.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/generate/detail/det_math.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen::detail {

/// One entry of the candidate list. `p` is valid only right after `softmax()`.
struct candidate {
  std::int32_t id;
  float logit;
  double p;
};

/// The total order used for every sort: higher logit first, equal logits by ascending id.
struct by_logit_desc {
  bool operator()(const candidate& a, const candidate& b) const noexcept {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
};

/// A candidate list plus whether it is currently sorted by `by_logit_desc`.
struct candidates {
  std::vector<candidate> items;
  bool sorted = false;

  void sort_desc() {
    if (!sorted) std::sort(items.begin(), items.end(), by_logit_desc{});
    sorted = true;
  }
  [[nodiscard]] float max_logit() const noexcept {
    float m = -std::numeric_limits<float>::infinity();
    for (const auto& c : items) m = std::max(m, c.logit);
    return m;
  }
};

/// Probabilities of the current candidates: p_i = exp(l_i - max) / sum, in double, summed in list order.
/// @pre at least one candidate has a finite logit (the sampler checks this before any stage runs).
inline void softmax(candidates& c) {
  const double m = static_cast<double>(c.max_logit());
  double sum = 0.0;
  for (auto& x : c.items) {
    x.p = exp_det(static_cast<double>(x.logit) - m);
    sum += x.p;
  }
  for (auto& x : c.items) x.p /= sum;
}

/// top-k: keep the k highest logits. k <= 0 disables; k >= size keeps everything.
inline void apply_top_k(candidates& c, std::int32_t k) {
  if (k <= 0) return;
  const auto kk = static_cast<std::size_t>(k);
  if (kk >= c.items.size()) return;
  if (!c.sorted) {
    std::partial_sort(c.items.begin(), c.items.begin() + static_cast<std::ptrdiff_t>(kk), c.items.end(),
                      by_logit_desc{});
  }
  c.items.resize(kk);
  c.sorted = true;
}

/// top-p (nucleus): softmax, then keep the shortest prefix (in descending order) whose cumulative probability is
/// >= p and that holds at least `min_keep` tokens. p >= 1 disables. If rounding keeps the sum below p, all stay.
inline void apply_top_p(candidates& c, float p, std::size_t min_keep) {
  if (p >= 1.0f) return;
  softmax(c);
  const double target = static_cast<double>(p);
  auto scan = [&](std::size_t n_sorted) -> std::size_t {  // 0 = not reached within the sorted prefix
    double cum = 0.0;
    for (std::size_t i = 0; i < n_sorted; ++i) {
      cum += c.items[i].p;
      if (cum >= target && i + 1 >= min_keep) return i + 1;
    }
    return 0;
  };
  std::size_t keep = 0;
  // Large unsorted lists: sorting only a head is usually enough (llama.cpp uses the same shortcut).
  constexpr std::size_t head = 1024;
  if (!c.sorted && c.items.size() > 4 * head) {
    std::partial_sort(c.items.begin(), c.items.begin() + static_cast<std::ptrdiff_t>(head), c.items.end(),
                      by_logit_desc{});
    keep = scan(head);
    if (keep != 0) {
      c.items.resize(keep);
      c.sorted = true;
      return;
    }
  }
  c.sort_desc();
  keep = scan(c.items.size());
  if (keep != 0) c.items.resize(keep);
}

/// min-p: keep tokens with p_i >= p * p_max, i.e. logit >= max_logit + ln p (computed in double, rounded to f32
/// like llama.cpp's `max + logf(p)`); if fewer than `min_keep` survive, keep the `min_keep` highest instead.
/// p <= 0 disables. Survivors keep their relative order.
inline void apply_min_p(candidates& c, float p, std::size_t min_keep) {
  if (p <= 0.0f || c.items.empty()) return;
  const float threshold = static_cast<float>(static_cast<double>(c.max_logit()) + log_det(static_cast<double>(p)));
  std::size_t n_pass = 0;
  for (const auto& x : c.items) n_pass += x.logit >= threshold ? 1u : 0u;
  if (n_pass >= std::max<std::size_t>(min_keep, 1)) {
    std::erase_if(c.items, [&](const candidate& x) { return x.logit < threshold; });
    return;
  }
  apply_top_k(c, static_cast<std::int32_t>(std::min<std::size_t>(min_keep, c.items.size())));
}

/// Locally typical sampling (Meister et al. 2022) as in llama.cpp: softmax, entropy H = -sum p ln p, order tokens
/// by |-ln p_i - H| ascending (ties: logit descending, id ascending), keep the shortest prefix whose
/// cumulative probability exceeds p (strictly) and that holds at least `min_keep` tokens. p >= 1 disables.
/// Tokens with p = 0 contribute nothing to H (llama.cpp would produce NaN there).
inline void apply_typical(candidates& c, float p, std::size_t min_keep) {
  if (p >= 1.0f) return;
  softmax(c);
  double entropy = 0.0;
  for (const auto& x : c.items) {
    if (x.p > 0.0) entropy = std::fma(-x.p, log_det(x.p), entropy);  // explicit FMA: same bits on every build
  }
  std::vector<double> shifted(c.items.size());
  for (std::size_t i = 0; i < c.items.size(); ++i) {
    shifted[i] = std::fabs(-log_det(c.items[i].p) - entropy);
  }
  std::vector<std::size_t> idx(c.items.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  // Equal logits have equal scores; ties fall back to the total order (what a stable sort of the sorted list gives).
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    if (shifted[a] != shifted[b]) return shifted[a] < shifted[b];
    return by_logit_desc{}(c.items[a], c.items[b]);
  });
  const double target = static_cast<double>(p);
  double cum = 0.0;
  std::size_t keep = idx.size();
  for (std::size_t i = 0; i < idx.size(); ++i) {
    cum += c.items[idx[i]].p;
    if (cum > target && (min_keep == 0 || i + 1 >= min_keep)) {
      keep = i + 1;
      break;
    }
  }
  std::vector<candidate> out;
  out.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) out.push_back(c.items[idx[i]]);
  c.items = std::move(out);
  c.sorted = false;
}

/// Temperature. t == 0: greedy, the list collapses to its highest logit (ties: lowest id). t > 0: logit / t in f32
/// as llama.cpp; if that would overflow f32 (tiny t), logits are first shifted by their maximum, which leaves
/// every later softmax unchanged.
inline void apply_temperature(candidates& c, float t) {
  if (c.items.empty()) return;
  if (t <= 0.0f) {
    const auto best = std::min_element(c.items.begin(), c.items.end(), by_logit_desc{});
    const candidate keep = *best;
    c.items.assign(1, keep);
    c.sorted = true;
    return;
  }
  bool overflow = false;
  for (const auto& x : c.items) {
    if (std::isfinite(x.logit) && std::isinf(x.logit / t)) overflow = true;
  }
  const float shift = overflow ? c.max_logit() : 0.0f;
  for (auto& x : c.items) x.logit = (x.logit - shift) / t;
  c.sorted = false;  // rounding may make distinct logits equal, which can break the id tie order
}

}  // namespace gen::detail
SCALPEL_END_NAMESPACE
