#pragma once
/// @file
/// @brief Strict n-gram repetition detector: fires when some n-gram of token ids (n = 30) has occurred
/// `min_count` (20) times, overlapping occurrences included. It catches loops the period detector cannot see:
/// cycles longer than its maximum period, and cycles whose copies differ somewhere outside a shared n-token stretch.
///
/// Each n-gram is identified by a polynomial rolling hash modulo the Mersenne prime 2^61 − 1 (O(1) to slide);
/// counts live in a hash map (O(1) amortised per token, memory linear in the stream). A 61-bit hash collision
/// could merge two n-grams; at 10^6 tokens its probability is below 10^-6.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Thresholds of the strict n-gram detector (defaults: paper-notes "Detectors", reconstructed).
struct ngram_config {
  bool enabled = true;
  std::int32_t n = 30;          ///< n-gram length in tokens
  std::int64_t min_count = 20;  ///< occurrences of one n-gram that fire the detector

  /// @throws scalpel::error (invalid_argument) naming the field when a value is out of range.
  void validate() const {
    if (n < 1 || n > 4096) fail(errc::invalid_argument, "ngram.n must be in [1, 4096], got " + std::to_string(n));
    if (min_count < 2) fail(errc::invalid_argument, "ngram.min_count must be >= 2, got " + std::to_string(min_count));
  }
};

namespace detail {
inline constexpr std::uint64_t mersenne61 = (std::uint64_t{1} << 61) - 1;

/// x mod (2^61 − 1) for any 64-bit x.
constexpr std::uint64_t mod61(std::uint64_t x) noexcept {
  x = (x & mersenne61) + (x >> 61);
  return x >= mersenne61 ? x - mersenne61 : x;
}

/// a·b mod (2^61 − 1) for a, b < 2^61, with 64-bit arithmetic only (no __int128: -Wpedantic).
constexpr std::uint64_t mulmod61(std::uint64_t a, std::uint64_t b) noexcept {
  const std::uint64_t a1 = a >> 32, a0 = a & 0xFFFFFFFFu, b1 = b >> 32, b0 = b & 0xFFFFFFFFu;
  const std::uint64_t hh = a1 * b1;             // < 2^58; weight 2^64 ≡ 8
  const std::uint64_t mid = a1 * b0 + a0 * b1;  // < 2^62; weight 2^32
  const std::uint64_t lo = a0 * b0;             // < 2^64
  std::uint64_t r = (hh << 3) + (mid >> 29) + ((mid & ((std::uint64_t{1} << 29) - 1)) << 32);
  r = mod61(r) + mod61(lo);
  return mod61(r);
}
}  // namespace detail

/// Online strict n-gram repetition detector over token ids.
class ngram_detector {
 public:
  explicit ngram_detector(const ngram_config& cfg = {}) : cfg_(cfg) {
    cfg_.validate();
    std::uint64_t p = 1;
    for (std::int32_t i = 1; i < cfg_.n; ++i) p = detail::mulmod61(p, base);
    top_power_ = p;
    reset();
  }

  /// Feeds the next token. Returns true at the one token where the detector fires.
  bool push(std::int32_t id) {
    const std::int64_t n = n_++;
    if (!cfg_.enabled) return false;
    const auto len = static_cast<std::size_t>(cfg_.n);
    const std::uint64_t v = detail::mod61(static_cast<std::uint64_t>(static_cast<std::uint32_t>(id)) + 1);
    const auto slot = static_cast<std::size_t>(n % cfg_.n);
    if (n >= cfg_.n) {  // slide the oldest token out
      const std::uint64_t out = detail::mulmod61(window_[slot], top_power_);
      hash_ = detail::mod61(hash_ + detail::mersenne61 - out);
    }
    hash_ = detail::mod61(detail::mulmod61(hash_, base) + v);
    window_[slot] = v;
    if (n + 1 < static_cast<std::int64_t>(len)) return false;

    const std::int64_t start = n + 1 - cfg_.n;
    auto [it, inserted] = stats_.try_emplace(hash_, stat{});
    stat& s = it->second;
    if (inserted) {
      s.first_start = start;
    } else {
      s.last_gap = start - s.last_start;
    }
    s.last_start = start;
    ++s.count;
    if (det_.fired) {
      if (hash_ == fired_hash_) describe(s);
      return false;
    }
    if (s.count < cfg_.min_count) return false;
    det_.fired = true;
    det_.fire_token = n;
    det_.onset_token = s.first_start;
    fired_hash_ = hash_;
    describe(s);
    return true;
  }

  [[nodiscard]] bool fired() const noexcept { return det_.fired; }
  [[nodiscard]] const detection& result() const noexcept { return det_; }
  [[nodiscard]] std::int64_t tokens() const noexcept { return n_; }
  [[nodiscard]] const ngram_config& config() const noexcept { return cfg_; }

  void reset() {
    window_.assign(static_cast<std::size_t>(cfg_.n), 0);
    stats_.clear();
    hash_ = 0;
    n_ = 0;
    fired_hash_ = 0;
    det_ = detection{};
    det_.detector = det_.kind = phenotype::ngram;
  }

 private:
  struct stat {
    std::int64_t count = 0;
    std::int64_t first_start = 0;
    std::int64_t last_start = 0;
    std::int64_t last_gap = 0;
  };

  void describe(const stat& s) {
    det_.repeats = s.count;
    det_.period_tokens = s.last_gap;
    det_.detail = "a " + std::to_string(cfg_.n) + "-token n-gram occurs " + std::to_string(s.count) +
                  " times (first at token " + std::to_string(s.first_start) + ", latest gap " +
                  std::to_string(s.last_gap) + " tokens)";
  }

  static constexpr std::uint64_t base = 0x1F3A5C7E9B2D4F61ULL % detail::mersenne61;

  ngram_config cfg_;
  std::vector<std::uint64_t> window_;
  std::unordered_map<std::uint64_t, stat> stats_;
  std::uint64_t hash_ = 0;
  std::uint64_t top_power_ = 1;
  std::uint64_t fired_hash_ = 0;
  std::int64_t n_ = 0;
  detection det_;
};

}  // namespace analysis
SCALPEL_END_NAMESPACE
