#pragma once
/// @file
/// @brief The surgery report as Markdown (docs/report.md): the same sections and numbers as the HTML report, as
/// tables instead of charts. Text from the directory's files is escaped for tables (`|`, newlines) and for inline
/// HTML (`<`, `&`); commands and the plan go into fenced code blocks whose fence is longer than any backtick
/// run inside.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/analysis/report/report_html.hpp"
#include "scalpel/analysis/report/report_model.hpp"
#include "scalpel/analysis/report/surgery_dir.hpp"
#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {
namespace report_detail {

/// Escape a table cell / inline text: `|` -> `\|`, `<` and `&` as entities (no raw HTML, no accidental entity),
/// line breaks -> spaces.
inline std::string md_text(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '|':
        out += "\\|";
        break;
      case '<':
        out += "&lt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// A Markdown table; a cell starting with '\x01' (num_cell) is right-aligned by its column's first row.
inline std::string md_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string s = "|";
  for (const auto& h : head) {
    s += ' ';
    s += md_text(h);
    s += " |";
  }
  s += "\n|";
  for (std::size_t i = 0; i < head.size(); ++i) {
    const bool right = !rows.empty() && i < rows[0].size() && !rows[0][i].empty() && rows[0][i][0] == '\x01';
    s += right ? " ---: |" : " --- |";
  }
  s += "\n";
  for (const auto& r : rows) {
    s += "|";
    for (std::size_t i = 0; i < head.size(); ++i) {
      std::string_view c = i < r.size() ? std::string_view(r[i]) : std::string_view();
      if (!c.empty() && c[0] == '\x01') c.remove_prefix(1);
      s += ' ';
      s += md_text(c);
      s += " |";
    }
    s += "\n";
  }
  return s + "\n";
}

/// A fenced code block (fence longer than any run of backticks in `text`).
inline std::string md_code(std::string_view text, std::string_view lang = {}) {
  std::size_t run = 0, longest = 0;
  for (const char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  std::string body(text);
  if (!body.empty() && body.back() != '\n') body += '\n';
  return fence + std::string(lang) + "\n" + body + fence + "\n\n";
}

/// A note (a missing piece, an absent part of a piece) as a block quote.
inline std::string md_missing(std::string_view message) { return "> " + md_text(message) + "\n\n"; }

}  // namespace report_detail

/// Render the report of a surgery directory as Markdown.
inline std::string render_report_markdown(const surgery_dir_data& d) {
  using namespace report_detail;
  const auto loops = summarize_report_loops(d);
  const auto& m = d.manifest;
  const std::string name = m.model && !m.model->name.empty() ? m.model->name : std::string("model");
  std::string s = "# Surgery report: " + md_text(name) + "\n\n";

  // Summary.
  s += "## Summary\n\n";
  s += "Status: **" + md_text(m.status) + "**\n\n";
  if (m.error) s += "Error: " + md_text(*m.error) + "\n\n";
  const auto [before, after] = headline_rates(d, loops);
  s += "Loop rate: **" + (before ? rate(*before) : std::string("?")) + " → " + (after ? rate(*after) : "?") + "**\n\n";
  std::vector<std::vector<std::string>> facts;
  if (m.model)
    facts.push_back(
        {"model", m.model->name + (m.model->arch.empty() ? "" : " (" + m.model->arch + ", " + m.model->format + ")")});
  std::string chosen_text = report_chosen(d).empty() ? std::string("none") : report_chosen(d);
  if (const auto* c = report_chosen_candidate(d))
    chosen_text += ": " + describe_units(c->units) + (c->strength ? " × " + format_number(*c->strength) : "");
  facts.push_back({"chosen edit", chosen_text});
  if (m.result && !m.result->summary.empty()) facts.push_back({"summary", m.result->summary});
  if (d.bank_items)
    facts.push_back({"loop bank", std::to_string(*d.bank_items) + " items" +
                                      (d.bank_metric_base ? ", metric " + format_number(*d.bank_metric_base) : "")});
  s += md_table({"", ""}, facts);
  if (!m.stages.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& st : m.stages)
      rows.push_back({st.name, st.status, num_cell(st.seconds ? seconds(*st.seconds) : "–"), st.note});
    s += "### Stages\n\n" + md_table({"stage", "status", "time", "note"}, rows);
  }
  if (!d.missing.empty() || !d.warnings.empty()) {
    s += "### Missing pieces\n\n";
    for (const auto& n : d.missing)
      s += "- " + md_text(std::filesystem::path(n.file).filename().string() + " (" + n.piece + "): " + n.why) + "\n";
    for (const auto& w : d.warnings) s += "- " + md_text(w) + "\n";
    s += "\n";
  }

