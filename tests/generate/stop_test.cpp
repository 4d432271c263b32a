// stop_state: end-of-generation ids, max tokens, stop strings with hold-back, the thinking budget, the loop hook.
#include "scalpel/generate/stop.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/generate/rng.hpp"

namespace ut_stop_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using gen::action;
using gen::stop_reason;

namespace {
constexpr std::int32_t tok = 7;  // an ordinary token id

/// Feed pieces as ordinary tokens until a stop; returns the streamed text.
std::string feed(gen::stop_state& st, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) {
    auto a = st.on_token(tok, p);
    out += a.text;
    if (a.is_stop()) break;
  }
  return out;
}
}  // namespace

TEST_CASE("stop: reason names are the JSON names and parse back") {
  const std::vector<std::pair<stop_reason, std::string>> names = {{stop_reason::eos, "eos"},
                                                                  {stop_reason::max_tokens, "max_tokens"},
                                                                  {stop_reason::stop_string, "stop_string"},
                                                                  {stop_reason::thinking_budget, "thinking_budget"},
                                                                  {stop_reason::loop, "loop"},
                                                                  {stop_reason::cancelled, "cancelled"},
                                                                  {stop_reason::context_full, "context_full"},
                                                                  {stop_reason::none, "none"}};
  for (const auto& [r, n] : names) {
    CHECK(gen::stop_reason_name(r) == n);
    CHECK(gen::parse_stop_reason(n) == r);
  }
  CHECK(!gen::parse_stop_reason("EOS").has_value());
}

TEST_CASE("stop: end-of-generation ids (Gemma 4 defaults 1, 106, 50) and ignore_eos") {
  gen::stop_state st(gen::stop_config{});
  CHECK(st.config().eog_ids == std::vector<std::int32_t>{1, 106, 50});
  CHECK(st.on_token(tok, "Hi").text == "Hi");
  auto a = st.on_token(106, "<turn|>");
  CHECK(a.is_stop());
  CHECK(a.reason == stop_reason::eos);
  CHECK(a.text.empty());  // the end token's text is not emitted
  CHECK(st.stopped());
  CHECK(st.reason() == stop_reason::eos);
  CHECK_THROWS_AS(st.on_token(tok, "x"), scalpel::error);
  for (const std::int32_t id : {1, 50}) {
    gen::stop_state s2(gen::stop_config{});
    CHECK(s2.on_token(id, "").reason == stop_reason::eos);
  }
  SUBCASE("ignore_eos: an end id is an ordinary token") {
    gen::stop_config c;
    c.ignore_eos = true;
    gen::stop_state s3(c);
    auto b = s3.on_token(1, "<eos>");
    CHECK(b.what == action::kind::proceed);
    CHECK(b.text == "<eos>");
  }
  SUBCASE("custom ids (e.g. from a GGUF)") {
    gen::stop_config c;
    c.eog_ids = {3};
    gen::stop_state s4(c);
    CHECK(!s4.on_token(106, "").is_stop());
    CHECK(s4.on_token(3, "").is_stop());
  }
}

TEST_CASE("stop: max new tokens counts every token, and 0 stops before the first") {
  gen::stop_config c;
  c.max_tokens = 3;
  gen::stop_state st(c);
  CHECK(!st.begin().is_stop());
  CHECK(!st.on_token(tok, "a").is_stop());
  CHECK(!st.on_token(tok, "b").is_stop());
  auto a = st.on_token(tok, "c");
  CHECK(a.reason == stop_reason::max_tokens);
  CHECK(a.text == "c");  // the last token's text is still emitted
  CHECK(st.generated_tokens() == 3);
  c.max_tokens = 0;
  gen::stop_state zero(c);
  auto b = zero.begin();
  CHECK(b.is_stop());
  CHECK(b.reason == stop_reason::max_tokens);
}

