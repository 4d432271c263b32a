#pragma once
/// @file
/// @brief Summaries of evaluation records: per-cell and per-probe loop rates with Wilson 95% intervals, outcome
/// (phenotype) counts, list coverage / correctness / duplicates, and base-vs-edited comparisons with Fisher's
/// exact test; as JSON (`scalpel.eval-report/1`), Markdown tables or CSV. See docs/eval.md.
///
/// A generation **loops** when the loop monitor fired (`looping`: token loop, list collapse, doom loop or engine
/// bug); the outcome columns keep the kinds apart. The summary is a function of the set of records: they are
/// sorted by key first (duplicates of a key are counted once), so a merged set of shards summarises exactly like
/// the unsharded run.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_stats.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

inline constexpr std::string_view eval_report_format = "scalpel.eval-report/1";

/// Outcomes counted per group (docs/detectors.md, "Outcomes"), in report order. "no_answer" is the budget
/// exhausted without an answer; anything unrecognised counts as "unknown".
inline constexpr std::array<std::string_view, 8> eval_outcomes = {
    "token_loop", "list_collapse", "doom_loop", "engine_bug", "natural_end", "truncated", "no_answer", "unknown"};

/// Counts and sums over a group of records.
struct eval_tally {
  std::uint64_t n = 0;
  std::uint64_t loops = 0;
  std::array<std::uint64_t, eval_outcomes.size()> outcomes{};
  double coverage = 0.0, correctness = 0.0, duplicates = 0.0, tokens = 0.0;  ///< sums
  double decode_seconds = 0.0;                                               ///< sum (timing, not deterministic)

  void add(const nlohmann::json& rec) {
    ++n;
    loops += rec.at("looping").get<bool>() ? 1u : 0u;
    const std::string o = rec.at("loop").at("outcome").get<std::string>();
    std::size_t k = eval_outcomes.size() - 1;
    for (std::size_t i = 0; i < eval_outcomes.size(); ++i)
      if (eval_outcomes[i] == o) k = i;
    ++outcomes[k];
    const auto& s = rec.at("list_score");
    coverage += s.at("coverage").get<double>();
    correctness += s.at("correctness").get<double>();
    duplicates += static_cast<double>(s.at("duplicates").get<std::int64_t>());
    tokens += static_cast<double>(rec.at("tokens").get<std::uint64_t>());
    if (auto t = rec.find("timing"); t != rec.end() && t->contains("decode_s") && (*t)["decode_s"].is_number())
      decode_seconds += (*t)["decode_s"].get<double>();
  }
  [[nodiscard]] double mean(double sum) const { return n ? sum / static_cast<double>(n) : 0.0; }
  [[nodiscard]] double loop_rate() const { return n ? static_cast<double>(loops) / static_cast<double>(n) : 0.0; }
  [[nodiscard]] proportion_interval ci95() const { return wilson_interval(loops, n); }
  [[nodiscard]] std::uint64_t outcome(std::string_view name) const {
    for (std::size_t i = 0; i < eval_outcomes.size(); ++i)
      if (eval_outcomes[i] == name) return outcomes[i];
    return 0;
  }
};

/// The coordinates of a summary row or comparison. Pooled coordinates are "*" (wording: -1).
struct eval_coords {
  std::string model, variant, probe;
  std::int64_t wording = -1;
  std::string thinking = "*", budget = "*", sampler = "*";
};

struct eval_row {
  eval_coords at;
  eval_tally tally;
};

/// Baseline vs variant loops on the same coordinates: the 2×2 table [[base loops, base clean], [variant loops,
/// variant clean]] and Fisher's exact test on it.
struct eval_comparison {
  eval_coords at;  ///< `variant` is the edited one
  std::string baseline;
  std::uint64_t base_n = 0, base_loops = 0, n = 0, loops = 0;
  fisher_result fisher;  ///< p_two_sided; p_greater = P(the variant loops this rarely or less, under no effect)
};

