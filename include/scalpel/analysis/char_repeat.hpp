#pragma once
/// @file
/// @brief Character-repeat detector: fires when a substring of 1..`max_period_chars` characters repeats
/// consecutively at least `min_repeats` times and the repeats span at least `min_span_chars` characters.
/// Characters are Unicode code points (the monitor decodes UTF-8 across token boundaries).
///
/// Definition (same shape as the token-period detector): run(q) = the number of consecutive characters ending at
/// the newest one that equal the character q positions earlier; the repeated region is the last run(q) + q
/// characters. Fires when run(q) + q ≥ max(min_span_chars, min_repeats·q). A unit made only of formatting
/// characters (`detail::is_format_char`: `-----`, `|---`, `════`) must span `symbol_min_span_chars` instead, so
/// markdown rules and table separators are not loops (emoji and other symbols are content).
///
/// Cost: O(max_period_chars) per character in one branch-free loop over a doubled ring buffer (vectorised by the
/// compiler), independent of the stream length; after firing only the found period is followed.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Thresholds of the character-repeat detector (defaults: paper-notes "Detectors", reconstructed).
struct char_repeat_config {
  bool enabled = true;
  std::int32_t max_period_chars = 1024;      ///< unit lengths 1..max_period_chars are checked
  std::int32_t min_repeats = 4;              ///< consecutive copies of the unit
  std::int64_t min_span_chars = 60;          ///< characters the copies cover together
  std::int64_t symbol_min_span_chars = 400;  ///< span needed when the unit is formatting only

  /// @throws scalpel::error (invalid_argument) naming the field when a value is out of range.
  void validate() const {
    if (max_period_chars < 1 || max_period_chars > 65536)
      fail(errc::invalid_argument,
           "char_repeat.max_period_chars must be in [1, 65536], got " + std::to_string(max_period_chars));
    if (min_repeats < 2 || min_repeats > 100000)
      fail(errc::invalid_argument,
           "char_repeat.min_repeats must be in [2, 100000], got " + std::to_string(min_repeats));
    if (min_span_chars < 1)
      fail(errc::invalid_argument, "char_repeat.min_span_chars must be >= 1, got " + std::to_string(min_span_chars));
    if (symbol_min_span_chars < 1)
      fail(errc::invalid_argument,
           "char_repeat.symbol_min_span_chars must be >= 1, got " + std::to_string(symbol_min_span_chars));
  }
};

/// Online character-repeat detector.
class char_repeat_detector {
 public:
  explicit char_repeat_detector(const char_repeat_config& cfg = {}) : cfg_(cfg) {
    cfg_.validate();
    reset();
  }

  /// Feeds the next character and the index of the token it belongs to. Returns true at the one character where
  /// the detector fires.
  bool push(char32_t c, std::int64_t token) {
    const std::int64_t i = n_++;
    const auto big_q = static_cast<std::size_t>(cfg_.max_period_chars);
    const auto pos = static_cast<std::size_t>(i % cfg_.max_period_chars);
    // Token of every recent character and cumulative content-character counts, for onsets and the symbol rule.
    token_of_[static_cast<std::size_t>(i % hist_)] = token;
    content_[static_cast<std::size_t>((i + 1) % hist_)] =
        content_[static_cast<std::size_t>(i % hist_)] + (detail::is_format_char(c) ? 0 : 1);

    bool fired_now = false;
    if (det_.fired) {
      follow(c, pos);
    } else if (cfg_.enabled) {
      const char32_t* w = buf_.data() + pos;  // w[k] = character i − (Q − k)
      std::uint32_t* run = run_.data();
      const std::uint32_t* thr = thr_.data();
      std::uint32_t any = 0;
      for (std::size_t k = 0; k < big_q; ++k) {
        const std::uint32_t r = w[k] == c ? run[k] + 1 : 0;
        run[k] = r;
        any |= static_cast<std::uint32_t>(r >= thr[k]);
      }
      if (any != 0) fired_now = check_hits(i, token);
    }
    buf_[pos] = c;
    buf_[pos + big_q] = c;
    return fired_now;
  }

  [[nodiscard]] bool fired() const noexcept { return det_.fired; }
  [[nodiscard]] const detection& result() const noexcept { return det_; }
  [[nodiscard]] std::int64_t chars() const noexcept { return n_; }
  [[nodiscard]] const char_repeat_config& config() const noexcept { return cfg_; }

