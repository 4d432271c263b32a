// scalpel detect: the loop report of a saved generation (contracts.md "Loop report"; docs/detectors.md).
//
// Input is text, ids, or both. A tokenizer option (--model / --tokenizer, to decode ids into pieces) will slot in
// at `detect_record`: with pieces, detection uses the exact per-token path.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "scalpel/analysis/list_score.hpp"
#include "scalpel/analysis/loop_monitor.hpp"
#include "scalpel/analysis/probes.hpp"
#include "scalpel/core/error.hpp"

namespace scalpel_cli {
namespace cmd_detect {  // named: unity builds put several commands in one TU
namespace {

namespace an = scalpel::analysis;

constexpr const char* usage_text =
    R"(usage: scalpel detect (--file F | --ids 1,2,3 | --text S) [--json] [options]

Finds repetition loops in a saved generation and prints the loop report (contracts.md). The exit status is 0
whether or not a loop is found; the report says.

input (exactly one of --file, --ids, --text):
  --file F                 plain text; or a JSON object {"text": S, "ids": [...], "pieces": [...],
                           "stop_reason": R} with any of text / ids / pieces (other fields are ignored,
                           so a `scalpel generate --json` result works); or JSONL, one such object per
                           line, giving one report per line
  --ids LIST               token ids, e.g. 2,17,17 (only token-level detectors can run on ids alone)
  --text S                 the text itself (token indices are pseudo-token indices, docs/detectors.md)
  --stop-reason R          eos | max_tokens | loop | unknown | ... (default: the JSON's "stop_reason",
                           else unknown; text ending inside an open thinking channel counts as budget-cut)
scoring:
  --probe ID               also score the final answer against this probe's gold list ("list_score")
  --probes FILE            probe file for --probe (default: the built-in suite, see scalpel probes)
thresholds (defaults in docs/detectors.md):
  --period-max N           token period: longest period checked (64)
  --period-min-run N       token period: tokens beyond the first cycle (30)
  --period-min-cycles N    token period: full cycles (3)
  --ngram-n N              n-gram length (30)
  --ngram-min-count N      occurrences of one n-gram (20)
  --char-max-period N      character repeat: longest unit (1024)
  --char-min-repeats N     character repeat: consecutive copies (4)
  --char-min-span N        character repeat: characters covered (60)
  --list-min-entries N     list collapse: block size for the share rule (10)
  --list-min-share X       list collapse: share of the top entry (0.5)
  --list-max-cycle N       list collapse: longest entry cycle, 0 = share rule only (4)
  --list-cycle-min-run N   list collapse: entries beyond the first cycle (10)
  --engine-min-run N       engine bug: run of special / unused tokens (8)
  --engine-ids LIST        engine bug: extra ids that count
  --doom-min-marker-density X   doom loop: self-correction markers per 1000 thought words (0)
  --doom-min-markers N     doom loop: minimum markers (0)
  --disable LIST           detectors to turn off, comma-separated: token_period, ngram, char_repeat,
                           list_collapse, doom_loop, engine_bug
output:
  --json                   the JSON report (default: a short summary))";

struct record {
  std::optional<std::string> text;
  std::vector<std::int32_t> ids;
  std::vector<std::string> pieces;
  bool has_ids = false;
  std::string stop_reason;
};

an::loop_monitor_config read_config(args& a) {
  an::loop_monitor_config c;
  auto int_opt = [&](const char* name, auto& field, std::int64_t lo, std::int64_t hi) {
    if (auto v = a.get_int_opt(name, lo, hi)) field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
  };
  int_opt("period-max", c.token_period.max_period, 1, 4096);
  int_opt("period-min-run", c.token_period.min_run_tokens, 1, 1 << 30);
  int_opt("period-min-cycles", c.token_period.min_cycles, 1, 1000);
  int_opt("ngram-n", c.ngram.n, 1, 4096);
  int_opt("ngram-min-count", c.ngram.min_count, 2, 1 << 30);
  int_opt("char-max-period", c.char_repeat.max_period_chars, 1, 65536);
  int_opt("char-min-repeats", c.char_repeat.min_repeats, 2, 100000);
  int_opt("char-min-span", c.char_repeat.min_span_chars, 1, 1 << 30);
  int_opt("list-min-entries", c.list_collapse.min_entries, 1, 1 << 30);
  int_opt("list-max-cycle", c.list_collapse.max_cycle_entries, 0, 64);
  int_opt("list-cycle-min-run", c.list_collapse.cycle_min_run_entries, 1, 1 << 30);
  int_opt("engine-min-run", c.engine_bug.min_run_tokens, 1, 1 << 30);
  int_opt("doom-min-markers", c.doom_loop.min_markers, 0, 1 << 30);
  if (auto v = a.get_double_opt("list-min-share")) {
    if (!(*v > 0.0 && *v <= 1.0)) throw usage_error("option --list-min-share: must be in (0, 1]");
    c.list_collapse.min_share = *v;
  }
  if (auto v = a.get_double_opt("doom-min-marker-density")) {
    if (*v < 0.0) throw usage_error("option --doom-min-marker-density: must be >= 0");
    c.doom_loop.min_marker_density = *v;
  }
  if (auto v = a.get("engine-ids")) {
    for (const auto id : parse_int_list(*v, "--engine-ids")) {
      if (id < 0 || id > std::numeric_limits<std::int32_t>::max()) throw usage_error("--engine-ids: id out of range");
      c.engine_bug.ids.push_back(static_cast<std::int32_t>(id));
    }
  }
  if (auto v = a.get("disable")) {
    std::stringstream ss(*v);
    std::string name;
    while (std::getline(ss, name, ',')) {
      an::phenotype p{};
      if (!an::parse_phenotype(name, p) || p == an::phenotype::none)
        throw usage_error("--disable: unknown detector '" + name + "'");
      switch (p) {
        case an::phenotype::token_period:
          c.token_period.enabled = false;
          break;
        case an::phenotype::ngram:
          c.ngram.enabled = false;
          break;
        case an::phenotype::char_repeat:
          c.char_repeat.enabled = false;
          break;
        case an::phenotype::list_collapse:
          c.list_collapse.enabled = false;
          break;
        case an::phenotype::doom_loop:
          c.doom_loop.enabled = false;
          break;
        case an::phenotype::engine_bug:
          c.engine_bug.enabled = false;
          break;
        case an::phenotype::none:
          break;
      }
    }
  }
  return c;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) scalpel::fail(scalpel::errc::io, path + ": cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) scalpel::fail(scalpel::errc::io, path + ": read error");
  return ss.str();
}

record parse_record(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) scalpel::fail(scalpel::errc::json, where + ": expected a JSON object");
  record r;
  if (auto t = j.find("text"); t != j.end() && !t->is_null()) {
    if (!t->is_string()) scalpel::fail(scalpel::errc::json, where + ": text: expected a string");
    r.text = t->get<std::string>();
  }
  if (auto ids = j.find("ids"); ids != j.end() && !ids->is_null()) {
    if (!ids->is_array()) scalpel::fail(scalpel::errc::json, where + ": ids: expected an array of integers");
    r.has_ids = true;
    for (std::size_t k = 0; k < ids->size(); ++k) {
      const auto& v = (*ids)[k];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
          v.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max())
        scalpel::fail(scalpel::errc::json,
                      where + ": ids[" + std::to_string(k) + "]: expected an integer in [0, 2^31), got " + v.dump());
      r.ids.push_back(v.get<std::int32_t>());
    }
  }
  if (auto p = j.find("pieces"); p != j.end() && !p->is_null()) {
    if (!p->is_array()) scalpel::fail(scalpel::errc::json, where + ": pieces: expected an array of strings");
    for (std::size_t k = 0; k < p->size(); ++k) {
      if (!(*p)[k].is_string())
        scalpel::fail(scalpel::errc::json, where + ": pieces[" + std::to_string(k) + "]: expected a string");
      r.pieces.push_back((*p)[k].get<std::string>());
    }
    if (r.pieces.size() != r.ids.size())
      scalpel::fail(scalpel::errc::json, where + ": pieces: " + std::to_string(r.pieces.size()) + " pieces for " +
                                             std::to_string(r.ids.size()) + " ids (expected one per id)");
  }
  if (auto s = j.find("stop_reason"); s != j.end() && !s->is_null()) {
    if (!s->is_string()) scalpel::fail(scalpel::errc::json, where + ": stop_reason: expected a string");
    r.stop_reason = s->get<std::string>();
  }
  if (!r.text && !r.has_ids) scalpel::fail(scalpel::errc::json, where + ": has neither \"text\" nor \"ids\"");
  return r;
}

