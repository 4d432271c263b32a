// scalpel report: the HTML (charts) and Markdown reports of a `scalpel surgery` output directory.
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli.hpp"
#include "scalpel/analysis/report/surgery_report.hpp"

namespace scalpel_cli {
namespace cmd_report {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel report --in DIR [--out report.html] [--markdown report.md] [--no-markdown]

Render the report of a `scalpel surgery` output directory (docs/report.md): one self-contained HTML file (inline
CSS and SVG charts, no network) with the layer sweep, the attribution top-k with exact deltas, the confirmation of
every candidate, loop rates before / after per probe with Wilson 95% intervals, phenotype counts, KL / perplexity /
multiple choice from the capability guard, the final plan, and the commands, model files (sha256) and settings to
reproduce it; plus the same content as Markdown tables. A partial or failed run is reported too: each missing piece
is named with the reason. Files are written atomically.

options:
  --in DIR         the surgery directory (holds surgery.json)
  --out FILE       the HTML report (default DIR/report.html)
  --markdown FILE  the Markdown report (default DIR/report.md)
  --no-markdown    write only the HTML report)";

int run(args& a) {
  const std::filesystem::path dir = a.require("in");
  const auto out = a.get("out");
  const auto md = a.get("markdown");
  const bool no_md = a.flag("no-markdown");
  a.finish();
  if (no_md && md) throw usage_error("--markdown and --no-markdown exclude each other");
  const std::filesystem::path html = out ? std::filesystem::path(*out) : dir / "report.html";
  const std::filesystem::path markdown = no_md ? std::filesystem::path()
                                         : md  ? std::filesystem::path(*md)
                                               : dir / "report.md";
  const auto r = scalpel::analysis::write_surgery_report(dir, html, markdown);
  std::fprintf(stderr, "report: wrote %s%s%s (%zu missing piece%s)\n", r.html.c_str(), r.markdown.empty() ? "" : ", ",
               r.markdown.c_str(), r.missing_pieces, r.missing_pieces == 1 ? "" : "s");
  return 0;
}

const registrar reg{{"report", "HTML + Markdown report of a surgery directory (charts, no network)", usage, &run, 234}};
}  // namespace
}  // namespace cmd_report
}  // namespace scalpel_cli
