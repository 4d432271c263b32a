#pragma once
// IWYU pragma: private, include "scalpel/generate/sampler.hpp"
/// @file
/// @brief DRY ("don't repeat yourself", pi6am / koboldcpp, as ported to llama.cpp) on token ids: which tokens
/// would extend a repetition of the recent history, and by how many tokens.
///
/// With r = the penalty window reversed (r[0] = the newest token):
/// 1. Restart limit: scanning i = 0, 1, ... the first position where a sequence breaker ends (its head at r[i],
///    its tail at r[i-1], r[i-2], ...; the longest matching breaker wins) caps repetitions at
///    `rep_limit = i - tail_length`; with no breaker, `rep_limit = window size`.
/// 2. z[k] = length of the longest common prefix of r and r[k..] (the Z-function of r; a repeat of the newest
///    tokens that ends k tokens back), capped at rep_limit.
/// 3. For every k >= 1 with z[k] >= allowed_length, the token r[k-1] (the one that followed that earlier
///    occurrence) would extend the repeat to z[k] + 1; each token keeps its longest such z[k].
/// 4. The sampler subtracts `multiplier * base^(len - allowed_length)` from each such token's logit, except
///    single-token breakers (the exponent is capped so the power stays below FLT_MAX, as llama.cpp does).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen::detail {

/// A sequence breaker resolved to ids: `head` followed by `tail` (empty tail = a single-token breaker).
struct dry_entry {
  std::int32_t head;
  std::vector<std::int32_t> tail;
  friend bool operator==(const dry_entry&, const dry_entry&) = default;
  friend bool operator<(const dry_entry& a, const dry_entry& b) {
    return a.head < b.head || (a.head == b.head && a.tail < b.tail);
  }
};

/// Breakers sorted by (head, tail), without duplicates, so lookups by head are a binary search.
struct dry_table {
  std::vector<dry_entry> entries;

  void normalize() {
    std::sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  }
  [[nodiscard]] std::span<const dry_entry> starting_with(std::int32_t head) const {
    const auto lo = std::lower_bound(entries.begin(), entries.end(), head,
                                     [](const dry_entry& e, std::int32_t h) { return e.head < h; });
    auto hi = lo;
    while (hi != entries.end() && hi->head == head) ++hi;
    return {lo, hi};
  }
  [[nodiscard]] bool is_single_token_breaker(std::int32_t id) const {
    for (const auto& e : starting_with(id)) {
      if (e.tail.empty()) return true;
    }
    return false;
  }
};

/// Steps 1-3 above. `window` is oldest-to-newest. Fills `out` (cleared first) with (token, longest repeat length)
/// pairs, each token once, sorted by token id; uses `z` as scratch. Nothing is appended when the window is not longer
/// than `allowed_length` or a breaker limits repeats below it.
inline void dry_repeats(std::span<const std::int32_t> window, const dry_table& breakers, std::int32_t allowed_length,
                        std::vector<std::int32_t>& z, std::vector<std::pair<std::int32_t, std::int32_t>>& out) {
  out.clear();
  const auto n = static_cast<std::int64_t>(window.size());
  if (n <= allowed_length) return;
  auto r = [&](std::int64_t i) { return window[static_cast<std::size_t>(n - 1 - i)]; };

  // Step 1: the newest breaker occurrence limits how far back a repeat may reach.
  std::int64_t rep_limit = n;
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t longest = -1;
    for (const auto& e : breakers.starting_with(r(i))) {
      const auto len = static_cast<std::int64_t>(e.tail.size());
      if (len <= longest || len > i) continue;
      bool match = true;
      for (std::int64_t o = 0; o < len && match; ++o) match = e.tail[static_cast<std::size_t>(o)] == r(i - o - 1);
      if (match) longest = len;
    }
    if (longest >= 0) {
      rep_limit = i - longest;
      break;
    }
  }
  if (rep_limit < allowed_length) return;

  // Step 2: Z-function of the reversed window (linear time).
  z.assign(static_cast<std::size_t>(n), 0);
  std::int64_t box_l = 0, box_r = 0;  // [box_l, box_r): the rightmost match window found so far
  for (std::int64_t k = 1; k < n; ++k) {
    std::int64_t len = 0;
    if (k < box_r) len = std::min<std::int64_t>(box_r - k, z[static_cast<std::size_t>(k - box_l)]);
    while (k + len < n && r(len) == r(k + len)) ++len;
    z[static_cast<std::size_t>(k)] = static_cast<std::int32_t>(len);
    if (k + len > box_r) {
      box_l = k;
      box_r = k + len;
    }
  }

  // Step 3: the token after each earlier occurrence of a repeated suffix, with its (capped) repeat length.
  for (std::int64_t k = 1; k < n; ++k) {
    const auto len = static_cast<std::int32_t>(std::min<std::int64_t>(z[static_cast<std::size_t>(k)], rep_limit));
    if (len < allowed_length) continue;
    out.emplace_back(r(k - 1), len);
  }
  // Each token once, with its longest repeat: sort by (token, length descending) and keep the first of each token.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first < b.first || (a.first == b.first && a.second > b.second);
  });
  out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
            out.end());
}

/// base^e for e >= 0 by binary exponentiation (only multiplications: reproducible, unlike libm `pow`).
inline double ipow(double base, std::int32_t e) noexcept {
  double result = 1.0;
  double b = base;
  auto u = static_cast<std::uint32_t>(e);
  while (u != 0) {
    if ((u & 1u) != 0) result *= b;
    b *= b;
    u >>= 1;
  }
  return result;
}

}  // namespace gen::detail
SCALPEL_END_NAMESPACE
