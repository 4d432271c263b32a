// Exact token-period and strict n-gram detectors: thresholds at and one below, onset/period reporting,
// formatting-only units, growth after firing, configuration errors, linear cost on long streams.
#include "scalpel/analysis/token_period.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/analysis/ngram_repeat.hpp"
#include "scalpel/core/error.hpp"

namespace ut_token_period_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel::analysis;

namespace {
// `n` tokens cycling through `unit`.
std::vector<std::int32_t> cycle(const std::vector<std::int32_t>& unit, std::size_t n) {
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(unit[i % unit.size()]);
  return out;
}
std::vector<std::int32_t> distinct(std::int32_t first, std::size_t n) {
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(first + static_cast<std::int32_t>(i));
  return out;
}
// Index of the token at which the detector fired, or -1.
template <class Detector>
std::int64_t fire_index(Detector& d, const std::vector<std::int32_t>& ids) {
  std::int64_t at = -1;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (d.push(ids[i]) && at < 0) at = static_cast<std::int64_t>(i);
  }
  return at;
}
std::vector<std::int32_t> operator+(std::vector<std::int32_t> a, const std::vector<std::int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
// Deterministic pseudo-random ids (no loops by construction at these lengths).
std::vector<std::int32_t> noise(std::size_t n, std::uint32_t seed) {
  std::vector<std::int32_t> out;
  std::uint32_t x = seed;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    out.push_back(static_cast<std::int32_t>((x >> 8) % 50000u));
  }
  return out;
}
}  // namespace

TEST_CASE("token_period: period 1 fires on the 31st identical token, not the 30th") {
  token_period_detector d;
  for (int i = 0; i < 30; ++i) REQUIRE_FALSE(d.push(7));
  CHECK_FALSE(d.fired());
  CHECK(d.push(7));
  const detection& r = d.result();
  CHECK(r.fired);
  CHECK(r.detector == phenotype::token_period);
  CHECK(r.onset_token == 0);
  CHECK(r.fire_token == 30);
  CHECK(r.period_tokens == 1);
  CHECK(r.repeats == 31);
}

TEST_CASE("token_period: a short period after a prefix reports the onset of the first cycle") {
  // period 7: threshold max(30, 3 * 7) = 30 tokens beyond the first cycle -> 37 loop tokens
  const auto prefix = distinct(100, 5);
  const auto loop = cycle(distinct(1, 7), 37);
  {
    token_period_detector d;
    CHECK(fire_index(d, prefix + cycle(distinct(1, 7), 36)) == -1);
  }
  token_period_detector d;
  CHECK(fire_index(d, prefix + loop) == 5 + 36);
  CHECK(d.result().onset_token == 5);
  CHECK(d.result().period_tokens == 7);
  CHECK(d.result().repeats == 37 / 7);
}

TEST_CASE("token_period: long periods need four cycles (a chorus sung three times is not a loop)") {
  const auto chorus = distinct(1, 40);  // threshold max(30, 3 * 40) = 120 beyond the first cycle
  {
    token_period_detector d;
    CHECK(fire_index(d, cycle(chorus, 120)) == -1);  // three times
  }
  {
    token_period_detector d;
    CHECK(fire_index(d, cycle(chorus, 159)) == -1);
  }
  token_period_detector d;
  CHECK(fire_index(d, cycle(chorus, 160)) == 159);
  CHECK(d.result().period_tokens == 40);
  CHECK(d.result().repeats == 4);
  CHECK(d.result().onset_token == 0);
}

TEST_CASE("token_period: the smallest period is reported") {
  token_period_detector d;
  CHECK(fire_index(d, cycle({1, 2}, 200)) == 31);  // run 30 beyond the first cycle of 2
  CHECK(d.result().period_tokens == 2);
}

TEST_CASE("token_period: formatting-only units need symbol_min_run_tokens") {
  token_period_detector d;  // symbol_min_run_tokens = 200
  for (int i = 0; i < 200; ++i) REQUIRE_FALSE(d.push(9, false));
  CHECK(d.push(9, false));
  CHECK(d.result().period_tokens == 1);
  // a unit with one content token among formatting tokens uses the plain threshold
  token_period_detector e;
  std::int64_t at = -1;
  for (int i = 0; i < 100 && at < 0; ++i) {
    if (e.push(i % 3 == 0 ? 5 : 6, i % 3 == 0)) at = i;
  }
  CHECK(at == 32);
}

TEST_CASE("token_period: repeats grow while the loop continues and freeze when it breaks") {
  token_period_detector d;
  const auto ids = cycle({1, 2, 3}, 33);
  CHECK(fire_index(d, ids) == 32);
  CHECK(d.result().repeats == 11);
  for (int i = 0; i < 30; ++i) d.push(ids[static_cast<std::size_t>(i % 3)]);  // 33 + 30 = 63 tokens = 21 cycles
  CHECK(d.result().repeats == 21);
  d.push(99);
  for (int i = 0; i < 30; ++i) d.push(ids[static_cast<std::size_t>(i % 3)]);
  CHECK(d.result().repeats == 21);
  CHECK(d.result().onset_token == 0);
}

