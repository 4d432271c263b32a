// Repetition / presence / frequency penalties and DRY, against logits worked out by hand.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/generate/sampler.hpp"

namespace ut_sampler_penalties_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

namespace {
gen::sampler_config plain() {
  gen::sampler_config c;
  c.top_k = 0;
  c.top_p = 1.0f;
  c.min_p = 0.0f;
  c.typical_p = 1.0f;
  c.temperature = 1.0f;
  return c;
}

/// Logits after the whole chain, dense by id (the chain here never removes tokens).
std::vector<float> final_logits(const gen::sampler_config& c, const std::vector<float>& logits,
                                const std::vector<gen::token_id>& history,
                                gen::dry_breakers br = gen::dry_breakers::from_token_sequences({})) {
  gen::sampler s(c, std::move(br));
  s.accept(history);
  std::vector<float> out(logits.size(), -1e9f);
  for (const auto& t : s.distribution(logits)) out[static_cast<std::size_t>(t.id)] = t.logit;
  return out;
}

const std::vector<float> L = {1.0f, 2.0f, 3.0f, 0.0f, -1.0f};
}  // namespace

TEST_CASE("penalties: repetition penalty divides positive logits and multiplies non-positive ones") {
  auto c = plain();
  c.repeat_penalty = 2.0f;
  c.repeat_last_n = -1;  // the whole history: counts {2: 2, 4: 1, 1: 1}
  // id 1: 2 / 2 = 1; id 2: 3 / 2 = 1.5; id 4: -1 * 2 = -2; ids 0 and 3 were not seen.
  CHECK(final_logits(c, L, {2, 4, 2, 1}) == std::vector<float>{1.0f, 1.0f, 1.5f, 0.0f, -2.0f});
  // A zero logit stays zero (0 <= 0 is multiplied).
  CHECK(final_logits(c, L, {3}) == std::vector<float>{1.0f, 2.0f, 3.0f, 0.0f, -1.0f});
  SUBCASE("a penalty below 1 favours repeats") {
    c.repeat_penalty = 0.5f;
    CHECK(final_logits(c, L, {2, 4}) == std::vector<float>{1.0f, 2.0f, 6.0f, 0.0f, -0.5f});
  }
}

TEST_CASE("penalties: presence and frequency subtract count * frequency + presence") {
  auto c = plain();
  c.presence_penalty = 0.5f;
  c.frequency_penalty = 0.25f;
  c.repeat_last_n = -1;
  // id 2 (count 2): 3 - (2 * 0.25 + 0.5) = 2; id 4 (1): -1 - 0.75 = -1.75; id 1 (1): 2 - 0.75 = 1.25.
  CHECK(final_logits(c, L, {2, 4, 2, 1}) == std::vector<float>{1.0f, 1.25f, 2.0f, 0.0f, -1.75f});
  SUBCASE("negative values reward repeats") {
    c.presence_penalty = -1.0f;
    c.frequency_penalty = 0.0f;
    CHECK(final_logits(c, L, {0}) == std::vector<float>{2.0f, 2.0f, 3.0f, 0.0f, -1.0f});
  }
}

