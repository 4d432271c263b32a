// The tokenize / detokenize / chat-format commands (build/bin/scalpel), driven as a user would.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"
#include "tokenizer_test_util.hpp"

namespace ut_cli_tokenize_test {  // one namespace per file: unity builds put several test files in one TU

namespace fs = std::filesystem;

namespace {
struct run_result {
  int status = -1;
  std::string out;
};
// Run the CLI with `args` (a shell-quoted string); stdout captured, stderr appended to it.
run_result scalpel_cli(const std::string& args) {
  const auto r = scalpel_test::run_scalpel(args);
  return {r.status, r.out + r.err};
}
fs::path temp_dir() {
  auto p = fs::temp_directory_path() / ("scalpel-tok-cli-" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}
std::string write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}
}  // namespace

TEST_CASE("cli: tokenize --json follows contracts.md") {
  const std::string tok = "--tokenizer '" + tok_test::gemma_tokenizer_path() + "'";
  auto r = scalpel_cli("tokenize " + tok + " --text 'The capital of France is' --json");
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out) == nlohmann::json::parse(R"({"ids": [818, 5279, 529, 7001, 563]})"));

  r = scalpel_cli("tokenize " + tok + " --text 'The capital of France is' --bos");
  REQUIRE(r.status == 0);
  CHECK(r.out == "2 818 5279 529 7001 563\n");

  // the shared cases through --texts: one result per text, in order
  const auto cases = tok_test::load_cases(SCALPEL_TEST_DATA_DIR "/golden/tokenizer/cases.json");
  nlohmann::json texts = nlohmann::json::array();
  for (const auto& c : cases) texts.push_back(c.text);
  const auto dir = temp_dir();
  const std::string tf = write(dir / "texts.json", texts.dump());
  r = scalpel_cli("tokenize " + tok + " --texts '" + tf + "' --json");
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.at("results").size() == cases.size());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    CAPTURE(cases[k].text);
    CHECK(j["results"][k]["ids"].get<std::vector<std::int32_t>>() == cases[k].ids);
  }

  // specials: parsed by default, as text with --no-specials; --file takes raw bytes
  const std::string pf = write(dir / "prompt.txt", "<bos><|turn>user\nHello<turn|>\n<|turn>model\n");
  r = scalpel_cli("tokenize " + tok + " --file '" + pf + "'");
  CHECK(r.out == "2 105 2364 107 9259 106 107 105 4368 107\n");
  r = scalpel_cli("tokenize " + tok + " --file '" + pf + "' --no-specials --json");
  CHECK(nlohmann::json::parse(r.out)["ids"].size() > 10);
  // --special-table keep: the file's own (Gemma 3) table
  r = scalpel_cli("tokenize " + tok + " --special-table keep --text '<|turn>' --json");
  CHECK(nlohmann::json::parse(r.out) == nlohmann::json::parse(R"({"ids": [236820, 236909, 887, 236813]})"));
  // --model with an HF directory
  r = scalpel_cli("tokenize --model '" SCALPEL_TEST_DATA_DIR "/golden/e2b-like' --text the --json");
  CHECK(r.status == 0);
  fs::remove_all(dir);
}

TEST_CASE("cli: tokenizer commands report bad input and bad usage") {
  const std::string tok = "--tokenizer '" + tok_test::gemma_tokenizer_path() + "'";
  // A GGUF carries its tokenizer: the same ids as the checkpoint's tokenizer.json.
  auto r = scalpel_cli("tokenize --model '" SCALPEL_TEST_DATA_DIR
                       "/golden/e2b-like/model-f32.gguf' --text 'the cat' --json");
  CHECK(r.status == 0);
  const auto from_json =
      scalpel_cli("tokenize --model '" SCALPEL_TEST_DATA_DIR "/golden/e2b-like' --text 'the cat' --json");
  CHECK(r.out == from_json.out);
  r = scalpel_cli("tokenize --model /nonexistent/model.gguf --text x");
  CHECK(r.status == 1);
  r = scalpel_cli("tokenize --tokenizer /nonexistent.json --text x");
  CHECK(r.status == 1);
  r = scalpel_cli("tokenize " + tok);
  CHECK(r.status == 2);
  r = scalpel_cli("tokenize " + tok + " --text a --file b");
  CHECK(r.status == 2);
  r = scalpel_cli("tokenize " + tok + " --text a --bogus");
  CHECK(r.status == 2);
  r = scalpel_cli("detokenize " + tok + " --ids 1,abc");
  CHECK(r.status == 2);
  r = scalpel_cli("detokenize " + tok + " --ids 262144");
  CHECK(r.status == 1);
  CHECK(r.out.find("outside the vocabulary") != std::string::npos);
  r = scalpel_cli("chat-format --file /nonexistent.json");
  CHECK(r.status == 1);
}

TEST_CASE("cli: detokenize and chat-format") {
  const std::string tok = "--tokenizer '" + tok_test::gemma_tokenizer_path() + "'";
  auto r = scalpel_cli("detokenize " + tok + " --ids 2,105,2364,107,9259,106");
  REQUIRE(r.status == 0);
  CHECK(r.out == "<bos><|turn>user\nHello<turn|>\n");
  r = scalpel_cli("detokenize " + tok + " --ids 2,105,2364,107,9259,106 --skip-specials --json");
  CHECK(nlohmann::json::parse(r.out) == nlohmann::json::parse(R"({"text": "user\nHello"})"));

  const auto dir = temp_dir();
  const std::string conv = write(dir / "conv.json", R"([{"role": "user", "content": "Hello"}])");
  r = scalpel_cli("chat-format --file '" + conv + "'");
  REQUIRE(r.status == 0);
  CHECK(r.out == "<bos><|turn>user\nHello<turn|>\n<|turn>model\n");
  r = scalpel_cli("chat-format --file '" + conv + "' --family large " + tok + " --ids --json");
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["prompt"] == "<bos><|turn>user\nHello<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
  CHECK(j["ids"].get<std::vector<std::int32_t>>() ==
        std::vector<std::int32_t>{2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107, 100, 45518, 107, 101});
  r = scalpel_cli("chat-format --file '" + conv + "' --think " + tok + " --ids");
  CHECK(r.out ==
        "<bos><|turn>system\n<|think|><turn|>\n<|turn>user\nHello<turn|>\n<|turn>model\n"
        "2 105 9731 107 98 106 107 105 2364 107 9259 106 107 105 4368 107\n");
  r = scalpel_cli("chat-format --file '" + conv + "' --ids");
  CHECK(r.status == 2);  // --ids needs a tokenizer
  r = scalpel_cli("chat-format --file '" + conv + "' --family medium");
  CHECK(r.status == 2);
  r = scalpel_cli("chat-format --file '" + conv + "' --ids --model '" SCALPEL_TEST_DATA_DIR "/golden/e2b-like'");
  CHECK(r.status == 1);  // the small tokenizer has no <|turn>
  fs::remove_all(dir);
}

}  // namespace ut_cli_tokenize_test
