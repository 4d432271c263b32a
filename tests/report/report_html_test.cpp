// The surgery report: HTML charts and tables of a full run, escaping, no external references, the Markdown
// summary, and a partial (failed) run that still renders and says what is missing.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>

#include <doctest/doctest.h>

#include "../support/cli_runner.hpp"
#include "fixture.hpp"
#include "scalpel/analysis/report/surgery_report.hpp"

namespace ut_report_html_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;
namespace fs = std::filesystem;

namespace {

std::size_t count_of(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}

/// The `<svg ...>...</svg>` element of chart `id` ("" when absent).
std::string chart(const std::string& html, const std::string& id) {
  const auto at = html.find("<svg class=\"chart\" data-chart=\"" + id + "\"");
  if (at == std::string::npos) return {};
  return html.substr(at, html.find("</svg>", at) + 6 - at);
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

/// A directory with the full fixture, made once per process (and removed at exit).
const fs::path& full_dir() {
  struct holder {
    fs::path dir = scalpel_test::temp_dir("report-full");
    holder() { report_fixture::write_full(dir); }
    ~holder() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };
  static const holder h;
  return h.dir;
}

}  // namespace

TEST_CASE("report: a full run has every chart with the right number of bars, values and tables") {
  const auto d = an::read_surgery_dir(full_dir());
  CHECK(d.missing.empty());
  const std::string html = an::render_report_html(d);

  const std::map<std::string, int> bars = {{"sweep", 8},      {"attribution", 6}, {"experts", 6},
                                           {"candidates", 4}, {"loop-rates", 10}, {"phenotypes", 8}};
  CHECK(count_of(html, "<svg class=\"chart\"") == bars.size());
  for (const auto& [id, n] : bars) {
    CAPTURE(id);
    const std::string svg = chart(html, id);
    REQUIRE_FALSE(svg.empty());
    CHECK(count_of(svg, "<rect class=\"bar") == static_cast<std::size_t>(n));
    CHECK(svg.find("data-bars=\"" + std::to_string(n) + "\"") != std::string::npos);
  }
  // The most negative layer (5) and the best neuron are highlighted, one bar each.
  CHECK(count_of(chart(html, "sweep"), " hl\"") == 1);
  CHECK(chart(html, "sweep").find("5: -2.5<") != std::string::npos);
  CHECK(count_of(chart(html, "attribution"), " hl\"") == 1);
  CHECK(chart(html, "attribution").find("L5/N1234: -1.75<") != std::string::npos);
  // Whiskers: one per drawn interval bar.
  CHECK(count_of(chart(html, "loop-rates"), "class=\"whisker\"") == 10);
  CHECK(count_of(chart(html, "candidates"), "class=\"whisker\"") == 4);

  // Values from every file.
  for (const char* v : {"Loop rate 0.65 &rarr; 0.02",     // result
                        "Most negative: layer 5 (-2.5)",  // sweep
                        "-1.75",
                        "1234",    // attribution
                        "L4/E17",  // experts
                        "loop rate 0.27 &gt; 0.05",
                        "3.10e-09",  // confirm
                        "31/48 = 0.65 [0.50, 0.77]",
                        "1/48 = 0.02 [0.00, 0.11]",   // Wilson intervals
                        "15/16 = 0.94 [0.72, 0.99]",  // per probe
                        "list_collapse",
                        "token_period",
                        "ngram",
                        "no loop",  // phenotypes
                        "0.0123",
                        "10.005",
                        "0.982",
                        "gold_logprob_delta",  // guard
                        "&quot;op&quot;: &quot;scale&quot;",
                        "scale layer 5 neurons 1234 by factor -1.0",  // plan
                        "scalpel surgery --model /models/gemma-4-E2B-it --probes enumeration --out run-e2b",
                        "9f2c4e1b7a0d3c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f",
                        "10246773248",
                        "attribute.exact",
                        "Negating neuron 1234 of layer 5 stops the loops."}) {
    CAPTURE(std::string(v));
    CHECK(html.find(v) != std::string::npos);
  }
  CHECK(html.find("<tr class=\"chosen\"><td>★ top1-x-1</td>") != std::string::npos);
  // Fisher's exact test of the (all probes) row: 31/48 vs 1/48.
  CHECK(html.find(an::eval_detail::fmt_p(an::fisher_exact(31, 17, 1, 47).p_two_sided)) != std::string::npos);
}

TEST_CASE("report: text from the files is escaped and nothing external is referenced") {
  const std::string html = an::render_report_html(an::read_surgery_dir(full_dir()));
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co") != std::string::npos);
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("</script> &") == std::string::npos);
  CHECK(count_of(html, "<script") == 2);  // the self-check only (head listener + end-of-body check)
  CHECK(count_of(html, "<script>") == 2);
  for (const char* bad : {"http://", "https://", "src=", "url(", "@import", "<link", "<img", "<iframe", "xlink:href"}) {
    CAPTURE(bad);
    CHECK(html.find(bad) == std::string::npos);
  }
  // Every href is an in-page anchor.
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator(); ++it) {
    CAPTURE((*it)[1].str());
    CHECK((*it)[1].str().rfind('#', 0) == 0);
  }
  // Deterministic: the same directory renders the same bytes.
  CHECK(html == an::render_report_html(an::read_surgery_dir(full_dir())));
}