TEST_CASE("penalties: all three over the look-back window") {
  auto c = plain();
  c.repeat_penalty = 2.0f;
  c.presence_penalty = 0.5f;
  c.frequency_penalty = 0.25f;
  const std::vector<gen::token_id> hist = {2, 4, 2, 1};
  SUBCASE("window 3 sees [4, 2, 1], each once") {
    c.repeat_last_n = 3;
    // id 1: 2/2 - 0.75 = 0.25; id 2: 3/2 - 0.75 = 0.75; id 4: -1*2 - 0.75 = -2.75.
    CHECK(final_logits(c, L, hist) == std::vector<float>{1.0f, 0.25f, 0.75f, 0.0f, -2.75f});
  }
  SUBCASE("window 1 sees [1]") {
    c.repeat_last_n = 1;
    CHECK(final_logits(c, L, hist) == std::vector<float>{1.0f, 0.25f, 3.0f, 0.0f, -1.0f});
  }
  SUBCASE("window 4 = -1 = longer than the history: everything") {
    const std::vector<float> want = {1.0f, 0.25f, 1.5f - 1.0f, 0.0f, -2.75f};
    c.repeat_last_n = 4;
    CHECK(final_logits(c, L, hist) == want);
    c.repeat_last_n = 100;
    CHECK(final_logits(c, L, hist) == want);
    c.repeat_last_n = -1;
    CHECK(final_logits(c, L, hist) == want);
  }
  SUBCASE("window 0 disables the penalties") {
    c.repeat_last_n = 0;
    CHECK(final_logits(c, L, hist) == L);
  }
  SUBCASE("the window only sees tokens the sampler accepted, the prompt included") {
    c.repeat_last_n = 64;
    gen::sampler s(c);
    s.accept(std::vector<gen::token_id>{2, 4});
    s.accept(2);
    s.accept(1);
    std::vector<float> got(5);
    for (const auto& t : s.distribution(L)) got[static_cast<std::size_t>(t.id)] = t.logit;
    CHECK(got == std::vector<float>{1.0f, 0.25f, 0.5f, 0.0f, -2.75f});
  }
}

TEST_CASE("penalties run before top-k in the default order, and a custom order changes that") {
  auto c = plain();
  c.frequency_penalty = 1.0f;
  c.top_k = 1;
  // Token 2 (logit 3) seen three times: 3 - 3 = 0, so token 1 (logit 2) is now the only top-1 survivor.
  gen::sampler a(c);
  a.accept(std::vector<gen::token_id>{2, 2, 2});
  auto d = a.distribution(L);
  REQUIRE(d.size() == 1);
  CHECK(d[0].id == 1);
  c.order = {gen::stage::top_k, gen::stage::penalties, gen::stage::temperature};
  gen::sampler b(c);
  b.accept(std::vector<gen::token_id>{2, 2, 2});
  d = b.distribution(L);
  REQUIRE(d.size() == 1);
  CHECK(d[0].id == 2);
  CHECK(d[0].logit == 0.0f);
}

// ---- DRY ---------------------------------------------------------------------------------------------------------
// Tokens a=1, b=2, c=3, d=5; six logits all 0, so a DRY penalty P shows up as the logit -P.

namespace {
gen::sampler_config dry_cfg(float mult, float base, std::int32_t allowed, std::int32_t last_n = -1) {
  auto c = plain();
  c.dry_multiplier = mult;
  c.dry_base = base;
  c.dry_allowed_length = allowed;
  c.dry_penalty_last_n = last_n;
  return c;
}
const std::vector<float> Z6(6, 0.0f);
gen::dry_breakers seqs(std::vector<std::vector<gen::token_id>> s) { return gen::dry_breakers::from_token_sequences(s); }
}  // namespace

TEST_CASE("DRY: a b c a b -> c would repeat 'a b c' (repeat length 2, penalty multiplier * base^0)") {
  // Reversed history r = b a c b a; the suffix "a b" reappears ending 3 tokens back (z[3] = 2), followed by c.
  CHECK(final_logits(dry_cfg(1.0f, 2.0f, 2), Z6, {1, 2, 3, 1, 2}) == std::vector<float>{0, 0, 0, -1.0f, 0, 0});
  SUBCASE("allowed length 3: a repeat of 2 is allowed") {
    CHECK(final_logits(dry_cfg(1.0f, 2.0f, 3), Z6, {1, 2, 3, 1, 2}) == Z6);
  }
  SUBCASE("multiplier 0 disables DRY") { CHECK(final_logits(dry_cfg(0.0f, 2.0f, 2), Z6, {1, 2, 3, 1, 2}) == Z6); }
}

