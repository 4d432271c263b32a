// Eval summaries: tallies, Wilson intervals, comparisons with Fisher's test, order independence, Markdown / CSV.
#include "scalpel/analysis/eval_report.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_grid.hpp"

namespace ut_eval_report_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;
using nlohmann::json;

namespace {
json rec(const std::string& variant, const std::string& probe, int wording, std::uint64_t seed,
         const std::string& outcome, double coverage = 0.5, int duplicates = 0, int tokens = 100) {
  const bool looping =
      outcome == "token_loop" || outcome == "list_collapse" || outcome == "doom_loop" || outcome == "engine_bug";
  const std::string cell = "m|" + variant + "|" + probe + "|w" + std::to_string(wording) + "|think-off|64|default";
  return {{"format", "scalpel.eval-record/1"},
          {"key", an::record_key(cell, seed)},
          {"cell", cell},
          {"config_hash", "aaaa"},
          {"model", "m"},
          {"variant", variant},
          {"probe", probe},
          {"wording", wording},
          {"thinking", false},
          {"budget", "64"},
          {"sampler", "default"},
          {"seed", seed},
          {"tokens", tokens},
          {"looping", looping},
          {"outcome", outcome},
          {"loop", {{"looping", looping}, {"outcome", outcome}}},
          {"list_score", {{"coverage", coverage}, {"correctness", 1.0}, {"duplicates", duplicates}}},
          {"timing", {{"decode_s", 0.5}}}};
}

/// base loops 9 of 10 on "gases" (wording 0: 5 of 5, wording 1: 4 of 5), "fix" 1 of 10; "months" never loops.
std::vector<json> sample() {
  std::vector<json> v;
  for (int w = 0; w < 2; ++w)
    for (std::uint64_t s = 0; s < 5; ++s) {
      const bool base_loops = !(w == 1 && s == 4);
      v.push_back(rec("base", "gases", w, s, base_loops ? (s % 2 ? "token_loop" : "list_collapse") : "natural_end", 0.2,
                      base_loops ? 30 : 0, 200));
      v.push_back(rec("fix", "gases", w, s, w == 0 && s == 0 ? "doom_loop" : "natural_end", 1.0, 0, 80));
    }
  for (std::uint64_t s = 0; s < 4; ++s) {
    v.push_back(rec("base", "months", 0, s, "natural_end", 1.0));
    v.push_back(rec("fix", "months", 0, s, s == 3 ? "no_answer" : "natural_end", 1.0));
  }
  return v;
}

const an::eval_row& find_row(const std::vector<an::eval_row>& rows, const std::string& variant,
                             const std::string& probe, std::int64_t wording = -1) {
  for (const auto& r : rows)
    if (r.at.variant == variant && r.at.probe == probe && r.at.wording == wording) return r;
  FAIL("no row " << variant << " " << probe);
  return rows.front();
}
}  // namespace

TEST_CASE("eval summary: tallies, intervals and outcomes") {
  const auto s = an::summarize_eval(sample());
  CHECK(s.records == 28);
  CHECK(s.duplicates_ignored == 0);
  CHECK(s.config_hashes == std::vector<std::string>{"aaaa"});
  CHECK(s.cells.size() == 6);
  // per probe: (base, fix) x (gases, months, *)
  REQUIRE(s.probes.size() == 6);
  CHECK(s.probes[0].at.variant == "base");  // the baseline first
  CHECK(s.probes[2].at.probe == "*");       // all probes last
  const auto& bg = find_row(s.probes, "base", "gases").tally;
  CHECK(bg.n == 10);
  CHECK(bg.loops == 9);
  CHECK(bg.loop_rate() == doctest::Approx(0.9));
  CHECK(bg.outcome("list_collapse") == 5);
  CHECK(bg.outcome("token_loop") == 4);
  CHECK(bg.outcome("natural_end") == 1);
  CHECK(bg.mean(bg.coverage) == doctest::Approx(0.2));
  CHECK(bg.mean(bg.duplicates) == doctest::Approx(27.0));
  CHECK(bg.mean(bg.tokens) == doctest::Approx(200.0));
  const auto ci = bg.ci95();
  CHECK(ci.lo == doctest::Approx(an::wilson_interval(9, 10).lo));
  CHECK(ci.hi == doctest::Approx(an::wilson_interval(9, 10).hi));
  const auto& fm = find_row(s.probes, "fix", "months").tally;
  CHECK(fm.loops == 0);
  CHECK(fm.outcome("no_answer") == 1);  // budget exhausted without an answer is not a loop
  const auto& fall = find_row(s.probes, "fix", "*").tally;
  CHECK(fall.n == 14);
  CHECK(fall.loops == 1);
  CHECK(fall.outcome("doom_loop") == 1);
  const auto& cell = find_row(s.cells, "base", "gases", 1).tally;
  CHECK(cell.n == 5);
  CHECK(cell.loops == 4);
}

