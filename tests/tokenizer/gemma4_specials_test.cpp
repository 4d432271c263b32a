// The Gemma 4 special-token table over the Gemma 3 tokenizer.json: renamed slots, atomic special tokens, Gemma 3
// names as aliases, special ids, parse_specials=false, and the GGUF-style construction from plain arrays.

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_test_util.hpp"

namespace ut_gemma4_specials_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using tok_test::gemma;
using tok_test::gemma_unpatched;
using tok_test::show;

namespace {
// The arrays a GGUF would carry for the Gemma 3 file: tokens by id, token types, "a b" merges.
struct vocab_arrays {
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  std::vector<std::string> merges;
};
vocab_arrays gemma_arrays() {
  const auto& t = gemma_unpatched();
  vocab_arrays a;
  for (std::int32_t id = 0; id < t.vocab_size(); ++id) {
    a.tokens.emplace_back(t.token_text(id));
    a.types.push_back(static_cast<std::int32_t>(t.type(id)));
  }
  const std::string json = tok_test::slurp(tok_test::gemma_tokenizer_path());
  const auto src = io::detail::read_tokenizer_json(json, "gemma3-tokenizer.json");
  for (std::size_t k = 0; k < src.merge_a.size(); ++k) {
    a.merges.push_back(std::string(src.merge_left(k)) + " " + std::string(src.merge_right(k)));
  }
  return a;
}
const char* const sample_texts[] = {
    "Hello world! Caf\xC3\xA9 d\xC3\xA9j\xC3\xA0 vu \xE2\x80\x94 123 \xF0\x9F\x98\x8A",
    "int main() {\n    return 0;\n}\n",
    "new\n\nlines\n\n\n\nmany\t\ttabs   spaces",
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88",
    "<bos><|turn>user\nHello<turn|>\n<|turn>model\n<|channel>thought\n<channel|>",
    "<table><tr><td>x</td></tr></table> <start_of_turn> <unused0>",
};
}  // namespace

TEST_CASE("gemma4 table: the slots carry the Gemma 4 names, types and roles") {
  const auto& g = gemma();
  for (const auto& e : io::gemma4_special_table()) {
    CAPTURE(e.id);
    CHECK(g.token_text(e.id) == e.text);
    CHECK(g.token_id(e.text) == e.id);
    CHECK(g.is_special(e.id));
    CHECK(show(g.encode(e.text)) == show({e.id}));  // atomic
  }
  const auto& s = g.specials();
  CHECK(s.pad == 0);
  CHECK(s.eos == 1);
  CHECK(s.bos == 2);
  CHECK(s.unk == 3);
  CHECK(s.mask == 4);
  CHECK(s.tool_start == 46);
  CHECK(s.tool_end == 47);
  CHECK(s.tool_call_start == 48);
  CHECK(s.tool_call_end == 49);
  CHECK(s.tool_response_start == 50);
  CHECK(s.tool_response_end == 51);
  CHECK(s.string_delim == 52);
  CHECK(s.think == 98);
  CHECK(s.channel_start == 100);
  CHECK(s.channel_end == 101);
  CHECK(s.turn_start == 105);
  CHECK(s.turn_end == 106);
  CHECK(s.newline == 107);
  CHECK(show(std::vector<std::int32_t>(g.eog_ids().begin(), g.eog_ids().end())) == show({1, 106, 50}));
  CHECK(g.is_eog(106));
  CHECK_FALSE(g.is_eog(107));
  CHECK(g.has_gemma4_specials());

  CHECK(g.type(2) == io::token_type::control);
  CHECK(g.type(107) == io::token_type::user_defined);  // "\n": added, not special
  CHECK(g.type(238) == io::token_type::byte);          // <0x00>
  CHECK(g.token_text(238) == "<0x00>");
  CHECK(g.type(9079) == io::token_type::normal);
  CHECK_FALSE(g.is_special(9079));
}

TEST_CASE("gemma4 table: Gemma 3 names stay input aliases; id 262144 is gone") {
  const auto& g = gemma();
  CHECK(g.token_id("<start_of_turn>") == 105);
  CHECK(g.token_id("<end_of_turn>") == 106);
  CHECK(g.token_id("<unused40>") == 46);
  CHECK(show(g.encode("<start_of_turn>user\nHi<end_of_turn>\n")) == show({105, 2364, 107, 10979, 106, 107}));
  CHECK(g.decode(g.encode("<start_of_turn>user\n")) == "<|turn>user\n");  // decodes to the Gemma 4 name
  // 262144 (<image_soft_token>) is past Gemma 4's vocabulary: the string is ordinary text now.
  CHECK(g.token_id("<image_soft_token>") == -1);
  CHECK(show(g.encode("<image_soft_token>")) == show({236820, 3304, 236779, 5622, 236779, 1114, 236813}));
  CHECK_THROWS_AS((void)g.token_text(262144), scalpel::error);
  // an unrenamed added token is unchanged
  CHECK(g.token_id("<unused0>") == 6);
  CHECK(show(g.encode("<unused0>")) == show({6}));
}

