// `scalpel eval`, `eval-merge`, `eval-report`: a grid on a make-tiny model (resume after --max-records and after a
// kill, shards + merge), the demo model's base vs edited comparison, config files and errors.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"

namespace ut_eval_cli_test {  // one namespace per file: unity builds put several test files in one TU

using nlohmann::json;
using scalpel_test::run_scalpel;
using scalpel_test::shell_quote;
namespace fs = std::filesystem;

namespace {

/// A 6-layer random E2B-like checkpoint, made once per process (and removed at exit).
const fs::path& tiny_model() {
  struct holder {
    fs::path root = scalpel_test::temp_dir("eval-tiny");
    fs::path model = root / "tiny";
    holder() {
      const auto r = run_scalpel("make-tiny --variant e2b --layers 6 --out " + shell_quote(model.string()));
      REQUIRE_MESSAGE(r.status == 0, r.err);
    }
    ~holder() {
      std::error_code ec;
      fs::remove_all(root, ec);
    }
  };
  static const holder h;
  return h.model;
}

std::string q(const fs::path& p) { return shell_quote(p.string()); }

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);) out.push_back(l);
  return out;
}

/// The records of a run file, timing removed, as a set of canonical strings.
std::multiset<std::string> record_set(const fs::path& p) {
  std::multiset<std::string> out;
  for (const auto& l : lines_of(p)) {
    auto j = json::parse(l);
    j.erase("timing");
    out.insert(j.dump());
  }
  return out;
}

/// eval-report --format json, timing removed.
json report_json(const std::string& files) {
  const auto r = run_scalpel("eval-report " + files + " --format json");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  auto j = json::parse(r.out);
  j.erase("timing");
  return j;
}

std::string grid_args() {
  return "--model " + q(tiny_model()) +
         " --probes noble_gases,days_of_week --seeds 3 --max-tokens 16 --thinking both --threads 1";
}

/// Start `scalpel <argv>` in the background (output discarded); returns its pid.
pid_t spawn_scalpel(const std::vector<std::string>& argv) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::FILE* null = std::fopen("/dev/null", "w");
    if (null) {
      ::dup2(::fileno(null), 1);
      ::dup2(::fileno(null), 2);
    }
    std::vector<char*> args;
    const std::string bin = scalpel_test::scalpel_binary();
    args.push_back(const_cast<char*>(bin.c_str()));
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(bin.c_str(), args.data());
    ::_exit(127);
  }
  return pid;
}

std::size_t count_lines(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return static_cast<std::size_t>(std::count(std::istreambuf_iterator<char>(f), {}, '\n'));
}

}  // namespace

