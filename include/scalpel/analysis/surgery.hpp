#pragma once
/// @file
/// @brief `scalpel surgery`: the study's method in one call, into one directory (docs/surgery.md).
///
///   eval_base  the base model's loop rate on the probes            eval-base.jsonl
///   bank       looping generations → teacher-forced cases          bank.json
///   sweep      per-layer MLP ablation: where the loop lives        sweep.json
///   attribute  neurons (and, for MoE, experts) of the top layers   attribution.json, experts.json
///   confirm    candidate edits evaluated, smallest passing chosen  confirm.jsonl, confirm.json
///   guard      KL / perplexity / multiple choice of the choice     guard.json
///   write      plan, edited checkpoint, report                     plan.json, model/, report.html, report.md
///
/// Resumable: every stage's output is written atomically and recorded in surgery.json; a re-run with the same
/// settings skips finished stages and continues the evaluations from their JSONL records. Shardable: with
/// `shard` i/n a process runs its share of the evaluation tasks (surgery_eval.hpp); the deterministic stages in
/// between are run by whichever process gets there (identical outputs, written atomically).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/ablation.hpp"
#include "scalpel/analysis/attribution.hpp"
#include "scalpel/analysis/bank_from_eval.hpp"
#include "scalpel/analysis/confirm.hpp"
#include "scalpel/analysis/eval_config.hpp"
#include "scalpel/analysis/expert_attribution.hpp"
#include "scalpel/analysis/guard.hpp"
#include "scalpel/analysis/localization_json.hpp"
#include "scalpel/analysis/report/surgery_report.hpp"
#include "scalpel/analysis/surgery_eval.hpp"
#include "scalpel/analysis/surgery_state.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/sha256.hpp"
#include "scalpel/edit/save.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/version.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

struct surgery_options {
  std::string model_path;
  std::string tokenizer_path;  ///< empty: the model's own
  std::filesystem::path out_dir;
  /// The evaluation grid (scalpel.eval-config/1 without "model"/"models"/"variants"/"base"): probes, seeds,
  /// budgets, samplers, chat. Probes of category "control" are the regression check.
  nlohmann::json eval = {{"format", std::string(eval_config_format)}, {"probes", "all"}};
  std::string eval_base_dir;        ///< where relative paths in `eval` are resolved
  std::size_t sweep_layers = 2;     ///< layers attributed: the most negative sweep deltas
  std::size_t attribute_top = 20;   ///< neurons listed per attribution
  std::size_t attribute_exact = 8;  ///< of those, re-scored by exact ablation (the candidates come from these)
  std::size_t max_bank_items = 64;
  confirm_options confirm;
  std::string guard_text;      ///< reference text for KL / perplexity (empty: `default_kl_text`)
  std::string mc = "builtin";  ///< multiple-choice file for the final guard: "builtin", a path, or "" (none)
  shard_spec shard;
  bool write_model = true;           ///< write the edited checkpoint (run-time-only plans never are)
  std::vector<std::string> command;  ///< the command line, recorded for the report
  /// Progress: (stage, done, total) — evaluation records, bank items, attribution steps.
  std::function<void(std::string_view, std::size_t, std::size_t)> progress;
  std::function<void(const std::string&)> log;  ///< one line per event
  std::function<bool()> keep_going;             ///< polled during generation; false = stop (resumable)
};

enum class surgery_status : std::uint8_t { done, waiting_for_shards, interrupted };

struct surgery_outcome {
  surgery_status status = surgery_status::done;
  nlohmann::json summary;  ///< surgery.json's content
};

