// `scalpel surgery` end to end on make-tiny models (random weights: whatever they do, the pipeline completes
// and says what it found) and on the demo model through the CLI; exit codes for shards and usage errors;
// `scalpel demo` discovering its planted neuron.
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"
#include "scalpel/io/json.hpp"

namespace ut_surgery_cli_test {  // one namespace per file: unity builds put several test files in one TU

using scalpel_test::run_scalpel;
using scalpel_test::shell_quote;
namespace fs = std::filesystem;

TEST_CASE("surgery cli: runs end to end on make-tiny models (dense and MoE)") {
  const auto dir = scalpel_test::temp_dir("surgery-cli-tiny");
  for (const char* variant : {"e2b", "26b-a4b"}) {
    CAPTURE(variant);
    const auto model = dir / variant;
    const auto mk =
        run_scalpel(std::string("make-tiny --variant ") + variant + " --out " + shell_quote(model.string()));
    REQUIRE_MESSAGE(mk.status == 0, mk.err);
    const auto out = dir / (std::string("run-") + variant);
    const std::string cmd = "surgery --model " + shell_quote(model.string()) + " --out " + shell_quote(out.string()) +
                            " --probes noble_gases,iau_constellations --seeds 2 --max-tokens 40 --threads 1"
                            " --strengths 0,-1 --max-units 1 --exact 4 --mc none --json";
    const auto r = run_scalpel(cmd);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["format"] == "scalpel.surgery/1");
    CHECK(j["status"] == "done");
    CHECK(j["result"]["summary"].get<std::string>().size() > 10);
    CHECK(j["result"].contains("loop_rate_before"));
    CHECK(fs::exists(out / "eval-base.jsonl"));
    CHECK(fs::exists(out / "report.html"));
    CHECK(fs::exists(out / "report.md"));
    CHECK(j["commands"][0].get<std::string>().find("scalpel surgery --model") == 0);
    // Every stage ran, or says why it was skipped.
    for (const auto& s : j["stages"]) {
      CAPTURE(s.dump());
      CHECK((s["status"] == "done" || (s["status"] == "skipped" && s.contains("note"))));
    }
    // The same command again resumes a finished run: same result, exit 0.
    const auto again = run_scalpel(cmd);
    REQUIRE_MESSAGE(again.status == 0, again.err);
    CHECK(nlohmann::json::parse(again.out)["result"] == j["result"]);
  }
  fs::remove_all(dir);
}

TEST_CASE("surgery cli: the demo model, sharded, then finished; usage and input errors") {
  const auto dir = scalpel_test::temp_dir("surgery-cli-demo");
  const auto demo = run_scalpel("demo --out " + shell_quote((dir / "demo").string()) + " --seeds 4 --json");
  REQUIRE_MESSAGE(demo.status == 0, demo.err);
  const auto base = dir / "demo" / "base";
  {
    std::ofstream text(dir / "list.txt");  // reference text the demo model handles: the list before the attractor
    for (const char* e : {"Andromeda", "Antlia", "Apus", "Aquarius", "Aquila", "Ara", "Aries", "Auriga"})
      text << "- " << e << "\n";
  }
  const std::string common =
      "surgery --model " + shell_quote(base.string()) + " --out " + shell_quote((dir / "run").string()) +
      " --probes iau_constellations --seeds 4 --max-tokens 120 --threads 1 --mc none --max-kl 1 --quiet --guard-text " +
      shell_quote((dir / "list.txt").string());
  // Each shard runs its half of an evaluation, then waits (exit 3) until the other half is there.
  const auto s0 = run_scalpel(common + " --shard 0/2");
  CHECK_MESSAGE(s0.status == 3, s0.err);
  scalpel_test::cli_result s2;
  int runs = 0;
  for (int shard = 1; runs < 8; shard = 1 - shard, ++runs) {
    s2 = run_scalpel(common + " --shard " + std::to_string(shard) + "/2");
    if (s2.status != 3) break;
  }
  REQUIRE_MESSAGE(s2.status == 0, s2.err);
  CHECK(runs >= 1);
  CHECK(s2.out.find("Loop rate") != std::string::npos);
  const auto sj = scalpel::io::read_json_file((dir / "run" / "surgery.json").string());
  CHECK(sj["result"]["chosen"].is_string());
  const auto plan = scalpel::io::read_json_file((dir / "run" / "plan.json").string());
  CHECK(plan["edits"][0]["layer"] == 2);
  CHECK(plan["edits"][0]["neurons"] == nlohmann::json::array({37}));

  // Other settings into the same directory: exit 1 naming the problem; --restart discards the old run.
  const auto other = run_scalpel(common + " --top 5");
  CHECK(other.status == 1);
  CHECK(other.err.find("other settings") != std::string::npos);
  const auto restarted = run_scalpel(common + " --top 5 --restart");
  CHECK_MESSAGE(restarted.status == 0, restarted.err);

  CHECK(run_scalpel("surgery --out x").status == 2);
  CHECK(run_scalpel("surgery --model " + shell_quote(base.string()) + " --out x --shard 3/2").status == 2);
  CHECK(run_scalpel("surgery --model " + shell_quote(base.string()) + " --out x --edit p.json").status == 2);
  const auto missing = run_scalpel("surgery --model " + shell_quote((dir / "nope").string()) + " --out " +
                                   shell_quote((dir / "x").string()));
  CHECK(missing.status == 1);
  CHECK(missing.err.find("nope") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("demo: discovers its planted neuron and writes the surgery report") {
  const auto dir = scalpel_test::temp_dir("demo-discovers");
  const auto r = run_scalpel("demo --out " + shell_quote(dir.string()) + " --seeds 6 --json");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["found"]["layer"] == j["found"]["planted_layer"]);
  CHECK(j["found"]["neuron_rank"] == 1);
  CHECK(j["loop_rate_before"].get<double>() >= 0.99);
  CHECK(j["loop_rate_after"].get<double>() <= 0.01);
  CHECK(j["plan"]["edits"][0]["layer"] == 2);
  CHECK(j["plan"]["edits"][0]["neurons"] == nlohmann::json::array({37}));
  CHECK(fs::exists(dir / "surgery" / "report.html"));
  CHECK(r.err.find("the planted neuron ranks #1") != std::string::npos);
  fs::remove_all(dir);
}

}  // namespace ut_surgery_cli_test
