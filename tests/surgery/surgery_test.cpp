// The surgery pipeline on planted-loop models: it finds the planted circuit by itself, picks an edit that
// removes the loop, resumes after an interruption with the same result, and splits its evaluations into shards.
#include "scalpel/analysis/surgery.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"
#include "scalpel/analysis/planted_loop.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_surgery_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;
namespace fs = std::filesystem;

namespace {

/// Surgery settings for a planted model saved in `base`: the constellations probe, few seeds, short budget,
/// reference text = the start of the list (the model's own domain), no multiple-choice guard.
an::surgery_options planted_options(const an::planted_loop_model& d, const fs::path& base, const fs::path& out,
                                    std::size_t seeds = 4) {
  an::surgery_options o;
  o.model_path = base.string();
  o.out_dir = out;
  o.eval = {{"format", std::string(an::eval_config_format)},
            {"probes", {"iau_constellations"}},
            {"seeds", {{"count", seeds}, {"start", 100}}},
            {"budgets", {{{"max_tokens", 120}}}}};
  // The list before the attractor: text the model handles, where the loop neuron is not what speaks.
  for (std::size_t i = 0; i + 1 < std::min<std::size_t>(11, d.options.attractor); ++i)
    o.guard_text += "- " + d.entries[i] + "\n";
  o.mc.clear();
  o.confirm.criteria.max_kl = 1.0;  // as scalpel demo: see cmd_demo.cpp
  o.max_bank_items = 8;
  o.confirm.strengths = {0.0, -1.0, 2.0};
  o.confirm.max_units = 2;
  return o;
}

std::set<std::string> record_keys(const fs::path& jsonl) {
  std::set<std::string> keys;
  for (const auto& r : an::read_eval_jsonl(jsonl.string()).records) keys.insert(r["key"].get<std::string>());
  return keys;
}

/// The pipeline found the planted neuron: the sweep's most negative layer, attribution's first neuron and the
/// chosen plan all point at it, and the loop is gone.
void check_found(const fs::path& out, const an::planted_loop_options& p) {
  CAPTURE(p.loop_layer);
  CAPTURE(p.loop_neuron);
  CAPTURE(p.seed);
  const auto s = scalpel::io::read_json_file((out / "surgery.json").string());
  REQUIRE(s["status"] == "done");
  CHECK(s["result"]["loop_rate_before"].get<double>() >= 0.75);
  REQUIRE(s["result"]["chosen"].is_string());
  CHECK(s["result"]["loop_rate_after"].get<double>() == 0.0);
  const auto sweep = scalpel::io::read_json_file((out / "sweep.json").string());
  std::size_t worst = 0;
  double worst_delta = 0.0;
  for (const auto& r : sweep["layers"])
    if (r["delta"].get<double>() < worst_delta) {
      worst_delta = r["delta"].get<double>();
      worst = r["layer"].get<std::size_t>();
    }
  CHECK(worst == p.loop_layer);
  const auto attr = scalpel::io::read_json_file((out / "attribution.json").string());
  CHECK(attr["neurons"][0]["layer"] == p.loop_layer);
  CHECK(attr["neurons"][0]["neuron"] == p.loop_neuron);
  const auto plan = scalpel::io::read_json_file((out / "plan.json").string());
  REQUIRE(plan["edits"].size() >= 1);
  CHECK(plan["edits"][0]["layer"] == p.loop_layer);
  CHECK(plan["edits"][0]["neurons"][0] == p.loop_neuron);
}

}  // namespace

TEST_CASE("surgery: finds the planted neuron of the demo model, writes plan, model and report") {
  scalpel::simd::set_num_threads(1);
  const auto dir = scalpel_test::temp_dir("surgery-demo");
  const auto d = an::build_planted_loop();
  an::save_planted_loop(d, (dir / "base").string());
  const auto o = planted_options(d, dir / "base", dir / "run");
  const auto r = an::run_surgery(o);
  CHECK(r.status == an::surgery_status::done);
  check_found(dir / "run", d.options);
  for (const char* f : {"eval-base.jsonl", "bank.json", "sweep.json", "attribution.json", "confirm.json",
                        "confirm.jsonl", "plan.json", "model/model.safetensors", "report.html", "report.md"})
    CHECK_MESSAGE(fs::exists(dir / "run" / f), f);
  const auto s = r.summary;
  for (const auto& st : s["stages"]) CHECK_MESSAGE(st["status"] != "pending", st.dump());
  CHECK(s["model"]["files"].size() >= 1);
  CHECK(s["model"]["files"][0]["sha256"].get<std::string>().size() == 64);
  // The edited checkpoint carries the chosen plan and loads.
  const auto edited = scalpel::model::load_model((dir / "run" / "model").string());
  CHECK(edited.config().num_layers == d.model.config().num_layers);
  // Confirmation stopped at the first size with a passing candidate.
  const auto conf = scalpel::io::read_json_file((dir / "run" / "confirm.json").string());
  for (const auto& c : conf["candidates"])
    if (c["size"] == 2) CHECK(c["verdict"] == "not_run");

  // A second run with the same settings resumes: nothing is recomputed, the result is the same.
  const auto again = an::run_surgery(o);
  CHECK(again.summary["result"] == s["result"]);
  // Other settings in the same directory are refused.
  auto other = o;
  other.attribute_top = 7;
  CHECK_THROWS_WITH_AS(an::run_surgery(other), doctest::Contains("other settings"), scalpel::error);
  fs::remove_all(dir);
}