struct eval_summary {
  std::size_t records = 0;             ///< distinct records summarised
  std::size_t duplicates_ignored = 0;  ///< records whose key appeared before
  std::vector<std::string> config_hashes;
  std::string baseline = "base";
  std::vector<eval_row> cells;   ///< one per cell
  std::vector<eval_row> probes;  ///< per (model, variant, probe), then (model, variant, "*") over all probes
  std::vector<eval_comparison> comparisons;       ///< per (model, probe) and (model, "*"), each variant vs baseline
  std::vector<eval_comparison> cell_comparisons;  ///< per cell, each variant vs the baseline's same cell
  double decode_seconds = 0.0, tokens = 0.0;      ///< totals (timing: differs between runs)
};

namespace eval_detail {
/// Sort key of coordinates: model, variant (baseline first), probe ("*" last), wording, thinking, budget, sampler.
inline auto coords_order(const eval_coords& c, const std::string& baseline) {
  return std::make_tuple(c.model, c.variant != baseline, c.variant, c.probe == "*", c.probe, c.wording, c.thinking,
                         c.budget, c.sampler);
}
}  // namespace eval_detail

/// Summarise records (each checked by `check_eval_record` beforehand). `baseline` names the variant the others
/// are compared with (default "base"; no comparisons when it is absent).
inline eval_summary summarize_eval(std::vector<nlohmann::json> records, std::string baseline = "base") {
  eval_summary s;
  s.baseline = std::move(baseline);
  std::sort(records.begin(), records.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.at("key").get_ref<const std::string&>() < b.at("key").get_ref<const std::string&>();
  });
  using order_t = decltype(eval_detail::coords_order(eval_coords{}, s.baseline));
  std::map<order_t, eval_row> cells, probes;
  std::set<std::string> hashes;
  const std::string* prev = nullptr;
  for (const auto& r : records) {
    const auto& key = r.at("key").get_ref<const std::string&>();
    if (prev != nullptr && *prev == key) {
      ++s.duplicates_ignored;
      continue;
    }
    prev = &key;
    ++s.records;
    hashes.insert(r.at("config_hash").get<std::string>());
    eval_coords c{r.at("model").get<std::string>(),
                  r.at("variant").get<std::string>(),
                  r.at("probe").get<std::string>(),
                  r.at("wording").get<std::int64_t>(),
                  r.at("thinking").get<bool>() ? "on" : "off",
                  r.at("budget").get<std::string>(),
                  r.at("sampler").get<std::string>()};
    auto& cell = cells[eval_detail::coords_order(c, s.baseline)];
    cell.at = c;
    cell.tally.add(r);
    for (const std::string& probe : {c.probe, std::string("*")}) {
      eval_coords pc{c.model, c.variant, probe};
      auto& row = probes[eval_detail::coords_order(pc, s.baseline)];
      row.at = pc;
      row.tally.add(r);
    }
    s.tokens += static_cast<double>(r.at("tokens").get<std::uint64_t>());
    if (auto t = r.find("timing"); t != r.end() && t->contains("decode_s") && (*t)["decode_s"].is_number())
      s.decode_seconds += (*t)["decode_s"].get<double>();
  }
  s.config_hashes.assign(hashes.begin(), hashes.end());
  for (auto& [k, v] : cells) s.cells.push_back(std::move(v));
  for (auto& [k, v] : probes) s.probes.push_back(std::move(v));

  // Comparisons: every non-baseline row against the baseline row with the same coordinates.
  auto compare = [&](const std::vector<eval_row>& rows, std::vector<eval_comparison>& out) {
    std::map<order_t, const eval_row*> base;
    for (const auto& r : rows) {
      if (r.at.variant != s.baseline) continue;
      eval_coords k = r.at;
      k.variant.clear();
      base[eval_detail::coords_order(k, s.baseline)] = &r;
    }
    for (const auto& r : rows) {
      if (r.at.variant == s.baseline) continue;
      eval_coords k = r.at;
      k.variant.clear();
      const auto it = base.find(eval_detail::coords_order(k, s.baseline));
      if (it == base.end()) continue;
      const eval_tally& b = it->second->tally;
      eval_comparison cmp{r.at, s.baseline, b.n, b.loops, r.tally.n, r.tally.loops, {}};
      cmp.fisher = fisher_exact(b.loops, b.n - b.loops, r.tally.loops, r.tally.n - r.tally.loops);
      out.push_back(std::move(cmp));
    }
    // Group by coordinates (probe "*" last), then variant.
    auto order = [](const eval_coords& c) {
      return std::make_tuple(c.model, c.probe == "*", c.probe, c.wording, c.thinking, c.budget, c.sampler, c.variant);
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const eval_comparison& x, const eval_comparison& y) { return order(x.at) < order(y.at); });
  };
  compare(s.probes, s.comparisons);
  compare(s.cells, s.cell_comparisons);
  return s;
}