/// Every record of a --file: one plain-text record, one JSON object, or JSONL.
std::vector<record> read_records(const std::string& path, bool& jsonl) {
  const std::string content = read_file(path);
  jsonl = false;
  const auto first = content.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || content[first] != '{') return {record{content, {}, {}, false, {}}};
  nlohmann::json whole = nlohmann::json::parse(content, nullptr, false);
  if (!whole.is_discarded()) return {parse_record(whole, path)};
  std::vector<record> out;
  std::istringstream in(content);
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      if (out.empty() && line_no == 1)  // not JSON after all: a text file that starts with '{'
        return {record{content, {}, {}, false, {}}};
      scalpel::fail(scalpel::errc::json, where + ": not a valid JSON object");
    }
    out.push_back(parse_record(j, where));
  }
  jsonl = true;
  return out;
}

an::loop_report detect_record(const record& r, an::stop_kind stop, const an::loop_monitor_config& cfg) {
  if (r.has_ids && !r.pieces.empty()) return an::detect_tokens(r.ids, r.pieces, stop, cfg);
  if (r.has_ids && r.text) return an::detect_ids_and_text(r.ids, *r.text, stop, cfg);
  if (r.has_ids) return an::detect_tokens(r.ids, {}, stop, cfg);
  return an::detect_text(*r.text, stop, cfg);
}

