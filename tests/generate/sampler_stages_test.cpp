// Each stage of the chain against distributions computed by hand for a five-token vocabulary.
//
// Logits l = [1, 2, 3, 0, -1] (token ids 0..4). With S = e + e^2 + e^3 + 1 + e^-1 = 31.5607546 the plain softmax is
//   p = [e/S, e^2/S, e^3/S, 1/S, e^-1/S] = [0.0861285, 0.2341217, 0.6364086, 0.0316849, 0.0116562].
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/generate/sampler.hpp"

namespace ut_sampler_stages_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

namespace {
const std::vector<float> L = {1.0f, 2.0f, 3.0f, 0.0f, -1.0f};
constexpr double e = 2.718281828459045;

/// Only the stages a test switches on do anything.
gen::sampler_config plain() {
  gen::sampler_config c;
  c.temperature = 1.0f;
  c.top_k = 0;
  c.top_p = 1.0f;
  c.min_p = 0.0f;
  c.typical_p = 1.0f;
  return c;
}

/// The final distribution as a dense vector over the vocabulary (0 for removed tokens).
std::vector<double> probs(const gen::sampler_config& c, const std::vector<float>& logits = L,
                          const std::vector<gen::token_id>& history = {}) {
  gen::sampler s(c, gen::dry_breakers::from_token_sequences({}));
  s.accept(history);
  std::vector<double> p(logits.size(), 0.0);
  for (const auto& t : s.distribution(logits)) p[static_cast<std::size_t>(t.id)] = t.p;
  return p;
}

void check_probs(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-6) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("token " << i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
  }
}

const std::vector<double> plain_p = {0.0861285444, 0.2341216573, 0.6364086466, 0.0316849208, 0.0116562310};
// Tokens 1 and 2 only: e^2/(e^2+e^3) = 1/(1+e) and e/(1+e).
const std::vector<double> top2_p = {0.0, 1.0 / (1.0 + e), e / (1.0 + e), 0.0, 0.0};
// Tokens 0, 1, 2: e^l / (e + e^2 + e^3).
const std::vector<double> top3_p = {1.0 / (1.0 + e + e * e), e / (1.0 + e + e * e), e* e / (1.0 + e + e * e), 0.0, 0.0};
}  // namespace

TEST_CASE("sampler stages: no stage active gives the plain softmax") {
  check_probs(probs(plain()), plain_p);
  // The hand value of the normaliser.
  CHECK(e + e * e + e * e * e + 1.0 + 1.0 / e == doctest::Approx(31.5607546));
}

TEST_CASE("sampler stages: top-k") {
  auto c = plain();
  c.top_k = 2;
  check_probs(probs(c), top2_p);
  c.top_k = 3;
  check_probs(probs(c), top3_p);
  c.top_k = 1;
  check_probs(probs(c), {0, 0, 1, 0, 0});
  SUBCASE("k larger than the vocabulary keeps everything") {
    c.top_k = 10;
    check_probs(probs(c), plain_p);
  }
  SUBCASE("k = 0 is disabled") {
    c.top_k = 0;
    check_probs(probs(c), plain_p);
  }
  SUBCASE("ties at the cut go to the lower id") {
    c.top_k = 2;
    check_probs(probs(c, {5.0f, 1.0f, 5.0f, 5.0f, 0.0f}), {0.5, 0, 0.5, 0, 0});
  }
}

TEST_CASE("sampler stages: top-p keeps the shortest prefix reaching p") {
  auto c = plain();
  c.top_p = 0.6f;  // 0.636 >= 0.6 after token 2 alone
  check_probs(probs(c), {0, 0, 1, 0, 0});
  c.top_p = 0.8f;  // 0.636 < 0.8 <= 0.636 + 0.234 = 0.871
  check_probs(probs(c), top2_p);
  c.top_p = 0.9f;  // 0.871 < 0.9 <= 0.871 + 0.086 = 0.957
  check_probs(probs(c), top3_p);
  SUBCASE("p = 1 is disabled") {
    c.top_p = 1.0f;
    check_probs(probs(c), plain_p);
  }
  SUBCASE("min_keep holds more tokens") {
    c.top_p = 0.6f;
    c.min_keep = 3;
    check_probs(probs(c), top3_p);
  }
  SUBCASE("a large unsorted vocabulary (the partial-sort shortcut and its fallback)") {
    c.top_p = 0.6f;
    std::vector<float> big(10000, 0.0f);
    big[1234] = 20.0f;  // carries almost all the mass: the shortcut finds it in the head
    auto p = probs(c, big);
    CHECK(p[1234] == 1.0);
    // Flat: the nucleus needs 60% of 10,000 tokens, beyond the 1,024-token head. 0.6f is 0.60000002, so 6,000
    // tokens (0.6 up to rounding) fall short and the 6,001st completes the nucleus.
    std::vector<float> flat(10000, 1.0f);
    std::size_t kept = 0;
    for (const double v : probs(c, flat)) kept += v > 0 ? 1 : 0;
    CHECK(kept == 6001);
  }
}