  // Layer sweep.
  s += "## Layer sweep\n\n";
  if (!d.sweep) {
    s += md_missing(missing_text(d, "sweep", "the layer sweep"));
  } else {
    const auto hl = most_negative_layer(*d.sweep);
    s += "Bank metric M0 = " + format_number(d.sweep->metric_base) + "; delta = M − M0 with the layer's " +
         md_text(d.sweep->component.empty() ? "mlp" : d.sweep->component) + " ablated (" +
         md_text(d.sweep->mode.empty() ? "zero" : d.sweep->mode) + ")." +
         (hl ? " Most negative: layer " + std::to_string(d.sweep->layers[*hl].layer) + "." : std::string()) + "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < d.sweep->layers.size(); ++i) {
      const auto& l = d.sweep->layers[i];
      rows.push_back({num_cell(std::to_string(l.layer) + (hl && *hl == i ? " ◀" : "")),
                      num_cell(format_number(l.metric)), num_cell(signed_num(l.delta)), num_cell(opt_num(l.kl))});
    }
    s += md_table({"layer", "metric", "delta", "KL (clean text)"}, rows);
  }

  // Attribution.
  s += "## Attribution\n\n";
  if (!d.attribution && !d.experts) {
    s += md_missing(missing_text(d, "attribution", "the neuron attribution"));
    s += md_missing(missing_text(d, "experts", "the expert attribution"));
  }
  if (d.attribution) {
    s += "Bank metric M0 = " + format_number(d.attribution->metric_base) + "; " +
         std::to_string(d.attribution->neurons.size()) + " neurons listed.\n\n";
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < d.attribution->neurons.size() && i < report_table_rows; ++i) {
      const auto& n = d.attribution->neurons[i];
      rows.push_back({num_cell(std::to_string(i + 1)), num_cell(std::to_string(n.layer)),
                      num_cell(std::to_string(n.neuron)), num_cell(format_number(n.score)),
                      num_cell(opt_num(n.score_norm)), num_cell(n.exact_delta ? signed_num(*n.exact_delta) : "–")});
    }
    s += md_table({"rank", "layer", "neuron", "score", "score_norm", "exact_delta"}, rows);
  }
  if (d.experts) {
    s += "### Experts\n\nBank metric M0 = " + format_number(d.experts->metric_base) + ".\n\n";
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < d.experts->experts.size() && i < report_table_rows; ++i) {
      const auto& x = d.experts->experts[i];
      rows.push_back({num_cell(std::to_string(x.layer)), num_cell(std::to_string(x.expert)),
                      num_cell(signed_num(x.delta_route)), num_cell(signed_num(x.delta_silence)),
                      num_cell(opt_num(x.freq)), num_cell(opt_num(x.freq_clean))});
    }
    s += md_table({"layer", "expert", "delta_route", "delta_silence", "freq", "freq_clean"}, rows);
  }

  // Confirmation.
  s += "## Confirmation\n\n";
  if (!d.confirm) {
    s += md_missing(missing_text(d, "confirm", "the confirmation"));
  } else {
    const auto& c = *d.confirm;
    std::vector<std::vector<std::string>> crit;
    for (const auto& [k, v] : c.criteria) crit.push_back({k, v.is_string() ? v.get<std::string>() : v.dump()});
    if (!crit.empty()) s += md_table({"criterion", "value"}, crit);
    auto counts_text = [](const confirm_counts& k) {
      const auto v = view_counts(k);
      return std::vector<std::string>{
          num_cell(k.loops && k.n ? std::to_string(*k.loops) + "/" + std::to_string(*k.n) : "–"),
          num_cell((v.rate ? rate(*v.rate) : std::string("–")) + (v.ci ? " " + interval(v.ci->lo, v.ci->hi) : ""))};
    };
    std::vector<std::vector<std::string>> rows;
    if (c.base) {
      auto r = std::vector<std::string>{"base", "–", "–"};
      for (auto& x : counts_text(*c.base)) r.push_back(std::move(x));
      for (const char* x : {"–", "–", "–", "reference", ""}) r.emplace_back(x);
      rows.push_back(std::move(r));
    }
    for (const auto& k : c.candidates) {
      const bool chosen = c.chosen && *c.chosen == k.name;
      std::vector<std::string> r = {(chosen ? "**" + k.name + "** ★" : k.name), describe_units(k.units),
                                    num_cell(opt_num(k.strength))};
      for (auto& x : counts_text(k.counts)) r.push_back(std::move(x));
      std::string reasons;
      for (const auto& x : k.reasons) reasons += (reasons.empty() ? "" : "; ") + x;
      r.push_back(num_cell(k.p_vs_base ? p_value(*k.p_vs_base) : "–"));
      r.push_back(num_cell(opt_num(k.kl)));
      r.push_back(num_cell(k.ppl_delta ? signed_num(*k.ppl_delta) : "–"));
      r.push_back(k.verdict.empty() ? "–" : k.verdict);
      r.push_back(reasons);
      rows.push_back(std::move(r));
    }
    s += md_table({"candidate", "units", "strength", "loops", "rate [95% CI]", "p vs base", "KL", "ppl delta",
                   "verdict", "reasons"},
                  rows);
    s += c.chosen ? "Chosen: **" + md_text(*c.chosen) + "**.\n\n" : "No candidate passed: nothing was chosen.\n\n";
  }

  // Loop rates per probe, phenotypes.
  s += "## Loop rates per probe\n\n";
  if (!loops) {
    s += md_missing(missing_text(d, "eval_base", "the base evaluation"));
    s += md_missing(missing_text(d, "confirm_records", "the confirmation records"));
  } else {
    if (!d.base_records) s += md_missing(missing_text(d, "eval_base", "the base evaluation"));
    if (!d.confirm_records) s += md_missing(missing_text(d, "confirm_records", "the confirmation records"));
    const std::string after_name = loops->after.empty() ? std::string("after") : "after (" + loops->after + ")";
    s += "Loop rate with its Wilson 95% interval; p: Fisher's exact test (two-sided), base vs the chosen edit.\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : loops->rows) {
      rows.push_back({r.label, num_cell(r.before ? tally_text(*r.before) : "–"),
                      num_cell(r.after ? tally_text(*r.after) : "–"),
                      num_cell(r.before && r.after ? signed_num(r.after->loop_rate() - r.before->loop_rate(), 3) : "–"),
                      num_cell(r.fisher ? p_value(r.fisher->p_two_sided) : "–")});
    }
    s += md_table({"probe", "before (" + loops->before + ")", after_name, "difference", "Fisher p"}, rows);
    s += "## Loop phenotypes\n\n";
    std::vector<std::vector<std::string>> ph;
    for (const auto& r : count_phenotypes(d))
      ph.push_back({r.phenotype, num_cell(std::to_string(r.before)),
                    num_cell(loops->after.empty() ? std::string("–") : std::to_string(r.after))});
    s += md_table({"phenotype", "before", after_name}, ph);
  }

  // Guard.
  s += "## Capability guard: KL, perplexity, multiple choice\n\n";
  if (!d.guard) {
    s += md_missing(missing_text(d, "guard", "the capability guard"));
  } else {
    if (d.guard->text)
      s += "### Text\n\n" + md_table({"metric", "value", "limit"},
                                     guard_rows(*d.guard->text, d,
                                                {"tokens", "windows", "kl_mean", "kl_max", "nll_base", "nll_edited",
                                                 "ppl_base", "ppl_edited", "ppl_delta", "top1_agreement"}));
    else
      s += md_missing("guard.json has no text evaluation.");
    if (d.guard->mc)
      s += "### Multiple choice\n\n" +
           md_table({"metric", "value", "limit"}, guard_rows(*d.guard->mc, d,
                                                             {"items", "acc_base", "acc_edited", "acc_norm_base",
                                                              "acc_norm_edited", "flipped", "gold_logprob_delta"}));
    else
      s += md_missing("guard.json has no multiple-choice evaluation.");
  }

  // Plan.
  s += "## Final plan\n\n";
  if (const auto plan = report_plan(d)) {
    if (!d.plan)
      s += md_missing(missing_text(d, "plan", "the plan file") + " Shown: the plan in " + plan->second + ".");
    for (const auto& line : describe_plan(plan->first)) s += "- " + md_text(line) + "\n";
    s += "\n" + md_code(plan->first.dump(2, ' ', false, nlohmann::json::error_handler_t::replace), "json");
  } else {
    s += md_missing(missing_text(d, "plan", "the plan"));
  }

  // Reproduce.
  s += "## Reproduce\n\n";
  s += "scalpel " + md_text(m.scalpel_version.empty() ? "(version not recorded)" : m.scalpel_version) +
       " ran the surgery; report rendered by scalpel " + std::string(report_generator_version) + ".\n\n";
  if (!m.commands.empty()) {
    std::string cmds;
    for (const auto& c : m.commands) cmds += c + "\n";
    s += md_code(cmds, "sh");
  } else {
    s += md_missing("surgery.json records no commands.");
  }
  if (m.model) {
    s += md_table(
        {"model", ""},
        {{"path", m.model->path}, {"name", m.model->name}, {"arch", m.model->arch}, {"format", m.model->format}});
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : m.model->files)
      rows.push_back({f.path, num_cell(f.bytes ? std::to_string(*f.bytes) + " (" + bytes(*f.bytes) + ")" : "–"),
                      f.sha256.empty() ? "–" : f.sha256});
    if (!rows.empty()) s += md_table({"file", "bytes", "sha256"}, rows);
  }
  std::vector<std::vector<std::string>> cfg;
  for (const auto& [k, v] : flatten_config(m.config)) cfg.push_back({k, v});
  if (!cfg.empty()) s += md_table({"setting", "value"}, cfg);
  return s;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
