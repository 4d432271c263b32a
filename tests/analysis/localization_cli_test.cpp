// The localization commands (bank, sweep-layers, attribute, attribute-experts) through the CLI: JSON shapes,
// the demo model's planted circuit found end to end (eval -> bank -> sweep / attribute), and error handling.
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"
#include "localization_test_util.hpp"

namespace ut_localization_cli_test {  // one namespace per file: unity builds put several test files in one TU

using scalpel_test::run_scalpel;
using scalpel_test::shell_quote;
namespace an = scalpel::analysis;

namespace {

struct fixture {
  std::filesystem::path dir = scalpel_test::temp_dir("localization-cli");
  an::planted_loop_model demo = an::build_planted_loop();
  std::string model = (dir / "demo").string();
  std::string bank = (dir / "bank.json").string();
  fixture() {
    an::save_planted_loop(demo, model);
    loc_test::planted_bank(demo).write(bank);
  }
  ~fixture() { std::filesystem::remove_all(dir); }
  [[nodiscard]] std::string file(const std::string& name, const std::string& content) const {
    const auto p = (dir / name).string();
    std::ofstream(p) << content;
    return p;
  }
};

nlohmann::json json_of(const scalpel_test::cli_result& r) {
  INFO(r.err);
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("cli bank: single cases, and the bank a run of eval produces") {
  fixture f;
  const std::string m = " --model " + shell_quote(f.model) + " --threads 1";
  // --ids: target defaults to the greedy next token (the attractor: the loop continues)
  const auto item = loc_test::planted_bank(f.demo, {0}).items[0];
  std::string ids;
  for (const auto id : item.ids) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  const auto j = json_of(run_scalpel("bank" + m + " --ids " + ids));
  CHECK(j["format"] == "scalpel.loop-bank/1");
  REQUIRE(j["items"].size() == 1);
  CHECK(j["items"][0]["target"] == item.target);
  CHECK(j["items"][0]["ids"].size() == item.ids.size());
  CHECK(j["metric_base"].get<double>() > 0.0);
  const auto fixed = json_of(run_scalpel("bank" + m + " --ids " + ids + " --target " + std::to_string(item.target) +
                                         " --contrast " + std::to_string(item.contrast)));
  CHECK(fixed["items"][0]["contrast"] == item.contrast);

  // eval (greedy and sampled generations of the demo loop) -> bank --from: cut where the list repeats the
  // attractor; target = the attractor, contrast = the next constellation
  const auto run = (f.dir / "run.jsonl").string();
  REQUIRE(run_scalpel("eval" + m + " --probes iau_constellations --seeds 2 --max-tokens 120 --quiet --out " +
                      shell_quote(run))
              .status == 0);
  const auto out = (f.dir / "from-eval.json").string();
  const auto s =
      json_of(run_scalpel("bank" + m + " --from " + shell_quote(run) + " --out " + shell_quote(out) + " --json"));
  CHECK(s["records"] == 2);
  CHECK(s["looping"] == 2);
  CHECK(s["items"].get<int>() >= 1);
  const auto b = an::loop_bank::read(out);
  const std::size_t a = f.demo.options.attractor;
  for (const auto& it : b.items) {
    CHECK(it.target == f.demo.entry_ids[a - 1]);
    CHECK(it.contrast == f.demo.entry_ids[a]);
    CHECK(it.extra["route"] == "list");
    CHECK(it.extra["probe"] == "iau_constellations");
    CHECK(it.extra["m"].get<double>() > 0.0);
  }
  // and attribute finds the planted neuron from that bank
  const auto at = json_of(run_scalpel("attribute" + m + " --bank " + shell_quote(out) + " --top 5 --exact 3 --json"));
  CHECK(at["neurons"][0]["layer"] == f.demo.options.loop_layer);
  CHECK(at["neurons"][0]["neuron"] == f.demo.options.loop_neuron);

  // errors
  CHECK(run_scalpel("bank" + m).status == 2);
  CHECK(run_scalpel("bank" + m + " --ids 2,5 --from " + shell_quote(run)).status == 2);
  const auto bad = run_scalpel("bank" + m + " --ids 2,5 --target 5000");
  CHECK(bad.status == 1);
  CHECK(bad.err.find("target token id 5000 is out of range (vocab size 640)") != std::string::npos);
  CHECK(run_scalpel("bank" + m + " --ids 2,9999").status == 1);
}

TEST_CASE("cli sweep-layers: JSON shape, the planted layer, errors") {
  fixture f;
  const std::string m = " --model " + shell_quote(f.model) + " --threads 1";
  const auto j = json_of(run_scalpel("sweep-layers" + m + " --bank " + shell_quote(f.bank) + " --json"));
  REQUIRE(j["layers"].size() == 4);
  const double m0 = j["metric_base"].get<double>();
  CHECK(m0 > 0.0);
  CHECK(j["kl_tokens"].get<int>() > 50);  // the built-in paragraph, with the demo's tokenizer
  std::size_t best = 0;
  for (std::size_t l = 0; l < 4; ++l) {
    const auto& row = j["layers"][l];
    CHECK(row["layer"] == l);
    CHECK(row["delta"].get<double>() == doctest::Approx(row["metric"].get<double>() - m0));
    CHECK(row["kl"].get<double>() >= 0.0);
    if (row["delta"] < j["layers"][best]["delta"]) best = l;
  }
  CHECK(best == f.demo.options.loop_layer);
  const auto attn = json_of(run_scalpel("sweep-layers" + m + " --bank " + shell_quote(f.bank) +
                                        " --component attn --mode scale:0.5 --layers 1,3 --no-kl --json"));
  REQUIRE(attn["layers"].size() == 2);
  CHECK(attn["layers"][1]["layer"] == 3);
  CHECK(attn["layers"][0]["kl"].is_null());
  CHECK(attn["mode"] == "scale:0.5");
  const auto kl_file = f.file("kl.txt", "The quick brown fox jumps over the lazy dog, twice.");
  const auto mean = json_of(run_scalpel("sweep-layers" + m + " --bank " + shell_quote(f.bank) +
                                        " --mode mean --kl-text " + shell_quote(kl_file) + " --json"));
  CHECK(mean["mean_positions"].get<int>() > 0);
  CHECK(mean["kl_tokens"].get<int>() < 60);

  // errors: bad bank files, out-of-range layers, bad options
  auto fails = [&](const std::string& args, int status, const std::string& msg) {
    const auto r = run_scalpel("sweep-layers" + m + " " + args + " --json");
    CAPTURE(args);
    CAPTURE(r.err);
    CHECK(r.status == status);
    CHECK(r.err.find(msg) != std::string::npos);
    CHECK(r.out.empty());
  };
  fails("--bank " + shell_quote(f.file("a.json", "{not json")), 1, "a.json");
  fails("--bank " + shell_quote(f.file("b.json", R"({"format": "other", "items": []})")), 1,
        "expected \"scalpel.loop-bank/1\"");
  fails("--bank " + shell_quote(f.file("c.json", R"({"format": "scalpel.loop-bank/1", "items": [{"ids": [2]}]})")), 1,
        "items[0].target");
  fails("--bank " +
            shell_quote(f.file(
                "d.json",
                R"({"format": "scalpel.loop-bank/1", "items": [{"ids": [2, 5], "target": 640, "contrast": 3}]})")),
        1, "items[0].target: token id 640 is out of range (vocab size 640)");
  fails("--bank " + shell_quote(f.bank) + " --layers 9", 1, "layer 9 is out of range (the model has 4)");
  fails("--bank " + shell_quote(f.bank) + " --layers -1", 2, "negative");
  fails("--bank " + shell_quote(f.bank) + " --mode half", 2, "mode");
  fails("--bank " + shell_quote(f.bank) + " --component moe", 2, "component");
  fails("--bank /nonexistent/bank.json", 1, "/nonexistent/bank.json");
  fails("--model-typo x --bank " + shell_quote(f.bank), 2, "model-typo");
}

TEST_CASE("cli attribute: JSON shape, per-position terms, errors") {
  fixture f;
  const std::string m = " --model " + shell_quote(f.model) + " --threads 1";
  const auto j = json_of(
      run_scalpel("attribute" + m + " --bank " + shell_quote(f.bank) + " --layers 2,3 --top 6 --exact 2 --json"));
  REQUIRE(j["neurons"].size() == 6);
  CHECK(j["neurons_scored"] == 256);
  CHECK(j["items"] == 3);
  for (std::size_t k = 0; k < 6; ++k) {
    const auto& n = j["neurons"][k];
    for (const char* key : {"layer", "neuron", "score", "score_norm", "exact_delta"}) CHECK(n.contains(key));
    CHECK(n["exact_delta"].is_null() == (k >= 2));
    CHECK(n["layer"].get<int>() >= 2);
  }
  CHECK(j["neurons"][0]["layer"] == f.demo.options.loop_layer);
  CHECK(j["neurons"][0]["neuron"] == f.demo.options.loop_neuron);
  CHECK(j["timing"]["gradient_s"].get<double>() >= 0.0);
  const auto pp = json_of(run_scalpel("attribute" + m + " --bank " + shell_quote(f.bank) +
                                      " --layers 2 --top 2 --exact 0 --per-position --json"));
  double sum = 0.0;
  for (const auto& t : pp["neurons"][0]["per_position"]) sum += t["score"].get<double>();
  CHECK(sum == doctest::Approx(pp["neurons"][0]["score"].get<double>()).epsilon(1e-9).scale(1.0));
  const auto text = run_scalpel("attribute" + m + " --bank " + shell_quote(f.bank) + " --top 3");
  CHECK(text.status == 0);
  CHECK(text.out.find("metric_base") != std::string::npos);

  const auto bad = run_scalpel("attribute" + m + " --bank " + shell_quote(f.bank) + " --layers 1,4 --json");
  CHECK(bad.status == 1);
  CHECK(bad.err.find("layer 4 is out of range") != std::string::npos);
  CHECK(run_scalpel("attribute" + m + " --bank " + shell_quote(f.bank) + " --top 0").status == 2);
  CHECK(run_scalpel("attribute" + m).status == 2);  // --bank missing
}

TEST_CASE("cli attribute-experts: JSON shape on an MoE model, error on a dense one") {
  fixture f;
  const auto moe = (f.dir / "moe").string();
  REQUIRE(run_scalpel("make-tiny --variant 26b-a4b --layers 3 --out " + shell_quote(moe)).status == 0);
  const auto bank = f.file(
      "moe-bank.json",
      R"({"format": "scalpel.loop-bank/1", "items": [{"ids": [2, 17, 300, 41, 9], "target": 5, "contrast": 6}]})");
  const std::string m = " --model " + shell_quote(moe) + " --threads 1 --bank " + shell_quote(bank);
  const auto j = json_of(run_scalpel("attribute-experts" + m + " --json"));
  REQUIRE(j["experts"].size() == 3 * 16);
  double freq = 0.0;
  for (const auto& e : j["experts"]) {
    for (const char* key : {"layer", "expert", "delta_route", "delta_silence", "freq", "freq_clean"})
      CHECK(e.contains(key));
    freq += e["freq"].get<double>();
  }
  CHECK(freq == doctest::Approx(3 * 4));  // top-4 of 16 experts at one loop position, 3 layers
  CHECK(j["loop_positions"] == 1);
  CHECK(j["clean_positions"] == 3);
  const auto one = json_of(run_scalpel("attribute-experts" + m + " --layers 2 --top 5 --json"));
  CHECK(one["experts"].size() == 5);
  const auto dense =
      run_scalpel("attribute-experts --model " + shell_quote(f.model) + " --bank " + shell_quote(f.bank));
  CHECK(dense.status == 1);
  CHECK(dense.err.find("no MoE layers") != std::string::npos);
}

}  // namespace ut_localization_cli_test
