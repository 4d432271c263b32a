// The small synthetic tokenizer.json files of the golden models (tests/data/golden/*/tokenizer.json): 512 pieces,
// 68 "a b" merges, no pre-tokenizer. Reference ids: tests/data/tokenizer/golden_small_cases.json.

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_test_util.hpp"

namespace ut_golden_small_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using tok_test::show;

TEST_CASE("golden tokenizers: load, shape and special ids") {
  for (const char* model : {"e2b-like", "moe-like", "dense-like"}) {
    CAPTURE(model);
    const auto t = io::load_tokenizer(std::string(SCALPEL_TEST_DATA_DIR "/golden/") + model);
    CHECK(t.vocab_size() == 512);
    CHECK(t.merge_count() == 68);
    CHECK_FALSE(t.gemma4_patched());
    CHECK_FALSE(t.has_gemma4_specials());
    CHECK(t.specials().pad == 0);
    CHECK(t.specials().eos == 1);
    CHECK(t.specials().bos == 2);
    CHECK(t.specials().unk == 3);
    CHECK(t.specials().mask == 4);
    CHECK(t.specials().newline == 261);
    CHECK(t.specials().turn_start == -1);
    CHECK(t.type(5) == io::token_type::byte);  // <0x00>
    CHECK(t.is_special(2));
    CHECK(t.encode("the", {.add_bos = true}).front() == 2);
  }
}

TEST_CASE("golden tokenizers: every reference case gives identical ids, and round-trips") {
  const auto t = io::load_tokenizer(SCALPEL_TEST_DATA_DIR "/golden/e2b-like");
  const auto cases = tok_test::load_cases(SCALPEL_TEST_DATA_DIR "/tokenizer/golden_small_cases.json");
  REQUIRE(cases.size() >= 250);
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(show(t.encode(c.text)) == show(c.ids));
    if (c.text.find("\xE2\x96\x81") == std::string::npos) CHECK(t.decode(c.ids) == c.text);
  }
}

TEST_CASE("golden tokenizers: from_vocab with the same arrays gives the same tokenizer") {
  const auto t = io::load_tokenizer(SCALPEL_TEST_DATA_DIR "/golden/dense-like");
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  for (std::int32_t id = 0; id < t.vocab_size(); ++id) {
    tokens.emplace_back(t.token_text(id));
    types.push_back(static_cast<std::int32_t>(t.type(id)));
  }
  const auto src = io::detail::read_tokenizer_json(
      tok_test::slurp(SCALPEL_TEST_DATA_DIR "/golden/dense-like/tokenizer.json"), "tokenizer.json");
  std::vector<std::string> merges;
  for (std::size_t k = 0; k < src.merge_a.size(); ++k) {
    merges.push_back(std::string(src.merge_left(k)) + " " + std::string(src.merge_right(k)));
  }
  const auto v = io::tokenizer::from_vocab(tokens, types, merges, {.bos = 2, .eos = 1, .unk = 3, .pad = 0});
  CHECK(v.vocab_size() == 512);
  CHECK(v.merge_count() == 68);
  for (const auto& c : tok_test::load_cases(SCALPEL_TEST_DATA_DIR "/tokenizer/golden_small_cases.json")) {
    CAPTURE(c.text);
    CHECK(show(v.encode(c.text)) == show(c.ids));
  }
  // types omitted: <0xXX> pieces are still recognised as bytes
  const auto u = io::tokenizer::from_vocab(tokens, {}, merges);
  CHECK(u.type(5) == io::token_type::byte);
  CHECK(show(u.encode("the \xE4\xB8\xAD")) == show(v.encode("the \xE4\xB8\xAD")));
}

}  // namespace ut_golden_small_test