TEST_CASE("gemma4 table: parse_specials=false encodes special strings as text, keeps newline runs atomic") {
  const auto& g = gemma();
  const auto& ref = gemma_unpatched();
  const io::encode_options text_only{.add_bos = false, .parse_specials = false};
  for (const char* s :
       {"<|turn>", "<turn|>", "<|channel>thought", "<|think|>", "<bos>", "<start_of_turn>", "<unused40>", "<|\"|>"}) {
    CAPTURE(s);
    const auto ids = g.encode(s, text_only);
    CHECK(ids.size() > 1);
    for (const auto id : ids) CHECK_FALSE(g.is_special(id));
    CHECK(g.decode(ids) == s);
  }
  // ordinary pieces, identical to what the unpatched reference gives "<|turn>"
  CHECK(show(g.encode("<|turn>", text_only)) == show(ref.encode("<|turn>")));
  // non-special added tokens stay atomic
  CHECK(show(g.encode("a\n\nb", text_only)) == show(g.encode("a\n\nb")));
  CHECK(show(g.encode("<table>", text_only)) == show(g.encode("<table>")));
  // add_bos still adds the real token
  CHECK(g.encode("<bos>x", {.add_bos = true, .parse_specials = false}).front() == 2);
}

TEST_CASE("gemma4 table: load options keep / gemma4 / automatic") {
  CHECK_FALSE(gemma_unpatched().gemma4_patched());
  CHECK_FALSE(gemma_unpatched().has_gemma4_specials());
  CHECK(gemma_unpatched().specials().turn_start == -1);
  CHECK(gemma_unpatched().specials().bos == 2);
  // forcing the table on a vocabulary that is neither Gemma 3 nor Gemma 4 is an error
  const std::string small = SCALPEL_TEST_DATA_DIR "/golden/e2b-like/tokenizer.json";
  CHECK_NOTHROW((void)io::tokenizer::from_json_file(small));
  try {
    (void)io::tokenizer::from_json_file(small, {.specials = io::special_table::gemma4});
    FAIL("expected an error");
  } catch (const scalpel::error& e) {
    CHECK(e.code() == errc::tokenizer);
    CHECK(std::string(e.what()).find("Gemma 4 special-token table") != std::string::npos);
  }
}

TEST_CASE("gemma4 table: from_vocab (GGUF arrays) reproduces the tokenizer.json tokenizer") {
  const vocab_arrays a = gemma_arrays();
  REQUIRE(a.tokens.size() == 262145);
  REQUIRE(a.merges.size() == 514906);

  // A Gemma 3 GGUF: automatic patching applies as for the JSON file.
  const auto t = io::tokenizer::from_vocab(a.tokens, a.types, a.merges, {.bos = 2, .eos = 1, .unk = 3, .pad = 0});
  CHECK(t.gemma4_patched());
  CHECK(t.vocab_size() == 262144);
  CHECK(t.merge_count() == 514906);
  for (const char* s : sample_texts) {
    CAPTURE(s);
    CHECK(show(t.encode(s)) == show(gemma().encode(s)));
  }
  const auto cases = tok_test::load_cases(SCALPEL_TEST_DATA_DIR "/tokenizer/reference_cases.json");
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(show(t.encode(c.text)) == show(gemma().encode(c.text)));
  }

  // A real Gemma 4 vocabulary (slots already named, no id 262144): the table is a no-op rename.
  vocab_arrays g4 = a;
  g4.tokens.resize(262144);
  g4.types.resize(262144);
  for (const auto& e : io::gemma4_special_table()) {
    g4.tokens[static_cast<std::size_t>(e.id)] = std::string(e.text);
    g4.types[static_cast<std::size_t>(e.id)] = 4;  // llama.cpp types some of them USER_DEFINED
  }
  const auto t4 = io::tokenizer::from_vocab(g4.tokens, g4.types, g4.merges);
  CHECK_FALSE(t4.gemma4_patched());
  CHECK(t4.has_gemma4_specials());
  CHECK(t4.is_special(100));  // typed CONTROL by the table
  CHECK(show(t4.encode("<bos><|turn>user\nHello<turn|>\n<|turn>model\n")) ==
        show({2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107}));
  CHECK(t4.token_id("<start_of_turn>") == -1);  // no Gemma 3 aliases on a native Gemma 4 vocabulary
  for (const char* s : sample_texts) {
    if (std::string(s).find("start_of_turn") != std::string::npos) continue;
    CAPTURE(s);
    CHECK(show(t4.encode(s)) == show(gemma().encode(s)));
  }
}

}  // namespace ut_gemma4_specials_test
