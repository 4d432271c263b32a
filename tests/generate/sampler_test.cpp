// The sampler as a whole: the draw, seeds, greedy, the stage order, per-token outputs, edge cases and errors.
#include "scalpel/generate/sampler.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace ut_sampler_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

namespace {
using V = std::vector<float>;
const V L = {1.0f, 2.0f, 3.0f, 0.0f, -1.0f};
constexpr float ninf = -std::numeric_limits<float>::infinity();

gen::sampler_config plain(std::uint64_t seed = 0) {
  gen::sampler_config c;
  c.top_k = 0;
  c.top_p = 1.0f;
  c.min_p = 0.0f;
  c.typical_p = 1.0f;
  c.temperature = 1.0f;
  c.seed = seed;
  return c;
}

std::vector<gen::token_id> draw(gen::sampler& s, const std::vector<float>& logits, int n) {
  std::vector<gen::token_id> out;
  for (int i = 0; i < n; ++i) out.push_back(s.sample(logits).id);
  return out;
}

template <class F>
void check_error(F f, errc code, const std::string& needle) {
  try {
    f();
    FAIL("no error; expected " << needle);
  } catch (const scalpel::error& e) {
    CHECK(e.code() == code);
    INFO(e.what());
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
}
}  // namespace

TEST_CASE("sampler: a pinned token sequence, reproduced by an independent implementation of the draw") {
  // Python over the spec of docs/sampling.md (xoshiro256** + SplitMix64, u = (x >> 11) 2^-53, weights
  // exp(l - max) in id order, first id whose running sum exceeds u * total).
  gen::sampler s(plain(42));
  CHECK(draw(s, L, 24) ==
        std::vector<gen::token_id>{0, 2, 2, 2, 4, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 2, 2});
  SUBCASE("Gemma 4 defaults (top-p 0.95 keeps tokens 0, 1, 2), seed 7") {
    auto c = gen::gemma4_it_defaults();
    c.seed = 7;
    gen::sampler g(c);
    CHECK(draw(g, L, 24) ==
          std::vector<gen::token_id>{2, 1, 2, 2, 2, 2, 0, 1, 2, 1, 2, 2, 2, 2, 2, 2, 1, 2, 1, 1, 1, 2, 2, 1});
  }
}

TEST_CASE("sampler: 100 draws over a 50,000-token vocabulary match the independent implementation") {
  // Logits l_i = ((x >> 40) - 2^23) / 2^21 (exact in f32, in [-4, 4)) from gen::rng(5); top-p 0.9 keeps 14,472
  // tokens (past the 1,024-token partial-sort head), then T = 0.7, seed 99. Reference: the same Python as above.
  gen::rng g(5);
  std::vector<float> logits(50000);
  for (auto& v : logits) v = static_cast<float>(static_cast<double>(g.next() >> 40) - 8388608.0) / 2097152.0f;
  auto c = plain(99);
  c.top_p = 0.9f;
  c.temperature = 0.7f;
  gen::sampler s(c);
  const auto first = s.sample(logits);
  CHECK(first.n_candidates == 14472);
  std::vector<gen::token_id> ids = {first.id};
  for (int i = 1; i < 100; ++i) ids.push_back(s.sample(logits).id);
  CHECK(std::vector<gen::token_id>(ids.begin(), ids.begin() + 20) ==
        std::vector<gen::token_id>{17584, 28220, 19066, 42486, 39216, 10387, 14076, 2927,  41944, 29071,
                                   36887, 8602,  7363,  6144,  19982, 25724, 9826,  45186, 7441,  37644});
  std::int64_t sum = 0, weighted = 0;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    sum += ids[k];
    weighted += static_cast<std::int64_t>(k + 1) * ids[k];
  }
  CHECK(sum == 2541589);
  CHECK(weighted == 128917533);
}

