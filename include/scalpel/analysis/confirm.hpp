#pragma once
/// @file
/// @brief Confirmation: turn a ranked list of neurons (or experts) into candidate edits — single units and
/// cumulative top-k sets × strengths — and judge each by what the evaluation runner measured: loop rate with a
/// Wilson interval and Fisher's exact test against the base, loops on the control probes, and the capability
/// guard's KL and perplexity change on a reference text. The smallest passing edit wins (docs/surgery.md).
///
/// Strength s of a neuron candidate is the gain of its GeGLU activations: 0 = strip, −1 = sign-invert (negate),
/// −0.5 / −0.8 = partial inversion, 2 / 3 = amplification (`edit::scale`). An expert candidate masks its experts
/// from routing (`route`) or silences them (`silence`).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_stats.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/edit/plan.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

inline constexpr std::string_view confirm_format = "scalpel.confirm/1";

enum class unit_kind : std::uint8_t { neuron, expert };

/// One MLP neuron (index = neuron) or one routed expert (index = expert) of a layer.
struct edit_unit {
  std::size_t layer = 0;
  std::size_t index = 0;
  friend bool operator==(const edit_unit&, const edit_unit&) = default;
};

struct candidate {
  std::string name;  ///< an eval variant name: "top2-x-0.5", "top1-route"
  unit_kind kind = unit_kind::neuron;
  std::vector<edit_unit> units;
  double strength = 0.0;  ///< neuron gain (neurons); 0 for experts
  std::string mode;       ///< experts: "route" | "silence"; neurons: ""
  edit::plan plan;
};

/// What a candidate is judged on. Rates are over the enumeration probes' generations.
struct confirm_criteria {
  double max_loop_rate = 0.05;        ///< the loop is "removed" at or below this rate …
  double alpha = 0.05;                ///< … and the drop from the base is significant (Fisher, two-sided)
  double max_kl = 0.1;                ///< mean KL(base ‖ edited) on the reference text, nats
  double max_ppl_delta = 0.05;        ///< perplexity increase on the reference text (relative)
  std::size_t max_control_loops = 0;  ///< looping control generations allowed beyond the base's
};

struct confirm_options {
  std::vector<double> strengths = {0.0, -0.5, -0.8, -1.0, 2.0, 3.0};
  std::size_t max_units = 3;  ///< cumulative sets top-1 … top-max_units
  confirm_criteria criteria;
};

/// Loop counts of one variant: enumeration probes and control probes apart.
struct loop_counts {
  std::uint64_t loops = 0, n = 0;
  std::uint64_t control_loops = 0, control_n = 0;
};

/// Tally eval records (`scalpel.eval-record/1`) of one variant by their "category" field.
inline loop_counts count_loops(const std::vector<nlohmann::json>& records, std::string_view variant) {
  loop_counts c;
  for (const auto& r : records) {
    if (r.value("variant", std::string()) != variant) continue;
    const bool loop = r.value("looping", false);
    if (r.value("category", std::string()) == "control") {
      ++c.control_n;
      c.control_loops += loop ? 1 : 0;
    } else {
      ++c.n;
      c.loops += loop ? 1 : 0;
    }
  }
  return c;
}

struct candidate_result {
  candidate cand;
  bool evaluated = false;  ///< false: not run (a smaller edit already passed)
  loop_counts counts;
  proportion_interval ci;
  double p_vs_base = 1.0;
  std::optional<double> kl, ppl_delta;
  bool pass = false;
  std::vector<std::string> reasons;  ///< why it failed (empty when it passed)
};

namespace detail {
/// "-0.5", "0", "2": the shortest decimal form of a strength, for names.
inline std::string strength_text(double s) {
  std::string t = nlohmann::json(s).dump();
  if (t.size() > 2 && t.ends_with(".0")) t.resize(t.size() - 2);
  return t;
}
inline std::string fmt_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
}  // namespace detail

namespace detail {
/// The units grouped by layer, layers in first-seen order: [(layer, indices)].
inline std::vector<std::pair<std::size_t, std::vector<std::size_t>>> by_layer(const std::vector<edit_unit>& units) {
  std::vector<std::pair<std::size_t, std::vector<std::size_t>>> out;
  for (const auto& u : units) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == u.layer; });
    if (it == out.end()) it = out.insert(out.end(), {u.layer, {}});
    it->second.push_back(u.index);
  }
  return out;
}
}  // namespace detail

