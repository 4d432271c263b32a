// Gemma 4 chat format: golden prompts for both template families (thinking on/off, multi-turn with stripped
// thinking), conversation JSON, output parsing, and the token ids of rendered prompts.

#include "scalpel/generate/chat.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_test_util.hpp"

namespace ut_chat_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using gen::chat_family;
using gen::chat_message;
using gen::chat_role;
using tok_test::show;

TEST_CASE("chat: golden prompts rendered by the reference template (tests/data/tokenizer/chat_cases.json)") {
  const auto doc = nlohmann::json::parse(tok_test::slurp(SCALPEL_TEST_DATA_DIR "/tokenizer/chat_cases.json"));
  std::size_t n = 0;
  for (const auto& c : doc.at("cases")) {
    CAPTURE(c.at("name").get<std::string>());
    CAPTURE(c.at("family").get<std::string>());
    CAPTURE(c.at("think").get<bool>());
    gen::chat_options o;
    o.family = c.at("family") == "large" ? chat_family::large : chat_family::small;
    o.thinking = c.at("think").get<bool>();
    o.add_generation_prompt = c.at("gen").get<bool>();
    const auto messages = gen::conversation_from_json(c.at("messages"), "chat_cases.json");
    CHECK(gen::render_chat(messages, o) == c.at("prompt").get<std::string>());
    ++n;
  }
  CHECK(n >= 32);
}

TEST_CASE("chat: the four variants of a simple prompt, spelled out") {
  const std::vector<chat_message> conv = {{chat_role::user, "Hello"}};
  const std::string base = "<bos><|turn>user\nHello<turn|>\n<|turn>model\n";
  CHECK(gen::render_chat(conv, {.thinking = false, .family = chat_family::small}) == base);
  CHECK(gen::render_chat(conv, {.thinking = false, .family = chat_family::large}) ==
        base + "<|channel>thought\n<channel|>");
  const std::string think = "<bos><|turn>system\n<|think|><turn|>\n<|turn>user\nHello<turn|>\n<|turn>model\n";
  CHECK(gen::render_chat(conv, {.thinking = true, .family = chat_family::small}) == think);
  CHECK(gen::render_chat(conv, {.thinking = true, .family = chat_family::large}) == think);
  // later template revision: <|think|>\n
  CHECK(gen::render_chat(conv, {.thinking = true, .think_newline = true}) ==
        "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nHello<turn|>\n<|turn>model\n");
  CHECK(gen::render_chat(conv, {.add_generation_prompt = false, .add_bos = false}) == "<|turn>user\nHello<turn|>\n");
  CHECK(gen::render_chat({}, {}) == "<bos><|turn>model\n");
}

TEST_CASE("chat: multi-turn history has its thinking stripped") {
  const std::vector<chat_message> conv = {
      {chat_role::system, " Be brief. "},
      {chat_role::user, "What is 2+2?"},
      {chat_role::model, "<|channel>thought\nTwo plus two.<channel|>4"},
      {chat_role::user, "And 3+3?"},
      {chat_role::model, "<|channel>thought\nThree and three.<channel|> 6 "},
      {chat_role::user, "Thanks"},
  };
  CHECK(gen::render_chat(conv, {.thinking = true, .family = chat_family::large}) ==
        "<bos><|turn>system\n<|think|>Be brief.<turn|>\n<|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n4<turn|>\n"
        "<|turn>user\nAnd 3+3?<turn|>\n<|turn>model\n6<turn|>\n<|turn>user\nThanks<turn|>\n<|turn>model\n");
}

TEST_CASE("chat: strip_thinking and trim follow the template (Python whitespace)") {
  CHECK(gen::strip_thinking("<|channel>thought\nx<channel|>answer") == "answer");
  CHECK(gen::strip_thinking("a<|channel>1<channel|>b<|channel>2<channel|>c") == "abc");
  CHECK(gen::strip_thinking("before<|channel>never closed") == "before");
  CHECK(gen::strip_thinking("dangling<channel|> close") == "dangling close");
  CHECK(gen::strip_thinking("  <|channel>t<channel|>  spaced  ") == "spaced");
  CHECK(gen::trim("\xC2\xA0\xE3\x80\x80 x \xE2\x80\x83\x1C\x1F\xC2\x85") == "x");  // NBSP, U+3000, U+2003, \x1c..
  CHECK(gen::trim("\xE2\x80\x8Bx\xE2\x80\x8B") == "\xE2\x80\x8Bx\xE2\x80\x8B");    // ZWSP is not whitespace
  CHECK(gen::trim("   ").empty());
}