TEST_CASE("DRY: a b c a b c a b -> c extends a repeat of 5: 0.5 * 2^(5-2) = 4") {
  // r = b a c b a c b a: z[3] = 5 (followed by c), z[6] = 2 (followed by c): c keeps its longest, 5.
  const std::vector<gen::token_id> h = {1, 2, 3, 1, 2, 3, 1, 2};
  CHECK(final_logits(dry_cfg(0.5f, 2.0f, 2), Z6, h) == std::vector<float>{0, 0, 0, -4.0f, 0, 0});
  SUBCASE("penalty window 5 sees only a b c a b: length 2, penalty 0.5") {
    CHECK(final_logits(dry_cfg(0.5f, 2.0f, 2, 5), Z6, h) == std::vector<float>{0, 0, 0, -0.5f, 0, 0});
  }
  SUBCASE("a multi-token breaker 'c a' ending one token back limits repeats to 1 (< 2): no penalty") {
    CHECK(final_logits(dry_cfg(0.5f, 2.0f, 2), Z6, h, seqs({{3, 1}})) == Z6);
  }
  SUBCASE("the breaker 'c b' never occurs: no effect") {
    CHECK(final_logits(dry_cfg(0.5f, 2.0f, 2), Z6, h, seqs({{3, 2}})) == std::vector<float>{0, 0, 0, -4.0f, 0, 0});
  }
  SUBCASE("the breaker 'b c' (head b at r[3], tail c at r[2]) caps repeats at 3 - 1 = 2: penalty 0.5") {
    CHECK(final_logits(dry_cfg(0.5f, 2.0f, 2), Z6, h, seqs({{2, 3}})) == std::vector<float>{0, 0, 0, -0.5f, 0, 0});
  }
  SUBCASE("the exponent is capped so base^e stays finite in f32 (base 1e30: e <= 88.72 / 69.08 = 1)") {
    const auto got = final_logits(dry_cfg(1.0f, 1e30f, 2), Z6, h);
    CHECK(got[3] == -1e30f);
  }
}

TEST_CASE("DRY: single-token breakers are never penalised themselves") {
  // a b c a b d a b: r = b a d b a c b a; z[3] = 2 (followed by d), z[6] = 2 (followed by c).
  const std::vector<gen::token_id> h = {1, 2, 3, 1, 2, 5, 1, 2};
  CHECK(final_logits(dry_cfg(0.5f, 2.0f, 2), Z6, h) == std::vector<float>{0, 0, 0, -0.5f, 0, -0.5f});
  CHECK(final_logits(dry_cfg(0.5f, 2.0f, 2), Z6, h, seqs({{5}})) == std::vector<float>{0, 0, 0, -0.5f, 0, 0});
}

namespace {
// A literal O(n^2) reading of llama.cpp's DRY steps 1-3, to check the linear-time implementation.
std::vector<std::pair<std::int32_t, std::int32_t>> dry_naive(const std::vector<std::int32_t>& w,
                                                             const std::vector<std::vector<std::int32_t>>& br,
                                                             std::int32_t allowed) {
  const int n = static_cast<int>(w.size());
  std::vector<std::pair<std::int32_t, std::int32_t>> out;
  if (n <= allowed) return out;
  auto rat = [&](int i) { return w[static_cast<std::size_t>(n - 1 - i)]; };
  int rep_limit = n;
  for (int i = 0; i < n; ++i) {
    int longest = -1;
    for (const auto& b : br) {
      const int len = static_cast<int>(b.size()) - 1;
      if (b[0] != rat(i) || len > i || len <= longest) continue;
      bool ok = true;
      for (int o = 0; o < len; ++o) ok = ok && b[static_cast<std::size_t>(o + 1)] == rat(i - o - 1);
      if (ok) longest = len;
    }
    if (longest >= 0) {
      rep_limit = i - longest;
      break;
    }
  }
  if (rep_limit < allowed) return out;
  std::vector<std::int32_t> best(16, -1);
  for (int k = 1; k < n; ++k) {
    int m = 0;
    while (m + k < n && rat(m) == rat(m + k)) ++m;
    m = std::min(m, rep_limit);
    if (m >= allowed) {
      auto& b = best[static_cast<std::size_t>(rat(k - 1))];
      b = std::max(b, m);
    }
  }
  for (std::int32_t t = 0; t < 16; ++t) {
    if (best[static_cast<std::size_t>(t)] >= 0) out.emplace_back(t, best[static_cast<std::size_t>(t)]);
  }
  return out;
}
}  // namespace

