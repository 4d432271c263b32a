// The tokenizer a GGUF carries (tokenizer.ggml.*), fed to tokenizer::from_vocab, equals the tokenizer.json one.
// This is the path `load_tokenizer` takes for .gguf models (io::tokenizer_from_gguf).

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/io/gguf.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_test_util.hpp"

namespace ut_gguf_vocab_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using tok_test::show;

TEST_CASE("gguf: the golden models' embedded tokenizer gives the reference ids") {
  const auto cases = tok_test::load_cases(SCALPEL_TEST_DATA_DIR "/tokenizer/golden_small_cases.json");
  for (const char* model : {"e2b-like", "moe-like", "dense-like"}) {
    CAPTURE(model);
    const std::string dir = std::string(SCALPEL_TEST_DATA_DIR "/golden/") + model;
    const auto f = io::read_gguf(dir + "/model-bf16.gguf");
    const auto& m = f.metadata;
    CHECK(m.get_string("tokenizer.ggml.model") == "gemma4");
    const io::vocab_special_ids ids{.bos = m.get_integer<std::int32_t>("tokenizer.ggml.bos_token_id"),
                                    .eos = m.get_integer<std::int32_t>("tokenizer.ggml.eos_token_id"),
                                    .unk = m.get_integer<std::int32_t>("tokenizer.ggml.unknown_token_id"),
                                    .pad = m.get_integer<std::int32_t>("tokenizer.ggml.padding_token_id")};
    const auto t = io::tokenizer::from_vocab(m.get_array<std::string>("tokenizer.ggml.tokens"),
                                             m.get_integer_array<std::int32_t>("tokenizer.ggml.token_type"),
                                             m.get_array<std::string>("tokenizer.ggml.merges"), ids);
    const auto json = io::load_tokenizer(dir);
    CHECK(t.vocab_size() == json.vocab_size());
    CHECK(t.merge_count() == json.merge_count());
    CHECK(t.specials().bos == 2);
    CHECK(t.specials().eos == 1);
    for (const auto& c : cases) {
      CAPTURE(c.text);
      CHECK(show(t.encode(c.text)) == show(c.ids));
    }
  }
}

}  // namespace ut_gguf_vocab_test
