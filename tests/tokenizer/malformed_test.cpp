// Malformed tokenizer files and arrays: always a scalpel::error with the right code and a message naming the
// field, never a crash (the truncation / corruption sweeps also run under ASan).

#include <functional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_test_util.hpp"

namespace ut_malformed_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using json = nlohmann::json;

namespace {
std::string small_text() { return tok_test::slurp(SCALPEL_TEST_DATA_DIR "/golden/e2b-like/tokenizer.json"); }
json small_json() { return json::parse(small_text()); }

// The error code `text` produces (fails the test when it loads).
errc load_error(const std::string& text, std::string* message = nullptr) {
  try {
    (void)io::tokenizer::from_json(text, "bad.json");
  } catch (const scalpel::error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  FAIL("the tokenizer loaded");
  return errc::io;
}
errc mutated(const std::function<void(json&)>& edit, std::string* message = nullptr) {
  json j = small_json();
  edit(j);
  return load_error(j.dump(), message);
}
}  // namespace

TEST_CASE("malformed tokenizer.json: bad JSON is errc::json with a position") {
  std::string msg;
  CHECK(load_error("", &msg) == errc::json);
  CHECK(msg.find("bad.json:1:1") != std::string::npos);
  CHECK(load_error("{") == errc::json);
  CHECK(load_error("[]") == errc::json);
  CHECK(load_error("nul") == errc::json);
  CHECK(load_error("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}} trailing") == errc::json);
  CHECK(load_error("{\"model\": {\"vocab\": {\"a\\q\": 0}, \"merges\": []}}") == errc::json);     // bad escape
  CHECK(load_error("{\"model\": {\"vocab\": {\"\\ud800\": 0}, \"merges\": []}}") == errc::json);  // lone surrogate
  CHECK(load_error("{\"model\": {\"vocab\": {\"a\": 0,}, \"merges\": []}}") == errc::json);
  CHECK(load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"x\": " +
                       std::string(5000, '[') + std::string(5000, ']') + "}",
                   &msg) == errc::json);
  CHECK(msg.find("nesting") != std::string::npos);
  const std::string text = small_text();
  CHECK(load_error(text.substr(0, text.size() / 2), &msg) == errc::json);
}

TEST_CASE("malformed tokenizer.json: missing or mistyped fields") {
  std::string msg;
  CHECK(mutated([](json& j) { j.erase("model"); }, &msg) == errc::json);
  CHECK(msg.find("\"model\" section is missing") != std::string::npos);
  CHECK(mutated([](json& j) { j["model"].erase("vocab"); }) == errc::json);
  CHECK(mutated([](json& j) { j["model"].erase("merges"); }) == errc::json);
  CHECK(mutated([](json& j) { j["model"].erase("type"); }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["type"] = "WordPiece"; }) == errc::unsupported);
  CHECK(mutated([](json& j) { j["model"]["vocab"] = json::array({"a", "b"}); }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["vocab"]["x"] = -1; }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["vocab"]["x"] = "7"; }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["vocab"]["x"] = 1.5; }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["byte_fallback"] = "yes"; }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["merges"].push_back(17); }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["merges"].push_back("a b c"); }) == errc::json);
  CHECK(mutated([](json& j) { j["model"]["merges"].push_back(json::array({"a"})); }) == errc::json);
  CHECK(mutated([](json& j) { j["added_tokens"] = 5; }) == errc::json);
  CHECK(mutated([](json& j) { j["added_tokens"][0].erase("id"); }) == errc::json);
  CHECK(mutated([](json& j) { j["added_tokens"][0]["content"] = 3; }) == errc::json);
  CHECK(mutated([](json& j) { j["normalizer"] = {{"type", "Lowercase"}}; }) == errc::unsupported);
  CHECK(mutated([](json& j) { j["pre_tokenizer"] = {{"type", "ByteLevel"}}; }) == errc::unsupported);
  CHECK(mutated([](json& j) { j["model"]["dropout"] = 0.1; }) == errc::unsupported);
}