  void reset() {
    const auto big_q = static_cast<std::size_t>(cfg_.max_period_chars);
    buf_.assign(2 * big_q, sentinel);
    run_.assign(big_q, 0);
    thr_.resize(big_q);
    for (std::size_t k = 0; k < big_q; ++k) {
      const auto q = static_cast<std::int64_t>(big_q - k);
      // run + q >= max(min_span, min_repeats * q)  <=>  run >= max(min_span - q, (min_repeats - 1) * q)
      const std::int64_t t = std::max(cfg_.min_span_chars - q, (cfg_.min_repeats - 1) * q);
      thr_[k] = static_cast<std::uint32_t>(std::clamp<std::int64_t>(t, 1, std::numeric_limits<std::uint32_t>::max()));
    }
    // The region at the first firing spans at most max(min_span, symbol_min_span, min_repeats * Q) characters.
    hist_ = std::max({cfg_.min_span_chars, cfg_.symbol_min_span_chars,
                      static_cast<std::int64_t>(cfg_.min_repeats) * cfg_.max_period_chars}) +
            2;
    token_of_.assign(static_cast<std::size_t>(hist_), 0);
    content_.assign(static_cast<std::size_t>(hist_), 0);
    n_ = 0;
    follow_run_ = 0;
    following_ = false;
    det_ = detection{};
    det_.detector = det_.kind = phenotype::char_repeat;
  }

  /// The last `q` characters (the repeated unit when q is the fired period), oldest first.
  [[nodiscard]] std::u32string tail(std::int64_t q) const {
    std::u32string out;
    const auto big_q = static_cast<std::int64_t>(cfg_.max_period_chars);
    q = std::min({q, big_q, n_});
    const auto pos = static_cast<std::size_t>(n_ % big_q);  // buf_[pos .. pos + Q) holds the last Q characters
    for (std::int64_t j = big_q - q; j < big_q; ++j) out.push_back(buf_[pos + static_cast<std::size_t>(j)]);
    return out;
  }

 private:
  static constexpr char32_t sentinel = 0xFFFFFFFFu;  // never a decoded character

  bool check_hits(std::int64_t i, std::int64_t token) {
    const auto big_q = static_cast<std::size_t>(cfg_.max_period_chars);
    for (std::size_t k = big_q; k-- > 0;) {  // smallest unit first
      const std::uint32_t r = run_[k];
      if (r < thr_[k]) continue;
      const auto q = static_cast<std::int64_t>(big_q - k);
      const std::int64_t span = static_cast<std::int64_t>(r) + q;
      const std::int64_t unit_content =
          content_[static_cast<std::size_t>((i + 1) % hist_)] - content_[static_cast<std::size_t>((i + 1 - q) % hist_)];
      if (unit_content == 0 && span < std::max<std::int64_t>(cfg_.symbol_min_span_chars, cfg_.min_repeats * q))
        continue;
      det_.fired = true;
      det_.fire_token = token;
      det_.period_chars = q;
      onset_char_ = i - span + 1;
      det_.onset_token = token_of_[static_cast<std::size_t>(onset_char_ % hist_)];
      // tokens in one unit (exact when the loop is token-aligned)
      det_.period_tokens = token - token_of_[static_cast<std::size_t>((i - q) % hist_)];
      follow_run_ = r;
      following_ = true;
      update();
      return true;
    }
    return false;
  }

  void follow(char32_t c, std::size_t pos) {
    if (!following_) return;
    const auto k = static_cast<std::size_t>(cfg_.max_period_chars - det_.period_chars);
    if (buf_[pos + k] == c) {
      ++follow_run_;
      update();
    } else {
      following_ = false;
    }
  }

  void update() {
    const std::int64_t span = static_cast<std::int64_t>(follow_run_) + det_.period_chars;
    det_.repeats = span / det_.period_chars;
    det_.detail = "a " + std::to_string(det_.period_chars) + "-character unit repeats " + std::to_string(det_.repeats) +
                  " times (" + std::to_string(span) + " characters from token " + std::to_string(det_.onset_token) +
                  ")";
  }

  char_repeat_config cfg_;
  std::vector<char32_t> buf_;       // doubled ring of the last Q characters
  std::vector<std::uint32_t> run_;  // run_[k]: run for unit length Q − k
  std::vector<std::uint32_t> thr_;  // thr_[k]: plain threshold for unit length Q − k
  std::vector<std::int64_t> token_of_;
  std::vector<std::int64_t> content_;
  std::int64_t hist_ = 1;
  std::int64_t n_ = 0;
  std::int64_t onset_char_ = 0;
  std::uint32_t follow_run_ = 0;
  bool following_ = false;
  detection det_;
};

}  // namespace analysis
SCALPEL_END_NAMESPACE
