#pragma once
/// @file
/// @brief `gen::rng`: the fully specified random generator behind sampling (xoshiro256** seeded by SplitMix64)
/// and its uniform mapping to [0, 1). Integer arithmetic only, so a seed yields the same stream on every
/// platform, compiler and run; nothing here depends on `<random>`, whose distributions are
/// implementation-defined. See docs/sampling.md ("Random numbers") for the specification and test vectors.

#include <array>
#include <cstdint>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen {

/// One step of SplitMix64 (Steele, Lea, Flood 2014): advances `state` by the golden-ratio increment
/// 0x9E3779B97F4A7C15 and returns the mixed value. Used only to expand a 64-bit seed into xoshiro's state.
constexpr std::uint64_t splitmix64_next(std::uint64_t& state) noexcept {
  state += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// xoshiro256** 1.0 (Blackman & Vigna 2018), a 256-bit-state generator with 64-bit outputs.
///
/// Seeding: `s[0..3]` are the first four outputs of SplitMix64 started at `seed` (never all zero).
/// Output: `rotl(s[1] * 5, 7) * 9`, then the state update
/// `t = s[1] << 17; s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)`.
/// `uniform()` maps one output to a double in [0, 1): `(next() >> 11) * 2^-53` (exact; 2^53 equally spaced values).
///
/// A value type: copying it forks the stream (both copies then produce the same numbers).
class rng {
 public:
  /// The seed used when none is given. Fixed: scalpel never seeds from the clock.
  static constexpr std::uint64_t default_seed = 0;

  constexpr rng() noexcept : rng(default_seed) {}
  constexpr explicit rng(std::uint64_t seed) noexcept { reseed(seed); }

  /// Restart the stream as if freshly constructed with `seed`.
  constexpr void reseed(std::uint64_t seed) noexcept {
    seed_ = seed;
    std::uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64_next(sm);
  }

  /// The seed this stream was (re)started from.
  [[nodiscard]] constexpr std::uint64_t seed() const noexcept { return seed_; }

  /// The next 64-bit output.
  constexpr std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5u, 7) * 9u;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// A double uniformly distributed in [0, 1) with 53 random bits: `(next() >> 11) * 2^-53`. Consumes one output.
  constexpr double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// The raw 256-bit state (for tests and for checkpointing a stream).
  [[nodiscard]] constexpr const std::array<std::uint64_t, 4>& state() const noexcept { return s_; }

  friend constexpr bool operator==(const rng&, const rng&) = default;

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  std::array<std::uint64_t, 4> s_{};
  std::uint64_t seed_ = 0;
};

}  // namespace gen
SCALPEL_END_NAMESPACE