/// The plan of a neuron set at one gain: strip (0), negate (−1) or scale, one edit per layer.
inline edit::plan neuron_plan(const std::vector<edit_unit>& units, double strength) {
  edit::plan p;
  for (auto& [l, neurons] : detail::by_layer(units)) {
    if (strength == 0.0)
      p.edits.emplace_back(edit::strip{l, std::move(neurons)});
    else if (strength == -1.0)
      p.edits.emplace_back(edit::negate{l, std::move(neurons)});
    else
      p.edits.emplace_back(edit::scale{l, std::move(neurons), static_cast<float>(strength)});
  }
  return p;
}

/// The plan of an expert set: excluded from routing ("route") or silenced ("silence").
inline edit::plan expert_plan(const std::vector<edit_unit>& units, const std::string& mode) {
  edit::plan p;
  for (auto& [l, experts] : detail::by_layer(units)) {
    if (mode == "route")
      p.edits.emplace_back(edit::expert_mask{l, std::move(experts)});
    else
      p.edits.emplace_back(edit::expert_silence{l, std::move(experts)});
  }
  return p;
}

/// Candidates from a ranked unit list: for k = 1 … max_units the top-k set, at every strength (neurons) or in
/// both expert modes. Ordered by set size, then strength order. @throws errc::invalid_argument without units or
/// strengths.
inline std::vector<candidate> make_candidates(const std::vector<edit_unit>& ranked, unit_kind kind,
                                              const confirm_options& o) {
  if (ranked.empty()) fail(errc::invalid_argument, "confirmation: no ranked units to build candidates from");
  if (kind == unit_kind::neuron && o.strengths.empty()) fail(errc::invalid_argument, "confirmation: no strengths");
  for (const double s : o.strengths)
    if (!std::isfinite(s) || s == 1.0)
      fail(errc::invalid_argument,
           "confirmation: strength " + detail::strength_text(s) + " is not an edit (give finite values other than 1)");
  std::vector<candidate> out;
  const std::size_t kmax = std::min(o.max_units, ranked.size());
  for (std::size_t k = 1; k <= kmax; ++k) {
    const std::vector<edit_unit> units(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k));
    if (kind == unit_kind::neuron) {
      for (const double s : o.strengths)
        out.push_back(
            {"top" + std::to_string(k) + "-x" + detail::strength_text(s), kind, units, s, "", neuron_plan(units, s)});
    } else {
      for (const char* mode : {"route", "silence"})
        out.push_back({"top" + std::to_string(k) + "-" + mode, kind, units, 0.0, mode, expert_plan(units, mode)});
    }
  }
  return out;
}

/// Judge a candidate's measurements against the base (fills ci, p_vs_base, pass, reasons).
inline void judge(candidate_result& r, const loop_counts& base, const confirm_criteria& c) {
  r.reasons.clear();
  const auto& k = r.counts;
  r.ci = wilson_interval(k.loops, k.n);
  r.p_vs_base = fisher_exact(base.loops, base.n - base.loops, k.loops, k.n - k.loops).p_two_sided;
  const double rate = k.n ? static_cast<double>(k.loops) / static_cast<double>(k.n) : 1.0;
  const double base_rate = base.n ? static_cast<double>(base.loops) / static_cast<double>(base.n) : 0.0;
  if (k.n == 0) r.reasons.push_back("no enumeration generations");
  if (rate > c.max_loop_rate)
    r.reasons.push_back("loop rate " + detail::fmt_num(rate) + " > " + detail::fmt_num(c.max_loop_rate));
  if (!(rate < base_rate && r.p_vs_base < c.alpha))
    r.reasons.push_back("no significant drop from the base (" + detail::fmt_num(base_rate) + " -> " +
                        detail::fmt_num(rate) + ", p " + detail::fmt_num(r.p_vs_base) + ")");
  if (k.control_loops > base.control_loops + c.max_control_loops)
    r.reasons.push_back("control probes loop " + std::to_string(k.control_loops) + "/" + std::to_string(k.control_n) +
                        " (base " + std::to_string(base.control_loops) + ")");
  if (r.kl && *r.kl > c.max_kl) r.reasons.push_back("KL " + detail::fmt_num(*r.kl) + " > " + detail::fmt_num(c.max_kl));
  if (r.ppl_delta && *r.ppl_delta > c.max_ppl_delta)
    r.reasons.push_back("perplexity +" + detail::fmt_num(100.0 * *r.ppl_delta) + "% > +" +
                        detail::fmt_num(100.0 * c.max_ppl_delta) + "%");
  r.pass = r.reasons.empty();
}

