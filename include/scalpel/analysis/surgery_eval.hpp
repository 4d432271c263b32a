#pragma once
/// @file
/// @brief The evaluation stages of `scalpel surgery` (the base's loop rate, the candidates' confirmation):
/// resumable and shardable like `scalpel eval`, inside the surgery directory.
///
/// Files: an unsharded process appends to `<stem>.jsonl`; shard i of n appends to `<stem>.shard-i-of-n.jsonl`
/// (each file is locked by its one writer, `eval_output`). A task is done when its record key is in any of those
/// files. A stage is complete when every task of the grid (within the caller's filter) is done; the process that
/// sees it complete writes the union, in task order, to `<stem>.jsonl` atomically, so the directory ends up with one
/// file per stage whatever the sharding was.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_config.hpp"
#include "scalpel/analysis/eval_grid.hpp"
#include "scalpel/analysis/eval_record.hpp"
#include "scalpel/analysis/eval_runner.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// What an evaluation stage runs on and reports to.
struct eval_stage_context {
  std::filesystem::path dir;
  const model::gemma4_model* model = nullptr;
  const io::tokenizer* tokenizer = nullptr;
  shard_spec shard;
  /// (records done in this stage so far, total) after each record.
  std::function<void(std::size_t, std::size_t)> progress;
  /// After every token; return false to stop (the generation in flight leaves no record).
  std::function<bool()> keep_going;
};

struct eval_stage_result {
  bool complete = false;                ///< every task (within the filter) has a record
  bool cancelled = false;               ///< `keep_going` said stop
  std::size_t done = 0, total = 0;      ///< tasks with a record / tasks
  std::vector<nlohmann::json> records;  ///< when complete: one per task, in task order
};

namespace detail {

inline std::vector<std::filesystem::path> stage_files(const std::filesystem::path& dir, const std::string& stem) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::exists(dir / (stem + ".jsonl"), ec)) out.push_back(dir / (stem + ".jsonl"));
  const std::string prefix = stem + ".shard-";
  std::vector<std::filesystem::path> shards;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".jsonl")) shards.push_back(e.path());
  }
  std::sort(shards.begin(), shards.end());
  out.insert(out.end(), shards.begin(), shards.end());
  return out;
}

/// Every record of the stage's files, by key (the first one seen wins). Records of another configuration are an
/// error: the surgery directory's settings check should have caught a change, so this is a foreign file.
inline std::map<std::string, nlohmann::json> stage_records(const std::filesystem::path& dir, const std::string& stem,
                                                           const std::string& hash) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& f : stage_files(dir, stem)) {
    for (auto& r : read_eval_jsonl(f.string()).records) {
      const auto h = r["config_hash"].get<std::string>();
      if (h != hash)
        fail(errc::invalid_argument, f.string() + " holds records of another evaluation (config hash " + h +
                                         ", expected " + hash + "): remove it or use another output directory");
      const auto key = r["key"].get<std::string>();
      out.emplace(key, std::move(r));
    }
  }
  return out;
}

}  // namespace detail

/// Run this process's share of the tasks of `cfg` accepted by `filter` (all when empty) into the stage's files
/// under `ctx.dir`, then report whether the whole stage is complete (and if so, its records in task order, also
/// written to `<stem>.jsonl`).
inline eval_stage_result run_eval_stage(const eval_stage_context& ctx, const eval_config& cfg,
                                        const std::string& config_hash, const std::string& stem,
                                        const std::function<bool(const eval_cell&)>& filter = {}) {
  namespace fs = std::filesystem;
  const auto cells = enumerate_cells(cfg);
  std::vector<eval_task> all;
  for (auto& t : plan_tasks(cfg, cells))
    if (!filter || filter(cells[t.cell])) all.push_back(std::move(t));
  std::set<std::string> mine;
  for (const auto& t : plan_tasks(cfg, cells, ctx.shard)) mine.insert(t.key);

  auto have = detail::stage_records(ctx.dir, stem, config_hash);
  std::vector<eval_task> todo;
  std::size_t done = 0;
  for (const auto& t : all) {
    if (have.count(t.key))
      ++done;
    else if (mine.count(t.key))
      todo.push_back(t);
  }
  eval_stage_result res;
  res.total = all.size();
  if (!todo.empty()) {
    const std::string file = ctx.shard.count == 1 ? stem + ".jsonl"
                                                  : stem + ".shard-" + std::to_string(ctx.shard.index) + "-of-" +
                                                        std::to_string(ctx.shard.count) + ".jsonl";
    eval_output out((ctx.dir / file).string());
    eval_callbacks cb;
    cb.on_token = [&](std::size_t) { return !ctx.keep_going || ctx.keep_going(); };
    cb.on_record = [&](const eval_task&, const nlohmann::json& rec) {
      out.append(rec);
      if (ctx.progress) ctx.progress(++done, all.size());
    };
    const auto st = run_eval_tasks(cfg, cells, config_hash, 0, *ctx.model, *ctx.tokenizer, todo, cb);
    out.sync();
    res.cancelled = st.cancelled;
    if (st.cancelled) {
      res.done = done;
      return res;
    }
    have = detail::stage_records(ctx.dir, stem, config_hash);
  }
  res.done = 0;
  for (const auto& t : all) res.done += have.count(t.key);
  res.complete = res.done == res.total;
  if (!res.complete) return res;
  for (const auto& t : all) res.records.push_back(have.at(t.key));

  // One file per stage in the end: rewrite <stem>.jsonl when it lacks records that other files hold.
  std::error_code ec;
  const fs::path merged = ctx.dir / (stem + ".jsonl");
  std::size_t in_merged = 0;
  if (fs::exists(merged, ec)) {
    std::set<std::string> keys;
    for (const auto& r : read_eval_jsonl(merged.string()).records) keys.insert(r["key"].get<std::string>());
    for (const auto& t : all) in_merged += keys.count(t.key);
  }
  if (in_merged < all.size()) {
    // Keep records of other filters (e.g. other candidate sizes) already in the merged file.
    std::vector<nlohmann::json> keep;
    std::set<std::string> ours;
    for (const auto& t : all) ours.insert(t.key);
    if (fs::exists(merged, ec))
      for (auto& r : read_eval_jsonl(merged.string()).records)
        if (!ours.count(r["key"].get<std::string>())) keep.push_back(std::move(r));
    std::string text;
    for (const auto* list : {&keep, &res.records})
      for (const auto& r : *list) text += r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    write_file_atomic(merged.string(), text);
  }
  return res;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