TEST_CASE("sampler: the same seed gives the same tokens, different seeds differ") {
  std::vector<float> logits(1000);
  gen::rng r(5);
  for (auto& v : logits) v = static_cast<float>(4.0 * r.uniform());
  gen::sampler a(plain(123)), b(plain(123)), c(plain(124));
  const auto ta = draw(a, logits, 300), tb = draw(b, logits, 300), tc = draw(c, logits, 300);
  CHECK(ta == tb);
  CHECK(ta != tc);
  SUBCASE("reset restarts the stream; a copy forks it") {
    a.reset();
    CHECK(draw(a, logits, 300) == ta);
    gen::sampler fork = b;
    CHECK(draw(fork, logits, 50) == draw(b, logits, 50));
  }
  SUBCASE("every sample consumes exactly one RNG output, greedy included") {
    auto g = plain(9);
    g.temperature = 0.0f;
    gen::sampler s(g);
    gen::rng ref(9);
    for (int i = 0; i < 5; ++i) {
      s.sample(logits);
      ref.next();
    }
    CHECK(s.rng_state() == ref);
  }
}

TEST_CASE("sampler: samplers share no state, so threads do not change the tokens") {
  std::vector<float> logits(4096);
  gen::rng g(8);
  for (auto& v : logits) v = static_cast<float>(6.0 * g.uniform());
  gen::sampler ref(plain(31));
  const auto want = draw(ref, logits, 200);
  std::vector<std::vector<gen::token_id>> got(4);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < got.size(); ++t) {
    pool.emplace_back([&, t] {
      gen::sampler s(plain(31));
      got[t] = draw(s, logits, 200);
    });
  }
  for (auto& th : pool) th.join();
  for (const auto& v : got) CHECK(v == want);
}

TEST_CASE("sampler: sampling matches a known distribution (chi-square, fixed seed)") {
  // p = softmax([1, 2, 3, 0, -1]) (see sampler_stages_test.cpp).
  const std::vector<double> p = {0.0861285444, 0.2341216573, 0.6364086466, 0.0316849208, 0.0116562310};
  gen::sampler s(plain(2025));
  constexpr int n = 40000;
  std::vector<int> count(5, 0);
  for (int i = 0; i < n; ++i) ++count[static_cast<std::size_t>(s.sample(L).id)];
  double chi2 = 0.0;
  for (std::size_t i = 0; i < 5; ++i) chi2 += (count[i] - n * p[i]) * (count[i] - n * p[i]) / (n * p[i]);
  CHECK(chi2 < 25.0);  // df = 4: p = 0.001 at 18.5; a wrong distribution gives hundreds
  SUBCASE("after top-k 2 only tokens 1 and 2 ever appear, in ratio 1 : e") {
    auto c = plain(77);
    c.top_k = 2;
    gen::sampler k(c);
    std::vector<int> kc(5, 0);
    for (int i = 0; i < n; ++i) ++kc[static_cast<std::size_t>(k.sample(L).id)];
    CHECK(kc[0] + kc[3] + kc[4] == 0);
    const double p2 = std::exp(1.0) / (1.0 + std::exp(1.0));
    const double x2 = (kc[2] - n * p2) * (kc[2] - n * p2) / (n * p2) +
                      (kc[1] - n * (1 - p2)) * (kc[1] - n * (1 - p2)) / (n * (1 - p2));
    CHECK(x2 < 20.0);  // df = 1: p = 0.001 at 10.8
  }
}

TEST_CASE("sampler: greedy (temperature 0) takes the argmax, ties to the lowest id, whatever the seed") {
  auto c = plain();
  c.temperature = 0.0f;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    c.seed = seed;
    gen::sampler s(c);
    CHECK(s.sample(L).id == 2);
    CHECK(s.sample(V{0.5f, 7.0f, -3.0f, 7.0f, 7.0f}).id == 1);
  }
  SUBCASE("greedy after the default filters of Gemma 4 (top-k 64, top-p 0.95)") {
    auto g = gen::gemma4_it_defaults();
    g.temperature = 0.0f;
    gen::sampler s(g);
    const auto r = s.sample(L);
    CHECK(r.id == 2);
    CHECK(r.logprob == 0.0);
    CHECK(r.n_candidates == 1);
  }
  SUBCASE("all logits equal: token 0") {
    gen::sampler s(c);
    CHECK(s.sample(V{1.0f, 1.0f, 1.0f}).id == 0);
  }
}

