#pragma once
/// @file
/// @brief The surgery report as one self-contained HTML file (docs/report.md): inline CSS and inline SVG charts
/// (svg_chart.hpp), no external resource of any kind. The only script is a self-check that runs in the browser and
/// records on the `<html>` element how many charts and bars were laid out with a non-zero size
/// (`data-charts-rendered`, `data-bars-ok` out of `data-charts-expected`), how many load errors happened
/// (`data-errors`) and how many resources were fetched (`data-resources`; 0 for a self-contained page).

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/report/report_model.hpp"
#include "scalpel/analysis/report/surgery_dir.hpp"
#include "scalpel/analysis/report/svg_chart.hpp"
#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Rows shown at most in the attribution / expert tables, and bars in their charts.
inline constexpr std::size_t report_table_rows = 100;
inline constexpr std::size_t report_chart_bars = 40;

namespace report_detail {

inline constexpr std::string_view report_css = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1160px;padding:0 20px 40px;
color:#222;line-height:1.4}
h1{margin:20px 0 4px}h2{border-bottom:2px solid #4477aa;padding-bottom:2px;margin-top:32px}
nav a{margin-right:12px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.hl td{background:#fdecea}tr.chosen td{background:#e6f4ea;font-weight:600}
.badge{display:inline-block;padding:1px 9px;border-radius:9px;color:#fff;font-weight:600;font-size:13px}
.badge.done{background:#228833}.badge.running{background:#ccbb44;color:#222}.badge.failed{background:#cc3311}
.badge.other{background:#777}.pass{color:#228833;font-weight:600}.fail{color:#cc3311;font-weight:600}
.missing{color:#8a4b00;background:#fff6e5;border-left:4px solid #ee7733;padding:4px 10px;margin:6px 0}
.error{color:#fff;background:#cc3311;padding:6px 10px;border-radius:4px}
.big{font-size:22px;font-weight:700}svg.chart{max-width:100%;height:auto;display:block;margin:8px 0}
pre{background:#f6f8fa;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
code{font-size:12px}.muted{color:#666}
)";

/// Records load errors from the start (capture phase catches failed images, styles, fonts).
inline constexpr std::string_view report_head_script =
    "window.scalpelReportErrors=[];addEventListener('error',function(e){var t=e.target;"
    "scalpelReportErrors.push(String(e.message||(t&&(t.src||t.href))||'load error'));},true);";

/// Counts laid-out charts and bars; run at the end of the body and again on `load`.
inline constexpr std::string_view report_check_script =
    "(function(){function check(){var charts=document.querySelectorAll('svg.chart'),shown=0,ok=0;"
    "for(var i=0;i<charts.length;i++){var b=charts[i].getBBox();if(b.width>0&&b.height>0)shown++;"
    "var bars=charts[i].querySelectorAll('rect.bar'),n=0;for(var k=0;k<bars.length;k++){var r=bars[k].getBBox();"
    "if(r.width>0&&r.height>0)n++;}if(String(n)===charts[i].getAttribute('data-bars')&&n>0)ok++;}"
    "var d=document.documentElement.dataset;d.chartsExpected=charts.length;d.chartsRendered=shown;d.barsOk=ok;"
    "d.errors=scalpelReportErrors.length;d.errorList=scalpelReportErrors.join(' | ');"
    "d.resources=performance.getEntriesByType('resource').length;d.selfCheck=document.readyState;}"
    "check();addEventListener('load',check);})();";

/// Builds the HTML text.
class html_out {
 public:
  void raw(std::string_view s) { out_ += s; }
  void text(std::string_view s) { out_ += html_escape(s); }
  void tag(std::string_view name, std::string_view content, std::string_view attrs = {}) {
    out_ += "<" + std::string(name) + (attrs.empty() ? "" : " " + std::string(attrs)) + ">" + html_escape(content) +
            "</" + std::string(name) + ">\n";
  }
  void missing(std::string_view message) { tag("p", message, "class=\"missing\""); }
  /// A table: header cells, then rows; a cell starting with '\x01' is right-aligned (numeric).
  void table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
             const std::vector<std::string>& row_classes = {}) {
    out_ += "<table>\n";
    if (std::any_of(head.begin(), head.end(), [](const std::string& x) { return !x.empty(); })) {
      out_ += "<tr>";
      for (const auto& x : head) out_ += "<th>" + html_escape(x) + "</th>";
      out_ += "</tr>\n";
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::string cls = i < row_classes.size() ? row_classes[i] : std::string();
      out_ += cls.empty() ? "<tr>" : "<tr class=\"" + cls + "\">";
      for (const auto& c : rows[i]) {
        if (!c.empty() && c[0] == '\x01')
          out_ += "<td class=\"num\">" + html_escape(std::string_view(c).substr(1)) + "</td>";
        else
          out_ += "<td>" + html_escape(c) + "</td>";
      }
      out_ += "</tr>\n";
    }
    out_ += "</table>\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// A right-aligned (numeric) table cell.
inline std::string num_cell(std::string s) { return "\x01" + std::move(s); }

/// A piece's path for display: relative to the directory when it lies inside it.
inline std::string display_path(const surgery_dir_data& d, const std::string& key) {
  const auto it = d.paths.find(key);
  if (it == d.paths.end()) return {};
  const auto rel = std::filesystem::path(it->second).lexically_relative(d.dir);
  return rel.empty() || *rel.begin() == ".." ? it->second : rel.string();
}

/// "Missing: the layer sweep (sweep.json): not produced (stage sweep: pending)."
inline std::string missing_text(const surgery_dir_data& d, std::string_view piece, std::string_view what) {
  const auto* m = d.missing_note(piece);
  const std::string file = m ? std::filesystem::path(m->file).filename().string() : std::string(piece);
  return "Missing: " + std::string(what) + " (" + file + "): " + (m ? m->why : std::string("not available")) + ".";
}

inline std::string status_class(std::string_view s) {
  return s == "done" || s == "running" || s == "failed" ? std::string(s) : std::string("other");
}

inline std::optional<double> criterion(const surgery_dir_data& d, std::string_view key) {
  if (!d.confirm) return std::nullopt;
  for (const auto& [k, v] : d.confirm->criteria)
    if (k == key && v.is_number()) return v.get<double>();
  return std::nullopt;
}

/// Loop rates before and after: surgery.json's result, else confirm.json, else the records.
inline std::pair<std::optional<double>, std::optional<double>> headline_rates(const surgery_dir_data& d,
                                                                              const std::optional<report_loops>& l) {
  std::optional<double> before, after;
  if (d.manifest.result) {
    before = d.manifest.result->loop_rate_before;
    after = d.manifest.result->loop_rate_after;
  }
  if (!before && d.confirm && d.confirm->base) before = view_counts(*d.confirm->base).rate;
  if (!after)
    if (const auto* c = report_chosen_candidate(d)) after = view_counts(c->counts).rate;
  if (l) {
    const auto [b, a] = total_tallies(*l);
    if (!before && b) before = b->loop_rate();
    if (!after && a) after = a->loop_rate();
  }
  return {before, after};
}

inline void section_summary(html_out& h, const surgery_dir_data& d, const std::optional<report_loops>& loops) {
  const auto& m = d.manifest;
  h.raw("<section id=\"summary\">\n<h2>Summary</h2>\n");
  h.raw("<p>Status: <span class=\"badge " + status_class(m.status) + "\">" + html_escape(m.status) + "</span></p>\n");
  if (m.error) h.tag("p", "Error: " + *m.error, "class=\"error\"");
  const auto [before, after] = headline_rates(d, loops);
  h.raw("<p class=\"big\">Loop rate " + html_escape(before ? rate(*before) : "?") + " &rarr; " +
        html_escape(after ? rate(*after) : "?") + "</p>\n");
  std::vector<std::vector<std::string>> facts;
  if (m.model)
    facts.push_back(
        {"model", m.model->name + (m.model->arch.empty() ? "" : " (" + m.model->arch + ", " + m.model->format + ")")});
  const std::string chosen = report_chosen(d);
  std::string chosen_text = chosen.empty() ? "none" : chosen;
  if (const auto* c = report_chosen_candidate(d))
    chosen_text += ": " + describe_units(c->units) + (c->strength ? " × " + format_number(*c->strength) : "");
  facts.push_back({"chosen edit", chosen_text});
  if (m.result && !m.result->summary.empty()) facts.push_back({"summary", m.result->summary});
  if (d.bank_items)
    facts.push_back({"loop bank", std::to_string(*d.bank_items) + " items" +
                                      (d.bank_metric_base ? ", metric " + format_number(*d.bank_metric_base) : "")});
  h.table({"", ""}, facts);
  if (!m.stages.empty()) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> classes;
    for (const auto& s : m.stages) {
      rows.push_back({s.name, s.status, num_cell(s.seconds ? seconds(*s.seconds) : "–"), s.note});
      classes.push_back(s.status == "failed" ? "hl" : "");
    }
    h.tag("h3", "Stages");
    h.table({"stage", "status", "time", "note"}, rows, classes);
  }
  if (!d.missing.empty() || !d.warnings.empty()) {
    h.tag("h3", "Missing pieces");
    h.raw("<ul class=\"missing-list\">\n");
    for (const auto& n : d.missing)
      h.tag("li", std::filesystem::path(n.file).filename().string() + " (" + n.piece + "): " + n.why);
    for (const auto& w : d.warnings) h.tag("li", w);
    h.raw("</ul>\n");
  }
  h.raw("</section>\n");
}

inline void section_sweep(html_out& h, const surgery_dir_data& d) {
  h.raw("<section id=\"sweep\">\n<h2>Layer sweep</h2>\n");
  if (!d.sweep) {
    h.missing(missing_text(d, "sweep", "the layer sweep"));
    h.raw("</section>\n");
    return;
  }
  const auto& s = *d.sweep;
  const auto hl = most_negative_layer(s);
  std::string intro = "Bank metric M0 = " + format_number(s.metric_base) + "; each layer's " +
                      (s.component.empty() ? std::string("mlp") : s.component) + " ablated (" +
                      (s.mode.empty() ? std::string("zero") : s.mode) +
                      "). Delta = M − M0: negative means the layer drives the loop.";
  if (hl)
    intro += " Most negative: layer " + std::to_string(s.layers[*hl].layer) + " (" +
             format_number(s.layers[*hl].delta) + ").";
  h.tag("p", intro);
  if (s.layers.empty()) {
    h.missing("sweep.json lists no layers.");
    h.raw("</section>\n");
    return;
  }
  bar_chart c{"sweep", "Layer sweep: delta of the loop metric per layer", "layer", "delta M", {}, {}, true};
  for (std::size_t i = 0; i < s.layers.size(); ++i)
    c.bars.push_back({std::to_string(s.layers[i].layer), {s.layers[i].delta}, hl && *hl == i});
  h.raw(render_bar_chart(c));
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> classes;
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    const auto& l = s.layers[i];
    rows.push_back({num_cell(std::to_string(l.layer)), num_cell(format_number(l.metric)), num_cell(signed_num(l.delta)),
                    num_cell(opt_num(l.kl))});
    classes.push_back(hl && *hl == i ? "hl" : "");
  }
  h.table({"layer", "metric", "delta", "KL (clean text)"}, rows, classes);
  h.raw("</section>\n");
}

inline void section_attribution(html_out& h, const surgery_dir_data& d) {
  h.raw("<section id=\"attribution\">\n<h2>Attribution</h2>\n");
  if (!d.attribution && !d.experts) {
    h.missing(missing_text(d, "attribution", "the neuron attribution"));
    h.missing(missing_text(d, "experts", "the expert attribution"));
  }
  if (d.attribution) {
    const auto& a = *d.attribution;
    h.tag("p", "Neurons ranked by how much zeroing them lowers the bank metric (M0 = " + format_number(a.metric_base) +
                   "): score = gradient × activation estimate, score_norm = through the neuron's post-norm, "
                   "exact_delta = measured by ablation. " +
                   std::to_string(a.neurons.size()) + " neurons listed.");
    bar_chart c{"attribution", "Exact delta of the top neurons (ablation)", "layer/neuron", "exact delta M", {}, {},
                true};
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < a.neurons.size(); ++i) {
      const auto& n = a.neurons[i];
      if (!n.exact_delta) continue;
      if (!best || *n.exact_delta < *a.neurons[*best].exact_delta) best = i;
    }
    for (std::size_t i = 0; i < a.neurons.size() && c.bars.size() < report_chart_bars; ++i) {
      const auto& n = a.neurons[i];
      if (!n.exact_delta) continue;
      c.bars.push_back(
          {"L" + std::to_string(n.layer) + "/N" + std::to_string(n.neuron), {*n.exact_delta}, best && *best == i});
    }
    if (!c.bars.empty())
      h.raw(render_bar_chart(c));
    else
      h.missing("No neuron has an exact delta (attribute ran without --exact).");
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> classes;
    for (std::size_t i = 0; i < a.neurons.size() && i < report_table_rows; ++i) {
      const auto& n = a.neurons[i];
      rows.push_back({num_cell(std::to_string(i + 1)), num_cell(std::to_string(n.layer)),
                      num_cell(std::to_string(n.neuron)), num_cell(format_number(n.score)),
                      num_cell(opt_num(n.score_norm)), num_cell(n.exact_delta ? signed_num(*n.exact_delta) : "–")});
      classes.push_back(best && *best == i ? "hl" : "");
    }
    h.table({"rank", "layer", "neuron", "score", "score_norm", "exact_delta"}, rows, classes);
    if (a.neurons.size() > report_table_rows)
      h.tag("p", "First " + std::to_string(report_table_rows) + " of " + std::to_string(a.neurons.size()) + " shown.",
            "class=\"muted\"");
  }
  if (d.experts) {
    const auto& e = *d.experts;
    h.tag("h3", "Experts");
    h.tag("p", "Experts ranked by the change of the bank metric (M0 = " + format_number(e.metric_base) +
                   ") when excluded from routing (route) or given scale 0 (silence); freq = how often the router picks "
                   "it at loop positions (freq_clean: elsewhere).");
    bar_chart c{
        "experts", "Expert ablation: delta of the loop metric", "layer/expert", "delta M", {"route", "silence"}, {},
        true};
    for (std::size_t i = 0; i < e.experts.size() && c.bars.size() < report_chart_bars; ++i)
      c.bars.push_back({"L" + std::to_string(e.experts[i].layer) + "/E" + std::to_string(e.experts[i].expert),
                        {e.experts[i].delta_route, e.experts[i].delta_silence},
                        false});
    if (!c.bars.empty()) h.raw(render_bar_chart(c));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < e.experts.size() && i < report_table_rows; ++i) {
      const auto& x = e.experts[i];
      rows.push_back({num_cell(std::to_string(x.layer)), num_cell(std::to_string(x.expert)),
                      num_cell(signed_num(x.delta_route)), num_cell(signed_num(x.delta_silence)),
                      num_cell(opt_num(x.freq)), num_cell(opt_num(x.freq_clean))});
    }
    h.table({"layer", "expert", "delta_route", "delta_silence", "freq", "freq_clean"}, rows);
  }
  h.raw("</section>\n");
}

/// A chart point of confirm counts: rate, interval (the rate itself when unknown), "k/n = rate".
inline interval_point candidate_point(const confirm_counts& k) {
  const auto v = view_counts(k);
  const double r = v.rate.value_or(0.0);
  std::string text = rate(r);
  if (k.loops && k.n) text = std::to_string(*k.loops) + "/" + std::to_string(*k.n) + " = " + text;
  return {r, v.ci ? v.ci->lo : r, v.ci ? v.ci->hi : r, text};
}

inline void section_confirm(html_out& h, const surgery_dir_data& d) {
  h.raw("<section id=\"confirm\">\n<h2>Confirmation</h2>\n");
  if (!d.confirm) {
    h.missing(missing_text(d, "confirm", "the confirmation"));
    h.raw("</section>\n");
    return;
  }
  const auto& c = *d.confirm;
  std::vector<std::vector<std::string>> crit;
  for (const auto& [k, v] : c.criteria) crit.push_back({k, v.is_string() ? v.get<std::string>() : v.dump()});
  if (!c.strengths.empty()) {
    std::string s;
    for (const double x : c.strengths) s += (s.empty() ? "" : ", ") + format_number(x);
    crit.push_back({"strengths tried", s});
  }
  if (!crit.empty()) h.table({"criterion", "value"}, crit);
  interval_chart ch{"candidates", "Loop rate per candidate (Wilson 95% interval)", "loop rate", {}, {}, 0.0, 1.0};
  if (c.base) {
    const auto v = view_counts(*c.base);
    if (v.rate) ch.rows.push_back({"base", {candidate_point(*c.base)}, false});
  }
  for (const auto& k : c.candidates) {
    if (ch.rows.size() > report_chart_bars) break;
    const auto v = view_counts(k.counts);
    interval_row row{k.name, {}, c.chosen && *c.chosen == k.name};
    if (v.rate) row.points.push_back(candidate_point(k.counts));
    ch.rows.push_back(std::move(row));
  }
  if (!ch.rows.empty()) h.raw(render_interval_chart(ch));
  auto counts_cells = [](const confirm_counts& k) {
    const auto v = view_counts(k);
    return std::vector<std::string>{
        num_cell(k.loops && k.n ? std::to_string(*k.loops) + "/" + std::to_string(*k.n) : "–"),
        num_cell((v.rate ? rate(*v.rate) : std::string("–")) + (v.ci ? " " + interval(v.ci->lo, v.ci->hi) : "")),
        num_cell(k.control_loops && k.control_n ? std::to_string(*k.control_loops) + "/" + std::to_string(*k.control_n)
                                                : "–")};
  };
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> classes;
  if (c.base) {
    auto r = std::vector<std::string>{"base", "", "", "", ""};
    for (auto& x : counts_cells(*c.base)) r.push_back(std::move(x));
    for (int i = 0; i < 5; ++i) r.emplace_back(i == 3 ? "reference" : "");
    rows.push_back(std::move(r));
    classes.emplace_back();
  }
  for (const auto& k : c.candidates) {
    const bool chosen = c.chosen && *c.chosen == k.name;
    std::vector<std::string> r = {(chosen ? "★ " : "") + k.name, k.kind, describe_units(k.units),
                                  num_cell(k.size ? std::to_string(*k.size) : std::to_string(k.units.size())),
                                  num_cell(opt_num(k.strength))};
    for (auto& x : counts_cells(k.counts)) r.push_back(std::move(x));
    std::string reasons;
    for (const auto& x : k.reasons) reasons += (reasons.empty() ? "" : "; ") + x;
    r.push_back(num_cell(k.p_vs_base ? p_value(*k.p_vs_base) : "–"));
    r.push_back(num_cell(opt_num(k.kl)));
    r.push_back(num_cell(k.ppl_delta ? signed_num(*k.ppl_delta) : "–"));
    r.push_back(k.verdict.empty() ? "–" : k.verdict);
    r.push_back(reasons);
    rows.push_back(std::move(r));
    classes.emplace_back(chosen ? "chosen" : "");
  }
  h.table({"candidate", "kind", "units", "size", "strength", "loops", "rate [95% CI]", "control loops", "p vs base",
           "KL", "ppl delta", "verdict", "reasons"},
          rows, classes);
  h.tag("p", c.chosen ? "Chosen: " + *c.chosen + " (★)." : "No candidate passed: nothing was chosen.");
  h.raw("</section>\n");
}

inline void section_loops(html_out& h, const surgery_dir_data& d, const std::optional<report_loops>& loops) {
  h.raw("<section id=\"loop-rates\">\n<h2>Loop rates per probe</h2>\n");
  if (!loops) {
    h.missing(missing_text(d, "eval_base", "the base evaluation"));
    h.missing(missing_text(d, "confirm_records", "the confirmation records"));
    h.raw("</section>\n");
    return;
  }
  if (!d.base_records) h.missing(missing_text(d, "eval_base", "the base evaluation"));
  if (!d.confirm_records) h.missing(missing_text(d, "confirm_records", "the confirmation records"));
  const std::string after_name = loops->after.empty() ? std::string("after") : "after (" + loops->after + ")";
  if (loops->after.empty()) h.missing("No candidate was chosen: only the base model's loop rates are shown.");
  h.tag("p",
        "A generation loops when a loop detector fired. Bars: loop rate; whiskers: Wilson 95% interval; p: "
        "Fisher's exact test (two-sided), base vs the chosen edit.");
  interval_chart ch{"loop-rates", "Loop rate before and after, per probe", "loop rate", {}, {}, 0.0, 1.0};
  ch.series = {"before (" + loops->before + ")"};
  if (!loops->after.empty()) ch.series.push_back(after_name);
  auto point = [](const std::optional<eval_tally>& t) -> std::optional<interval_point> {
    if (!t) return std::nullopt;
    const auto ci = t->ci95();
    return interval_point{t->loop_rate(), ci.lo, ci.hi,
                          std::to_string(t->loops) + "/" + std::to_string(t->n) + " = " + rate(t->loop_rate())};
  };
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> classes;
  for (const auto& r : loops->rows) {
    interval_row row{r.label, {point(r.before)}, r.total};
    if (!loops->after.empty()) row.points.push_back(point(r.after));
    ch.rows.push_back(std::move(row));
    std::string diff = "–";
    if (r.before && r.after) diff = signed_num(r.after->loop_rate() - r.before->loop_rate(), 3);
    rows.push_back({r.label, num_cell(r.before ? tally_text(*r.before) : "–"),
                    num_cell(r.after ? tally_text(*r.after) : "–"), num_cell(diff),
                    num_cell(r.fisher ? p_value(r.fisher->p_two_sided) : "–")});
    classes.emplace_back(r.total ? "chosen" : "");
  }
  h.raw(render_interval_chart(ch));
  h.table(
      {"probe", "before: loops/n = rate [95% CI]", after_name + ": loops/n = rate [95% CI]", "difference", "Fisher p"},
      rows, classes);
  // Every variant (all confirmed candidates), per probe.
  std::vector<std::vector<std::string>> all;
  for (const auto& r : loops->summary.probes) {
    if (r.at.probe == "*") continue;
    all.push_back({r.at.variant, r.at.probe, num_cell(tally_text(r.tally)), eval_detail::outcome_list(r.tally)});
  }
  h.raw("<details><summary>All variants per probe (" + std::to_string(all.size()) + " rows)</summary>\n");
  h.table({"variant", "probe", "loops/n = rate [95% CI]", "outcomes"}, all);
  h.raw("</details>\n</section>\n");
}

inline void section_phenotypes(html_out& h, const surgery_dir_data& d, const std::optional<report_loops>& loops) {
  h.raw("<section id=\"phenotypes\">\n<h2>Loop phenotypes</h2>\n");
  if (!loops) {
    h.missing("No evaluation records. " + missing_text(d, "eval_base", "the base evaluation"));
    h.raw("</section>\n");
    return;
  }
  const auto rows = count_phenotypes(d);
  const bool has_after = !loops->after.empty();
  h.tag("p", "Generations by the phenotype of the loop the detectors reported (docs/detectors.md), before and after.");
  bar_chart c{"phenotypes", "Loop phenotypes before and after", "phenotype", "generations", {"before"}, {}, true};
  if (has_after) c.series.push_back("after (" + loops->after + ")");
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    chart_bar b{r.phenotype, {static_cast<double>(r.before)}, false};
    if (has_after) b.values.push_back(static_cast<double>(r.after));
    c.bars.push_back(std::move(b));
    table.push_back({r.phenotype, num_cell(std::to_string(r.before)),
                     num_cell(has_after ? std::to_string(r.after) : std::string("–"))});
  }
  h.raw(render_bar_chart(c));
  h.table({"phenotype", "before", has_after ? "after (" + loops->after + ")" : "after"}, table);
  const auto [tb, ta] = total_tallies(*loops);
  std::vector<std::vector<std::string>> outcomes;
  for (std::size_t i = 0; i < eval_outcomes.size(); ++i) {
    const std::uint64_t b = tb ? tb->outcomes[i] : 0, a = ta ? ta->outcomes[i] : 0;
    if (b == 0 && a == 0) continue;
    outcomes.push_back({std::string(eval_outcomes[i]), num_cell(std::to_string(b)),
                        num_cell(ta ? std::to_string(a) : std::string("–"))});
  }
  h.tag("h3", "Outcomes");
  h.table({"outcome", "before", "after"}, outcomes);
  h.raw("</section>\n");
}

/// Guard metrics in a fixed order (others follow alphabetically), with the confirmation's limit where one applies.
inline std::vector<std::vector<std::string>> guard_rows(const guard_section& g, const surgery_dir_data& d,
                                                        std::initializer_list<std::string_view> order) {
  std::vector<std::vector<std::string>> rows;
  if (!g.source.empty()) rows.push_back({"source", g.source, ""});
  auto limit = [&](std::string_view key) -> std::string {
    std::optional<double> l;
    if (key == "kl_mean") l = criterion(d, "max_kl");
    if (key == "ppl_delta") l = criterion(d, "max_ppl_delta");
    return l ? "≤ " + format_number(*l) : "";
  };
  std::vector<std::string> done;
  for (const auto k : order)
    if (const auto v = g.get(k)) {
      rows.push_back({std::string(k), num_cell(format_number(*v, 6)), limit(k)});
      done.emplace_back(k);
    }
  for (const auto& [k, v] : g.values)
    if (std::find(done.begin(), done.end(), k) == done.end())
      rows.push_back({k, num_cell(format_number(v, 6)), limit(k)});
  return rows;
}

inline void section_guard(html_out& h, const surgery_dir_data& d) {
  h.raw("<section id=\"guard\">\n<h2>Capability guard: KL, perplexity, multiple choice</h2>\n");
  if (const auto* c = report_chosen_candidate(d))
    h.tag("p", "Confirmation of " + c->name + ": KL " + opt_num(c->kl) + ", perplexity delta " +
                   (c->ppl_delta ? signed_num(*c->ppl_delta) : std::string("–")) + ".");
  if (!d.guard) {
    h.missing(missing_text(d, "guard", "the capability guard"));
    h.raw("</section>\n");
    return;
  }
  h.tag("h3", "Text (KL and perplexity, edited vs base)");
  if (d.guard->text)
    h.table({"metric", "value", "limit"},
            guard_rows(*d.guard->text, d,
                       {"tokens", "windows", "kl_mean", "kl_max", "nll_base", "nll_edited", "ppl_base", "ppl_edited",
                        "ppl_delta", "top1_agreement"}));
  else
    h.missing("guard.json has no text evaluation.");
  h.tag("h3", "Multiple choice");
  if (d.guard->mc)
    h.table({"metric", "value", "limit"}, guard_rows(*d.guard->mc, d,
                                                     {"items", "acc_base", "acc_edited", "acc_norm_base",
                                                      "acc_norm_edited", "flipped", "gold_logprob_delta"}));
  else
    h.missing("guard.json has no multiple-choice evaluation.");
  h.raw("</section>\n");
}

/// The plan to show: plan.json, else the chosen candidate's plan from confirm.json.
inline std::optional<std::pair<nlohmann::json, std::string>> report_plan(const surgery_dir_data& d) {
  if (d.plan) return std::make_pair(*d.plan, std::string("the plan file"));
  if (const auto* c = report_chosen_candidate(d); c && c->plan)
    return std::make_pair(*c->plan, "confirm.json (candidate " + c->name + ")");
  return std::nullopt;
}

inline void section_plan(html_out& h, const surgery_dir_data& d) {
  h.raw("<section id=\"plan\">\n<h2>Final plan</h2>\n");
  const auto plan = report_plan(d);
  if (!plan) {
    h.missing(missing_text(d, "plan", "the plan"));
  } else {
    if (!d.plan) h.missing(missing_text(d, "plan", "the plan file") + " Shown: the plan in " + plan->second + ".");
    h.raw("<ul>\n");
    for (const auto& line : describe_plan(plan->first)) h.tag("li", line);
    h.raw("</ul>\n");
    h.tag("pre", plan->first.dump(2, ' ', false, nlohmann::json::error_handler_t::replace), "class=\"plan\"");
  }
  if (d.edited_model_present)
    h.tag("p", "Edited model: " + display_path(d, "edited_model"));
  else
    h.missing(missing_text(d, "edited_model", "the edited model"));
  h.raw("</section>\n");
}

inline void section_reproduce(html_out& h, const surgery_dir_data& d) {
  const auto& m = d.manifest;
  h.raw("<section id=\"reproduce\">\n<h2>Reproduce</h2>\n");
  h.tag("p", "scalpel " + (m.scalpel_version.empty() ? std::string("(version not recorded)") : m.scalpel_version) +
                 " ran the surgery; report rendered by scalpel " + std::string(report_generator_version) + ".");
  h.tag("h3", "Commands");
  if (m.commands.empty()) {
    h.missing("surgery.json records no commands.");
  } else {
    std::string cmds;
    for (const auto& c : m.commands) cmds += c + "\n";
    h.tag("pre", cmds, "class=\"commands\"");
  }
  h.tag("h3", "Model");
  if (!m.model) {
    h.missing("surgery.json records no model.");
  } else {
    h.table({"", ""},
            {{"path", m.model->path}, {"name", m.model->name}, {"arch", m.model->arch}, {"format", m.model->format}});
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : m.model->files)
      rows.push_back({f.path, num_cell(f.bytes ? std::to_string(*f.bytes) + " (" + bytes(*f.bytes) + ")" : "–"),
                      f.sha256.empty() ? "–" : f.sha256});
    if (!rows.empty()) h.table({"file", "bytes", "sha256"}, rows);
  }
  h.tag("h3", "Configuration");
  const auto cfg = flatten_config(m.config);
  if (cfg.empty()) {
    h.missing("surgery.json records no configuration.");
  } else {
    std::vector<std::vector<std::string>> rows;
    rows.reserve(cfg.size());
    for (const auto& [k, v] : cfg) rows.push_back({k, v});
    h.table({"setting", "value"}, rows);
  }
  h.tag("h3", "Files");
  std::vector<std::vector<std::string>> files;
  for (const auto& p : surgery_pieces) {
    const std::string key(p.key);
    files.push_back({key, display_path(d, key), d.missing_note(key) ? "missing" : "present"});
  }
  h.table({"piece", "path", ""}, files);
  h.raw("</section>\n");
}

}  // namespace report_detail

/// Render the report of a surgery directory as one self-contained HTML document.
inline std::string render_report_html(const surgery_dir_data& d) {
  using namespace report_detail;
  const auto loops = summarize_report_loops(d);
  const auto& m = d.manifest;
  const std::string name = m.model && !m.model->name.empty() ? m.model->name : std::string("model");
  html_out h;
  h.raw(
      "<!DOCTYPE html>\n<html lang=\"en\" data-report=\"scalpel.surgery-report/1\">\n<head>\n"
      "<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  h.tag("title", "scalpel surgery report: " + name);
  h.raw("<style>" + std::string(report_css) + "</style>\n<script>" + std::string(report_head_script) +
        "</script>\n</head>\n<body>\n<header>\n");
  h.tag("h1", "Surgery report: " + name);
  if (m.model) h.tag("p", m.model->path, "class=\"muted\"");
  h.raw(
      "<nav><a href=\"#summary\">Summary</a><a href=\"#sweep\">Layer sweep</a><a href=\"#attribution\">Attribution"
      "</a><a href=\"#confirm\">Confirmation</a><a href=\"#loop-rates\">Loop rates</a><a href=\"#phenotypes\">"
      "Phenotypes</a><a href=\"#guard\">KL / perplexity</a><a href=\"#plan\">Plan</a><a href=\"#reproduce\">"
      "Reproduce</a></nav>\n</header>\n");
  section_summary(h, d, loops);
  section_sweep(h, d);
  section_attribution(h, d);
  section_confirm(h, d);
  section_loops(h, d, loops);
  section_phenotypes(h, d, loops);
  section_guard(h, d);
  section_plan(h, d);
  section_reproduce(h, d);
  h.raw("<footer class=\"muted\"><p>Generated by scalpel " + std::string(report_generator_version) + " from " +
        html_escape(d.dir.string()) + ".</p></footer>\n<script>" + std::string(report_check_script) +
        "</script>\n</body>\n</html>\n");
  return h.take();
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
