#pragma once
/// @file
/// @brief Exact token-period detector: fires when the tail of the token stream is periodic with a period of
/// 1..`max_period` tokens, sustained for `min_run_tokens` tokens and at least `min_cycles` cycles.
///
/// Definition: after token n, run(p) = the number of consecutive tokens ending at n that equal the token p
/// positions earlier. The periodic region is the last run(p) + p tokens. The detector fires at the first token
/// where, for some p, run(p) ≥ max(min_run_tokens, (min_cycles − 1)·p); it reports the smallest such p, the onset
/// (first token of the region) and the number of cycles. A unit made only of formatting characters
/// (`detail::is_format_char`: whitespace, punctuation, box drawing — a markdown rule, a table separator
/// `|---|---|`) must reach `symbol_min_run_tokens` instead.
///
/// Cost: O(max_period) per token in a branch-free, vectorisable loop (runs are kept in a doubled ring buffer so
/// the comparison window is contiguous); independent of the stream length. After it fires only the found period
/// is followed (to grow `repeats`), O(1) per token.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Thresholds of the exact token-period detector (defaults: paper-notes "Detectors", reconstructed).
struct token_period_config {
  bool enabled = true;
  std::int32_t max_period = 64;              ///< periods 1..max_period tokens are checked
  std::int64_t min_run_tokens = 30;          ///< tokens, beyond the first cycle, that continue the period
  std::int32_t min_cycles = 4;               ///< and at least this many cycles (a chorus sung three times is 3)
  std::int64_t symbol_min_run_tokens = 200;  ///< run needed when the unit is formatting only

  /// @throws scalpel::error (invalid_argument) naming the field when a value is out of range.
  void validate() const {
    if (max_period < 1 || max_period > 4096)
      fail(errc::invalid_argument, "token_period.max_period must be in [1, 4096], got " + std::to_string(max_period));
    if (min_run_tokens < 1)
      fail(errc::invalid_argument, "token_period.min_run_tokens must be >= 1, got " + std::to_string(min_run_tokens));
    if (min_cycles < 1 || min_cycles > 1000)
      fail(errc::invalid_argument, "token_period.min_cycles must be in [1, 1000], got " + std::to_string(min_cycles));
    if (symbol_min_run_tokens < 1)
      fail(errc::invalid_argument,
           "token_period.symbol_min_run_tokens must be >= 1, got " + std::to_string(symbol_min_run_tokens));
  }
};

/// Online exact-period detector over token ids.
class token_period_detector {
 public:
  explicit token_period_detector(const token_period_config& cfg = {}) : cfg_(cfg) {
    cfg_.validate();
    reset();
  }

  /// Feeds the next token. `has_content`: whether the token's text has content, i.e. a character that is not
  /// formatting (`detail::is_format_char`: whitespace, punctuation, box drawing); pass true when the text is unknown.
  /// Returns true at the one token where the detector fires.
  bool push(std::int32_t id, bool has_content = true) {
    const std::int64_t n = n_++;
    const auto big_p = static_cast<std::size_t>(cfg_.max_period);
    const auto pos = static_cast<std::size_t>(n % cfg_.max_period);
    const std::int64_t value = id;
    // Cumulative count of content-bearing tokens, ring of size P + 1: content_[(i) % (P+1)] = count in tokens [0, i).
    const auto wring = big_p + 1;
    content_[static_cast<std::size_t>((n + 1) % static_cast<std::int64_t>(wring))] =
        content_[static_cast<std::size_t>(n % static_cast<std::int64_t>(wring))] + (has_content ? 1 : 0);

    bool fired_now = false;
    if (det_.fired) {
      follow(value, pos);
    } else if (cfg_.enabled) {
      // Window of the previous P tokens (oldest first) is buf_[pos .. pos + P); buf_[pos + k] is token n − (P − k).
      const std::int64_t* w = buf_.data() + pos;
      std::uint32_t* run = run_.data();
      const std::uint32_t* thr = thr_.data();
      std::uint32_t any = 0;
      for (std::size_t k = 0; k < big_p; ++k) {
        const std::uint32_t r = w[k] == value ? run[k] + 1 : 0;
        run[k] = r;
        any |= static_cast<std::uint32_t>(r >= thr[k]);
      }
      if (any != 0) fired_now = check_hits(n);
    }
    buf_[pos] = value;
    buf_[pos + big_p] = value;
    return fired_now;
  }