TEST_CASE("sampler: the stage order matters and is llama.cpp's by default") {
  CHECK(gen::format_stage_order(gen::default_order) == "logit_bias;penalties;dry;top_k;typ_p;top_p;min_p;temperature");
  CHECK(gen::sampler_config{}.order == std::vector<gen::stage>(gen::default_order.begin(), gen::default_order.end()));
  // min-p 0.2 at T = 1 keeps tokens 1 and 2 (e^-1 >= 0.2 > e^-2); then T = 0.5 gives p(2) = 1 / (1 + e^-2).
  auto c = plain();
  c.min_p = 0.2f;
  c.temperature = 0.5f;
  gen::sampler a(c);
  auto d = a.distribution(L);
  REQUIRE(d.size() == 2);
  CHECK(d[1].id == 2);
  CHECK(d[1].p == doctest::Approx(1.0 / (1.0 + std::exp(-2.0))).epsilon(1e-12));
  // Temperature first: the doubled logits make p(1) / p(2) = e^-2 = 0.135 < 0.2, so only token 2 survives.
  c.order = {gen::stage::temperature, gen::stage::min_p};
  gen::sampler b(c);
  d = b.distribution(L);
  REQUIRE(d.size() == 1);
  CHECK(d[0].id == 2);
}

TEST_CASE("sampler: parse_stage_order reads llama.cpp's --samplers names and --sampling-seq letters") {
  using gen::stage;
  const std::vector<stage> dflt(gen::default_order.begin(), gen::default_order.end());
  CHECK(gen::parse_stage_order("edkypmt") == dflt);
  CHECK(gen::parse_stage_order("penalties;dry;top_k;typ_p;top_p;min_p;temperature") == dflt);
  CHECK(gen::parse_stage_order(gen::format_stage_order(dflt)) == dflt);
  CHECK(gen::parse_stage_order("top_k, temp") ==
        std::vector<stage>{stage::logit_bias, stage::top_k, stage::temperature});
  CHECK(gen::parse_stage_order("kbt") == std::vector<stage>{stage::top_k, stage::logit_bias, stage::temperature});
  CHECK(gen::parse_stage_order("dry") == std::vector<stage>{stage::logit_bias, stage::dry});
  check_error([] { gen::parse_stage_order("top_k;xtc"); }, errc::unsupported, "xtc");
  check_error([] { gen::parse_stage_order("top_k;banana"); }, errc::invalid_argument, "banana");
  check_error([] { gen::parse_stage_order("kk"); }, errc::invalid_argument, "twice");
}

TEST_CASE("sampler: per-token log-probabilities and alternatives") {
  auto c = plain(3);
  c.top_k = 2;
  c.top_logprobs = 3;
  gen::sampler s(c);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + 1.0 + std::exp(-1.0));
  const double p2 = std::exp(1.0) / (1.0 + std::exp(1.0));
  for (int i = 0; i < 20; ++i) {
    const auto r = s.sample(L);
    REQUIRE((r.id == 1 || r.id == 2));
    CHECK(r.n_candidates == 2);
    CHECK(r.logprob == doctest::Approx(std::log(r.id == 2 ? p2 : 1 - p2)).epsilon(1e-12));
    CHECK(r.raw_logprob ==
          doctest::Approx(static_cast<double>(L[static_cast<std::size_t>(r.id)]) - lse).epsilon(1e-12));
    REQUIRE(r.top.size() == 3);
    CHECK(r.top[0].id == 2);
    CHECK(r.top[1].id == 1);
    CHECK(r.top[2].id == 0);
    CHECK(r.top[0].logprob == doctest::Approx(std::log(p2)).epsilon(1e-12));
    CHECK(r.top[2].logprob == -std::numeric_limits<double>::infinity());  // removed by top-k
    CHECK(r.top[2].raw_logprob == doctest::Approx(1.0 - lse).epsilon(1e-12));
  }
  SUBCASE("off by default: raw_logprob is NaN and no alternatives") {
    gen::sampler q(plain());
    const auto r = q.sample(L);
    CHECK(std::isnan(r.raw_logprob));
    CHECK(r.top.empty());
  }
  SUBCASE("more alternatives than tokens: all of them") {
    c.top_logprobs = 50;
    gen::sampler q(c);
    CHECK(q.sample(L).top.size() == 5);
  }
}

