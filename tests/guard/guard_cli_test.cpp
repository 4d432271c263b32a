// scalpel guard through the CLI: the scalpel.guard/1 JSON shape, --edit vs --against an edited checkpoint, the
// options, the built-in sample dump, and exit codes (2 usage, 1 bad input).
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"
#include "guard_test_util.hpp"
#include "scalpel/analysis/guard_builtin.hpp"

namespace ut_guard_cli_test {  // one namespace per file: unity builds put several test files in one TU

using scalpel_test::run_scalpel;
using scalpel_test::shell_quote;

namespace {

struct fixture {
  std::filesystem::path dir = scalpel_test::temp_dir("guard-cli");
  std::string golden = std::string(SCALPEL_TEST_DATA_DIR) + "/golden/dense-like";
  std::string m = " --model " + shell_quote(golden) + " --threads 1";
  std::string identity = file("identity.json", R"({"format": "scalpel.edit-plan/1", "edits": []})");
  std::string negate = file("negate.json", R"({"format": "scalpel.edit-plan/1", "edits": [
      {"op": "negate", "layer": 2, "neurons": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]},
      {"op": "strip", "layer": 4, "neurons": [0, 11, 12, 13]}]})");
  ~fixture() { std::filesystem::remove_all(dir); }
  [[nodiscard]] std::string file(const std::string& name, const std::string& content) const {
    const auto p = (dir / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

nlohmann::json json_of(const scalpel_test::cli_result& r) {
  INFO(r.err);
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> k;
  for (const auto& [name, v] : j.items()) k.insert(name);
  return k;
}

}  // namespace

TEST_CASE("cli guard: the JSON shape, and the identity plan changes nothing") {
  fixture f;
  const auto j = json_of(run_scalpel("guard" + f.m + " --edit " + shell_quote(f.identity) + " --json"));
  CHECK(keys(j) == std::set<std::string>{"format", "text", "mc"});
  CHECK(j["format"] == "scalpel.guard/1");
  CHECK(keys(j["text"]) == std::set<std::string>{"source", "tokens", "windows", "kl_mean", "kl_max", "nll_base",
                                                 "nll_edited", "ppl_base", "ppl_edited", "ppl_delta",
                                                 "top1_agreement"});
  CHECK(keys(j["mc"]) == std::set<std::string>{"source", "items", "acc_base", "acc_edited", "acc_norm_base",
                                               "acc_norm_edited", "flipped", "gold_logprob_delta"});
  CHECK(j["text"]["source"] == "builtin");
  CHECK(j["text"]["tokens"].get<int>() > 100);
  CHECK(j["text"]["windows"] == 1);
  CHECK(j["text"]["kl_mean"] == 0.0);
  CHECK(j["text"]["kl_max"] == 0.0);
  CHECK(j["text"]["ppl_delta"] == 0.0);
  CHECK(j["text"]["top1_agreement"] == 1.0);
  CHECK(j["text"]["ppl_base"].get<double>() > 1.0);
  CHECK(j["mc"]["source"] == "builtin");
  CHECK(j["mc"]["items"] == 40);
  CHECK(j["mc"]["flipped"] == 0);
  CHECK(j["mc"]["gold_logprob_delta"] == 0.0);
  CHECK(j["mc"]["acc_base"] == j["mc"]["acc_edited"]);
}

TEST_CASE("cli guard: --against an edited checkpoint equals --edit with its plan") {
  fixture f;
  const auto edited = (f.dir / "edited").string();
  const auto e = run_scalpel("edit" + f.m + " --plan " + shell_quote(f.negate) + " --out " + shell_quote(edited));
  INFO(e.err);
  REQUIRE(e.status == 0);
  const auto by_plan = json_of(run_scalpel("guard" + f.m + " --edit " + shell_quote(f.negate) + " --json"));
  const auto by_copy = json_of(run_scalpel("guard" + f.m + " --against " + shell_quote(edited) + " --json"));
  CHECK(by_plan["text"]["kl_mean"].get<double>() > 1e-4);
  // negate and strip are exact in bf16: the saved weights are the plan's effect
  for (const char* k : {"kl_mean", "kl_max", "nll_base", "nll_edited", "ppl_delta", "top1_agreement"}) {
    CAPTURE(k);
    CHECK(by_copy["text"][k].get<double>() ==
          doctest::Approx(by_plan["text"][k].get<double>()).epsilon(1e-5).scale(1e-7));
  }
  for (const char* k : {"acc_base", "acc_edited", "acc_norm_base", "acc_norm_edited", "gold_logprob_delta"}) {
    CAPTURE(k);
    CHECK(by_copy["mc"][k].get<double>() == doctest::Approx(by_plan["mc"][k].get<double>()).epsilon(1e-5));
  }
  CHECK(by_copy["mc"]["flipped"] == by_plan["mc"]["flipped"]);
  // human output
  const auto h = run_scalpel("guard" + f.m + " --against " + shell_quote(edited));
  REQUIRE(h.status == 0);
  CHECK(h.out.find("perplexity") != std::string::npos);
  CHECK(h.out.find("accuracy") != std::string::npos);
  CHECK(h.out.find("KL(base||edited)") != std::string::npos);
}

TEST_CASE("cli guard: --text/--no-text, --mc/--no-mc, --context, --max-tokens, --dump-mc-sample") {
  fixture f;
  const auto text = f.file("t.txt", "The quick brown fox jumps over the lazy dog, and then the dog sleeps again.");
  const auto mc = f.file("mc.jsonl", R"({"prompt": "The fox", "choices": [" jumps", " sleeps"], "answer": 0})"
                                     "\n"
                                     R"({"prompt": "The dog", "choices": [" sleeps", " flies", " reads"], "answer": 0})"
                                     "\n");
  const auto a = json_of(run_scalpel("guard" + f.m + " --edit " + shell_quote(f.negate) + " --text " +
                                     shell_quote(text) + " --no-mc --context 16 --json"));
  CHECK(a["mc"].is_null());
  CHECK(a["text"]["source"] == text);
  const int tokens = a["text"]["tokens"].get<int>();
  CHECK(tokens > 20);
  CHECK(a["text"]["windows"] == (tokens + 14) / 15);
  const auto b = json_of(run_scalpel("guard" + f.m + " --edit " + shell_quote(f.negate) + " --text " +
                                     shell_quote(text) + " --no-mc --max-tokens 10 --json"));
  CHECK(b["text"]["tokens"] == 10);
  const auto c = json_of(run_scalpel("guard" + f.m + " --edit " + shell_quote(f.negate) + " --no-text --mc " +
                                     shell_quote(mc) + " --json"));
  CHECK(c["text"].is_null());
  CHECK(c["mc"]["source"] == mc);
  CHECK(c["mc"]["items"] == 2);
  const auto d =
      json_of(run_scalpel("guard" + f.m + " --edit " + shell_quote(f.negate) + " --no-text --mc builtin --json"));
  CHECK(d["mc"]["items"] == 40);

  const auto dump = run_scalpel("guard --dump-mc-sample");
  CHECK(dump.status == 0);
  CHECK(dump.out == std::string(scalpel::analysis::builtin_mc_sample));
  CHECK(run_scalpel("guard --dump-mc-sample --json").status == 2);
}

TEST_CASE("cli guard: usage errors exit 2, bad input exits 1 naming the problem") {
  fixture f;
  const std::string plan = " --edit " + shell_quote(f.identity);
  // usage
  CHECK(run_scalpel("guard" + f.m).status == 2);  // neither --edit nor --against
  CHECK(run_scalpel("guard" + f.m + plan + " --against " + shell_quote(f.golden)).status == 2);
  CHECK(run_scalpel("guard" + f.m + plan + " --no-text --no-mc").status == 2);
  CHECK(run_scalpel("guard" + f.m + plan + " --text builtin --no-text").status == 2);
  CHECK(run_scalpel("guard" + f.m + plan + " --mc builtin --no-mc").status == 2);
  CHECK(run_scalpel("guard" + f.m + plan + " --context 1").status == 2);
  CHECK(run_scalpel("guard" + f.m + plan + " --context x").status == 2);
  CHECK(run_scalpel("guard" + f.m + plan + " --bogus").status == 2);
  CHECK(run_scalpel("guard" + plan).status == 2);  // --model missing

  // bad input
  const auto bad_mc = f.file("bad.jsonl", R"({"prompt": "p", "choices": [" a", " b"], "answer": 0})"
                                          "\n"
                                          R"({"prompt": "p", "choices": [" a", " b"], "answer": 2})"
                                          "\n");
  auto r = run_scalpel("guard" + f.m + plan + " --mc " + shell_quote(bad_mc));
  CHECK(r.status == 1);
  CHECK(r.err.find("bad.jsonl:2: field 'answer'") != std::string::npos);
  r = run_scalpel("guard" + f.m + plan + " --mc " + shell_quote(f.file("nojson.jsonl", "{prompt}\n")));
  CHECK(r.status == 1);
  CHECK(r.err.find("nojson.jsonl:1: not valid JSON") != std::string::npos);
  r = run_scalpel("guard" + f.m + " --edit " + shell_quote((f.dir / "missing.json").string()));
  CHECK(r.status == 1);
  CHECK(r.err.find("missing.json") != std::string::npos);
  const auto far = f.file("far.json", R"({"format": "scalpel.edit-plan/1",
                                         "edits": [{"op": "strip", "layer": 99, "neurons": [1]}]})");
  r = run_scalpel("guard" + f.m + " --edit " + shell_quote(far));
  CHECK(r.status == 1);
  CHECK(r.err.find("layer 99 is out of range") != std::string::npos);
  r = run_scalpel("guard" + f.m + plan + " --text " + shell_quote((f.dir / "none.txt").string()));
  CHECK(r.status == 1);
  CHECK(r.err.find("none.txt") != std::string::npos);
  r = run_scalpel("guard" + f.m + plan + " --text " + shell_quote(f.file("empty.txt", "")));
  CHECK(r.status == 1);
  CHECK(r.err.find("at least one text token") != std::string::npos);
  // another vocabulary
  const auto tiny = (f.dir / "tiny").string();
  REQUIRE(run_scalpel("make-tiny --variant 31b --layers 2 --out " + shell_quote(tiny)).status == 0);
  r = run_scalpel("guard" + f.m + " --against " + shell_quote(tiny));
  CHECK(r.status == 1);
  CHECK(r.err.find("vocabulary 1024") != std::string::npos);
  // the same vocabulary size, another tokenizer: a copy of the base with two token ids swapped in tokenizer.json
  const auto copy = f.dir / "swapped";
  std::filesystem::create_directories(copy);
  for (const char* name : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(std::filesystem::path(f.golden) / name, copy / name);
  std::ofstream(copy / "tokenizer.json", std::ios::binary) << guard_test::swapped_tokenizer_json(f.golden);
  r = run_scalpel("guard" + f.m + " --against " + shell_quote(copy.string()));
  CHECK(r.status == 1);
  CHECK(r.err.find("the tokenizers differ at token id 70") != std::string::npos);
}

}  // namespace ut_guard_cli_test
