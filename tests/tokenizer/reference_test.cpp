// Exact agreement with the reference tokenizer (transformers.js over the real Gemma tokenizer.json) on the shared
// cases and on tests/data/tokenizer/reference_cases.json (~300 cases: prose, multilingual, code, whitespace and
// newline runs, emoji sequences, long repetitive strings, literal special-token strings, lists, random strings).

#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_test_util.hpp"

namespace ut_reference_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using tok_test::gemma;
using tok_test::gemma_unpatched;
using tok_test::show;

namespace {
std::vector<tok_test::ref_case> shared_cases() {
  return tok_test::load_cases(SCALPEL_TEST_DATA_DIR "/golden/tokenizer/cases.json");
}
std::vector<tok_test::ref_case> reference_cases() {
  return tok_test::load_cases(SCALPEL_TEST_DATA_DIR "/tokenizer/reference_cases.json");
}
}  // namespace

TEST_CASE("tokenizer: the real Gemma tokenizer.json loads with the expected shape") {
  const auto& t = gemma_unpatched();
  CHECK(t.vocab_size() == 262145);  // Gemma 3: 0..262143 plus <image_soft_token> 262144
  CHECK(t.merge_count() == 514906);
  CHECK_FALSE(t.gemma4_patched());
  CHECK(t.token_text(105) == "<start_of_turn>");
  CHECK(t.token_id("<image_soft_token>") == 262144);

  const auto& g = gemma();
  CHECK(g.vocab_size() == 262144);
  CHECK(g.merge_count() == 514906);
  CHECK(g.gemma4_patched());
  // spec §5.1 spot checks
  CHECK(g.token_id("\xE2\x96\x81Paris") == 9079);
  CHECK(g.token_id("user") == 2364);
  CHECK(g.token_id("model") == 4368);
  CHECK(g.token_id("system") == 9731);
  CHECK(g.token_id("thought") == 45518);
  CHECK(g.token_id("\n") == 107);
  CHECK(g.token_id("\n\n") == 108);
}

TEST_CASE("tokenizer: every shared reference case (shared/golden/tokenizer/cases.json) gives identical ids") {
  const auto cases = shared_cases();
  REQUIRE(cases.size() >= 25);
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto want = show(c.ids);
    CHECK(show(gemma_unpatched().encode(c.text)) == want);
    // None of these texts uses a Gemma 4 string, so the patched tokenizer agrees (Gemma 3 names are aliases).
    CHECK(show(gemma().encode(c.text)) == want);
  }
}

TEST_CASE("tokenizer: every generated reference case gives identical ids (unpatched file)") {
  const auto cases = reference_cases();
  REQUIRE(cases.size() >= 250);
  std::set<std::string> categories;
  for (const auto& c : cases) {
    categories.insert(c.category);
    CAPTURE(c.category);
    CAPTURE(c.text);
    CHECK(show(gemma_unpatched().encode(c.text)) == show(c.ids));
  }
  for (const char* cat : {"english", "multilingual", "code", "whitespace", "emoji", "repetitive", "specials", "lists",
                          "misc", "random"}) {
    CHECK_MESSAGE(categories.count(cat) == 1, "category " << cat << " is missing from reference_cases.json");
  }
}

TEST_CASE("tokenizer: the Gemma 4 table changes ids only for Gemma 4 strings") {
  const auto cases = reference_cases();
  std::size_t same = 0;
  std::size_t touched = 0;
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto got = gemma().encode(c.text);
    if (tok_test::touches_gemma4_table(c.text)) {
      ++touched;
      CHECK(got != c.ids);  // the reference splits "<|turn>" into ordinary pieces; scalpel keeps it atomic
    } else {
      ++same;
      CHECK(show(got) == show(c.ids));
    }
  }
  CHECK(touched >= 8);
  CHECK(same >= 250);
}

TEST_CASE("tokenizer: Gemma 4 chat markup encodes to the spec's ids") {
  const auto& g = gemma();
  const std::string prompt = "<bos><|turn>user\nHello<turn|>\n<|turn>model\n";
  CHECK(show(g.encode(prompt)) == show({2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107}));
  // add_bos does not double a leading <bos>
  CHECK(show(g.encode(prompt, {.add_bos = true})) == show({2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107}));
  CHECK(show(g.encode("<|turn>user\nHello", {.add_bos = true})) == show({2, 105, 2364, 107, 9259}));
  // spec §5.1
  CHECK(show(g.encode("The capital of France is")) == show({818, 5279, 529, 7001, 563}));
  CHECK(show(g.encode("Hello world! Caf\xC3\xA9 d\xC3\xA9j\xC3\xA0 vu \xE2\x80\x94 123 \xF0\x9F\x98\x8A")) ==
        show({9259, 1902, 236888, 62367, 29234, 11042, 2192, 236743, 236770, 236778, 236800, 103453}));
  // tool-call markup: every marker one token
  CHECK(show(g.encode("<|tool_call>call:get_weather{location:<|\"|>Paris<|\"|>}<tool_call|>")) ==
        show({48, 6639, 236787, 828, 236779, 19323, 236782, 7125, 236787, 52, 50429, 52, 236783, 49}));
  CHECK(show(g.encode("<|channel>thought\nreasoning<channel|>answer")) ==
        show({100, 45518, 107, 27388, 522, 101, 14433}));
}

TEST_CASE("tokenizer: newline, tab and space runs follow the reference past the 31-long added tokens") {
  const auto& g = gemma();
  CHECK(show(g.encode(std::string(31, '\n'))) == show({137}));
  CHECK(g.encode(std::string(40, '\n')).size() == 2);  // 31 + 9, leftmost-longest
  CHECK(show(g.encode("new\n\nlines\n\n\n\nmany")) == show({1951, 108, 8721, 110, 34717}));
  CHECK(show(g.encode("tabs\tand\ttabs\t\tdouble")) == show({39218, 255968, 624, 255968, 39218, 255969, 7902}));
  CHECK(show(g.encode("  leading spaces and trailing spaces   ")) == show({138, 26016, 9952, 532, 45330, 9952, 139}));
}

}  // namespace ut_reference_test