namespace detail {

/// The settings a resumed run must match (not the shard, the progress hooks or whether the model is written).
inline nlohmann::json surgery_settings(const surgery_options& o, const std::string& model_id) {
  const auto& c = o.confirm;
  return {{"model", o.model_path},
          {"model_id", model_id},
          {"tokenizer", o.tokenizer_path},
          {"eval", o.eval},
          {"sweep_layers", o.sweep_layers},
          {"attribute_top", o.attribute_top},
          {"attribute_exact", o.attribute_exact},
          {"max_bank_items", o.max_bank_items},
          {"strengths", c.strengths},
          {"max_units", c.max_units},
          {"criteria",
           {{"max_loop_rate", c.criteria.max_loop_rate},
            {"alpha", c.criteria.alpha},
            {"max_kl", c.criteria.max_kl},
            {"max_ppl_delta", c.criteria.max_ppl_delta},
            {"max_control_loops", c.criteria.max_control_loops}}},
          {"guard_text_sha256", sha256_hex(o.guard_text)},
          {"mc", o.mc}};
}

inline nlohmann::json model_identity(const std::string& path, const model::model_files& files,
                                     const model::gemma4_model& m) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : files.input_files) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(f, ec);
    list.push_back({{"path", f}, {"bytes", ec ? 0 : bytes}, {"sha256", sha256_file(f)}});
  }
  return {{"path", path},
          {"name", default_model_name(path)},
          {"arch", std::string(model::variant_name(m.config().detect_variant()))},
          {"format", m.format() == model::checkpoint_format::gguf ? "gguf" : "hf"},
          {"files", std::move(list)}};
}

inline bool runtime_only(const edit::plan& p) {
  return std::any_of(p.edits.begin(), p.edits.end(),
                     [](const edit::any_edit& e) { return std::holds_alternative<edit::expert_mask>(e); });
}

}  // namespace detail