TEST_CASE("eval cli: a grid on a make-tiny model, resumed after --max-records, equals an uninterrupted run") {
  const auto dir = scalpel_test::temp_dir("eval-resume");
  const auto full = dir / "full.jsonl", part = dir / "part.jsonl";
  auto r = run_scalpel("eval " + grid_args() + " --out " + q(full));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto recs = lines_of(full);
  REQUIRE(recs.size() == 2 * 2 * 3);                       // probes x thinking x seeds
  CHECK(r.err.find("[eval] 1/12 ") != std::string::npos);  // not a terminal: plain progress lines
  CHECK(r.err.find("12 tasks, 0 already") != std::string::npos);
  const auto first = json::parse(recs[0]);
  CHECK(first["key"] == "tiny|base|noble_gases|w0|think-off|16|default|seed=0");
  CHECK(first["format"] == "scalpel.eval-record/1");
  for (const char* k :
       {"cell", "config_hash", "ids", "text", "stop_reason", "loop", "list_score", "timing", "prompt_ids"})
    CHECK_MESSAGE(first.contains(k), k);

  // Stopped after 5 records (exit 3), then a record half-written by a kill, then resumed.
  r = run_scalpel("eval " + grid_args() + " --out " + q(part) + " --max-records 5 --quiet");
  CHECK(r.status == 3);
  CHECK(r.err.find("--max-records") != std::string::npos);
  CHECK(lines_of(part).size() == 5);
  std::ofstream(part, std::ios::app | std::ios::binary) << recs[7].substr(0, 100);
  r = run_scalpel("eval " + grid_args() + " --out " + q(part));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("incomplete record") != std::string::npos);
  CHECK(r.err.find("5 already in") != std::string::npos);
  CHECK(record_set(part) == record_set(full));
  // Nothing left: a third run writes nothing.
  r = run_scalpel("eval " + grid_args() + " --out " + q(part) + " --dry-run");
  REQUIRE(r.status == 0);
  const auto plan = json::parse(r.out);
  CHECK(plan["tasks"] == 12);
  CHECK(plan["done"] == 12);
  CHECK(plan["to_run"] == 0);
  r = run_scalpel("eval " + grid_args() + " --out " + q(part));
  CHECK(r.status == 0);
  CHECK(lines_of(part).size() == 12);
  // More seeds extend the same run (the seed list is not part of the config hash).
  r = run_scalpel("eval " + grid_args() + " --seeds 4 --out " + q(part) + " --quiet");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(lines_of(part).size() == 16);
  // Another configuration is refused.
  r = run_scalpel("eval " + grid_args() + " --temperature 0.5 --out " + q(part));
  CHECK(r.status == 1);
  CHECK(r.err.find("another configuration") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("eval cli: killed with SIGKILL mid-run, the re-run completes the same records") {
  const auto dir = scalpel_test::temp_dir("eval-kill");
  const auto full = dir / "full.jsonl", killed = dir / "killed.jsonl";
  const std::vector<std::string> args = {
      "eval",         "--model", tiny_model().string(), "--probes", "noble_gases", "--seeds", "60",
      "--max-tokens", "48",      "--threads",           "1",        "--quiet",     "--out"};
  auto with_out = [&](const fs::path& out) {
    auto a = args;
    a.push_back(out.string());
    return a;
  };
  const pid_t pid = spawn_scalpel(with_out(killed));
  const auto t0 = std::chrono::steady_clock::now();
  while (count_lines(killed) < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::size_t before = count_lines(killed);
  CHECK(before >= 3);
  MESSAGE("killed after " << before << " of 60 records");
  std::string cmd;
  for (const auto& a : with_out(killed)) cmd += shell_quote(a) + " ";
  auto r = run_scalpel(cmd);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  cmd.clear();
  for (const auto& a : with_out(full)) cmd += shell_quote(a) + " ";
  r = run_scalpel(cmd);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(lines_of(full).size() == 60);
  CHECK(record_set(killed) == record_set(full));
  fs::remove_all(dir);
}

TEST_CASE("eval cli: shards 0/2 and 1/2 merged summarise like the unsharded run") {
  const auto dir = scalpel_test::temp_dir("eval-shard");
  const auto full = dir / "full.jsonl", s0 = dir / "s0.jsonl", s1 = dir / "s1.jsonl", merged = dir / "merged.jsonl";
  REQUIRE(run_scalpel("eval " + grid_args() + " --quiet --out " + q(full)).status == 0);
  REQUIRE(run_scalpel("eval " + grid_args() + " --quiet --shard 0/2 --out " + q(s0)).status == 0);
  REQUIRE(run_scalpel("eval " + grid_args() + " --quiet --shard 1/2 --out " + q(s1)).status == 0);
  CHECK(lines_of(s0).size() == 6);
  CHECK(lines_of(s1).size() == 6);
  auto r = run_scalpel("eval-merge " + q(s0) + " " + q(s1) + " --out " + q(merged));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("12 records from 2 files -> 12") != std::string::npos);
  CHECK(record_set(merged) == record_set(full));
  const json want = report_json(q(full));
  CHECK(report_json(q(merged)) == want);
  CHECK(want["records"] == 12);
  CHECK(want["cells"].size() == 4);
  // The shards read together (no merge) summarise the same; duplicates count once.
  CHECK(report_json(q(s0) + " " + q(s1)) == want);
  r = run_scalpel("eval-merge " + q(merged) + " " + q(s0) + " --out " + q(merged));  // merge into an input
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("6 duplicates dropped") != std::string::npos);
  CHECK(lines_of(merged).size() == 12);
  // An existing output that is not an input needs --force.
  r = run_scalpel("eval-merge " + q(s0) + " --out " + q(s1));
  CHECK(r.status == 1);
  CHECK(r.err.find("--force") != std::string::npos);
  // Runs of different configurations need --allow-mixed.
  const auto other = dir / "other.jsonl";
  REQUIRE(run_scalpel("eval " + grid_args() + " --max-tokens 12 --quiet --out " + q(other)).status == 0);
  r = run_scalpel("eval-merge " + q(full) + " " + q(other) + " --out " + q(dir / "mixed.jsonl"));
  CHECK(r.status == 1);
  CHECK(r.err.find("different configurations") != std::string::npos);
  r = run_scalpel("eval-merge " + q(full) + " " + q(other) + " --allow-mixed --out " + q(dir / "mixed.jsonl"));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(lines_of(dir / "mixed.jsonl").size() == 24);
  fs::remove_all(dir);
}

