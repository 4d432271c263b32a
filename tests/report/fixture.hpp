#pragma once
// A realistic `scalpel surgery` output directory for the report tests: a finished run on an E2B-like model with
// four probes (one whose name needs escaping), a base evaluation and a confirmation written through the project's
// own JSONL writer (analysis::eval_output), a layer sweep, neuron and expert attribution, three candidates (one
// chosen), a capability guard and the plan.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_grid.hpp"
#include "scalpel/analysis/eval_record.hpp"

namespace report_fixture {

namespace fs = std::filesystem;
using nlohmann::json;

/// The probe whose name must be escaped in HTML and Markdown.
inline const std::string nasty_probe = "<script>alert(1)</script> & co";

inline void write_text(const fs::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}
inline void write_json(const fs::path& p, const json& j) { write_text(p, j.dump(2) + "\n"); }

/// One eval record (the fields check_eval_record requires and the report reads).
inline json eval_record(const std::string& variant, const std::string& probe, std::uint64_t seed, bool looping,
                        const std::string& phenotype) {
  const std::string cell = "e2b|" + variant + "|" + probe + "|w0|think-off|1536|default";
  const std::string outcome = !looping ? "natural_end" : phenotype == "list_collapse" ? "list_collapse" : "token_loop";
  return {{"format", "scalpel.eval-record/1"},
          {"key", scalpel::analysis::record_key(cell, seed)},
          {"cell", cell},
          {"config_hash", "0123456789abcdef"},
          {"model", "e2b"},
          {"variant", variant},
          {"probe", probe},
          {"category", probe == "capitals" ? "control" : "enumeration"},
          {"wording", 0},
          {"prompt", "List them all."},
          {"thinking", false},
          {"budget", "1536"},
          {"max_tokens", 1536},
          {"thinking_budget", -1},
          {"sampler", "default"},
          {"seed", seed},
          {"ids", {2, 17, 17, 17}},
          {"tokens", looping ? 1536 : 412},
          {"text", "Andromeda\nAntlia\n"},
          {"stop_reason", looping ? "max_tokens" : "eos"},
          {"looping", looping},
          {"outcome", outcome},
          {"loop",
           {{"looping", looping},
            {"phenotype", looping ? phenotype : "none"},
            {"outcome", outcome},
            {"onset_token", looping ? 300 : -1},
            {"period_tokens", looping ? 7 : 0},
            {"repeats", looping ? 31 : 0}}},
          {"list_score", {{"coverage", looping ? 0.4 : 0.95}, {"correctness", 0.9}, {"duplicates", looping ? 12 : 0}}},
          {"timing", {{"prefill_s", 0.5}, {"decode_s", 12.0}, {"decode_tok_s", 30.0}}}};
}

/// (probe, seeds, loops before, loops with the chosen candidate, loops with the rejected candidate).
struct probe_plan {
  std::string probe;
  std::uint64_t seeds, loops_base, loops_chosen, loops_weak;
};
inline const std::vector<probe_plan>& probe_plans() {
  static const std::vector<probe_plan> p = {{"iau_constellations", 16, 15, 0, 6},
                                            {"months", 16, 12, 1, 5},
                                            {nasty_probe, 8, 4, 0, 2},
                                            {"capitals", 8, 0, 0, 0}};
  return p;
}

/// Append the records of one variant; looping records alternate list_collapse / token_period phenotypes
/// (the chosen candidate's rare loops are "ngram").
inline void append_variant(scalpel::analysis::eval_output& out, const std::string& variant) {
  for (const auto& p : probe_plans()) {
    const std::uint64_t loops = variant == "base"       ? p.loops_base
                                : variant == "top1-x-1" ? p.loops_chosen
                                                        : p.loops_weak;
    for (std::uint64_t s = 0; s < p.seeds; ++s) {
      const bool looping = s < loops;
      const std::string ph = variant == "top1-x-1" ? "ngram" : s % 2 == 0 ? "list_collapse" : "token_period";
      out.append(eval_record(variant, p.probe, s, looping, ph));
    }
  }
}

inline json chosen_plan() {
  return {{"format", "scalpel.edit-plan/1"},
          {"base", {{"model", "google/gemma-4-E2B-it"}}},
          {"edits", {{{"op", "scale"}, {"layer", 5}, {"neurons", {1234}}, {"factor", -1.0}}}}};
}

inline json surgery_manifest(const std::string& status = "done") {
  return {{"format", "scalpel.surgery/1"},
          {"status", status},
          {"error", nullptr},
          {"model",
           {{"path", "/models/gemma-4-E2B-it"},
            {"name", "gemma-4-E2B-it"},
            {"arch", "e2b"},
            {"format", "hf"},
            {"files",
             {{{"path", "model.safetensors"},
               {"bytes", 10246773248ULL},
               {"sha256", "9f2c4e1b7a0d3c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f"}},
              {{"path", "config.json"},
               {"bytes", 4512},
               {"sha256", "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"}}}}}},
          {"scalpel_version", "0.1.0"},
          {"commands", {"scalpel surgery --model /models/gemma-4-E2B-it --probes enumeration --out run-e2b"}},
          {"config",
           {{"probes", "enumeration"},
            {"seeds", 16},
            {"threads", 16},
            {"attribute", {{"top", 12}, {"exact", 6}}},
            {"criteria", {{"max_loop_rate", 0.05}, {"max_kl", 0.1}}}}},
          {"stages",
           {{{"name", "eval_base"}, {"status", "done"}, {"seconds", 812.5}, {"note", "48 generations"}},
            {{"name", "bank"}, {"status", "done"}, {"seconds", 3.2}, {"note", "3 items"}},
            {{"name", "sweep"}, {"status", "done"}, {"seconds", 41.0}, {"note", ""}},
            {{"name", "attribute"}, {"status", "done"}, {"seconds", 95.25}, {"note", ""}},
            {{"name", "confirm"}, {"status", "done"}, {"seconds", 2410.0}, {"note", "3 candidates"}},
            {{"name", "guard"}, {"status", "done"}, {"seconds", 120.0}, {"note", ""}},
            {{"name", "write"}, {"status", "done"}, {"seconds", 9.0}, {"note", ""}}}},
          {"files",
           {{"eval_base", "eval-base.jsonl"},
            {"bank", "bank.json"},
            {"sweep", "sweep.json"},
            {"attribution", "attribution.json"},
            {"experts", "experts.json"},
            {"confirm", "confirm.json"},
            {"confirm_records", "confirm.jsonl"},
            {"guard", "guard.json"},
            {"plan", "plan.json"},
            {"edited_model", "model"}}},
          {"result",
           {{"loop_rate_before", 0.6458},
            {"loop_rate_after", 0.0208},
            {"chosen", "top1-x-1"},
            {"summary", "Negating neuron 1234 of layer 5 stops the loops."}}},
          {"unknown_extra_field", {{"ignored", true}}}};
}

/// Layer sweep: 8 layers, layer 5 most negative (-2.5).
inline json sweep_json() {
  const double deltas[] = {0.12, -0.31, 0.05, -0.8, 0.4, -2.5, -0.02, 0.9};
  json layers = json::array();
  for (int l = 0; l < 8; ++l)
    layers.push_back({{"layer", l},
                      {"metric", 8.17 + deltas[l]},
                      {"delta", deltas[l]},
                      {"kl", l == 7 ? json(nullptr) : json(0.01 * (l + 1))}});
  return {{"metric_base", 8.17}, {"layers", layers}, {"component", "mlp"},
          {"mode", "zero"},      {"items", 3},       {"kl_tokens", 64}};
}

/// Attribution: 12 neurons, the first 6 with exact deltas (the top one -1.75).
inline json attribution_json() {
  json neurons = json::array();
  for (int i = 0; i < 12; ++i) {
    json n = {{"layer", i < 4 ? 5 : 3},
              {"neuron", 1234 + 37 * i},
              {"score", -2.0 + 0.15 * i},
              {"score_norm", -1.9 + 0.15 * i}};
    n["exact_delta"] = i < 6 ? json(-1.75 + 0.25 * i) : json(nullptr);
    neurons.push_back(n);
  }
  return {{"metric_base", 8.17}, {"neurons", neurons}, {"items", 3}, {"neurons_scored", 98304}};
}

inline json experts_json() {
  return {{"metric_base", 8.17},
          {"experts",
           {{{"layer", 4},
             {"expert", 17},
             {"delta_route", -0.9},
             {"delta_silence", -0.7},
             {"freq", 0.8},
             {"freq_clean", 0.1}},
            {{"layer", 4},
             {"expert", 21},
             {"delta_route", -0.3},
             {"delta_silence", -0.25},
             {"freq", 0.4},
             {"freq_clean", 0.3}},
            {{"layer", 9},
             {"expert", 2},
             {"delta_route", 0.1},
             {"delta_silence", 0.05},
             {"freq", 0.2},
             {"freq_clean", 0.2}}}}};
}

inline json confirm_json() {
  auto cand = [](const std::string& name, double strength, std::uint64_t loops, const std::string& verdict,
                 json reasons) {
    json plan = chosen_plan();
    plan["edits"][0]["factor"] = strength;
    return json{{"name", name},
                {"kind", "neuron"},
                {"units", {{{"layer", 5}, {"neuron", 1234}}}},
                {"size", 1},
                {"strength", strength},
                {"plan", plan},
                {"loops", loops},
                {"n", 48},
                {"rate", static_cast<double>(loops) / 48.0},
                {"p_vs_base", loops == 1 ? 3.1e-9 : 0.0042},
                {"control_loops", 0},
                {"control_n", 8},
                {"kl", strength == -1.0 ? 0.0123 : 0.004},
                {"ppl_delta", strength == -1.0 ? 0.0021 : 0.0008},
                {"verdict", verdict},
                {"reasons", reasons}};
  };
  return {
      {"format", "scalpel.confirm/1"},
      {"base", {{"loops", 31}, {"n", 48}, {"rate", 31.0 / 48.0}, {"control_loops", 0}, {"control_n", 8}}},
      {"strengths", {0, -0.5, -1}},
      {"criteria",
       {{"max_loop_rate", 0.05}, {"alpha", 0.05}, {"max_kl", 0.1}, {"max_ppl_delta", 0.05}, {"max_control_loops", 0}}},
      {"candidates",
       {cand("top1-x-1", -1.0, 1, "pass", json::array()),
        cand("top1-x-0.5", -0.5, 13, "fail", {"loop rate 0.27 > 0.05"}),
        cand("top1-x-0", 0.0, 20, "fail", {"loop rate 0.42 > 0.05", "p 0.09 > alpha 0.05"})}},
      {"chosen", "top1-x-1"}};
}

inline json guard_json() {
  return {{"format", "scalpel.guard/1"},
          {"text",
           {{"source", "builtin"},
            {"tokens", 4096},
            {"windows", 8},
            {"kl_mean", 0.0123},
            {"kl_max", 0.087},
            {"nll_base", 2.301},
            {"nll_edited", 2.3031},
            {"ppl_base", 9.984},
            {"ppl_edited", 10.005},
            {"ppl_delta", 0.0021},
            {"top1_agreement", 0.982}}},
          {"mc",
           {{"source", "builtin"},
            {"items", 200},
            {"acc_base", 0.62},
            {"acc_edited", 0.615},
            {"acc_norm_base", 0.64},
            {"acc_norm_edited", 0.64},
            {"flipped", 3},
            {"gold_logprob_delta", -0.004}}}};
}

/// Write the whole directory (fresh) at `dir`.
inline void write_full(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir / "model");
  write_json(dir / "surgery.json", surgery_manifest());
  {
    scalpel::analysis::eval_output base((dir / "eval-base.jsonl").string());
    append_variant(base, "base");
  }
  {
    scalpel::analysis::eval_output conf((dir / "confirm.jsonl").string());
    for (const char* v : {"top1-x-1", "top1-x-0.5"}) append_variant(conf, v);
  }
  write_json(dir / "bank.json", {{"format", "scalpel.loop-bank/1"},
                                 {"metric_base", 8.17},
                                 {"items",
                                  {{{"ids", {2, 5}}, {"target", 7}, {"contrast", 8}},
                                   {{"ids", {2, 6}}, {"target", 7}, {"contrast", 9}},
                                   {{"ids", {2, 7}}, {"target", 7}, {"contrast", 10}}}}});
  write_json(dir / "sweep.json", sweep_json());
  write_json(dir / "attribution.json", attribution_json());
  write_json(dir / "experts.json", experts_json());
  write_json(dir / "confirm.json", confirm_json());
  write_json(dir / "guard.json", guard_json());
  write_json(dir / "plan.json", chosen_plan());
}

/// A run that failed after the sweep: only surgery.json and sweep.json.
inline void write_partial(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  json m = surgery_manifest("failed");
  m["error"] = "attribute: out of memory <tape> & more";
  m["files"] = {{"sweep", "sweep.json"}};
  m.erase("result");
  m["stages"] = {{{"name", "eval_base"}, {"status", "skipped"}, {"note", "--no-eval"}},
                 {{"name", "sweep"}, {"status", "done"}, {"seconds", 41.0}},
                 {{"name", "attribute"}, {"status", "failed"}, {"seconds", 3.5}, {"note", "out of memory"}},
                 {{"name", "confirm"}, {"status", "pending"}}};
  write_json(dir / "surgery.json", m);
  write_json(dir / "sweep.json", sweep_json());
}

}  // namespace report_fixture