TEST_CASE("DRY: the Z-function implementation equals the naive definition on random histories") {
  gen::rng r(99);
  std::vector<std::int32_t> z;
  std::vector<std::pair<std::int32_t, std::int32_t>> got;
  for (int trial = 0; trial < 3000; ++trial) {
    const auto alphabet = static_cast<std::int32_t>(2 + r.next() % 4);
    std::vector<std::int32_t> w(r.next() % 40);
    for (auto& t : w) t = static_cast<std::int32_t>(r.next() % static_cast<std::uint64_t>(alphabet));
    std::vector<std::vector<std::int32_t>> br;
    for (std::uint64_t i = 0, nb = r.next() % 3; i < nb; ++i) {
      std::vector<std::int32_t> b(1 + r.next() % 3);
      for (auto& t : b) t = static_cast<std::int32_t>(r.next() % static_cast<std::uint64_t>(alphabet + 1));
      br.push_back(b);
    }
    const auto allowed = static_cast<std::int32_t>(1 + r.next() % 3);
    gen::detail::dry_table table;
    for (const auto& b : br) table.entries.push_back({b[0], {b.begin() + 1, b.end()}});
    table.normalize();
    gen::detail::dry_repeats(w, table, allowed, z, got);
    INFO("trial " << trial);
    REQUIRE(got == dry_naive(w, br, allowed));
  }
}

TEST_CASE("DRY: breakers resolved from strings over the vocabulary text (llama.cpp's rules)") {
  // Vocabulary: 0 "a", 1 "b", 2 "xa", 3 "ab!", 4 "\n", 5 "q:".
  gen::vocab_text v;
  v.size = 6;
  v.piece = [](gen::token_id id) {
    static const char* p[] = {"a", "b", "xa", "ab!", "\n", "q:"};
    return std::string(p[id]);
  };
  SUBCASE("single-character breakers: tokens containing them") {
    const std::vector<std::string> s = {"\n", ":"};
    auto br = gen::dry_breakers::from_strings(s, v);
    REQUIRE(br.entries().size() == 2);
    CHECK(br.entries()[0].head == 4);
    CHECK(br.entries()[0].tail.empty());
    CHECK(br.entries()[1].head == 5);
    CHECK(br.table()->is_single_token_breaker(5));
    CHECK(!br.table()->is_single_token_breaker(0));
  }
  SUBCASE("a multi-character breaker: containing tokens, and tokens ending in its prefix with an encoded tail") {
    v.encode = [](std::string_view text) {
      std::vector<gen::token_id> ids;
      for (const char ch : text) ids.push_back(ch == 'a' ? 0 : 1);
      return ids;
    };
    const std::vector<std::string> s = {"ab"};
    auto br = gen::dry_breakers::from_strings(s, v);
    const std::vector<gen::detail::dry_entry> want = {{0, {1}}, {2, {1}}, {3, {}}};
    CHECK(std::vector<gen::detail::dry_entry>(br.entries().begin(), br.entries().end()) == want);
    SUBCASE("without an encoder only containing tokens count") {
      v.encode = nullptr;
      auto br2 = gen::dry_breakers::from_strings(s, v);
      REQUIRE(br2.entries().size() == 1);
      CHECK(br2.entries()[0].head == 3);
    }
  }
  SUBCASE("the sampler demands resolved breakers when DRY is on, matching the configured strings") {
    auto c = dry_cfg(1.0f, 2.0f, 2);
    CHECK_THROWS_WITH_AS(gen::sampler{c}, doctest::Contains("dry_breakers::from_strings"), scalpel::error);
    const std::vector<std::string> other = {"\n"};
    CHECK_THROWS_WITH_AS((gen::sampler{c, gen::dry_breakers::from_strings(other, v)}),
                         doctest::Contains("other strings"), scalpel::error);
    CHECK_NOTHROW((gen::sampler{c, gen::dry_breakers::from_strings(c.dry_sequence_breakers, v)}));
    c.dry_sequence_breakers.clear();
    CHECK_NOTHROW(gen::sampler{c});
    c = dry_cfg(0.0f, 2.0f, 2);  // DRY off: nothing to resolve
    CHECK_NOTHROW(gen::sampler{c});
  }
}

}  // namespace ut_sampler_penalties_test
