#pragma once
/// @file
/// @brief What the surgery report shows, derived once from a `surgery_dir_data` so that the HTML and the Markdown
/// renderings say the same thing: loop rates before / after per probe (eval_report's tallies, Wilson 95% intervals,
/// Fisher's exact test), phenotype counts, the candidate that was chosen, readable edit and unit lists, the config
/// as key / value rows, and number formatting.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_report.hpp"
#include "scalpel/analysis/eval_stats.hpp"
#include "scalpel/analysis/report/surgery_dir.hpp"
#include "scalpel/analysis/report/svg_chart.hpp"
#include "scalpel/config.hpp"
#include "scalpel/version.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Loop rates of one probe (or of all probes: `probe` "(all)") before and after the chosen edit.
struct report_loop_row {
  std::string model;
  std::string label;  ///< probe id ("model / probe" when the records hold several models)
  std::optional<eval_tally> before, after;
  std::optional<fisher_result> fisher;  ///< before vs after, when both exist
  bool total = false;                   ///< the row over all probes
};

/// The per-probe loop-rate comparison computed from the evaluation records.
struct report_loops {
  std::string before = "base";  ///< the baseline variant
  std::string after;            ///< the chosen candidate ("" when none was chosen)
  std::vector<report_loop_row> rows;
  eval_summary summary;  ///< every variant in the records (base and all confirmed candidates)
};

/// Counts of loop phenotypes (`loop.phenotype` of looping records) and of non-looping records.
struct phenotype_row {
  std::string phenotype;  ///< a detector phenotype, or "no loop"
  std::uint64_t before = 0, after = 0;
};

namespace report_detail {
inline std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // "-0.00" -> "0.00"
  return s;
}
inline std::string opt_num(const std::optional<double>& v, int digits = 4) {
  return v ? format_number(*v, digits) : std::string("–");
}
inline std::string signed_num(double v, int digits = 4) {
  std::string s = format_number(v, digits);
  return std::isfinite(v) && v > 0 ? "+" + s : s;
}
inline std::string rate(double r) { return fixed(r, 2); }
inline std::string interval(double lo, double hi) { return "[" + fixed(lo, 2) + ", " + fixed(hi, 2) + "]"; }
/// "k/n = 0.94 [0.70, 0.99]" of a tally.
inline std::string tally_text(const eval_tally& t) {
  const auto ci = t.ci95();
  return std::to_string(t.loops) + "/" + std::to_string(t.n) + " = " + rate(t.loop_rate()) + " " +
         interval(ci.lo, ci.hi);
}
inline std::string p_value(double p) { return eval_detail::fmt_p(p); }
inline std::string seconds(double s) {
  if (!std::isfinite(s)) return "n/a";
  if (s < 120.0) return fixed(s, 1) + " s";
  if (s < 7200.0) return fixed(s / 60.0, 1) + " min";
  return fixed(s / 3600.0, 2) + " h";
}
inline std::string bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  return u == 0 ? std::to_string(b) + " B" : fixed(v, 1) + " " + units[u];
}
}  // namespace report_detail

/// The chosen candidate's name: confirm.json's `chosen`, else surgery.json's `result.chosen`; "" when none.
inline std::string report_chosen(const surgery_dir_data& d) {
  if (d.confirm && d.confirm->chosen) return *d.confirm->chosen;
  if (d.manifest.result && d.manifest.result->chosen) return *d.manifest.result->chosen;
  return {};
}

/// The chosen candidate of confirm.json, if any.
inline const confirm_candidate* report_chosen_candidate(const surgery_dir_data& d) {
  const std::string name = report_chosen(d);
  if (!d.confirm || name.empty()) return nullptr;
  for (const auto& c : d.confirm->candidates)
    if (c.name == name) return &c;
  return nullptr;
}