TEST_CASE("sampler: masked (-inf) tokens are never drawn, and a vocabulary of one always gives token 0") {
  gen::sampler s(plain(11));
  for (int i = 0; i < 200; ++i) CHECK(s.sample(V{ninf, 0.0f, ninf, 0.0f}).id % 2 == 1);
  gen::sampler one(plain(1));
  const auto r = one.sample(V{-3.0f});
  CHECK(r.id == 0);
  CHECK(r.logprob == 0.0);
}

TEST_CASE("sampler: NaN and +Inf logits are numeric errors naming the token, while -Inf is allowed") {
  gen::sampler s(plain());
  check_error([&] { s.sample(V{0.0f, 1.0f, std::nanf(""), 0.0f}); }, errc::numeric, "token 2 is NaN");
  check_error(
      [&] {
        s.sample(V{0.0f, std::numeric_limits<float>::infinity(), 0.0f, 0.0f});
      },
      errc::numeric, "token 1 is +Inf");
  check_error([&] { s.sample(V{ninf, ninf, ninf, ninf}); }, errc::numeric, "every logit is -Inf");
  CHECK_NOTHROW(s.sample(V{ninf, 0.0f, ninf, ninf}));
  SUBCASE("a logit bias that masks everything left") {
    auto c = plain();
    c.logit_bias = {{1, ninf}};
    gen::sampler b(c);
    check_error([&] { b.sample(V{ninf, 0.0f, ninf}); }, errc::numeric, "logit_bias stage");
  }
  SUBCASE("a stage that overflows to +Inf") {
    auto c = plain();
    c.logit_bias = {{0, 3e38f}};
    gen::sampler b(c);
    check_error([&] { b.sample(V{3e38f, 0.0f}); }, errc::numeric, "logit of token 0 +Inf");
  }
}

TEST_CASE("sampler: shape and id errors") {
  gen::sampler s(plain());
  check_error([&] { s.sample(V{}); }, errc::shape_mismatch, "empty");
  s.sample(L);
  check_error([&] { s.sample(V{0.0f, 1.0f}); }, errc::shape_mismatch, "expected V = 5");
  check_error([&] { s.accept(5); }, errc::out_of_range, "accepted token id 5");
  check_error([&] { s.accept(-1); }, errc::out_of_range, "id -1");
  auto c = plain();
  c.logit_bias = {{7, 1.0f}};
  gen::sampler b(c);
  check_error([&] { b.sample(L); }, errc::out_of_range, "logit_bias token id 7");
  check_error([&] { b.sample(L); }, errc::out_of_range, "logit_bias token id 7");  // still, on every call
  gen::sampler h(plain());
  h.accept(9);  // V unknown yet
  check_error([&] { h.sample(L); }, errc::out_of_range, "history token id 9");
}