  [[nodiscard]] bool fired() const noexcept { return det_.fired; }
  [[nodiscard]] const detection& result() const noexcept { return det_; }
  [[nodiscard]] std::int64_t tokens() const noexcept { return n_; }
  [[nodiscard]] const token_period_config& config() const noexcept { return cfg_; }

  /// Forgets everything (the configuration stays).
  void reset() {
    const auto big_p = static_cast<std::size_t>(cfg_.max_period);
    // Sentinel outside the int32 range: never equal to a real id, so periods longer than the stream never match.
    buf_.assign(2 * big_p, std::numeric_limits<std::int64_t>::min());
    run_.assign(big_p, 0);
    thr_.resize(big_p);
    for (std::size_t k = 0; k < big_p; ++k) {
      const auto p = static_cast<std::int64_t>(big_p - k);
      const std::int64_t t = std::max(cfg_.min_run_tokens, (cfg_.min_cycles - 1) * p);
      thr_[k] = static_cast<std::uint32_t>(std::min<std::int64_t>(t, std::numeric_limits<std::uint32_t>::max()));
    }
    content_.assign(big_p + 1, 0);
    n_ = 0;
    follow_run_ = 0;
    following_ = false;
    det_ = detection{};
    det_.detector = det_.kind = phenotype::token_period;
  }

 private:
  // Some period reached the plain threshold: pick the smallest period that passes (content units: plain threshold,
  // formatting-only units: the symbol threshold).
  bool check_hits(std::int64_t n) {
    const auto big_p = static_cast<std::size_t>(cfg_.max_period);
    const auto wring = static_cast<std::int64_t>(big_p + 1);
    for (std::size_t k = big_p; k-- > 0;) {  // smallest period first
      const std::uint32_t r = run_[k];
      if (r < thr_[k]) continue;
      const auto p = static_cast<std::int64_t>(big_p - k);
      const std::int64_t content_in_unit =
          content_[static_cast<std::size_t>((n + 1) % wring)] - content_[static_cast<std::size_t>((n + 1 - p) % wring)];
      const std::int64_t need =
          content_in_unit > 0 ? thr_[k] : std::max<std::int64_t>(thr_[k], cfg_.symbol_min_run_tokens);
      if (static_cast<std::int64_t>(r) < need) continue;
      det_.fired = true;
      det_.fire_token = n;
      det_.period_tokens = p;
      det_.onset_token = n - (static_cast<std::int64_t>(r) + p) + 1;
      follow_run_ = r;
      following_ = true;
      update_repeats();
      return true;
    }
    return false;
  }

  void follow(std::int64_t value, std::size_t pos) {
    if (!following_) return;
    const auto big_p = static_cast<std::size_t>(cfg_.max_period);
    const auto k = big_p - static_cast<std::size_t>(det_.period_tokens);
    if (buf_[pos + k] == value) {
      ++follow_run_;
      update_repeats();
    } else {
      following_ = false;
    }
  }

  void update_repeats() {
    const std::int64_t span = static_cast<std::int64_t>(follow_run_) + det_.period_tokens;
    det_.repeats = span / det_.period_tokens;
    det_.detail = "the last " + std::to_string(span) + " tokens repeat with period " +
                  std::to_string(det_.period_tokens) + " (" + std::to_string(det_.repeats) + " cycles from token " +
                  std::to_string(det_.onset_token) + ")";
  }

  token_period_config cfg_;
  std::vector<std::int64_t> buf_;   // doubled ring of the last P ids
  std::vector<std::uint32_t> run_;  // run_[k]: run for period P − k
  std::vector<std::uint32_t> thr_;  // thr_[k]: plain threshold for period P − k
  std::vector<std::int64_t> content_;
  std::int64_t n_ = 0;
  std::uint32_t follow_run_ = 0;
  bool following_ = false;
  detection det_;
};

}  // namespace analysis
SCALPEL_END_NAMESPACE
