// scalpel bank: build a loop bank (teacher-forced cases cut where a generation loops) from single prompts or from
// the looping generations of an eval run.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "localization_common.hpp"
#include "scalpel/analysis/bank.hpp"
#include "scalpel/analysis/bank_from_eval.hpp"
#include "scalpel/io/tokenizer.hpp"

namespace scalpel_cli {
namespace cmd_bank {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel bank --model PATH --ids 2,17,... [--ids ...] [--target T] [--contrast C] [--out BANK.json]
       scalpel bank --model PATH --from RUN.jsonl [--from ...] [--out BANK.json] [--probes FILE]
                    [--phenotypes P1,P2] [--model-name NAME] [--variant NAME] [--max-items N] [--tokenizer FILE]

Write a loop bank (scalpel.loop-bank/1): cases {ids, target, contrast} for the bank metric
M = mean of log p(target) - log p(contrast) at the last position of ids (ids fed verbatim).

Single cases (--ids, repeatable): target defaults to the model's greedy next token (the one that continues the
loop), contrast to the best token that is not the target.

From an eval run (--from, repeatable; scalpel eval JSONL): each looping record is cut where the loop continues
(the second copy of the repeated unit, from the loop report's onset and period); target = the generated token
there; contrast = the first token of the next gold item not yet listed (probes with a gold list), otherwise the
model's best token outside the repeated unit. docs/localization.md has the details.

options:
  --model PATH          HF checkpoint directory or .gguf file
  --ids LIST            a case's token ids (put 2 = <bos> first yourself); repeatable
  --target T            target token id (single --ids only)
  --contrast C          contrast token id (single --ids only)
  --from RUN.jsonl      eval records; repeatable
  --probes FILE         probe file the run used (default: the built-in suite)
  --phenotypes LIST     loop phenotypes to bank (default: all but doom_loop)
  --model-name NAME     only records of this eval model name
  --variant NAME        only records of this eval variant (e.g. the unedited base)
  --max-items N         stop after N cases
  --tokenizer FILE      tokenizer.json (default: the model's own)
  --out FILE            write the bank here (default: print it)
  --threads N           threads (default: all cores)
  --json                with --out: print {"out", "items", "metric_base", ...} instead of a summary line)";

int run(args& a) {
  apply_threads(a);
  const bool json = a.flag("json");
  const auto out = a.get("out");
  const auto ids_list = a.get_all("ids");
  const auto from = a.get_all("from");
  const auto target = a.get_int_opt("target", INT32_MIN, INT32_MAX);
  const auto contrast = a.get_int_opt("contrast", INT32_MIN, INT32_MAX);
  const auto probes_path = a.get("probes");
  const std::string phenotypes = a.get_or("phenotypes", "");
  scalpel::analysis::bank_from_eval_options fo;
  fo.model_name = a.get_or("model-name", "");
  fo.variant = a.get_or("variant", "");
  fo.max_items = static_cast<std::size_t>(a.get_int("max-items", 0, 0, INT64_MAX));
  const auto tok_path = a.get("tokenizer");
  const std::string model_path = a.require("model");
  if (ids_list.empty() == from.empty()) throw usage_error("give --ids (single cases) or --from (an eval run)");
  if ((target || contrast) && ids_list.size() != 1) throw usage_error("--target / --contrast need exactly one --ids");
  if (!ids_list.empty() && (probes_path || !phenotypes.empty() || !fo.model_name.empty() || !fo.variant.empty()))
    throw usage_error("--probes, --phenotypes, --model-name and --variant apply to --from");
  const auto m = scalpel::model::load_model(model_path);
  a.finish();

  scalpel::analysis::loop_bank bank;
  std::size_t records = 0, looping = 0, skipped = 0;
  if (!ids_list.empty()) {
    for (const auto& s : ids_list) {
      std::vector<std::int32_t> ids;
      for (const auto v : parse_int_list(s, "--ids")) {
        if (v < INT32_MIN || v > INT32_MAX) throw usage_error("--ids: id " + std::to_string(v) + " is out of range");
        ids.push_back(static_cast<std::int32_t>(v));
      }
      if (ids.empty()) throw usage_error("--ids: no ids given");
      std::optional<std::int32_t> t, c;
      if (target) t = static_cast<std::int32_t>(*target);
      if (contrast) c = static_cast<std::int32_t>(*contrast);
      bank.items.push_back(scalpel::analysis::make_bank_item(m, std::move(ids), t, c));
    }
  } else {
    if (!phenotypes.empty()) {
      std::size_t i = 0;
      while (i <= phenotypes.size()) {
        const std::size_t j = std::min(phenotypes.find(',', i), phenotypes.size());
        const std::string p = phenotypes.substr(i, j - i);
        scalpel::analysis::phenotype ph{};
        if (!scalpel::analysis::parse_phenotype(p, ph))
          throw usage_error("--phenotypes: unknown phenotype '" + p + "'");
        fo.phenotypes.push_back(p);
        i = j + 1;
      }
    }
    const auto tok = scalpel::io::load_tokenizer(tok_path ? *tok_path : model_path);
    std::optional<scalpel::analysis::probe_set> probes;
    if (probes_path) probes = scalpel::analysis::load_probes(*probes_path);
    fo.probes = probes ? &*probes : nullptr;
    for (const auto& path : from) {
      const auto run_file = scalpel::analysis::read_eval_jsonl(path);
      if (run_file.truncated_tail)
        std::fprintf(stderr, "scalpel bank: %s: ignoring an incomplete last line\n", path.c_str());
      auto fo_left = fo;
      if (fo.max_items) fo_left.max_items = fo.max_items - std::min(fo.max_items, bank.items.size());
      if (fo.max_items && fo_left.max_items == 0) break;
      auto r = scalpel::analysis::bank_from_eval(m, tok, run_file.records, path, fo_left);
      records += r.records;
      looping += r.looping;
      skipped += r.skipped;
      for (const auto& why : r.skip_reasons) std::fprintf(stderr, "scalpel bank: skipped %s\n", why.c_str());
      for (auto& it : r.bank.items) bank.items.push_back(std::move(it));
    }
    if (bank.items.empty())
      scalpel::fail(scalpel::errc::invalid_argument, "no loop-bank cases: " + std::to_string(looping) + " of " +
                                                         std::to_string(records) + " records loop (after filters), " +
                                                         std::to_string(skipped) + " skipped");
  }
  double sum = 0.0;
  for (const auto& it : bank.items) sum += it.extra.value("m", 0.0);
  const double metric_base = sum / static_cast<double>(bank.items.size());
  bank.extra["model"] = m.source();
  bank.extra["metric_base"] = metric_base;

  if (!out) {
    print_json(bank.to_json());
    return 0;
  }
  bank.write(*out);
  if (json) {
    nlohmann::json j = {{"out", *out}, {"items", bank.items.size()}, {"metric_base", metric_base}};
    if (!from.empty()) {
      j["records"] = records;
      j["looping"] = looping;
      j["skipped"] = skipped;
    }
    print_json(j);
  } else {
    std::printf("wrote %s: %zu cases, metric_base %.6f", out->c_str(), bank.items.size(), metric_base);
    if (!from.empty()) std::printf(" (%zu records, %zu looping, %zu skipped)", records, looping, skipped);
    std::printf("\n");
  }
  return 0;
}

const registrar reg{
    {"bank", "build a loop bank (teacher-forced loop cases) from prompts or an eval run", usage, &run, 230}};

}  // namespace
}  // namespace cmd_bank
}  // namespace scalpel_cli