TEST_CASE("malformed tokenizer.json: inconsistent vocabularies and merges are errc::tokenizer") {
  std::string msg;
  CHECK(mutated([](json& j) { j["model"]["merges"].push_back("q q"); }, &msg) == errc::tokenizer);  // "qq" absent
  CHECK(msg.find("'qq' is not in the vocabulary") != std::string::npos);
  CHECK(mutated([](json& j) { j["model"]["merges"].push_back("zebra a"); }, &msg) == errc::tokenizer);
  CHECK(msg.find("'zebra' is not a piece") != std::string::npos);
  CHECK(mutated([](json& j) { j["model"]["merges"].push_back(json::array({"t", "nope"})); }) == errc::tokenizer);
  CHECK(mutated([](json& j) { j["model"]["vocab"]["duplicate"] = 10; }, &msg) == errc::tokenizer);  // id 10 twice
  CHECK(msg.find("id 10") != std::string::npos);
  CHECK(mutated([](json& j) { j["model"]["vocab"].erase("th"); }, &msg) == errc::tokenizer);  // a hole at 383
  CHECK(msg.find("383") != std::string::npos);
  CHECK(mutated([](json& j) {
          j["model"]["vocab"] = json::object();
          j["added_tokens"] = json::array();
        }) == errc::tokenizer);  // empty
  CHECK(mutated([](json& j) { j["added_tokens"][0]["content"] = ""; }) == errc::tokenizer);
  CHECK(mutated([](json& j) {
          j["added_tokens"].push_back({{"id", 9}, {"content", "<pad>"}, {"special", true}});
        }) == errc::tokenizer);  // "<pad>" with two ids
}

TEST_CASE("malformed tokenizer.json: truncations and corruptions never crash") {
  const std::string text = small_text();
  for (std::size_t n = 0; n < text.size(); n += 7) {
    CAPTURE(n);
    CHECK_THROWS_AS((void)io::tokenizer::from_json(text.substr(0, n)), scalpel::error);
  }
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::size_t> pos(0, text.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  int loaded = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string t = text;
    for (int k = 0; k < 1 + trial % 4; ++k) t[pos(rng)] = static_cast<char>(byte(rng));
    try {
      const auto tok = io::tokenizer::from_json(t);
      const auto ids = tok.encode("The quick brown fox, \xE6\x97\xA5\xE6\x9C\xAC <bos>\n\n\xFF");
      (void)tok.decode(ids);
      ++loaded;
    } catch (const scalpel::error&) {
      // expected for most corruptions
    }
  }
  MESSAGE(loaded << " of 400 corrupted files still loaded");
}

TEST_CASE("malformed vocab arrays (GGUF path) and model paths") {
  const std::vector<std::string> tokens = {"<pad>", "<eos>", "<bos>", "<unk>", "a", "b", "ab", "\xE2\x96\x81"};
  CHECK_NOTHROW((void)io::tokenizer::from_vocab(tokens, {}, {"a b"}));
  const auto code = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const scalpel::error& e) {
      return e.code();
    }
    FAIL("no error");
    return errc::io;
  };
  CHECK(code([&] { (void)io::tokenizer::from_vocab(tokens, {1, 1}, {}); }) == errc::tokenizer);
  CHECK(code([&] { (void)io::tokenizer::from_vocab(tokens, std::vector<std::int32_t>(8, 9), {}); }) == errc::tokenizer);
  CHECK(code([&] { (void)io::tokenizer::from_vocab(tokens, {}, {"ab"}); }) == errc::tokenizer);
  CHECK(code([&] { (void)io::tokenizer::from_vocab(tokens, {}, {"a c"}); }) == errc::tokenizer);
  CHECK(code([&] { (void)io::tokenizer::from_vocab(tokens, {}, {"b a"}); }) == errc::tokenizer);  // "ba" absent
  CHECK(code([&] { (void)io::tokenizer::from_vocab({}, {}, {}); }) == errc::tokenizer);
  CHECK(code([&] { (void)io::tokenizer::from_vocab(tokens, {}, {}, {.bos = 99}); }) == errc::tokenizer);
  CHECK(code([&] { (void)io::tokenizer::from_vocab({"a", "a"}, {}, {}); }) == errc::tokenizer);
  // skip_invalid_merges keeps the valid ones
  const auto t = io::tokenizer::from_vocab(tokens, {}, {"b a", "a b"}, {}, {.skip_invalid_merges = true});
  CHECK(t.merge_count() == 1);
  CHECK(tok_test::show(t.encode("ab")) == tok_test::show({6}));
  // no byte pieces and no <unk> id: an unknown character cannot be encoded
  const auto bare = io::tokenizer::from_vocab({"a"}, {}, {});
  CHECK(code([&] { (void)bare.encode("z"); }) == errc::tokenizer);

  CHECK(code([&] { (void)io::load_tokenizer("/nonexistent/tokenizer.json"); }) == errc::io);
  CHECK(code([&] { (void)io::load_tokenizer(SCALPEL_TEST_DATA_DIR "/tokenizer"); }) == errc::io);
  CHECK(io::load_tokenizer(SCALPEL_TEST_DATA_DIR "/golden/e2b-like/model-f32.gguf").vocab_size() == 512);
  CHECK(code([&] { (void)io::load_tokenizer("/nonexistent/model.gguf"); }) == errc::io);
}

}  // namespace ut_malformed_test