TEST_CASE("eval cli: the demo model loops at T 1.0 (rate 1), the plan removes it (rate 0), Fisher p tiny") {
  const auto dir = scalpel_test::temp_dir("eval-demo");
  auto r = run_scalpel("demo --out " + q(dir / "demo") + " --seeds 1");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto run = dir / "run.jsonl";
  r = run_scalpel("eval --model " + q(dir / "demo" / "base") + " --edit fix=" + q(dir / "demo" / "plan.json") +
                  " --probes iau_constellations --seeds 8 --max-tokens 160 --temperature 1.0 --threads 1 --quiet"
                  " --summary --summary-format json --out " +
                  q(run));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto s = json::parse(r.out);
  REQUIRE(s["comparisons"].size() == 2);
  const auto& c = s["comparisons"][0];
  CHECK(c["probe"] == "iau_constellations");
  CHECK(c["variant"] == "fix");
  CHECK(c["base_loop_rate"] == 1.0);
  CHECK(c["loop_rate"] == 0.0);
  CHECK(c["fisher_p"].get<double>() == doctest::Approx(2.0 / 12870.0));  // 2 / C(16, 8)
  CHECK(c["fisher_p"].get<double>() < 1e-3);
  const auto& base_row = s["probes"][0];
  CHECK(base_row["variant"] == "base");
  CHECK(base_row["outcomes"]["list_collapse"] == 8);
  CHECK(base_row["ci95"][0].get<double>() > 0.6);
  // The Markdown and CSV reports of the finished run.
  r = run_scalpel("eval-report " + q(run));
  REQUIRE(r.status == 0);
  CHECK(r.out.find("| base | iau_constellations | 8/8 (1.00) | fix | 0/8 (0.00) | -1.00 | 1.55e-04 |") !=
        std::string::npos);
  CHECK(r.out.find("| base | base | iau_constellations | 8 | 8 | 1.00 [0.68, 1.00] | list_collapse 8 |") !=
        std::string::npos);
  r = run_scalpel("eval-report " + q(run) + " --format csv --table comparisons");
  REQUIRE(r.status == 0);
  CHECK(r.out.find("\nbase,fix,iau_constellations,*,*,*,*,base,8,8,1,8,0,0,-1,0.0001554") != std::string::npos);
  r = run_scalpel("eval-report " + q(run) + " --format csv --out " + q(dir / "cells.csv"));
  REQUIRE(r.status == 0);
  CHECK(lines_of(dir / "cells.csv").size() == 3);
  fs::remove_all(dir);
}