// ---- JSON --------------------------------------------------------------------------------------------------------

inline nlohmann::json to_json(const eval_tally& t) {
  nlohmann::json outcomes = nlohmann::json::object();
  for (std::size_t i = 0; i < eval_outcomes.size(); ++i) outcomes[std::string(eval_outcomes[i])] = t.outcomes[i];
  const auto ci = t.ci95();
  return {{"n", t.n},
          {"loops", t.loops},
          {"loop_rate", t.loop_rate()},
          {"ci95", {ci.lo, ci.hi}},
          {"outcomes", outcomes},
          {"coverage_mean", t.mean(t.coverage)},
          {"correctness_mean", t.mean(t.correctness)},
          {"duplicates_mean", t.mean(t.duplicates)},
          {"tokens_mean", t.mean(t.tokens)}};
}

inline nlohmann::json to_json(const eval_coords& c) {
  nlohmann::json j = {{"model", c.model}, {"variant", c.variant}, {"probe", c.probe}};
  if (c.wording >= 0) j["wording"] = c.wording;
  if (c.thinking != "*") j["thinking"] = c.thinking == "on";
  if (c.budget != "*") j["budget"] = c.budget;
  if (c.sampler != "*") j["sampler"] = c.sampler;
  return j;
}

inline nlohmann::json to_json(const eval_comparison& c) {
  nlohmann::json j = to_json(c.at);
  j["baseline"] = c.baseline;
  j["base_n"] = c.base_n;
  j["base_loops"] = c.base_loops;
  j["base_loop_rate"] = c.base_n ? static_cast<double>(c.base_loops) / static_cast<double>(c.base_n) : 0.0;
  j["n"] = c.n;
  j["loops"] = c.loops;
  j["loop_rate"] = c.n ? static_cast<double>(c.loops) / static_cast<double>(c.n) : 0.0;
  j["difference"] = j["loop_rate"].get<double>() - j["base_loop_rate"].get<double>();
  j["fisher_p"] = c.fisher.p_two_sided;
  j["fisher_p_fewer_loops"] = c.fisher.p_greater;
  return j;
}

/// `scalpel.eval-report/1`. Everything but `timing` is a deterministic function of the record set.
inline nlohmann::json to_json(const eval_summary& s) {
  auto rows = [](const std::vector<eval_row>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& r : v) {
      nlohmann::json j = to_json(r.at);
      j.update(to_json(r.tally));
      a.push_back(std::move(j));
    }
    return a;
  };
  auto cmps = [](const std::vector<eval_comparison>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& c : v) a.push_back(to_json(c));
    return a;
  };
  return {{"format", std::string(eval_report_format)},
          {"records", s.records},
          {"duplicates_ignored", s.duplicates_ignored},
          {"config_hashes", s.config_hashes},
          {"baseline", s.baseline},
          {"probes", rows(s.probes)},
          {"comparisons", cmps(s.comparisons)},
          {"cells", rows(s.cells)},
          {"cell_comparisons", cmps(s.cell_comparisons)},
          {"timing",
           {{"decode_s", s.decode_seconds},
            {"tokens", s.tokens},
            {"decode_tok_s", s.decode_seconds > 0 ? s.tokens / s.decode_seconds : 0.0}}}};
}

// ---- text tables -------------------------------------------------------------------------------------------------

