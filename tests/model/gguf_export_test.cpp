// GGUF export: the golden HF checkpoints exported by scalpel are byte-identical to the GGUF files llama.cpp's
// converter layout produced from the same weights; HF -> GGUF -> scalpel gives identical logits; edits bake in.
#include "scalpel/model/gguf_export.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <doctest/doctest.h>

#include "../support/cli_runner.hpp"
#include "scalpel/edit.hpp"
#include "scalpel/model/loader.hpp"

namespace ut_gguf_export_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;

namespace {
std::string golden_dir(const std::string& v) { return std::string(SCALPEL_TEST_DATA_DIR) + "/golden/" + v; }
std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
}  // namespace

TEST_CASE("export-gguf: golden HF checkpoints export byte-identical to the reference GGUF files") {
  const auto dir = scalpel_test::temp_dir("gguf-export");
  for (const char* v : {"e2b-like", "moe-like", "dense-like"}) {
    model_files files;
    const auto m = load_model(golden_dir(v), &files);
    const auto tok = io::load_tokenizer(golden_dir(v));
    for (const auto& [type, file] :
         {std::pair{gguf_out_type::f32, "model-f32.gguf"}, std::pair{gguf_out_type::bf16, "model-bf16.gguf"},
          std::pair{gguf_out_type::q8_0, "model-q8_0.gguf"}}) {
      CAPTURE(v);
      CAPTURE(file);
      const std::string ref = golden_dir(v) + "/" + file;
      gguf_export_options o;
      o.type = type;
      o.name = io::read_gguf(ref).metadata.get_string("general.name");
      const std::string out = (dir / (std::string(v) + "-" + file)).string();
      export_gguf(m, tok, out, o);
      const auto a = slurp(out), b = slurp(ref);
      CHECK(a.size() == b.size());
      CHECK(a == b);
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("export-gguf: HF -> GGUF -> scalpel gives identical logits, with and without a baked edit") {
  const auto dir = scalpel_test::temp_dir("gguf-roundtrip");
  const std::vector<std::int32_t> ids = {2, 17, 300, 44, 511, 3, 250};
  gguf_export_options o;
  o.name = "x";
  for (const char* v : {"e2b-like", "moe-like"}) {
    CAPTURE(v);
    auto m = load_model(golden_dir(v));
    const auto tok = io::load_tokenizer(golden_dir(v));
    const std::string out = (dir / (std::string(v) + ".gguf")).string();
    export_gguf(m, tok, out, o);
    CHECK(load_model(out).logits(ids, logits_mode::all) == m.logits(ids, logits_mode::all));
    // a baked edit: the GGUF of the edited weights equals the edited HF model
    edit::plan p;
    p.add(edit::scale{1, {3, 4}, -0.8f});
    (void)edit::apply(m, p);
    const std::string edited = (dir / (std::string(v) + "-edited.gguf")).string();
    export_gguf(m, tok, edited, o);
    CHECK(load_model(edited).logits(ids, logits_mode::all) == m.logits(ids, logits_mode::all));
    CHECK(io::load_tokenizer(edited).encode("the cat") == tok.encode("the cat"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace ut_gguf_export_test