TEST_CASE("report: the Markdown summary has the same content as tables") {
  const std::string md = an::render_report_markdown(an::read_surgery_dir(full_dir()));
  for (const char* v :
       {"# Surgery report: gemma-4-E2B-it", "Loop rate: **0.65 → 0.02**", "## Layer sweep",
        "| layer | metric | delta | KL (clean text) |\n| ---: | ---: | ---: | ---: |", "| 5 ◀ | 5.67 | -2.5 | 0.06 |",
        "| 1 | 5 | 1234 | -2 | -1.9 | -1.75 |", "| **top1-x-1** ★ |", "loop rate 0.42 > 0.05; p 0.09 > alpha 0.05",
        "| &lt;script>alert(1)&lt;/script> &amp; co | 4/8 = 0.50 [0.22, 0.78] | 0/8 = 0.00 [0.00, "
        "0.32] |",
        "| (all probes) | 31/48 = 0.65 [0.50, 0.77] | 1/48 = 0.02 [0.00, 0.11] | -0.625 |",
        "| list_collapse | 16 | 0 |", "| ngram | 0 | 1 |", "| kl_mean | 0.0123 | ≤ 0.1 |", "```json\n{\n  \"base\"",
        "```sh\nscalpel surgery --model", "| attribute.top | 12 |"}) {
    CAPTURE(std::string(v));
    CHECK(md.find(v) != std::string::npos);
  }
  CHECK(md.find("<script>") == std::string::npos);
  CHECK(md.find("<svg") == std::string::npos);
  // Every table row has as many cells as its header.
  std::size_t header_cells = 0;
  std::istringstream lines(md);
  for (std::string l; std::getline(lines, l);) {
    if (l.empty() || l[0] != '|') {
      header_cells = 0;
      continue;
    }
    std::size_t cells = 0;
    for (std::size_t i = 0; i < l.size(); ++i) cells += l[i] == '|' && (i == 0 || l[i - 1] != '\\') ? 1u : 0u;
    if (header_cells == 0) header_cells = cells;
    CAPTURE(l);
    CHECK(cells == header_cells);
  }
}

TEST_CASE("report: a failed run with only surgery.json and sweep.json renders and names what is missing") {
  const auto dir = scalpel_test::temp_dir("report-partial");
  report_fixture::write_partial(dir);
  const auto d = an::read_surgery_dir(dir);
  CHECK(d.sweep);
  CHECK_FALSE(d.attribution);
  CHECK_FALSE(d.confirm);
  CHECK(d.missing.size() == 9);  // every piece but the sweep
  const std::string html = an::render_report_html(d);
  CHECK(count_of(html, "<svg class=\"chart\"") == 1);
  CHECK(count_of(chart(html, "sweep"), "<rect class=\"bar") == 8);
  CHECK(html.find("<span class=\"badge failed\">failed</span>") != std::string::npos);
  CHECK(html.find("Error: attribute: out of memory &lt;tape&gt; &amp; more") != std::string::npos);
  for (const char* v : {"Missing: the neuron attribution (attribution.json): not produced (stage attribute: failed, "
                        "out of memory).",
                        "Missing: the confirmation (confirm.json): not produced (stage confirm: pending).",
                        "Missing: the base evaluation (eval-base.jsonl): not produced (stage eval_base: skipped, "
                        "--no-eval).",
                        "Missing: the capability guard (guard.json): not produced (no stage guard recorded).",
                        "Missing: the plan (plan.json)", "Loop rate ? &rarr; ?"}) {
    CAPTURE(std::string(v));
    CHECK(html.find(v) != std::string::npos);
  }
  const std::string md = an::render_report_markdown(d);
  CHECK(md.find("Status: **failed**") != std::string::npos);
  CHECK(md.find("> Missing: the confirmation (confirm.json): not produced") != std::string::npos);
  CHECK(md.find("Error: attribute: out of memory &lt;tape> &amp; more") != std::string::npos);

  // A file listed in surgery.json that is not there is named as such.
  auto m = nlohmann::json::parse(slurp(dir / "surgery.json"));
  m["files"]["guard"] = "guard.json";
  report_fixture::write_json(dir / "surgery.json", m);
  const auto d2 = an::read_surgery_dir(dir);
  REQUIRE(d2.missing_note("guard") != nullptr);
  CHECK(d2.missing_note("guard")->why == "listed in surgery.json (files.guard) but not found");
  fs::remove_all(dir);
}