namespace eval_detail {
inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
/// A p-value: 3 significant digits, scientific below 0.001.
inline std::string fmt_p(double p) { return p < 1e-3 ? fmt("%.2e", p) : fmt("%.3g", p); }
inline std::string rate_ci(const eval_tally& t) {
  const auto ci = t.ci95();
  return fmt("%.2f", t.loop_rate()) + " [" + fmt("%.2f", ci.lo) + ", " + fmt("%.2f", ci.hi) + "]";
}
inline std::string outcome_list(const eval_tally& t) {
  std::string s;
  for (std::size_t i = 0; i < eval_outcomes.size(); ++i) {
    if (t.outcomes[i] == 0) continue;
    if (!s.empty()) s += ", ";
    s += std::string(eval_outcomes[i]) + " " + std::to_string(t.outcomes[i]);
  }
  return s.empty() ? "-" : s;
}
inline std::string md_escape(std::string_view s) {
  std::string out;
  for (const char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}
inline std::string md_row(const std::vector<std::string>& cells) {
  std::string s = "|";
  for (const auto& c : cells) {
    s += ' ';
    s += md_escape(c);
    s += " |";
  }
  return s + "\n";
}
/// Header and separator; `align` has one letter per column: 'l' left, 'r' right.
inline std::string md_header(const std::vector<std::string>& cols, std::string_view align) {
  std::string s = md_row(cols) + "|";
  for (std::size_t i = 0; i < cols.size(); ++i) s += i < align.size() && align[i] == 'r' ? " ---: |" : " --- |";
  return s + "\n";
}
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
inline std::string csv_row(const std::vector<std::string>& cells) {
  std::string s;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) s += ',';
    s += csv_field(cells[i]);
  }
  return s + "\n";
}
inline std::string num(double v) { return fmt("%.6g", v); }
inline std::string count(std::uint64_t v) { return std::to_string(v); }
inline std::string frac(std::uint64_t k, std::uint64_t n) {
  return count(k) + "/" + count(n) + " (" + fmt("%.2f", n ? static_cast<double>(k) / static_cast<double>(n) : 0.0) +
         ")";
}
}  // namespace eval_detail

/// Markdown: a header line, then "Per probe", "Base vs edited" (when there is a baseline and a variant) and
/// "Per cell" tables.
inline std::string to_markdown(const eval_summary& s) {
  using namespace eval_detail;
  std::string out = "# Loop-rate evaluation\n\n";
  std::string hashes;
  for (const auto& h : s.config_hashes) {
    if (!hashes.empty()) hashes += ", ";
    hashes += h;
  }
  out += std::to_string(s.records) + " generations in " + std::to_string(s.cells.size()) + " cells (config " +
         (hashes.empty() ? std::string("-") : hashes) +
         "). A generation loops when a loop detector fired; rates with Wilson 95% intervals.\n\n";
  out += "## Per probe\n\n";
  // "(all)" rows only where a model and variant have several probes.
  std::map<std::pair<std::string, std::string>, std::size_t> probes_per;
  for (const auto& r : s.probes)
    if (r.at.probe != "*") ++probes_per[{r.at.model, r.at.variant}];
  out += md_header({"model", "variant", "probe", "n", "loops", "loop rate [95% CI]", "outcomes", "coverage", "correct",
                    "duplicates"},
                   "lllrrrlrrr");
  for (const auto& r : s.probes) {
    if (r.at.probe == "*" && probes_per[{r.at.model, r.at.variant}] < 2) continue;
    const auto& t = r.tally;
    out += md_row({r.at.model, r.at.variant, r.at.probe == "*" ? "(all)" : r.at.probe, count(t.n), count(t.loops),
                   rate_ci(t), outcome_list(t), fmt("%.2f", t.mean(t.coverage)), fmt("%.2f", t.mean(t.correctness)),
                   fmt("%.1f", t.mean(t.duplicates))});
  }
  if (!s.comparisons.empty()) {
    out += "\n## " + s.baseline + " vs edited (Fisher's exact test, two-sided)\n\n";
    out +=
        md_header({"model", "probe", s.baseline + " loops", "variant", "variant loops", "difference", "p"}, "llrlrrr");
    for (const auto& c : s.comparisons) {
      if (c.at.probe == "*" && probes_per[{c.at.model, c.at.variant}] < 2) continue;
      const double d = (c.n ? static_cast<double>(c.loops) / static_cast<double>(c.n) : 0.0) -
                       (c.base_n ? static_cast<double>(c.base_loops) / static_cast<double>(c.base_n) : 0.0);
      out += md_row({c.at.model, c.at.probe == "*" ? "(all)" : c.at.probe, frac(c.base_loops, c.base_n), c.at.variant,
                     frac(c.loops, c.n), fmt("%+.2f", d), fmt_p(c.fisher.p_two_sided)});
    }
  }
  out += "\n## Per cell\n\n";
  out += md_header({"model", "variant", "probe", "wording", "thinking", "budget", "sampler", "n", "loops",
                    "loop rate [95% CI]", "outcomes", "coverage", "correct", "duplicates", "tokens"},
                   "lllrllrrrrlrrrr");
  for (const auto& r : s.cells) {
    const auto& t = r.tally;
    out +=
        md_row({r.at.model, r.at.variant, r.at.probe, std::to_string(r.at.wording), r.at.thinking, r.at.budget,
                r.at.sampler, count(t.n), count(t.loops), rate_ci(t), outcome_list(t), fmt("%.2f", t.mean(t.coverage)),
                fmt("%.2f", t.mean(t.correctness)), fmt("%.1f", t.mean(t.duplicates)), fmt("%.0f", t.mean(t.tokens))});
  }
  return out;
}