TEST_CASE("chat: conversation JSON") {
  using nlohmann::json;
  const auto a = gen::conversation_from_json(
      json::parse(R"([{"role": "system", "content": "s"}, {"role": "assistant", "content": "m"},
                      {"role": "developer", "content": [{"type": "text", "text": " p1 "}, {"type": "text", "text": "p2"}]},
                      {"role": "user"}])"),
      "conv.json");
  REQUIRE(a.size() == 4);
  CHECK(a[0].role == chat_role::system);
  CHECK(a[1].role == chat_role::model);
  CHECK(a[2].role == chat_role::developer);
  CHECK(a[2].content == "p1p2");
  CHECK(a[3].content.empty());
  CHECK(gen::conversation_from_json(json::parse(R"({"messages": [{"role": "user", "content": "x"}]})"), "c").size() ==
        1);
  const auto code = [](const char* text) {
    try {
      (void)gen::conversation_from_json(json::parse(text), "conv.json");
    } catch (const scalpel::error& e) {
      return e.code();
    }
    FAIL("no error for " << text);
    return errc::io;
  };
  CHECK(code(R"({"msgs": []})") == errc::json);
  CHECK(code(R"("hello")") == errc::json);
  CHECK(code(R"([{"content": "x"}])") == errc::json);
  CHECK(code(R"([{"role": "narrator", "content": "x"}])") == errc::json);
  CHECK(code(R"([{"role": "user", "content": 5}])") == errc::json);
  CHECK(code(R"([{"role": "user", "content": [{"type": "image", "url": "x"}]}])") == errc::unsupported);
  CHECK(code(R"([{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}])") == errc::unsupported);
  CHECK(gen::family_from_variant("e2b") == chat_family::small);
  CHECK(gen::family_from_variant("31b") == chat_family::large);
  CHECK_FALSE(gen::family_from_variant("custom").has_value());
}

TEST_CASE("chat: model output is split into thinking and answer, tool calls intact") {
  auto r = gen::parse_model_output("<|channel>thought\nLet me add.<channel|>The answer is 4.<turn|>");
  CHECK(r.thinking == "Let me add.");
  CHECK(r.answer == "The answer is 4.");
  CHECK(r.turn_ended);
  CHECK_FALSE(r.thinking_open);

  r = gen::parse_model_output("Plain answer");
  CHECK(r.thinking.empty());
  CHECK(r.answer == "Plain answer");
  CHECK_FALSE(r.turn_ended);

  r = gen::parse_model_output("<|channel>thought\nstill thinking");
  CHECK(r.thinking == "still thinking");
  CHECK(r.answer.empty());
  CHECK(r.thinking_open);

  r = gen::parse_model_output(
      "<|channel>thought\nNeed weather.<channel|><|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>"
      "<|tool_response>");
  CHECK(r.thinking == "Need weather.");
  CHECK(r.answer == "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|><|tool_response>");

  r = gen::parse_model_output("<|channel>thought\n<channel|>Hi<eos>ignored");  // empty thought block
  CHECK(r.thinking.empty());
  CHECK(r.answer == "Hi");
  CHECK(r.turn_ended);

  r = gen::parse_model_output("<|channel>thought\na<channel|>x<|channel>thought\nb<channel|>y");
  CHECK(r.thinking == "a\nb");
  CHECK(r.answer == "xy");
}

TEST_CASE("chat: rendered prompts encode to the expected ids with the real tokenizer") {
  const auto& g = tok_test::gemma();
  const std::vector<chat_message> conv = {{chat_role::user, "Hello"}};
  const auto ids = [&](const gen::chat_options& o) { return show(g.encode(gen::render_chat(conv, o))); };
  CHECK(ids({.family = chat_family::small}) == show({2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107}));
  CHECK(ids({.family = chat_family::large}) ==
        show({2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107, 100, 45518, 107, 101}));
  CHECK(ids({.thinking = true}) ==
        show({2, 105, 9731, 107, 98, 106, 107, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107}));
  // exactly one <bos> even when the caller also asks for one
  const auto with_bos = g.encode(gen::render_chat(conv, {}), {.add_bos = true});
  CHECK(std::count(with_bos.begin(), with_bos.end(), 2) == 1);
  // the model's own output round-trips through decode and parse
  const std::vector<std::int32_t> out = {100, 45518, 107, 27388, 522, 101, 14433, 106};
  const auto parsed = gen::parse_model_output(g.decode(out));
  CHECK(parsed.thinking == "reasoning");
  CHECK(parsed.answer == "answer");
}

}  // namespace ut_chat_test