TEST_CASE("stop: stop strings across token boundaries, never emitting a prefix that later completes") {
  gen::stop_config c;
  c.stop_strings = {"STOP"};
  SUBCASE("the match spans three pieces") {
    gen::stop_state st(c);
    auto a1 = st.on_token(tok, "hello S");
    CHECK(a1.text == "hello ");  // "S" may start "STOP": held back
    CHECK(st.held_back_text() == "S");
    auto a2 = st.on_token(tok, "TO");
    CHECK(a2.text.empty());
    CHECK(st.held_back_text() == "STO");
    auto a3 = st.on_token(tok, "P and more");
    CHECK(a3.reason == stop_reason::stop_string);
    CHECK(a3.text.empty());  // neither the stop string nor what follows it
    CHECK(st.matched_stop_string() == "STOP");
  }
  SUBCASE("a false start is released once it cannot match") {
    gen::stop_state st(c);
    CHECK(st.on_token(tok, "hello S").text == "hello ");
    CHECK(st.on_token(tok, "TOne").text == "STOne");
    CHECK(st.held_back_text().empty());
  }
  SUBCASE("a match inside one piece keeps the text before it") {
    gen::stop_state st(c);
    auto a = st.on_token(tok, "abcSTOPdef");
    CHECK(a.reason == stop_reason::stop_string);
    CHECK(a.text == "abc");
  }
  SUBCASE("held-back text is released on any other stop") {
    gen::stop_state st(c);
    CHECK(st.on_token(tok, "x ST").text == "x ");
    auto a = st.on_token(1, "");
    CHECK(a.reason == stop_reason::eos);
    CHECK(a.text == "ST");
  }
  SUBCASE("several stop strings: the earliest match wins, hold-back is the longest possible prefix") {
    c.stop_strings = {"\n\nUser:", "</s>", "ser"};
    gen::stop_state st(c);
    CHECK(st.on_token(tok, "ok\n").text == "ok");
    CHECK(st.on_token(tok, "\nU").text.empty());
    auto a = st.on_token(tok, "ser: hi");  // "ser" also matches, but later than "\n\nUser:"
    CHECK(a.reason == stop_reason::stop_string);
    CHECK(a.text.empty());  // "ok" was already streamed
    CHECK(st.matched_stop_string() == "\n\nUser:");
  }
}

TEST_CASE("stop: random piece boundaries always stream exactly the text before the first stop string") {
  gen::rng r(17);
  const std::vector<std::string> stops = {"<end>", "ee", "xyzxyq"};
  const std::string alphabet = "exyz<>nd q";
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    for (std::uint64_t i = 0, n = r.next() % 60; i < n; ++i) text += alphabet[r.next() % alphabet.size()];
    // Expected: everything before the earliest occurrence of any stop string.
    std::size_t cut = text.size();
    for (const auto& s : stops) cut = std::min(cut, text.find(s) == std::string::npos ? text.size() : text.find(s));
    gen::stop_config c;
    c.stop_strings = stops;
    gen::stop_state st(c);
    std::string streamed;
    bool stopped = false;
    for (std::size_t pos = 0; pos < text.size() && !stopped;) {
      const std::size_t len = std::min<std::size_t>(1 + r.next() % 4, text.size() - pos);
      auto a = st.on_token(tok, std::string_view(text).substr(pos, len));
      streamed += a.text;
      stopped = a.is_stop();
      pos += len;
      // What has been streamed is always a prefix of the final answer (nothing is ever taken back).
      REQUIRE(text.compare(0, streamed.size(), streamed) == 0);
      REQUIRE(streamed.size() <= cut);
    }
    if (!stopped) streamed += st.finish(stop_reason::cancelled).text;
    INFO("text: " << text);
    REQUIRE(streamed == text.substr(0, cut));
    REQUIRE(stopped == (cut < text.size()));
  }
}

