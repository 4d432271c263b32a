// `scalpel demo` (the README's main command): loop -> edit -> no loop, and what it saves.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"

namespace ut_demo_cli_test {  // one namespace per file: unity builds put several test files in one TU

using scalpel_test::run_scalpel;
using scalpel_test::shell_quote;

TEST_CASE("demo: the loop rate drops from ~1 to ~0, and diff recovers the saved edit") {
  const auto dir = scalpel_test::temp_dir("demo");
  const auto r = run_scalpel("demo --out " + shell_quote(dir.string()) + " --seeds 6 --json");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);  // --json: stdout holds only the record
  CHECK(j["loop_rate_before"].get<double>() >= 0.99);
  CHECK(j["loop_rate_after"].get<double>() <= 0.01);
  CHECK(j["static_equals_runtime"] == true);
  CHECK(j["greedy_before"]["loop"]["phenotype"] == "list_collapse");
  CHECK(j["greedy_after"]["list"]["gold_found"] == 88);
  // The pipeline found the planted neuron by itself (layer 2, neuron 37) and chose an edit of it.
  CHECK(j["plan"]["edits"][0]["layer"] == 2);
  CHECK(j["plan"]["edits"][0]["neurons"] == nlohmann::json::array({37}));
  CHECK(r.err.find("== 6. Saving") != std::string::npos);  // the narration went to stderr
  for (const char* f : {"base/config.json", "base/model.safetensors", "base/tokenizer.json", "edited/model.safetensors",
                        "edited/scalpel-edit-plan.json", "plan.json"})
    CHECK_MESSAGE(std::filesystem::exists(dir / f), f);
  const auto d = run_scalpel("diff --base " + shell_quote((dir / "base").string()) + " --edited " +
                             shell_quote((dir / "edited").string()) + " --json");
  REQUIRE(d.status == 0);
  const auto dj = nlohmann::json::parse(d.out);
  CHECK(dj["plan"]["edits"] == j["plan"]["edits"]);
  CHECK(dj["other_differences"].empty());
  // info reads the saved model
  const auto info = run_scalpel("info --model " + shell_quote((dir / "base").string()) + " --json");
  REQUIRE(info.status == 0);
  CHECK(nlohmann::json::parse(info.out)["variant"] == "custom");
  std::filesystem::remove_all(dir);
}

}  // namespace ut_demo_cli_test
