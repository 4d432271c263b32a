#pragma once
/// @file
/// @brief The JSON forms of the localization results (contracts.md "Localization"): what `scalpel sweep-layers`,
/// `scalpel attribute` and `scalpel attribute-experts` print with `--json`, and what `scalpel surgery` stores as
/// sweep.json, attribution.json and experts.json. One definition, so the files and the commands cannot drift.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/ablation.hpp"
#include "scalpel/analysis/attribution.hpp"
#include "scalpel/analysis/expert_attribution.hpp"
#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

namespace detail {
inline nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace detail

/// `{"metric_base", "layers": [{"layer", "metric", "delta", "kl"}], "component", "mode", "items", "kl_tokens",
/// ["mean_positions"]}`.
inline nlohmann::json to_json(const sweep_result& r, const ablation_spec& spec, std::size_t items) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.layers)
    rows.push_back(
        {{"layer", row.layer}, {"metric", row.metric}, {"delta", row.delta}, {"kl", detail::optional_number(row.kl)}});
  nlohmann::json out = {{"metric_base", r.metric_base},
                        {"layers", std::move(rows)},
                        {"component", std::string(block_component_name(spec.component))},
                        {"mode", spec.mode_string()},
                        {"items", items},
                        {"kl_tokens", r.kl_tokens}};
  if (spec.mode == ablation_mode::mean) out["mean_positions"] = r.mean_positions;
  return out;
}

/// `{"metric_base", "neurons": [{"layer", "neuron", "score", "score_norm", "exact_delta", ["per_position"]}],
/// "items", "neurons_scored", "timing": {...}}`; `per_position` lists each neuron's terms
/// (attribute_options::per_position).
inline nlohmann::json to_json(const attribution_result& r, std::size_t items, bool per_position = false) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& s : r.neurons) {
    nlohmann::json row = {{"layer", s.layer},
                          {"neuron", s.neuron},
                          {"score", s.score},
                          {"score_norm", s.score_norm},
                          {"exact_delta", detail::optional_number(s.exact_delta)}};
    if (per_position) {
      nlohmann::json pp = nlohmann::json::array();
      for (const auto& p : s.per_position)
        pp.push_back({{"item", p.item}, {"position", p.position}, {"score", p.score}});
      row["per_position"] = std::move(pp);
    }
    rows.push_back(std::move(row));
  }
  return {{"metric_base", r.metric_base},
          {"neurons", std::move(rows)},
          {"items", items},
          {"neurons_scored", r.neurons_scored},
          {"timing",
           {{"forward_s", r.forward_seconds},
            {"gradient_s", r.gradient_seconds},
            {"exact_s", r.exact_seconds},
            {"gradient_over_forward", r.forward_seconds > 0 ? r.gradient_seconds / r.forward_seconds : 0.0},
            {"tapes_recomputed", r.recomputed}}}};
}

/// `{"metric_base", "experts": [{"layer", "expert", "delta_route", "delta_silence", "freq", "freq_clean"}],
/// "items", "loop_positions", "clean_positions", "runs"}`.
inline nlohmann::json to_json(const expert_result& r, std::size_t items) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& e : r.experts)
    rows.push_back({{"layer", e.layer},
                    {"expert", e.expert},
                    {"delta_route", e.delta_route},
                    {"delta_silence", e.delta_silence},
                    {"freq", e.freq},
                    {"freq_clean", e.freq_clean}});
  return {{"metric_base", r.metric_base},       {"experts", std::move(rows)},           {"items", items},
          {"loop_positions", r.loop_positions}, {"clean_positions", r.clean_positions}, {"runs", r.runs}};
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
