// Eval JSONL files: reading with an interrupted last line, repairing it, the exclusive lock, appending.
#include "scalpel/analysis/eval_record.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace ut_eval_record_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;
using nlohmann::json;

namespace {
json record(const std::string& cell, std::uint64_t seed, bool looping = false) {
  return {{"format", "scalpel.eval-record/1"},
          {"key", an::record_key(cell, seed)},
          {"cell", cell},
          {"config_hash", "0123456789abcdef"},
          {"model", "m"},
          {"variant", "base"},
          {"probe", "months"},
          {"budget", "16"},
          {"sampler", "default"},
          {"outcome", looping ? "token_loop" : "natural_end"},
          {"wording", 0},
          {"thinking", false},
          {"looping", looping},
          {"tokens", 12},
          {"seed", seed},
          {"loop", {{"looping", looping}, {"outcome", looping ? "token_loop" : "natural_end"}}},
          {"list_score", {{"coverage", 0.5}, {"correctness", 1.0}, {"duplicates", 0}}},
          {"text", "January\nFebruary"}};
}
const std::string cell = "m|base|months|w0|think-off|16|default";

std::string line(const json& j) { return j.dump() + "\n"; }

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

std::filesystem::path temp_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("scalpel-evalrec-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto p = dir / name;
  std::filesystem::remove(p);
  return p;
}
}  // namespace

TEST_CASE("eval jsonl: complete records, blank lines, interrupted last line") {
  const std::string two = line(record(cell, 0)) + "\n" + line(record(cell, 1));
  auto r = an::parse_eval_jsonl(two, "run.jsonl");
  CHECK(r.records.size() == 2);
  CHECK_FALSE(r.truncated_tail);
  CHECK(r.valid_bytes == two.size());

  // Killed mid-write: a partial last line is ignored, and valid_bytes says where to cut.
  const std::string partial = line(record(cell, 2)).substr(0, 40);
  r = an::parse_eval_jsonl(two + partial, "run.jsonl");
  CHECK(r.records.size() == 2);
  CHECK(r.truncated_tail);
  CHECK(r.valid_bytes == two.size());
  CHECK_FALSE(r.tail_problem.empty());

  // A complete record that only lacks its newline is kept.
  const std::string whole = record(cell, 2).dump();
  r = an::parse_eval_jsonl(two + whole, "run.jsonl");
  CHECK(r.records.size() == 3);
  CHECK(r.missing_newline);
  CHECK(r.valid_bytes == two.size() + whole.size());

  // A broken line in the middle is corruption: an error naming file and line.
  try {
    (void)an::parse_eval_jsonl(line(record(cell, 0)) + "{broken\n" + line(record(cell, 1)), "run.jsonl");
    FAIL("expected an error");
  } catch (const scalpel::error& e) {
    CHECK(std::string(e.what()).find("run.jsonl:2") != std::string::npos);
  }
  // So is a record with a bad field.
  auto bad = record(cell, 0);
  bad["key"] = "something else";
  CHECK_THROWS_AS((void)an::parse_eval_jsonl(line(bad), "run.jsonl"), scalpel::error);
  bad = record(cell, 0);
  bad.erase("looping");
  CHECK_THROWS_AS((void)an::parse_eval_jsonl(line(bad), "run.jsonl"), scalpel::error);
  bad = record(cell, 0);
  bad["format"] = "scalpel.eval-record/9";
  CHECK_THROWS_AS((void)an::parse_eval_jsonl(line(bad), "run.jsonl"), scalpel::error);
}

TEST_CASE("eval output: append, reopen, repair an interrupted tail, exclusive lock") {
  const auto path = temp_file("run.jsonl");
  {
    an::eval_output out(path.string());
    CHECK(out.existing().records.empty());
    out.append(record(cell, 0));
    out.append(record(cell, 1, true));
    // A second writer on the same file is refused while the first holds it.
    try {
      an::eval_output second(path.string());
      FAIL("expected the lock to be refused");
    } catch (const scalpel::error& e) {
      CHECK(std::string(e.what()).find("locked") != std::string::npos);
    }
  }
  CHECK(slurp(path) == line(record(cell, 0)) + line(record(cell, 1, true)));
  const auto good_size = std::filesystem::file_size(path);
  // Simulate a kill in the middle of writing the third record.
  std::ofstream(path, std::ios::app | std::ios::binary) << line(record(cell, 2)).substr(0, 57);
  {
    an::eval_output out(path.string());
    CHECK(out.existing().records.size() == 2);
    CHECK(out.existing().truncated_tail);
    CHECK(out.repaired_bytes() == 57);
    CHECK(std::filesystem::file_size(path) == good_size);
    out.append(record(cell, 2));
    out.sync();
  }
  const auto back = an::read_eval_jsonl(path.string());
  REQUIRE(back.records.size() == 3);
  CHECK(back.records[2] == record(cell, 2));
  CHECK_FALSE(back.truncated_tail);
  // A last record missing only its newline is completed, not dropped.
  std::ofstream(path, std::ios::app | std::ios::binary) << record(cell, 3).dump();
  {
    an::eval_output out(path.string());
    CHECK(out.existing().records.size() == 4);
    out.append(record(cell, 4));
  }
  CHECK(an::read_eval_jsonl(path.string()).records.size() == 5);
  CHECK_THROWS_AS((void)an::read_eval_jsonl((path.parent_path() / "missing.jsonl").string()), scalpel::error);
  CHECK_THROWS_AS(an::eval_output((path.parent_path() / "no-dir" / "x.jsonl").string()), scalpel::error);
  std::filesystem::remove_all(path.parent_path());
}

}  // namespace ut_eval_record_test