TEST_CASE("eval summary: base vs edited with Fisher's exact test") {
  const auto s = an::summarize_eval(sample());
  // per probe: gases, months, * (each fix vs base)
  REQUIRE(s.comparisons.size() == 3);
  const auto& g = s.comparisons[0];
  CHECK(g.at.probe == "gases");
  CHECK(g.at.variant == "fix");
  CHECK(g.baseline == "base");
  CHECK(g.base_loops == 9);
  CHECK(g.base_n == 10);
  CHECK(g.loops == 1);
  CHECK(g.n == 10);
  const auto expect = an::fisher_exact(9, 1, 1, 9);
  CHECK(g.fisher.p_two_sided == doctest::Approx(expect.p_two_sided));
  CHECK(g.fisher.p_two_sided == doctest::Approx(0.001093333910671372).epsilon(1e-9));  // exact (Python fractions)
  CHECK(s.comparisons[1].at.probe == "months");
  CHECK(s.comparisons[1].fisher.p_two_sided == doctest::Approx(1.0));
  CHECK(s.comparisons[2].at.probe == "*");
  CHECK(s.comparisons[2].base_n == 14);
  // per cell: gases w0, gases w1, months w0
  REQUIRE(s.cell_comparisons.size() == 3);
  CHECK(s.cell_comparisons[0].at.wording == 0);
  CHECK(s.cell_comparisons[0].base_loops == 5);
  CHECK(s.cell_comparisons[0].loops == 1);
  // Another baseline name, or none present: no comparisons.
  CHECK(an::summarize_eval(sample(), "fix").comparisons.size() == 3);
  CHECK(an::summarize_eval(sample(), "nope").comparisons.empty());
}

TEST_CASE("eval summary: a function of the record set") {
  auto recs = sample();
  const json a = an::to_json(an::summarize_eval(recs));
  std::mt19937 rng(5);
  std::shuffle(recs.begin(), recs.end(), rng);
  recs.push_back(recs[3]);  // a duplicate key counts once
  const auto s = an::summarize_eval(recs);
  CHECK(s.duplicates_ignored == 1);
  json b = an::to_json(s);
  b["duplicates_ignored"] = 0;
  CHECK(a == b);
  CHECK(a["format"] == "scalpel.eval-report/1");
  CHECK(a["probes"][0]["ci95"].size() == 2);
  CHECK(a["comparisons"][0]["fisher_p"].get<double>() < 0.01);
  CHECK(a["timing"]["decode_s"].get<double>() == doctest::Approx(14.0));
}

TEST_CASE("eval summary: Markdown and CSV") {
  const auto s = an::summarize_eval(sample());
  const std::string md = an::to_markdown(s);
  CHECK(md.find("## Per probe") != std::string::npos);
  CHECK(md.find("| m | base | gases | 10 | 9 | 0.90 [0.60, 0.98] | token_loop 4, list_collapse 5, natural_end 1 |") !=
        std::string::npos);
  CHECK(md.find("| m | gases | 9/10 (0.90) | fix | 1/10 (0.10) | -0.80 | 0.00109 |") != std::string::npos);
  CHECK(md.find("| (all) |") != std::string::npos);
  CHECK(md.find("## Per cell") != std::string::npos);

  const std::string csv = an::to_csv(s);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 6);
  CHECK(csv.rfind("model,variant,probe,wording,thinking,budget,sampler,n,loops,loop_rate,ci95_lo,ci95_hi,token_loop,",
                  0) == 0);
  CHECK(csv.find("\nm,base,gases,1,off,64,default,5,4,0.8,") != std::string::npos);
  const std::string probes = an::to_csv(s, "probes");
  CHECK(probes.find("\nm,fix,*,*,*,*,*,14,1,") != std::string::npos);
  const std::string cmp = an::to_csv(s, "comparisons");
  CHECK(cmp.find("\nm,fix,gases,*,*,*,*,base,10,9,0.9,10,1,0.1,-0.8,") != std::string::npos);
  const std::string cell_cmp = an::to_csv(s, "cell_comparisons");
  CHECK(std::count(cell_cmp.begin(), cell_cmp.end(), '\n') == 4);
  CHECK_THROWS_AS((void)an::to_csv(s, "nope"), scalpel::error);
  // CSV quoting of names with commas or quotes (names in keys cannot have them, but probe ids from files can be odd).
  CHECK(an::eval_detail::csv_field("a,b") == "\"a,b\"");
  CHECK(an::eval_detail::csv_field("say \"x\"") == "\"say \"\"x\"\"\"");
  CHECK(an::eval_detail::md_escape("a|b") == "a\\|b");
}

}  // namespace ut_eval_report_test