/// Run (or continue) the pipeline. @throws scalpel::error for bad input (model, settings, a directory holding
/// another run); the directory's surgery.json then says "failed" with the message.
inline surgery_outcome run_surgery(const surgery_options& o) {
  namespace fs = std::filesystem;
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) fail(errc::io, "cannot create '" + o.out_dir.string() + "': " + ec.message());
  for (const char* k : {"model", "models", "variants", "base"})
    if (o.eval.contains(k))
      fail(errc::invalid_argument, std::string("surgery: the evaluation settings must not contain \"") + k +
                                       "\" (the model is --model; variants are the candidates)");

  model::model_files files;
  log("loading " + o.model_path);
  const auto m = model::load_model(o.model_path, &files);
  const auto tok = io::load_tokenizer(!o.tokenizer_path.empty()      ? o.tokenizer_path
                                      : files.tokenizer_path.empty() ? m.source()
                                                                     : files.tokenizer_path);
  const std::string model_id = model_fingerprint(o.model_path);
  surgery_state st(o.out_dir, detail::surgery_settings(o, model_id));
  auto& J = st.json();
  if (!J.contains("model")) J["model"] = detail::model_identity(o.model_path, files, m);
  J["scalpel_version"] = SCALPEL_VERSION_STRING;
  if (!o.command.empty()) {
    std::string cmd;
    for (const auto& a : o.command) cmd += (cmd.empty() ? "" : " ") + a;
    auto& cmds = J["commands"];
    if (!cmds.is_array()) cmds = nlohmann::json::array();
    if (std::find(cmds.begin(), cmds.end(), cmd) == cmds.end()) cmds.push_back(cmd);
  }
  J["status"] = "running";
  J["error"] = nullptr;
  st.save();
  if (st.resumed()) log("resuming the run in " + o.out_dir.string());

  const std::string model_name = J["model"]["name"].get<std::string>();
  eval_stage_context ectx{o.out_dir, &m, &tok, o.shard, {}, o.keep_going};
  auto waiting = [&](std::string_view stage, const eval_stage_result& r) {
    J["status"] = r.cancelled ? "interrupted" : "waiting";
    st.stage(stage)["status"] = "running";
    st.stage(stage)["note"] = std::to_string(r.done) + "/" + std::to_string(r.total) + " generations done";
    st.save();
    return surgery_outcome{r.cancelled ? surgery_status::interrupted : surgery_status::waiting_for_shards, J};
  };
  auto finish = [&](const std::string& summary) {
    J["status"] = "done";
    J["result"]["summary"] = summary;
    st.save();
    log(summary);
    write_surgery_report(o.out_dir, o.out_dir / "report.html", o.out_dir / "report.md");
    return surgery_outcome{surgery_status::done, J};
  };
  io::encode_options enc;
  enc.add_bos = true;
  std::vector<std::int32_t> text_ids =
      tok.encode(o.guard_text.empty() ? std::string(default_kl_text) : o.guard_text, enc);
  if (text_ids.size() > m.config().max_position_embeddings) text_ids.resize(m.config().max_position_embeddings);

  try {
    // --- eval_base -------------------------------------------------------------------------------------------
    nlohmann::json base_json = o.eval;
    base_json["model"] = {{"path", o.model_path}, {"name", model_name}, {"id", model_id}};
    const eval_config base_cfg = parse_eval_config(base_json, "surgery settings", o.eval_base_dir);
    const std::string base_hash = eval_config_hash(base_cfg, std::vector<std::string>{model_id});
    st.add_file("eval_base", "eval-base.jsonl");
    auto t0 = std::chrono::steady_clock::now();
    ectx.progress = [&](std::size_t d, std::size_t n) {
      if (o.progress) o.progress("eval_base", d, n);
    };
    const auto base_eval = run_eval_stage(ectx, base_cfg, base_hash, "eval-base");
    if (!base_eval.complete) return waiting("eval_base", base_eval);
    const loop_counts base_counts = count_loops(base_eval.records, "base");
    J["result"]["loop_rate_before"] =
        base_counts.n ? static_cast<double>(base_counts.loops) / static_cast<double>(base_counts.n) : 0.0;
    if (!st.finished("eval_base"))
      st.set_stage("eval_base", "done", seconds_since(t0), {"eval-base.jsonl"},
                   std::to_string(base_counts.loops) + "/" + std::to_string(base_counts.n) + " enumeration loops, " +
                       std::to_string(base_counts.control_loops) + "/" + std::to_string(base_counts.control_n) +
                       " control loops");

    // --- bank ------------------------------------------------------------------------------------------------
    st.add_file("bank", "bank.json");
    if (!st.finished("bank")) {
      t0 = std::chrono::steady_clock::now();
      bank_from_eval_options bo;
      bo.variant = "base";
      bo.max_items = o.max_bank_items;
      std::optional<probe_set> user;
      if (base_json.contains("probe_file"))
        user = load_probes(eval_detail::resolve_path(base_json["probe_file"].get<std::string>(), o.eval_base_dir));
      if (user) bo.probes = &*user;
      auto b = bank_from_eval(m, tok, base_eval.records, "eval-base.jsonl", bo);
      const std::string note = std::to_string(b.bank.items.size()) + " cases from " + std::to_string(b.looping) +
                               " looping generations (" + std::to_string(b.skipped) + " skipped)";
      if (b.bank.items.empty()) {
        st.set_stage("bank", "done", seconds_since(t0), {}, note);  // no file: a bank needs items
      } else {
        b.bank.extra["model"] = o.model_path;
        b.bank.write(st.file("bank").string());
        st.set_stage("bank", "done", seconds_since(t0), {"bank.json"}, note);
      }
    }
    loop_bank bank;
    if (std::filesystem::exists(st.file("bank"), ec)) bank = loop_bank::read(st.file("bank").string());
    if (bank.items.empty()) {
      for (const auto s : {"sweep", "attribute", "confirm", "guard", "write"})
        st.set_stage(s, "skipped", 0.0, {}, "the base model did not loop");
      J["result"]["chosen"] = nullptr;
      return finish("The base model did not loop on these probes: nothing to localize.");
    }

    // --- sweep -----------------------------------------------------------------------------------------------
    st.add_file("sweep", "sweep.json");
    if (!st.finished("sweep")) {
      t0 = std::chrono::steady_clock::now();
      sweep_options so;
      so.kl_ids = text_ids;
      so.progress = [&](std::size_t d, std::size_t n) {
        if (o.progress) o.progress("sweep", d, n);
      };
      const auto r = sweep_layers(m, bank, so);
      write_file_atomic(st.file("sweep").string(), to_json(r, so.spec, bank.items.size()).dump(2) + "\n");
      st.set_stage("sweep", "done", seconds_since(t0), {"sweep.json"});
    }
    const auto sweep = io::read_json_file(st.file("sweep").string());

    // --- attribute -------------------------------------------------------------------------------------------
    std::vector<std::pair<double, std::size_t>> by_delta;
    for (const auto& row : sweep["layers"])
      by_delta.emplace_back(row["delta"].get<double>(), row["layer"].get<std::size_t>());
    std::sort(by_delta.begin(), by_delta.end());
    std::vector<std::size_t> layers;
    for (const auto& [d, l] : by_delta)
      if (layers.size() < o.sweep_layers && (d < 0.0 || layers.empty())) layers.push_back(l);
    st.add_file("attribution", "attribution.json");
    const bool moe = std::any_of(layers.begin(), layers.end(), [&](std::size_t l) { return m.config().layers[l].moe; });
    if (moe) st.add_file("experts", "experts.json");
    if (!st.finished("attribute")) {
      t0 = std::chrono::steady_clock::now();
      attribute_options ao;
      ao.layers = layers;
      ao.top = o.attribute_top;
      ao.exact = std::min(o.attribute_exact, o.attribute_top);
      ao.progress = [&](std::string_view s, std::size_t d, std::size_t n) {
        if (o.progress) o.progress("attribute " + std::string(s), d, n);
      };
      const auto r = attribute_neurons(m, bank, ao);
      write_file_atomic(st.file("attribution").string(), to_json(r, bank.items.size()).dump(2) + "\n");
      std::vector<std::string> outs{"attribution.json"};
      if (moe) {
        expert_options eo;
        for (const auto l : layers)
          if (m.config().layers[l].moe) eo.layers.push_back(l);
        auto er = attribute_experts(m, bank, eo);
        if (er.experts.size() > o.attribute_top) er.experts.resize(o.attribute_top);
        write_file_atomic(st.file("experts").string(), to_json(er, bank.items.size()).dump(2) + "\n");
        outs.emplace_back("experts.json");
      }
      std::string note = "layers";
      for (const auto l : layers) note += " " + std::to_string(l);
      st.set_stage("attribute", "done", seconds_since(t0), outs, note);
    }

    // --- confirm ---------------------------------------------------------------------------------------------
    // Candidates: neurons whose exact zeroing lowers M, in exact order; experts likewise (MoE).
    std::vector<candidate> cands;
    {
      const auto attr = io::read_json_file(st.file("attribution").string());
      std::vector<edit_unit> ranked;
      for (const auto& n : attr["neurons"])
        if (n["exact_delta"].is_number() && n["exact_delta"].get<double>() < 0.0)
          ranked.push_back({n["layer"].get<std::size_t>(), n["neuron"].get<std::size_t>()});
      if (!ranked.empty()) cands = make_candidates(ranked, unit_kind::neuron, o.confirm);
      if (moe) {
        const auto ex = io::read_json_file(st.file("experts").string());
        std::vector<edit_unit> er;
        for (const auto& e : ex["experts"])
          if (std::min(e["delta_route"].get<double>(), e["delta_silence"].get<double>()) < 0.0)
            er.push_back({e["layer"].get<std::size_t>(), e["expert"].get<std::size_t>()});
        if (!er.empty())
          for (auto& c : make_candidates(er, unit_kind::expert, o.confirm)) cands.push_back(std::move(c));
      }
    }
    st.add_file("confirm", "confirm.json");
    st.add_file("confirm_records", "confirm.jsonl");
    std::vector<candidate_result> results;
    for (auto& c : cands) {
      candidate_result r;
      r.cand = std::move(c);
      results.push_back(std::move(r));
    }
    std::optional<std::size_t> chosen;
    if (results.empty()) {
      st.set_stage("confirm", "done", 0.0, {}, "no neuron or expert lowers the bank metric when removed");
    } else {
      t0 = std::chrono::steady_clock::now();
      nlohmann::json cj = base_json;
      cj["base"] = false;
      cj["variants"] = nlohmann::json::array();
      for (const auto& r : results) cj["variants"].push_back({{"name", r.cand.name}, {"plan", r.cand.plan.to_json()}});
      const eval_config ccfg = parse_eval_config(cj, "surgery candidates", o.eval_base_dir);
      const std::string chash = eval_config_hash(ccfg, std::vector<std::string>{model_id});
      std::size_t max_size = 0;
      for (const auto& r : results) max_size = std::max(max_size, r.cand.units.size());
      for (std::size_t k = 1; k <= max_size && !chosen; ++k) {
        ectx.progress = [&](std::size_t d, std::size_t n) {
          if (o.progress) o.progress("confirm top-" + std::to_string(k), d, n);
        };
        const auto er = run_eval_stage(ectx, ccfg, chash, "confirm", [&](const eval_cell& cell) {
          return results[cell.variant].cand.units.size() == k;
        });
        if (!er.complete) return waiting("confirm", er);
        for (auto& r : results) {
          if (r.cand.units.size() != k) continue;
          r.evaluated = true;
          r.counts = count_loops(er.records, r.cand.name);
          const guard_pair pair(m, r.cand.plan);
          const auto g = guard_text(pair, text_ids, {}, "reference text");
          r.kl = g.kl_mean;
          r.ppl_delta = g.ppl_delta;
          judge(r, base_counts, o.confirm.criteria);
          log("candidate " + r.cand.name + ": " + std::to_string(r.counts.loops) + "/" + std::to_string(r.counts.n) +
              " loops, KL " + detail::fmt_num(*r.kl) + (r.pass ? ", pass" : ", fail"));
        }
        chosen = choose(results);
        write_file_atomic(st.file("confirm").string(),
                          confirm_to_json(base_counts, o.confirm, results, chosen).dump(2) + "\n");
      }
      st.set_stage("confirm", "done", seconds_since(t0), {"confirm.json", "confirm.jsonl"},
                   chosen ? "chose " + results[*chosen].cand.name : "no candidate passed");
    }
    if (!chosen) {
      J["result"]["chosen"] = nullptr;
      st.set_stage("guard", "skipped", 0.0, {}, "no edit chosen");
      st.set_stage("write", "skipped", 0.0, {}, "no edit chosen");
      return finish("No candidate edit removed the loop without regressions (confirm.json lists why).");
    }
    const candidate_result& best = results[*chosen];
    J["result"]["chosen"] = best.cand.name;
    J["result"]["loop_rate_after"] =
        best.counts.n ? static_cast<double>(best.counts.loops) / static_cast<double>(best.counts.n) : 0.0;

    // --- guard -----------------------------------------------------------------------------------------------
    st.add_file("guard", "guard.json");
    if (!st.finished("guard")) {
      t0 = std::chrono::steady_clock::now();
      const guard_pair pair(m, best.cand.plan);
      guard_options go;
      go.progress = [&](std::size_t d, std::size_t n) {
        if (o.progress) o.progress("guard", d, n);
      };
      guard_report g;
      g.text = guard_text(pair, text_ids, go, o.guard_text.empty() ? "builtin" : "surgery reference text");
      if (!o.mc.empty()) g.mc = guard_mc(pair, tok, o.mc == "builtin" ? builtin_mc_set() : read_mc_file(o.mc), go);
      write_file_atomic(st.file("guard").string(), g.to_json().dump(2) + "\n");
      st.set_stage("guard", "done", seconds_since(t0), {"guard.json"});
    }

    // --- write -----------------------------------------------------------------------------------------------
    st.add_file("plan", "plan.json");
    if (!st.finished("write")) {
      t0 = std::chrono::steady_clock::now();
      edit::plan p = best.cand.plan;
      p.base_model = o.model_path;
      write_file_atomic(st.file("plan").string(), p.to_json().dump(2) + "\n");
      std::vector<std::string> outs{"plan.json"};
      std::string note;
      if (!o.write_model) {
        note = "edited checkpoint not written (--no-model); apply plan.json with scalpel edit";
      } else if (detail::runtime_only(p)) {
        note = "the plan masks experts from routing, which only applies at run time (--edit plan.json)";
      } else {
        const bool gguf = m.format() == model::checkpoint_format::gguf;
        const std::string name = gguf ? "model.gguf" : "model";
        auto em = model::load_model(o.model_path, &files);
        edit::save_options so;
        so.overwrite = true;
        so.log = log;
        edit::save_edited(em, files, p, (o.out_dir / name).string(), so);
        st.add_file("edited_model", name);
        outs.push_back(name);
      }
      st.set_stage("write", "done", seconds_since(t0), outs, note);
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "Loop rate %.2f -> %.2f with %s (%zu %s%s).",
                  J["result"]["loop_rate_before"].get<double>(), J["result"]["loop_rate_after"].get<double>(),
                  best.cand.name.c_str(), best.cand.units.size(),
                  best.cand.kind == unit_kind::neuron ? "neuron" : "expert", best.cand.units.size() == 1 ? "" : "s");
    return finish(buf);
  } catch (const std::exception& e) {
    J["status"] = "failed";
    J["error"] = e.what();
    st.save();
    throw;
  }
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