TEST_CASE("eval cli: config files, the canonical config, sampler flags and errors") {
  const auto dir = scalpel_test::temp_dir("eval-config");
  const auto cfg = dir / "eval.json";
  std::ofstream(cfg) << R"({"format": "scalpel.eval-config/1",
    "model": ")" << tiny_model().string()
                     << R"(",
    "probes": [{"id": "months", "wordings": [0, 1]}],
    "budgets": [{"name": "short", "max_tokens": 8}],
    "samplers": {"greedy": {"temperature": 0}, "warm": {"temperature": 0.8, "top-k": 20}},
    "seeds": 2})";
  auto r = run_scalpel("eval --config " + q(cfg) + " --dry-run");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto plan = json::parse(r.out);
  CHECK(plan["cells"] == 4);
  CHECK(plan["tasks"] == 8);
  // --print-config gives a config that means the same (same hash).
  r = run_scalpel("eval --config " + q(cfg) + " --print-config");
  REQUIRE(r.status == 0);
  std::ofstream(dir / "canon.json") << r.out;
  r = run_scalpel("eval --config " + q(dir / "canon.json") + " --dry-run");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(json::parse(r.out)["config_hash"] == plan["config_hash"]);
  // Run it; greedy seeds agree, the records carry the names.
  const auto run = dir / "run.jsonl";
  r = run_scalpel("eval --config " + q(cfg) + " --threads 1 --progress bar --out " + q(run));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("ETA") != std::string::npos);
  CHECK(r.err.find('\r') != std::string::npos);  // the bar redraws in place
  std::map<std::string, json> by_key;
  for (const auto& l : lines_of(run)) {
    const auto j = json::parse(l);
    by_key[j["key"].get<std::string>()] = j;
  }
  REQUIRE(by_key.size() == 8);
  CHECK(by_key.at("tiny|base|months|w1|think-off|short|greedy|seed=0")["ids"] ==
        by_key.at("tiny|base|months|w1|think-off|short|greedy|seed=1")["ids"]);
  CHECK(by_key.at("tiny|base|months|w1|think-off|short|warm|seed=1")["tokens"].get<int>() <= 8);
  // Flags override the file: --temperature makes one sampler named by --sampler-name.
  r = run_scalpel("eval --config " + q(cfg) + " --temperature 0 --sampler-name g0 --print-config");
  REQUIRE(r.status == 0);
  const auto canon = json::parse(r.out);
  REQUIRE(canon["samplers"].size() == 1);
  CHECK(canon["samplers"][0]["name"] == "g0");
  CHECK(canon["samplers"][0]["temperature"] == 0.0);

  // Errors: bad input exits 1 naming the field, usage errors exit 2.
  std::ofstream(dir / "bad.json")
      << R"({"format": "scalpel.eval-config/1", "model": "m", "probes": ["months"], "colour": 1})";
  r = run_scalpel("eval --config " + q(dir / "bad.json") + " --dry-run");
  CHECK(r.status == 1);
  CHECK(r.err.find("bad.json: field 'colour': unknown field") != std::string::npos);
  r = run_scalpel("eval --model " + q(tiny_model()) + " --probes no_such --dry-run");
  CHECK(r.status == 1);
  CHECK(r.err.find("no probe 'no_such'") != std::string::npos);
  r = run_scalpel("eval --model " + q(tiny_model()) + " --probes months --shard 2/2 --out x.jsonl");
  CHECK(r.status == 2);
  r = run_scalpel("eval --model " + q(tiny_model()) + " --out x.jsonl");
  CHECK(r.status == 2);
  CHECK(r.err.find("--probes") != std::string::npos);
  r = run_scalpel("eval --model " + q(tiny_model()) + " --probes months");
  CHECK(r.status == 2);
  r = run_scalpel("eval --model " + q(tiny_model()) + " --probes months --top-k lots --out x.jsonl");
  CHECK(r.status == 2);
  r = run_scalpel("eval --model " + q(tiny_model()) + " --probes months --edit " + q(dir / "missing-plan.json") +
                  " --dry-run");
  CHECK(r.status == 1);
  CHECK(r.err.find("missing-plan.json") != std::string::npos);
  // A plan that does not fit the model fails before writing anything.
  std::ofstream(dir / "plan.json")
      << R"({"format": "scalpel.edit-plan/1", "edits": [{"op": "strip", "layer": 99, "neurons": [1]}]})";
  r = run_scalpel("eval --model " + q(tiny_model()) + " --probes months --seeds 1 --max-tokens 4 --edit " +
                  q(dir / "plan.json") + " --out " + q(dir / "p.jsonl"));
  CHECK(r.status == 1);
  CHECK(r.err.find("layer") != std::string::npos);
  CHECK(lines_of(dir / "p.jsonl").empty());
  r = run_scalpel("eval-report " + q(dir / "nothing.jsonl"));
  CHECK(r.status == 1);
  r = run_scalpel("eval-report " + q(run) + " --format xml");
  CHECK(r.status == 2);
  fs::remove_all(dir);
}

}  // namespace ut_eval_cli_test