TEST_CASE("stop: the thinking budget force-closes the channel, then the answer continues") {
  gen::stop_config c;
  c.thinking_budget = 2;
  gen::stop_state st(c);
  CHECK(st.on_token(tok, "Sure.").what == action::kind::proceed);
  CHECK(st.on_token(100, "").what == action::kind::proceed);  // <|channel> opens (not counted)
  CHECK(st.in_thinking());
  CHECK(st.on_token(tok, "thought").what == action::kind::proceed);
  auto a = st.on_token(tok, " more");  // the second thinking token exhausts the budget
  CHECK(a.is_force());
  CHECK(a.token == 101);
  CHECK(a.text == " more");
  CHECK(st.pending_force() == 101);
  CHECK(st.thinking_tokens() == 2);
  SUBCASE("the generator feeds the forced <channel|>") {
    auto b = st.on_token(101, "");
    CHECK(b.what == action::kind::proceed);
    CHECK(!st.in_thinking());
    CHECK(!st.pending_force().has_value());
    CHECK(st.on_token(tok, "Answer").what == action::kind::proceed);
    CHECK(st.thinking_tokens() == 2);
  }
  SUBCASE("feeding another token instead is a usage error") { CHECK_THROWS_AS(st.on_token(tok, "x"), scalpel::error); }
  SUBCASE("the budget is shared by all channels of the response") {
    gen::stop_state s2(c);
    s2.on_token(100, "");
    s2.on_token(tok, "t");
    s2.on_token(101, "");
    s2.on_token(tok, "answer");
    s2.on_token(100, "");
    CHECK(s2.on_token(tok, "t2").is_force());
  }
  SUBCASE("budget 0 closes a channel as soon as it opens") {
    c.thinking_budget = 0;
    gen::stop_state s3(c);
    auto b = s3.on_token(100, "");
    CHECK(b.is_force());
    CHECK(b.token == 101);
  }
  SUBCASE("or stops, when so configured") {
    c.on_thinking_budget = gen::thinking_overflow::stop;
    gen::stop_state s4(c);
    s4.on_token(100, "");
    s4.on_token(tok, "a");
    auto b = s4.on_token(tok, "b");
    CHECK(b.reason == stop_reason::thinking_budget);
  }
  SUBCASE("max_tokens on the same token wins over the force") {
    c.max_tokens = 3;
    gen::stop_state s5(c);
    s5.on_token(100, "");
    s5.on_token(tok, "a");
    CHECK(s5.on_token(tok, "b").reason == stop_reason::max_tokens);
  }
  SUBCASE("unlimited by default") {
    gen::stop_state s6(gen::stop_config{});
    s6.on_token(100, "");
    for (int i = 0; i < 1000; ++i) REQUIRE(s6.on_token(tok, "t").what == action::kind::proceed);
  }
}

TEST_CASE("stop: the loop hook, external stops and priorities") {
  gen::stop_config c;
  SUBCASE("loop_detected stops only with stop_on_loop") {
    gen::stop_state off(c);
    CHECK(!off.on_token(tok, "x", true).is_stop());
    c.stop_on_loop = true;
    gen::stop_state on(c);
    CHECK(!on.on_token(tok, "x", false).is_stop());
    auto a = on.on_token(tok, "y", true);
    CHECK(a.reason == stop_reason::loop);
    CHECK(a.text == "y");
  }
  SUBCASE("finish releases held-back text") {
    c.stop_strings = {"END"};
    gen::stop_state st(c);
    CHECK(st.on_token(tok, "abcE").text == "abc");
    auto a = st.finish(stop_reason::context_full);
    CHECK(a.reason == stop_reason::context_full);
    CHECK(a.text == "E");
    CHECK_THROWS_AS(st.finish(stop_reason::cancelled), scalpel::error);
    st.reset();
    CHECK(!st.stopped());
    CHECK(st.generated_tokens() == 0);
    CHECK_THROWS_AS(st.finish(stop_reason::none), scalpel::error);
  }
  SUBCASE("eos beats max_tokens; a stop string beats max_tokens") {
    c.max_tokens = 1;
    gen::stop_state a(c);
    CHECK(a.on_token(106, "").reason == stop_reason::eos);
    c.stop_strings = {"!"};
    gen::stop_state b(c);
    CHECK(b.on_token(tok, "hi!").reason == stop_reason::stop_string);
  }
}

TEST_CASE("stop: invalid options") {
  auto bad = [](gen::stop_config c, const std::string& needle) {
    try {
      gen::stop_state st(c);
      FAIL("no error");
    } catch (const scalpel::error& e) {
      CHECK(e.code() == errc::invalid_argument);
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  gen::stop_config c;
  c.stop_strings = {"a", ""};
  bad(c, "stop_strings[1]");
  c = {};
  c.max_tokens = -2;
  bad(c, "max_tokens");
  c = {};
  c.thinking_budget = -5;
  bad(c, "thinking_budget");
  c = {};
  c.channel_close_id = c.channel_open_id;
  bad(c, "channel");
}

TEST_CASE("stop: feed helper sanity (a plain stream without stop strings passes through unchanged)") {
  gen::stop_state st(gen::stop_config{});
  CHECK(feed(st, {"a", "b", "c"}) == "abc");
}

}  // namespace ut_stop_test