TEST_CASE("report: a piece found under its default name without a files entry is used") {
  const auto dir = scalpel_test::temp_dir("report-default-names");
  report_fixture::write_full(dir);
  auto m = report_fixture::surgery_manifest("running");
  m.erase("files");
  report_fixture::write_json(dir / "surgery.json", m);
  const auto d = an::read_surgery_dir(dir);
  CHECK(d.missing.empty());
  CHECK(d.confirm);
  CHECK(an::render_report_html(d).find("<span class=\"badge running\">running</span>") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("report: no candidate passed (nothing chosen), no confirmation records, an empty sweep") {
  const auto dir = scalpel_test::temp_dir("report-none-chosen");
  report_fixture::write_full(dir);
  fs::remove(dir / "confirm.jsonl");
  fs::remove(dir / "plan.json");
  auto c = report_fixture::confirm_json();
  c["chosen"] = nullptr;
  c["candidates"][0]["verdict"] = "fail";
  report_fixture::write_json(dir / "confirm.json", c);
  auto m = report_fixture::surgery_manifest();
  m["result"] = {{"loop_rate_before", 0.6458}, {"loop_rate_after", nullptr}, {"chosen", nullptr}};
  m["files"].erase("confirm_records");
  m["files"].erase("plan");
  report_fixture::write_json(dir / "surgery.json", m);
  auto s = report_fixture::sweep_json();
  s["layers"] = nlohmann::json::array();
  report_fixture::write_json(dir / "sweep.json", s);

  const auto d = an::read_surgery_dir(dir);
  const std::string html = an::render_report_html(d);
  CHECK(chart(html, "sweep").empty());
  CHECK(html.find("sweep.json lists no layers.") != std::string::npos);
  CHECK(count_of(chart(html, "loop-rates"), "<rect class=\"bar") == 5);  // base only, 4 probes + all
  CHECK(count_of(chart(html, "phenotypes"), "<rect class=\"bar") == 3);  // token_period, list_collapse, no loop
  CHECK(html.find("No candidate was chosen: only the base model&#39;s loop rates are shown.") != std::string::npos);
  CHECK(html.find("No candidate passed: nothing was chosen.") != std::string::npos);
  CHECK(html.find("Loop rate 0.65 &rarr; ?") != std::string::npos);
  CHECK(html.find("Missing: the plan (plan.json): not produced (stage write: done).") != std::string::npos);
  const std::string md = an::render_report_markdown(d);
  CHECK(md.find("Loop rate: **0.65 → ?**") != std::string::npos);
  CHECK(md.find("| (all probes) | 31/48 = 0.65 [0.50, 0.77] | – | – | – |") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("report: scalpel report writes both files atomically, exit status 1 on bad input and 2 on misuse") {
  const auto dir = scalpel_test::temp_dir("report-cli");
  report_fixture::write_full(dir);
  auto r = scalpel_test::run_scalpel("report --in " + scalpel_test::shell_quote(dir.string()));
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(fs::file_size(dir / "report.html") > 10000);
  CHECK(slurp(dir / "report.md").rfind("# Surgery report: gemma-4-E2B-it", 0) == 0);
  CHECK(slurp(dir / "report.html") == an::render_report_html(an::read_surgery_dir(dir)));
  for (const auto& e : fs::directory_iterator(dir))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);

  r = scalpel_test::run_scalpel("report --in " + scalpel_test::shell_quote(dir.string()) + " --out " +
                                scalpel_test::shell_quote((dir / "x.html").string()) + " --no-markdown");
  CHECK(r.status == 0);
  CHECK(fs::exists(dir / "x.html"));

  r = scalpel_test::run_scalpel("report");
  CHECK(r.status == 2);
  r = scalpel_test::run_scalpel("report --in " + scalpel_test::shell_quote((dir / "nope").string()));
  CHECK(r.status == 1);
  CHECK(r.err.find("surgery.json") != std::string::npos);
  report_fixture::write_text(dir / "sweep.json", "{\"metric_base\": 1, \"layers\": [}");
  r = scalpel_test::run_scalpel("report --in " + scalpel_test::shell_quote(dir.string()));
  CHECK(r.status == 1);
  CHECK(r.err.find("sweep.json") != std::string::npos);
  fs::remove_all(dir);
}

}  // namespace ut_report_html_test