TEST_CASE("sampler stages: min-p keeps p_i >= min_p * p_max") {
  // p_i / p_max = e^(l_i - 3) = [e^-2, e^-1, 1, e^-3, e^-4] = [0.135, 0.368, 1, 0.0498, 0.0183].
  auto c = plain();
  c.min_p = 0.1f;
  check_probs(probs(c), top3_p);
  c.min_p = 0.2f;
  check_probs(probs(c), top2_p);
  c.min_p = 0.4f;
  check_probs(probs(c), {0, 0, 1, 0, 0});
  SUBCASE("min-p 0 is disabled") {
    c.min_p = 0.0f;
    check_probs(probs(c), plain_p);
  }
  SUBCASE("min_keep") {
    c.min_p = 0.4f;
    c.min_keep = 2;
    check_probs(probs(c), top2_p);
  }
}

TEST_CASE("sampler stages: typical-p, worked by hand") {
  // H = -sum p ln p = ln S - sum p_i l_i = 3.4519144 - 2.4519416 = 0.99997.
  // |-ln p_i - H| = |ln S - l_i - H| = [1.452, 0.452, 0.548, 2.452, 3.452]: the order is 1, 2, 0, 3, 4 (token 1 is
  // more "typical" than the argmax 2). Cumulative mass in that order: 0.234, 0.871, 0.957, 0.988, 1.
  auto c = plain();
  c.typical_p = 0.2f;  // 0.234 > 0.2 after token 1 alone: the argmax is dropped
  check_probs(probs(c), {0, 1, 0, 0, 0});
  c.typical_p = 0.5f;
  check_probs(probs(c), top2_p);
  c.typical_p = 0.9f;
  check_probs(probs(c), top3_p);
  c.typical_p = 1.0f;
  check_probs(probs(c), plain_p);
}

TEST_CASE("sampler stages: temperature") {
  auto c = plain();
  SUBCASE("T = 0.5 doubles the logits") {
    c.temperature = 0.5f;
    // softmax(2 l) = e^(2 l_i) / (e^2 + e^4 + e^6 + 1 + e^-2)
    const double s = e * e + std::pow(e, 4) + std::pow(e, 6) + 1.0 + 1.0 / (e * e);
    check_probs(probs(c), {e * e / s, std::pow(e, 4) / s, std::pow(e, 6) / s, 1.0 / s, 1.0 / (e * e) / s});
  }
  SUBCASE("T = 2 halves them") {
    c.temperature = 2.0f;
    const double r = std::sqrt(e);
    const double s = r + e + e * r + 1.0 + 1.0 / r;
    check_probs(probs(c), {r / s, e / s, e * r / s, 1.0 / s, 1.0 / r / s});
  }
  SUBCASE("T = 0 is greedy: the argmax, ties to the lowest id") {
    c.temperature = 0.0f;
    check_probs(probs(c), {0, 0, 1, 0, 0});
    check_probs(probs(c, {1.0f, 3.0f, 0.0f, 3.0f, -1.0f}), {0, 1, 0, 0, 0});
  }
  SUBCASE("a temperature so small that l / T overflows f32 still yields the argmax") {
    c.temperature = 1e-38f;
    check_probs(probs(c), {0, 0, 1, 0, 0});
  }
  SUBCASE("all logits equal stay uniform") {
    c.temperature = 0.7f;
    check_probs(probs(c, {4.0f, 4.0f, 4.0f, 4.0f, 4.0f}), {0.2, 0.2, 0.2, 0.2, 0.2});
  }
}

TEST_CASE("sampler stages: logit bias") {
  auto c = plain();
  c.logit_bias = {{0, 1.5f}, {0, 0.5f}, {4, -std::numeric_limits<float>::infinity()}};
  // l = [3, 2, 3, 0, -inf]: e^l / (2 e^3 + e^2 + 1)
  const double s = 2 * e * e * e + e * e + 1.0;
  check_probs(probs(c), {e * e * e / s, e * e / s, e * e * e / s, 1.0 / s, 0.0});
}

TEST_CASE("sampler stages: a single candidate and masked tokens") {
  auto c = plain();
  check_probs(probs(c, {0.25f}), {1.0});
  const float ninf = -std::numeric_limits<float>::infinity();
  check_probs(probs(c, {ninf, 0.0f, ninf, 0.0f, ninf}), {0, 0.5, 0, 0.5, 0});
}

}  // namespace ut_sampler_stages_test