/// Loop rate and Wilson 95% interval of confirm counts (computed from loops / n when not given).
struct counts_view {
  std::optional<double> rate;
  std::optional<proportion_interval> ci;
};
inline counts_view view_counts(const confirm_counts& c) {
  counts_view v;
  v.rate = c.rate;
  if (!v.rate && c.loops && c.n && *c.n > 0) v.rate = static_cast<double>(*c.loops) / static_cast<double>(*c.n);
  if (c.ci)
    v.ci = proportion_interval{c.ci->first, c.ci->second};
  else if (c.loops && c.n)
    v.ci = wilson_interval(*c.loops, *c.n);
  return v;
}

/// The evaluation records of the base model and of the confirmed candidates, summarised. nullopt when neither
/// eval-base.jsonl nor confirm.jsonl is there.
inline std::optional<report_loops> summarize_report_loops(const surgery_dir_data& d) {
  if (!d.base_records && !d.confirm_records) return std::nullopt;
  std::vector<nlohmann::json> all;
  for (const auto* src : {&d.base_records, &d.confirm_records})
    if (*src) all.insert(all.end(), (*src)->begin(), (*src)->end());
  report_loops out;
  out.after = report_chosen(d);
  out.summary = summarize_eval(std::move(all), out.before);
  std::set<std::string> models;
  for (const auto& r : out.summary.probes) models.insert(r.at.model);
  // Rows keyed by (model, probe) in summary order ("*" last per model).
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, report_loop_row> rows;
  for (const auto& r : out.summary.probes) {
    if (r.at.variant != out.before && (out.after.empty() || r.at.variant != out.after)) continue;
    const auto key = std::make_pair(r.at.model, r.at.probe);
    auto [it, fresh] = rows.try_emplace(key);
    if (fresh) order.push_back(key);
    auto& row = it->second;
    row.model = r.at.model;
    row.total = r.at.probe == "*";
    const std::string probe = row.total ? "(all probes)" : r.at.probe;
    row.label = models.size() > 1 ? r.at.model + " / " + probe : probe;
    (r.at.variant == out.before ? row.before : row.after) = r.tally;
  }
  for (const auto& c : out.summary.comparisons) {
    if (c.at.variant != out.after) continue;
    const auto it = rows.find({c.at.model, c.at.probe});
    if (it != rows.end()) it->second.fisher = c.fisher;
  }
  // Drop the "(all probes)" row of a model with one probe: it repeats that probe's row.
  std::map<std::string, int> probes_per_model;
  for (const auto& k : order)
    if (k.second != "*") ++probes_per_model[k.first];
  for (const auto& k : order)
    if (k.second != "*" || probes_per_model[k.first] > 1) out.rows.push_back(rows[k]);
  return out;
}

/// Totals over all probes before and after (per model the "(all probes)" row, or its only probe's row).
inline std::pair<std::optional<eval_tally>, std::optional<eval_tally>> total_tallies(const report_loops& l) {
  std::set<std::string> with_total;
  for (const auto& r : l.rows)
    if (r.total) with_total.insert(r.model);
  std::optional<eval_tally> before, after;
  auto add = [](std::optional<eval_tally>& into, const std::optional<eval_tally>& t) {
    if (!t) return;
    if (!into) into = eval_tally{};
    into->n += t->n;
    into->loops += t->loops;
    for (std::size_t i = 0; i < t->outcomes.size(); ++i) into->outcomes[i] += t->outcomes[i];
  };
  for (const auto& r : l.rows) {
    if (r.total != (with_total.count(r.model) > 0)) continue;
    add(before, r.before);
    add(after, r.after);
  }
  return {before, after};
}