TEST_CASE("surgery: an interrupted run resumes to the same result") {
  scalpel::simd::set_num_threads(1);
  const auto dir = scalpel_test::temp_dir("surgery-resume");
  const auto d = an::build_planted_loop();
  an::save_planted_loop(d, (dir / "base").string());
  auto o = planted_options(d, dir / "base", dir / "run");
  // Stop in the middle of the base evaluation, then in the middle of the confirmation.
  std::atomic<std::size_t> polls{0};
  std::size_t limit = 150;
  o.keep_going = [&] { return ++polls < limit; };
  auto r = an::run_surgery(o);
  REQUIRE(r.status == an::surgery_status::interrupted);
  CHECK(r.summary["status"] == "interrupted");
  const auto partial = record_keys(dir / "run" / "eval-base.jsonl");
  CHECK(partial.size() < 4);
  polls = 0;
  limit = 1200;
  std::size_t interrupted = 0;
  while ((r = an::run_surgery(o)).status == an::surgery_status::interrupted && interrupted < 50) {
    ++interrupted;
    polls = 0;
  }
  CHECK(interrupted >= 1);
  REQUIRE(r.status == an::surgery_status::done);
  check_found(dir / "run", d.options);
  // The same settings in one go give the same records and the same choice.
  auto fresh = planted_options(d, dir / "base", dir / "fresh");
  const auto f = an::run_surgery(fresh);
  CHECK(f.summary["result"] == r.summary["result"]);
  CHECK(record_keys(dir / "run" / "eval-base.jsonl") == record_keys(dir / "fresh" / "eval-base.jsonl"));
  CHECK(record_keys(dir / "run" / "confirm.jsonl") == record_keys(dir / "fresh" / "confirm.jsonl"));
  CHECK(scalpel::io::read_json_file((dir / "run" / "confirm.json").string()) ==
        scalpel::io::read_json_file((dir / "fresh" / "confirm.json").string()));
  fs::remove_all(dir);
}

TEST_CASE("surgery: shards split the evaluations and end with the unsharded result") {
  scalpel::simd::set_num_threads(1);
  const auto dir = scalpel_test::temp_dir("surgery-shards");
  const auto d = an::build_planted_loop();
  an::save_planted_loop(d, (dir / "base").string());
  auto o = planted_options(d, dir / "base", dir / "run");
  o.shard = {0, 2};
  CHECK(an::run_surgery(o).status == an::surgery_status::waiting_for_shards);
  o.shard = {1, 2};  // completes the base evaluation, localizes, runs its half of the candidates
  CHECK(an::run_surgery(o).status == an::surgery_status::waiting_for_shards);
  CHECK(fs::exists(dir / "run" / "attribution.json"));
  o.shard = {0, 2};
  const auto r = an::run_surgery(o);
  REQUIRE(r.status == an::surgery_status::done);
  check_found(dir / "run", d.options);
  CHECK(fs::exists(dir / "run" / "eval-base.shard-0-of-2.jsonl"));
  const auto fresh = an::run_surgery(planted_options(d, dir / "base", dir / "fresh"));
  CHECK(fresh.summary["result"] == r.summary["result"]);
  CHECK(record_keys(dir / "run" / "eval-base.jsonl") == record_keys(dir / "fresh" / "eval-base.jsonl"));
  CHECK(record_keys(dir / "run" / "confirm.jsonl") == record_keys(dir / "fresh" / "confirm.jsonl"));
  fs::remove_all(dir);
}

TEST_CASE("surgery: the pipeline finds circuits planted at other layers, neurons and attractors") {
  scalpel::simd::set_num_threads(1);
  const auto dir = scalpel_test::temp_dir("surgery-plantings");
  const an::planted_loop_options plantings[] = {
      {.seed = 3, .loop_layer = 3, .loop_neuron = 5, .attractor = 14},
      {.seed = 7, .loop_layer = 2, .loop_neuron = 101, .attractor = 9},
      {.seed = 11, .loop_layer = 3, .loop_neuron = 77, .attractor = 12},
  };
  int k = 0;
  for (const auto& p : plantings) {
    const auto d = an::build_planted_loop(p);
    const auto base = dir / ("base" + std::to_string(k));
    an::save_planted_loop(d, base.string());
    const auto out = dir / ("run" + std::to_string(k++));
    auto o = planted_options(d, base, out);
    o.write_model = false;
    const auto r = an::run_surgery(o);
    CHECK(r.status == an::surgery_status::done);
    check_found(out, p);
  }
  fs::remove_all(dir);
}

TEST_CASE("surgery: bad settings are errors naming the problem") {
  const auto dir = scalpel_test::temp_dir("surgery-bad");
  const auto d = an::build_planted_loop();
  an::save_planted_loop(d, (dir / "base").string());
  auto o = planted_options(d, dir / "base", dir / "run");
  o.eval["variants"] = nlohmann::json::array();
  CHECK_THROWS_WITH_AS(an::run_surgery(o), doctest::Contains("variants"), scalpel::error);
  o = planted_options(d, dir / "base", dir / "run2");
  o.eval["probes"] = {"no_such_probe"};
  CHECK_THROWS_WITH_AS(an::run_surgery(o), doctest::Contains("no_such_probe"), scalpel::error);
  // The failure is recorded in the directory.
  CHECK(scalpel::io::read_json_file((dir / "run2" / "surgery.json").string())["status"] == "failed");
  o = planted_options(d, dir / "missing", dir / "run3");
  CHECK_THROWS_AS(an::run_surgery(o), scalpel::error);
  fs::remove_all(dir);
}

}  // namespace ut_surgery_test
