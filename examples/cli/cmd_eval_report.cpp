// scalpel eval-report: summarise finished (or running) eval runs: loop rates, outcomes, base vs edited.
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"
#include "scalpel/analysis/eval_record.hpp"
#include "scalpel/analysis/eval_report.hpp"
#include "scalpel/core/atomic_file.hpp"

namespace scalpel_cli {
namespace cmd_eval_report {  // named: unity builds put several commands in one TU
namespace {

namespace an = scalpel::analysis;

constexpr const char* usage =
    R"(usage: scalpel eval-report RUN.jsonl [MORE.jsonl ...] [--format md|csv|json] [--table T] [--baseline NAME]
                           [--out FILE]

Summarise eval records (docs/eval.md): per cell and per probe the loop rate with its Wilson 95% interval, outcome
counts (token_loop, list_collapse, doom_loop, engine_bug, natural_end, truncated, no_answer, unknown), mean list
coverage / correctness / duplicates and tokens; and each edited variant against the baseline per probe (and over
all probes) with Fisher's exact test (two-sided p). Several files are read as one set (duplicate keys count once).

options:
  --format F       md (default: Markdown tables), csv (one table, see --table) or json (scalpel.eval-report/1)
  --table T        for csv: cells (default), probes, comparisons or cell_comparisons
  --baseline NAME  the variant the others are compared with (default base)
  --out FILE       write the report there (atomically) instead of stdout)";

int run(args& a) {
  const std::string format = a.get_or("format", "md");
  const std::string table = a.get_or("table", "cells");
  const std::string baseline = a.get_or("baseline", "base");
  const auto out = a.get("out");
  const auto inputs = a.positional();
  a.finish();
  if (inputs.empty()) throw usage_error("give the run's JSONL file(s)");
  if (format != "md" && format != "csv" && format != "json") throw usage_error("--format must be md, csv or json");
  if (table != "cells" && table != "probes" && table != "comparisons" && table != "cell_comparisons")
    throw usage_error("--table must be cells, probes, comparisons or cell_comparisons");
  std::vector<nlohmann::json> records;
  for (const auto& in : inputs) {
    auto f = an::read_eval_jsonl(in);
    if (f.truncated_tail) std::fprintf(stderr, "eval-report: %s ends in an incomplete record (ignored)\n", in.c_str());
    for (auto& r : f.records) {
      for (const char* k : {"ids", "prompt_ids", "text", "prompt"}) r.erase(k);
      records.push_back(std::move(r));
    }
  }
  const auto summary = an::summarize_eval(std::move(records), baseline);
  std::string text;
  if (format == "json")
    text = an::to_json(summary).dump(2) + "\n";
  else if (format == "csv")
    text = an::to_csv(summary, table);
  else
    text = an::to_markdown(summary);
  if (out) {
    scalpel::write_file_atomic(*out, text);
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

const registrar reg{
    {"eval-report", "summarise eval runs: loop rates (Wilson CI), outcomes, Fisher base vs edited", usage, &run, 222}};
}  // namespace
}  // namespace cmd_eval_report
}  // namespace scalpel_cli