void print_summary(const an::loop_report& rep, const nlohmann::json* score) {
  if (rep.looping) {
    std::printf("loop: %s at token %lld (period %lld tokens, %lld repeats)\n",
                std::string(an::phenotype_name(rep.kind)).c_str(), static_cast<long long>(rep.onset_token),
                static_cast<long long>(rep.period_tokens), static_cast<long long>(rep.repeats));
  } else {
    std::printf("loop: none\n");
  }
  std::printf("detail: %s\noutcome: %s (stop reason %s, %lld tokens)\n", rep.detail.c_str(),
              std::string(an::outcome_name(rep.result)).c_str(), std::string(an::stop_kind_name(rep.stop)).c_str(),
              static_cast<long long>(rep.tokens));
  if (score != nullptr) {
    std::printf("list: %lld items, coverage %.3f, correctness %.3f, %lld duplicates\n",
                static_cast<long long>((*score)["items"].get<std::int64_t>()), (*score)["coverage"].get<double>(),
                (*score)["correctness"].get<double>(),
                static_cast<long long>((*score)["duplicates"].get<std::int64_t>()));
  }
}

int run_detect(args& a) {
  const auto file = a.get("file");
  const auto ids_arg = a.get("ids");
  const auto text = a.get("text");
  const auto stop_arg = a.get("stop-reason");
  const auto probe_id = a.get("probe");
  const auto probes_file = a.get("probes");
  const bool json = a.flag("json");
  const an::loop_monitor_config cfg = read_config(a);
  a.finish();
  const int inputs = (file ? 1 : 0) + (ids_arg ? 1 : 0) + (text ? 1 : 0);
  if (inputs != 1) throw usage_error("give exactly one of --file, --ids, --text");
  if (probes_file && !probe_id) throw usage_error("--probes needs --probe");
  cfg.validate();

  std::optional<an::probe_set> loaded;
  const an::probe* probe = nullptr;
  if (probe_id) {
    if (probes_file) loaded = an::load_probes(*probes_file);
    probe = &(loaded ? *loaded : an::builtin_probes()).at(*probe_id);
  }

  std::vector<record> records;
  bool jsonl = false;
  if (file) {
    records = read_records(*file, jsonl);
  } else if (ids_arg) {
    record r;
    r.has_ids = true;
    for (const auto id : parse_int_list(*ids_arg, "--ids")) {
      if (id < 0 || id > std::numeric_limits<std::int32_t>::max()) throw usage_error("--ids: id out of range");
      r.ids.push_back(static_cast<std::int32_t>(id));
    }
    records.push_back(std::move(r));
  } else {
    records.push_back(record{*text, {}, {}, false, {}});
  }

  for (const auto& r : records) {
    const an::stop_kind stop = an::parse_stop_reason(stop_arg ? *stop_arg : r.stop_reason);
    const an::loop_report rep = detect_record(r, stop, cfg);
    nlohmann::json out = an::to_json(rep);
    nlohmann::json score;
    if (probe != nullptr) {
      std::string answer = r.text ? *r.text : std::string{};
      if (!r.text) {
        for (const auto& p : r.pieces) answer += p;
      }
      score = an::to_json(an::score_list(answer, probe->gold));
      score["probe"] = probe->id;
      out["list_score"] = score;
    }
    if (json) {
      std::printf("%s\n", out.dump(jsonl ? -1 : 2).c_str());
    } else {
      print_summary(rep, probe != nullptr ? &score : nullptr);
    }
  }
  return 0;
}

const registrar reg{
    {"detect", "find repetition loops in saved text or token ids (loop report)", usage_text, &run_detect, 200}};

}  // namespace
}  // namespace cmd_detect
}  // namespace scalpel_cli
