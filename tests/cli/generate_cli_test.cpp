// `scalpel generate` and `scalpel chat` as processes: llama.cpp's greedy continuations, determinism, run-time
// edits, stop conditions, the loop stop, the chat REPL driven through a pipe.
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"

namespace ut_generate_cli_test {  // one namespace per file: unity builds put several test files in one TU

using scalpel_test::run_scalpel;
using scalpel_test::shell_quote;

namespace {
const std::string golden = std::string(SCALPEL_TEST_DATA_DIR) + "/golden/";

nlohmann::json generate_json(const std::string& args) {
  const auto r = run_scalpel("generate " + args + " --json");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return nlohmann::json::parse(r.out);
}
std::string ids_csv(const nlohmann::json& ids) {
  std::string s;
  for (const auto& v : ids) {
    if (!s.empty()) s.push_back(',');
    s.append(std::to_string(v.get<int>()));
  }
  return s;
}
}  // namespace

TEST_CASE("generate: greedy through the CLI reproduces llama.cpp's continuation on every golden model") {
  for (const char* v : {"e2b-like", "moe-like", "dense-like"}) {
    CAPTURE(v);
    std::ifstream f(golden + v + "/golden.json");
    const auto g = nlohmann::json::parse(f);
    for (const auto& c : g["cases"]) {
      const auto out = generate_json("--model " + shell_quote(golden + v) + " --ids " + ids_csv(c["ids"]) +
                                     " --max-tokens 16 --temperature 0 --ignore-eos");
      CHECK(out["ids"] == c["llama_cpp"]["greedy"]);
      CHECK(out["stop_reason"] == "max_tokens");
      CHECK(out.contains("loop"));
      CHECK(out["timing"].contains("decode_tok_s"));
    }
  }
}

TEST_CASE("generate: the same seed gives the same tokens across runs and thread counts") {
  const std::string base = "--model " + shell_quote(golden + "moe-like") +
                           " --ids 2,45,78,300 --max-tokens 24 --ignore-eos --temperature 1.0 --top-k 40 --top-p 0.9 "
                           "--min-p 0.02 --repeat-penalty 1.1 --presence-penalty 0.2 --frequency-penalty 0.1 "
                           "--dry-multiplier 0.5 --seed 17";
  const auto a = generate_json(base + " --threads 1");
  const auto b = generate_json(base + " --threads 2");
  const auto c = generate_json(base + " --threads 2");
  CHECK(a["ids"] == b["ids"]);
  CHECK(b["ids"] == c["ids"]);
  const auto d = generate_json(base + " --threads 2 --seed 18");
  CHECK(a["ids"] != d["ids"]);
}

TEST_CASE("generate: bad input and bad usage exit with 1 and 2") {
  auto r = run_scalpel("generate --model " + shell_quote(golden + "dense-like") + " --ids 2,999 --max-tokens 2");
  CHECK(r.status == 1);
  CHECK(r.err.find("out of range") != std::string::npos);
  r = run_scalpel("generate --model " + shell_quote(golden + "dense-like") + " --max-tokens 2");
  CHECK(r.status == 2);
  r = run_scalpel("generate --model " + shell_quote(golden + "dense-like") + " --ids 2 --top-p 1.5");
  CHECK(r.status == 1);
  CHECK(r.err.find("top_p") != std::string::npos);
  r = run_scalpel("generate --model " + shell_quote(golden + "dense-like") + " --ids 2 --bogus 1");
  CHECK(r.status == 2);
}

TEST_CASE("generate and chat on the demo model: loops, stops, run-time edits, the REPL") {
  const auto dir = scalpel_test::temp_dir("gen-demo");
  const auto demo = run_scalpel("demo --out " + shell_quote(dir.string()) + " --seeds 2 --json");
  REQUIRE_MESSAGE(demo.status == 0, demo.err);
  const std::string model = "--model " + shell_quote((dir / "base").string());
  const std::string prompt = " --prompt 'List all 88 constellations recognised by the IAU.' --chat";

  // The base model loops; --stop-on-loop ends generation with stop_reason "loop".
  auto out = generate_json(model + prompt + " --temperature 0 --max-tokens 120 --stop-on-loop");
  CHECK(out["stop_reason"] == "loop");
  CHECK(out["loop"]["looping"] == true);
  CHECK(out["text"].get<std::string>().find("- Canis Major\n- Canis Major") != std::string::npos);

  // The plan applied at run time repairs it; the list ends with the end-of-turn token.
  out = generate_json(model + prompt + " --temperature 0 --max-tokens 120 --edit " +
                      shell_quote((dir / "plan.json").string()));
  CHECK(out["stop_reason"] == "eos");
  CHECK(out["loop"]["looping"] == false);
  CHECK(out["text"].get<std::string>().find("- Vulpecula") != std::string::npos);
  // ... and the saved edited model does the same.
  const auto edited =
      generate_json("--model " + shell_quote((dir / "edited").string()) + prompt + " --temperature 0 --max-tokens 120");
  CHECK(edited["ids"] == out["ids"]);

  // Stop strings end generation before the string; max tokens counts generated tokens.
  out = generate_json(model + prompt + " --temperature 0 --max-tokens 120 --stop Aquila");
  CHECK(out["stop_reason"] == "stop_string");
  CHECK(out["text"] == "- Andromeda\n- Antlia\n- Apus\n- Aquarius\n- ");
  out = generate_json(model + prompt + " --temperature 0 --max-tokens 3");
  CHECK(out["ids"].size() == 3);
  CHECK(out["stop_reason"] == "max_tokens");

  // Streaming text equals the JSON text.
  const auto streamed = run_scalpel("generate " + model + prompt + " --temperature 0 --max-tokens 5");
  REQUIRE(streamed.status == 0);
  CHECK(streamed.out == "- Andromeda\n- Antlia\n- Apus\n- Aquarius\n- Aquila\n");
  CHECK(streamed.err.find("tok/s decode") != std::string::npos);

  // The chat REPL, driven through a pipe: two turns, history kept, /reset, /think, /system.
  const auto chat = run_scalpel("chat " + model + " --temperature 0 --max-tokens 3",
                                "List all 88 constellations recognised by the IAU.\n/history\n/think on\n"
                                "/system You are terse.\n/reset\n/history\n/bogus\n/quit\n");
  REQUIRE_MESSAGE(chat.status == 0, chat.err);
  CHECK(chat.out.find("- Andromeda\n- Antlia\n- Apus") != std::string::npos);
  CHECK(chat.out.find("<|turn>model\n- Andromeda\n- Antlia\n- Apus<turn|>") != std::string::npos);  // history
  CHECK(chat.out.find("[thinking on]") != std::string::npos);
  CHECK(chat.out.find("[system prompt set]") != std::string::npos);
  const auto reset_at = chat.out.find("[conversation reset]");
  REQUIRE(reset_at != std::string::npos);
  const std::string after_reset = chat.out.substr(reset_at);
  CHECK(after_reset.find("<|turn>system\n<|think|>You are terse.<turn|>") != std::string::npos);  // system + think kept
  CHECK(after_reset.find("Andromeda") == std::string::npos);                                      // history gone
  CHECK(chat.out.find("[unknown command /bogus") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace ut_generate_cli_test