/// The chosen candidate: among the passing ones with the fewest units, the one with the smallest KL (then the
/// lowest loop rate, then list order). nullopt when none passed.
inline std::optional<std::size_t> choose(const std::vector<candidate_result>& rs) {
  std::optional<std::size_t> best;
  auto key = [&](const candidate_result& r) {
    const double rate = r.counts.n ? static_cast<double>(r.counts.loops) / static_cast<double>(r.counts.n) : 1.0;
    return std::tuple(r.cand.units.size(), r.kl.value_or(0.0), rate);
  };
  for (std::size_t i = 0; i < rs.size(); ++i)
    if (rs[i].evaluated && rs[i].pass && (!best || key(rs[i]) < key(rs[*best]))) best = i;
  return best;
}

inline nlohmann::json to_json(const loop_counts& b) {
  const double rate = b.n ? static_cast<double>(b.loops) / static_cast<double>(b.n) : 0.0;
  const auto ci = wilson_interval(b.loops, b.n);
  return {
      {"loops", b.loops},        {"n", b.n}, {"rate", rate}, {"ci", {ci.lo, ci.hi}}, {"control_loops", b.control_loops},
      {"control_n", b.control_n}};
}

/// confirm.json (docs/surgery.md).
inline nlohmann::json confirm_to_json(const loop_counts& base, const confirm_options& o,
                                      const std::vector<candidate_result>& rs, std::optional<std::size_t> chosen) {
  nlohmann::json cands = nlohmann::json::array();
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  for (const auto& r : rs) {
    nlohmann::json units = nlohmann::json::array();
    for (const auto& u : r.cand.units)
      units.push_back({{"layer", u.layer}, {r.cand.kind == unit_kind::neuron ? "neuron" : "expert", u.index}});
    nlohmann::json j = {{"name", r.cand.name},         {"kind", r.cand.kind == unit_kind::neuron ? "neuron" : "expert"},
                        {"units", std::move(units)},   {"size", r.cand.units.size()},
                        {"strength", r.cand.strength}, {"plan", r.cand.plan.to_json()},
                        {"evaluated", r.evaluated}};
    if (!r.cand.mode.empty()) j["mode"] = r.cand.mode;
    if (r.evaluated) {
      const auto c = to_json(r.counts);
      for (const auto& [key, v] : c.items()) j[key] = v;
      j["ci"] = {r.ci.lo, r.ci.hi};
      j["p_vs_base"] = r.p_vs_base;
      j["kl"] = opt(r.kl);
      j["ppl_delta"] = opt(r.ppl_delta);
      j["verdict"] = r.pass ? "pass" : "fail";
      j["reasons"] = r.reasons;
    } else {
      j["verdict"] = "not_run";
      j["reasons"] = {"a smaller edit passed first"};
    }
    cands.push_back(std::move(j));
  }
  const auto& c = o.criteria;
  return {{"format", std::string(confirm_format)},
          {"base", to_json(base)},
          {"strengths", o.strengths},
          {"max_units", o.max_units},
          {"criteria",
           {{"max_loop_rate", c.max_loop_rate},
            {"alpha", c.alpha},
            {"max_kl", c.max_kl},
            {"max_ppl_delta", c.max_ppl_delta},
            {"max_control_loops", c.max_control_loops}}},
          {"candidates", std::move(cands)},
          {"chosen", chosen ? nlohmann::json(rs[*chosen].cand.name) : nlohmann::json(nullptr)}};
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