TEST_CASE("token_period: periods above max_period are not seen - a larger maximum sees them") {
  const auto ids = cycle(distinct(1, 65), 65 * 6);
  token_period_detector d;
  CHECK(fire_index(d, ids) == -1);
  token_period_config cfg;
  cfg.max_period = 128;
  token_period_detector big(cfg);
  CHECK(fire_index(big, ids) == 65 * 4 - 1);
  CHECK(big.result().period_tokens == 65);
}

TEST_CASE("token_period: disabled and reset") {
  token_period_config cfg;
  cfg.enabled = false;
  token_period_detector off(cfg);
  CHECK(fire_index(off, cycle({1}, 100)) == -1);
  token_period_detector d;
  CHECK(fire_index(d, cycle({1}, 100)) == 30);
  d.reset();
  CHECK_FALSE(d.fired());
  CHECK(d.tokens() == 0);
  CHECK(fire_index(d, cycle({4, 5}, 100)) == 31);
}

TEST_CASE("token_period: invalid thresholds are errors naming the field") {
  token_period_config cfg;
  cfg.max_period = 0;
  CHECK_THROWS_WITH_AS(token_period_detector{cfg}, doctest::Contains("token_period.max_period"), scalpel::error);
  cfg = {};
  cfg.min_run_tokens = 0;
  CHECK_THROWS_WITH_AS(token_period_detector{cfg}, doctest::Contains("min_run_tokens"), scalpel::error);
}

TEST_CASE("token_period: a 100k-token stream is processed in one linear pass") {
  token_period_detector d;
  CHECK(fire_index(d, noise(100000, 1)) == -1);
  CHECK(d.tokens() == 100000);
  token_period_detector e;
  CHECK(fire_index(e, noise(500, 2) + cycle(distinct(7, 9), 100000)) == 500 + 9 + 30 - 1);
  CHECK(e.result().repeats == 100000 / 9);
}

TEST_CASE("ngram: mulmod61 agrees with 128-bit arithmetic") {
  __extension__ using u128 = unsigned __int128;
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 10000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t a = x % detail::mersenne61;
    const std::uint64_t b = (x * 0xD1B54A32D192ED03ULL) % detail::mersenne61;
    const auto want = static_cast<std::uint64_t>((static_cast<u128>(a) * b) % detail::mersenne61);
    REQUIRE(detail::mulmod61(a, b) == want);
  }
  CHECK(detail::mulmod61(detail::mersenne61 - 1, detail::mersenne61 - 1) == 1);
}

TEST_CASE("ngram: a 30-gram occurring 20 times fires at the 20th occurrence, not the 19th") {
  // cycle of 40: the 30-gram starting at 0 recurs at 40k; its 20th occurrence starts at 760 and ends at 789
  const auto ids = cycle(distinct(1, 40), 800);
  ngram_detector d;
  CHECK(fire_index(d, std::vector<std::int32_t>(ids.begin(), ids.begin() + 789)) == -1);
  CHECK(d.push(ids[789]));
  CHECK(d.result().onset_token == 0);
  CHECK(d.result().fire_token == 789);
  CHECK(d.result().period_tokens == 40);
  CHECK(d.result().repeats == 20);
  d.push(ids[790]);  // the 30-gram starting at 1 reaches 20; the fired one keeps its count
  CHECK(d.result().repeats == 20);
}

TEST_CASE("ngram: small n, exact counting, and near-misses") {
  ngram_config cfg;
  cfg.n = 3;
  cfg.min_count = 3;
  ngram_detector d(cfg);
  CHECK(fire_index(d, {1, 2, 3, 9, 1, 2, 3, 8, 1, 2, 3}) == 10);
  CHECK(d.result().onset_token == 0);
  CHECK(d.result().period_tokens == 4);
  ngram_detector e(cfg);
  CHECK(fire_index(e, {1, 2, 3, 1, 2, 4, 1, 2, 5, 1, 2, 6, 1, 2, 7}) == -1);
}

TEST_CASE("ngram: a cycle with a changing counter fires once the fixed part repeats min_count times") {
  std::vector<std::int32_t> ids;
  for (int c = 0; c < 25; ++c) {
    ids.push_back(100000 + c);  // counter
    const auto fixed = distinct(1, 35);
    ids.insert(ids.end(), fixed.begin(), fixed.end());
  }
  ngram_detector d;
  const std::int64_t at = fire_index(d, ids);
  CHECK(at == 19 * 36 + 30);  // 20th cycle, end of the first fixed 30-gram
  CHECK(d.result().period_tokens == 36);
  token_period_detector p;
  CHECK(fire_index(p, ids) == -1);  // not exactly periodic
}

TEST_CASE("ngram: invalid thresholds are errors naming the field") {
  ngram_config cfg;
  cfg.min_count = 1;
  CHECK_THROWS_WITH_AS(ngram_detector{cfg}, doctest::Contains("ngram.min_count"), scalpel::error);
}

TEST_CASE("ngram: a 100k-token stream without repeats does not fire") {
  ngram_detector d;
  CHECK(fire_index(d, noise(100000, 3)) == -1);
  CHECK(d.tokens() == 100000);
}

}  // namespace ut_token_period_test