/// Phenotype counts of the base records (`before`) and of the chosen candidate's records (`after`), one row per
/// phenotype seen (detector order), then "no loop". Duplicate record keys count once.
inline std::vector<phenotype_row> count_phenotypes(const surgery_dir_data& d) {
  const std::string after = report_chosen(d);
  static constexpr std::string_view known[] = {"token_period", "ngram",      "char_repeat", "list_collapse",
                                               "doom_loop",    "engine_bug", "none"};
  std::map<std::string, phenotype_row> by_name;
  std::set<std::string> seen_keys;
  phenotype_row clean{"no loop"};
  for (const auto* src : {&d.base_records, &d.confirm_records}) {
    if (!*src) continue;
    for (const auto& r : **src) {
      const std::string variant = r.at("variant").get<std::string>();
      const bool is_before = variant == "base";
      if (!is_before && (after.empty() || variant != after)) continue;
      if (!seen_keys.insert(r.at("key").get<std::string>()).second) continue;
      std::uint64_t phenotype_row::*slot = is_before ? &phenotype_row::before : &phenotype_row::after;
      if (!r.at("looping").get<bool>()) {
        ++(clean.*slot);
        continue;
      }
      std::string name = "unknown";
      const auto& loop = r.at("loop");
      if (auto p = loop.find("phenotype"); p != loop.end() && p->is_string()) name = p->get<std::string>();
      auto& row = by_name[name];
      row.phenotype = name;
      ++(row.*slot);
    }
  }
  std::vector<phenotype_row> out;
  for (const auto k : known)
    if (auto it = by_name.find(std::string(k)); it != by_name.end()) {
      out.push_back(it->second);
      by_name.erase(it);
    }
  for (auto& [k, v] : by_name) out.push_back(v);  // names the detectors do not document, sorted
  out.push_back(clean);
  return out;
}

/// "L3/N17, L3/N20" (neurons) or "L4/E17" (experts).
inline std::string describe_units(const std::vector<confirm_unit>& units) {
  std::string s;
  for (const auto& u : units) {
    if (!s.empty()) s += ", ";
    s += 'L';
    s += std::to_string(u.layer);
    s += u.neuron ? "/N" : "/E";
    s += std::to_string(u.neuron ? *u.neuron : *u.expert);
  }
  return s.empty() ? "–" : s;
}

/// One line per edit of a `scalpel.edit-plan/1` object: "scale layer 10 neurons 1234, 99 by -0.8".
inline std::vector<std::string> describe_plan(const nlohmann::json& plan) {
  std::vector<std::string> out;
  const auto it = plan.find("edits");
  if (it == plan.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    std::string s = e.value("op", std::string("?")) + " layer " + e.value("layer", nlohmann::json()).dump();
    for (const char* list : {"neurons", "experts"}) {
      if (!e.contains(list)) continue;
      s += std::string(" ") + list + " ";
      std::string items;
      for (const auto& v : e[list]) items += (items.empty() ? "" : ", ") + v.dump();
      s += items;
    }
    if (e.contains("factor")) s += " by factor " + e["factor"].dump();
    if (e.contains("mode")) s += " (" + e.value("mode", std::string()) + ")";
    out.push_back(std::move(s));
  }
  return out;
}

/// A JSON object as dotted key / value rows (values as compact JSON; strings unquoted).
inline std::vector<std::pair<std::string, std::string>> flatten_config(const nlohmann::json& j,
                                                                       const std::string& prefix = {}) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!j.is_object()) {
    out.emplace_back(prefix.empty() ? "(value)" : prefix, j.is_string() ? j.get<std::string>() : j.dump());
    return out;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object() && !it->empty()) {
      auto sub = flatten_config(*it, key);
      out.insert(out.end(), sub.begin(), sub.end());
    } else {
      out.emplace_back(key, it->is_string() ? it->get<std::string>()
                                            : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  return out;
}

/// The layer with the most negative sweep delta (the one whose ablation lowers the loop metric most).
inline std::optional<std::size_t> most_negative_layer(const sweep_data& s) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < s.layers.size(); ++i)
    if (std::isfinite(s.layers[i].delta) && s.layers[i].delta < 0 &&
        (!best || s.layers[i].delta < s.layers[*best].delta))
      best = i;
  return best;
}

/// The version of scalpel that renders the report.
inline constexpr std::string_view report_generator_version = SCALPEL_VERSION_STRING;

}  // namespace analysis
SCALPEL_END_NAMESPACE
