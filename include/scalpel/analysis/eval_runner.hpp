#pragma once
/// @file
/// @brief Running an evaluation grid on one loaded model: for each group of tasks that share a prompt (same
/// variant, probe, wording and thinking) the prompt is rendered in the Gemma 4 chat format and prefilled once
/// (`generator::prefill`, with the variant's edit plan applied at run time by `edit::plan_hooks`); every budget ×
/// sampler × seed of the group then continues from that prefix (`generator::continue_from`, which copies the
/// cache). Each generation has a `loop_monitor` attached through the generator's `loop_check`, its answer is
/// scored with `score_list` against the probe's gold list, and the record (`make_eval_record`) goes to a
/// callback — the caller writes it out (docs/eval.md).
///
/// @code
///   const auto cells = analysis::enumerate_cells(cfg);
///   const auto tasks = analysis::plan_tasks(cfg, cells, shard);          // minus the keys already done
///   analysis::eval_callbacks cb;
///   cb.on_record = [&](const analysis::eval_task&, nlohmann::json rec) { out.append(rec); };
///   analysis::run_eval_tasks(cfg, cells, hash, /*model*/ 0, model, tokenizer, tasks, cb);
/// @endcode

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_config.hpp"
#include "scalpel/analysis/eval_grid.hpp"
#include "scalpel/analysis/eval_record.hpp"
#include "scalpel/analysis/list_score.hpp"
#include "scalpel/analysis/loop_monitor.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/generate/generate.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// What the runner reports while it works. Every member is optional.
struct eval_callbacks {
  /// A generation is about to start.
  std::function<void(const eval_task&)> on_start;
  /// After every generated token: the number generated so far in this generation. Return false to cancel: the
  /// generation in flight is dropped (no record) and the run returns with `cancelled` set.
  std::function<bool(std::size_t tokens)> on_token;
  /// A finished generation's record (`make_eval_record`). Write it out here.
  std::function<void(const eval_task&, nlohmann::json record)> on_record;
};

struct eval_run_stats {
  std::size_t records = 0;   ///< records produced
  std::size_t prefills = 0;  ///< prompt prefills (one per task group)
  bool cancelled = false;    ///< stopped by `on_token` returning false
};

/// The generation options of a cell for one seed: its sampler (seeded), its budget, the config's stop settings
/// and the model's end-of-generation ids.
inline gen::generate_options eval_generate_options(const eval_config& c, const eval_cell& cell, std::uint64_t seed,
                                                   const model::gemma4_config& mc) {
  gen::generate_options o;
  o.sampling = c.samplers.at(cell.sampler).sampling;
  o.sampling.seed = seed;
  const auto& b = c.budgets.at(cell.budget);
  o.stop.eog_ids = mc.eos_token_ids;
  o.stop.max_tokens = b.max_tokens;
  o.stop.thinking_budget = b.thinking_budget;
  o.stop.on_thinking_budget = c.on_thinking_budget;
  o.stop.ignore_eos = c.ignore_eos;
  o.stop.stop_on_loop = c.stop_on_loop;
  return o;
}

/// Run the `tasks` whose cell belongs to model `model_index` (others are skipped) on the loaded model `m`, in the
/// given order (tasks of one prefill group should be adjacent, as `plan_tasks` returns them; a group split up
/// is prefilled again). `config_hash` goes into every record. `monitor` configures the loop detectors.
/// @throws scalpel::error for a plan that does not fit the model (errc::plan), a prompt longer than the model's
/// context, or a tokenizer that does not fit the model.
inline eval_run_stats run_eval_tasks(const eval_config& c, const std::vector<eval_cell>& cells,
                                     std::string_view config_hash, std::size_t model_index,
                                     const model::gemma4_model& m, const io::tokenizer& tok,
                                     std::span<const eval_task> tasks, const eval_callbacks& cb = {},
                                     const loop_monitor_config& monitor = {}) {
  eval_run_stats stats;
  const gen::generator g(m, tok);
  const auto family = eval_chat_family(c, model::variant_name(m.config().detect_variant()));
  bool cancel = false;

  // One group: tasks [first, last) sharing a prefill, run with `hooks`.
  auto run_group = [&](std::size_t first, std::size_t last, auto& hooks) {
    const eval_cell& head = cells.at(tasks[first].cell);
    const auto prompt = tok.encode(eval_prompt_text(c, head, family));
    std::int64_t longest = 0;
    for (std::size_t i = first; i < last; ++i)
      longest = std::max(longest, c.budgets.at(cells.at(tasks[i].cell).budget).max_tokens);
    const std::size_t ctx = std::min<std::size_t>(m.config().max_position_embeddings,
                                                  prompt.size() + static_cast<std::size_t>(longest) + 2);
    const gen::prefix pre = g.prefill(prompt, std::max(ctx, prompt.size() + 1), hooks);
    ++stats.prefills;
    const probe& pr = c.probes.at(head.probe).p;
    for (std::size_t i = first; i < last && !cancel; ++i) {
      const eval_task& t = tasks[i];
      const eval_cell& cell = cells.at(t.cell);
      if (cb.on_start) cb.on_start(t);
      const auto opt = eval_generate_options(c, cell, t.seed, m.config());
      loop_monitor mon(monitor);
      const gen::loop_check lc = [&mon](std::int32_t id, std::string_view piece) { return mon.push(id, piece); };
      const gen::stream_callback on_tok = [&](const gen::token_event& ev) {
        if (cb.on_token && !cb.on_token(ev.index + 1)) cancel = true;
        return !cancel;
      };
      const gen::generation r = g.continue_from(pre, opt, hooks, on_tok, lc);
      if (r.reason == gen::stop_reason::cancelled) break;  // incomplete: no record
      const loop_report rep = mon.finish(parse_stop_reason(gen::stop_reason_name(r.reason)));
      const list_score score = score_list(r.text, pr.gold);
      auto rec = make_eval_record(c, cell, config_hash, t.seed, prompt, r, rep, score);
      ++stats.records;
      if (cb.on_record) cb.on_record(t, std::move(rec));
    }
  };

  // Check every plan against this model before generating anything.
  for (const auto& v : c.variants)
    if (v.plan) edit::validate(*v.plan, m.config());

  std::size_t i = 0;
  while (i < tasks.size() && !cancel) {
    if (cells.at(tasks[i].cell).model != model_index) {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < tasks.size() && cells.at(tasks[j].cell).same_prefill(cells.at(tasks[i].cell))) ++j;
    const eval_variant& v = c.variants.at(cells.at(tasks[i].cell).variant);
    if (v.plan) {
      edit::plan_hooks hooks(*v.plan, m.config());
      run_group(i, j, hooks);
    } else {
      model::no_hooks hooks;
      run_group(i, j, hooks);
    }
    i = j;
  }
  stats.cancelled = cancel;
  return stats;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