TEST_CASE("sampler: invalid options are invalid_argument errors naming the option") {
  auto expect_bad = [](auto mutate, const std::string& option) {
    auto c = plain();
    mutate(c);
    INFO("option " << option);
    check_error([&] { gen::sampler s(c); }, errc::invalid_argument, option);
  };
  using cfg = gen::sampler_config;
  expect_bad([](cfg& c) { c.temperature = -0.5f; }, "temperature");
  expect_bad([](cfg& c) { c.temperature = std::nanf(""); }, "temperature");
  expect_bad([](cfg& c) { c.top_k = -1; }, "top_k");
  expect_bad([](cfg& c) { c.top_p = 0.0f; }, "top_p");
  expect_bad([](cfg& c) { c.top_p = 1.5f; }, "top_p");
  expect_bad([](cfg& c) { c.min_p = -0.1f; }, "min_p");
  expect_bad([](cfg& c) { c.min_p = 1.1f; }, "min_p");
  expect_bad([](cfg& c) { c.typical_p = 0.0f; }, "typical_p");
  expect_bad([](cfg& c) { c.min_keep = -1; }, "min_keep");
  expect_bad([](cfg& c) { c.repeat_penalty = 0.0f; }, "repeat_penalty");
  expect_bad([](cfg& c) { c.repeat_penalty = -1.1f; }, "repeat_penalty");
  expect_bad([](cfg& c) { c.repeat_last_n = -2; }, "repeat_last_n");
  expect_bad([](cfg& c) { c.presence_penalty = std::numeric_limits<float>::infinity(); }, "presence_penalty");
  expect_bad([](cfg& c) { c.frequency_penalty = std::nanf(""); }, "frequency_penalty");
  expect_bad([](cfg& c) { c.dry_multiplier = -1.0f; }, "dry_multiplier");
  expect_bad([](cfg& c) { c.dry_multiplier = 1.0f, c.dry_base = 0.5f; }, "dry_base");
  expect_bad([](cfg& c) { c.dry_multiplier = 1.0f, c.dry_allowed_length = 0; }, "dry_allowed_length");
  expect_bad([](cfg& c) { c.dry_penalty_last_n = -3; }, "dry_penalty_last_n");
  expect_bad([](cfg& c) { c.dry_sequence_breakers = {"\n", ""}; }, "dry_sequence_breakers[1]");
  expect_bad([](cfg& c) { c.logit_bias = {{1, std::nanf("")}}; }, "logit_bias");
  expect_bad([](cfg& c) { c.logit_bias = {{1, std::numeric_limits<float>::infinity()}}; }, "logit_bias");
  expect_bad([](cfg& c) { c.logit_bias = {{-4, 1.0f}}; }, "logit_bias");
  expect_bad([](cfg& c) { c.order = {gen::stage::top_k, gen::stage::top_k}; }, "order");
  expect_bad([](cfg& c) { c.temperature = 0.0f, c.order = {gen::stage::top_k}; }, "temperature 0");
  expect_bad([](cfg& c) { c.top_logprobs = -1; }, "top_logprobs");
  // Boundaries that are valid.
  auto ok = plain();
  ok.top_p = 1.0f;
  ok.min_p = 1.0f;
  ok.temperature = 0.0f;
  ok.presence_penalty = -2.0f;
  ok.dry_base = 0.0f;  // ignored while DRY is off (llama.cpp: "0 = disabled")
  CHECK_NOTHROW(gen::sampler{ok});
}

TEST_CASE("sampler: llama.cpp defaults and ban_tokens") {
  const auto l = gen::llama_cpp_defaults();
  CHECK(l.temperature == 0.8f);
  CHECK(l.top_k == 40);
  CHECK(l.min_p == 0.05f);
  const auto g = gen::gemma4_it_defaults();
  CHECK(g.temperature == 1.0f);
  CHECK(g.top_k == 64);
  CHECK(g.top_p == 0.95f);
  auto c = plain(4);
  const std::vector<gen::token_id> eog = {2, 1};
  gen::ban_tokens(c, eog);
  gen::sampler s(c);
  for (int i = 0; i < 100; ++i) {
    const auto id = s.sample(L).id;
    CHECK(id != 1);
    CHECK(id != 2);
  }
}

}  // namespace ut_sampler_test
