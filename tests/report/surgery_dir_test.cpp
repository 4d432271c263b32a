// Reading a surgery directory: malformed inputs are errors that name the file and the field.
#include "scalpel/analysis/report/surgery_dir.hpp"

#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"
#include "fixture.hpp"

namespace ut_surgery_dir_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// The message of the error reading `dir` ("" if it reads fine).
std::string read_error(const fs::path& dir) {
  try {
    (void)an::read_surgery_dir(dir);
  } catch (const scalpel::error& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("surgery dir: malformed files are errors naming the file and field") {
  const auto dir = scalpel_test::temp_dir("report-errors");
  using report_fixture::write_json;
  using report_fixture::write_text;
  auto fresh = [&] { report_fixture::write_full(dir); };

  fresh();
  CHECK(read_error(dir).empty());

  SUBCASE("no surgery.json") {
    fs::remove(dir / "surgery.json");
    const auto e = read_error(dir);
    CHECK(contains(e, "[scalpel.io]"));
    CHECK(contains(e, "surgery.json"));
  }
  SUBCASE("surgery.json: syntax error, wrong format, wrong types") {
    write_text(dir / "surgery.json", "{\"format\": \"scalpel.surgery/1\",\n \"status\": }");
    auto e = read_error(dir);
    CHECK(contains(e, "surgery.json: malformed JSON at line 2"));
    auto m = report_fixture::surgery_manifest();
    m["format"] = "scalpel.surgery/2";
    write_json(dir / "surgery.json", m);
    CHECK(contains(read_error(dir), "surgery.json: field 'format': expected \"scalpel.surgery/1\""));
    m = report_fixture::surgery_manifest();
    m.erase("status");
    write_json(dir / "surgery.json", m);
    CHECK(contains(read_error(dir), "surgery.json: field 'status': missing required field"));
    m = report_fixture::surgery_manifest();
    m["stages"][2]["seconds"] = "41";
    write_json(dir / "surgery.json", m);
    CHECK(contains(read_error(dir), "surgery.json: field 'stages[2].seconds': expected a number"));
    m = report_fixture::surgery_manifest();
    m["files"]["sweep"] = 3;
    write_json(dir / "surgery.json", m);
    CHECK(contains(read_error(dir), "field 'files.sweep': expected a string"));
  }
  SUBCASE("sweep.json and attribution.json") {
    auto s = report_fixture::sweep_json();
    s["layers"][2]["delta"] = "big";
    write_json(dir / "sweep.json", s);
    auto e = read_error(dir);
    CHECK(contains(e, "sweep.json: field 'layers[2].delta': expected a number, found string \"big\""));
    fresh();
    s = report_fixture::sweep_json();
    s.erase("metric_base");
    write_json(dir / "sweep.json", s);
    CHECK(contains(read_error(dir), "sweep.json: field 'metric_base': missing required field"));
    fresh();
    auto a = report_fixture::attribution_json();
    a["neurons"][0]["neuron"] = -4;
    write_json(dir / "attribution.json", a);
    CHECK(contains(read_error(dir), "attribution.json: field 'neurons[0].neuron'"));
  }
  SUBCASE("confirm.json") {
    auto c = report_fixture::confirm_json();
    c["format"] = "scalpel.confirm/0";
    write_json(dir / "confirm.json", c);
    CHECK(contains(read_error(dir), "confirm.json: field 'format'"));
    c = report_fixture::confirm_json();
    c["chosen"] = "nobody";
    write_json(dir / "confirm.json", c);
    CHECK(contains(read_error(dir), "confirm.json: field 'chosen': names no candidate (\"nobody\")"));
    c = report_fixture::confirm_json();
    c["candidates"][1]["loops"] = 60;
    write_json(dir / "confirm.json", c);
    CHECK(contains(read_error(dir), "confirm.json: field 'candidates[1].loops': more loops than generations"));
    c = report_fixture::confirm_json();
    c["candidates"][0]["plan"]["edits"][0]["op"] = "explode";
    write_json(dir / "confirm.json", c);
    const auto e = read_error(dir);
    CHECK(contains(e, "[scalpel.plan]"));
    CHECK(contains(e, "confirm.json: field 'candidates[0].plan': edits[0].op: unknown op 'explode'"));
    c = report_fixture::confirm_json();
    c["candidates"][2]["units"][0].erase("neuron");
    write_json(dir / "confirm.json", c);
    CHECK(contains(read_error(dir), "field 'candidates[2].units[0]': expected a \"neuron\" or an \"expert\""));
  }
  SUBCASE("guard.json, plan.json, bank.json") {
    auto g = report_fixture::guard_json();
    g["text"]["kl_mean"] = "low";
    write_json(dir / "guard.json", g);
    CHECK(contains(read_error(dir), "guard.json: field 'text.kl_mean'"));
    fresh();
    write_json(dir / "plan.json", {{"format", "scalpel.edit-plan/1"}, {"edits", {{{"op", "scale"}, {"layer", 1}}}}});
    CHECK(contains(read_error(dir), "plan.json: edits[0].factor: missing"));
    fresh();
    write_json(dir / "bank.json", {{"format", "scalpel.loop-bank/1"}});
    CHECK(contains(read_error(dir), "bank.json: field 'items': missing required field"));
  }
  SUBCASE("eval records: a corrupt line names file and line; an interrupted last line is a warning") {
    const auto path = dir / "eval-base.jsonl";
    {
      std::ofstream f(path, std::ios::app | std::ios::binary);
      f << "{\"format\": \"scalpel.eval-record/1\"}\n";
    }
    CHECK(contains(read_error(dir), "eval-base.jsonl:49"));
    fresh();
    {
      std::ofstream f(path, std::ios::app | std::ios::binary);
      f << "{\"format\": \"scalpel.eval-rec";
    }
    const auto d = an::read_surgery_dir(dir);
    REQUIRE(d.warnings.size() == 1);
    CHECK(contains(d.warnings[0], "eval-base.jsonl: an incomplete last record was ignored"));
    CHECK(d.base_records->size() == 48);
  }
  SUBCASE("unknown fields are ignored") {
    auto s = report_fixture::sweep_json();
    s["layers"][0]["something_new"] = {1, 2, 3};
    s["extra"] = "x";
    write_json(dir / "sweep.json", s);
    auto g = report_fixture::guard_json();
    g["text"]["notes"] = {"a"};
    g["future"] = {{"x", 1}};
    write_json(dir / "guard.json", g);
    CHECK(read_error(dir).empty());
  }
  fs::remove_all(dir);
}

}  // namespace ut_surgery_dir_test