/// The CSV tables: "cells" (default), "probes" or "comparisons" ("cell_comparisons" for per-cell ones).
/// @throws scalpel::error (invalid_argument) for another table name.
inline std::string to_csv(const eval_summary& s, std::string_view table = "cells") {
  using namespace eval_detail;
  const std::vector<std::string> coords = {"model", "variant", "probe", "wording", "thinking", "budget", "sampler"};
  auto coord_cells = [](const eval_coords& c) {
    return std::vector<std::string>{c.model,    c.variant, c.probe,  c.wording >= 0 ? std::to_string(c.wording) : "*",
                                    c.thinking, c.budget,  c.sampler};
  };
  std::string out;
  if (table == "cells" || table == "probes") {
    std::vector<std::string> head = coords;
    for (const char* h : {"n", "loops", "loop_rate", "ci95_lo", "ci95_hi"}) head.emplace_back(h);
    for (const auto o : eval_outcomes) head.emplace_back(o);
    for (const char* h : {"coverage_mean", "correctness_mean", "duplicates_mean", "tokens_mean"}) head.emplace_back(h);
    out += csv_row(head);
    for (const auto& r : table == "cells" ? s.cells : s.probes) {
      const auto& t = r.tally;
      const auto ci = t.ci95();
      auto row = coord_cells(r.at);
      for (const auto& v : {count(t.n), count(t.loops), num(t.loop_rate()), num(ci.lo), num(ci.hi)}) row.push_back(v);
      for (const auto c : t.outcomes) row.push_back(count(c));
      for (const double v : {t.mean(t.coverage), t.mean(t.correctness), t.mean(t.duplicates), t.mean(t.tokens)})
        row.push_back(num(v));
      out += csv_row(row);
    }
    return out;
  }
  if (table == "comparisons" || table == "cell_comparisons") {
    std::vector<std::string> head = coords;
    for (const char* h : {"baseline", "base_n", "base_loops", "base_loop_rate", "n", "loops", "loop_rate", "difference",
                          "fisher_p", "fisher_p_fewer_loops"})
      head.emplace_back(h);
    out += csv_row(head);
    for (const auto& c : table == "comparisons" ? s.comparisons : s.cell_comparisons) {
      const double br = c.base_n ? static_cast<double>(c.base_loops) / static_cast<double>(c.base_n) : 0.0;
      const double vr = c.n ? static_cast<double>(c.loops) / static_cast<double>(c.n) : 0.0;
      auto row = coord_cells(c.at);
      for (const auto& v : {c.baseline, count(c.base_n), count(c.base_loops), num(br), count(c.n), count(c.loops),
                            num(vr), num(vr - br), num(c.fisher.p_two_sided), num(c.fisher.p_greater)})
        row.push_back(v);
      out += csv_row(row);
    }
    return out;
  }
  fail(errc::invalid_argument,
       "unknown summary table '" + std::string(table) + "' (expected cells, probes, comparisons or cell_comparisons)");
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
