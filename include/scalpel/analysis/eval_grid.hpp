#pragma once
/// @file
/// @brief The cells of an evaluation grid, their stable keys, and the deterministic split into shards.
///
/// A **cell** is one point of the grid: model × variant × probe × wording × thinking × budget × sampler. Each
/// cell runs once per seed; one (cell, seed) pair is a **task** and produces one JSONL record. Cells are
/// enumerated in config order with the model outermost and the sampler innermost, so the cells that share a
/// prompt prefill (same model, variant, probe, wording, thinking) are adjacent.
///
/// Keys are stable, readable strings built from names (never from positions in a list):
/// ```
///   cell:   e2b|base|iau_constellations|w0|think-off|1536|default
///   record: e2b|base|iau_constellations|w0|think-off|1536|default|seed=7
/// ```
/// Sharding (`--shard i/n`): the tasks, sorted by (cell order, seed order), are dealt round-robin — shard i gets
/// tasks i, i+n, i+2n, … — so every shard gets an equal share of every cell (even a one-cell grid scales to n
/// machines) and the union of shards 0..n−1 is exactly the unsharded task list.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/analysis/eval_config.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/generate/chat.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// One cell, as indices into the config's lists.
struct eval_cell {
  std::size_t model = 0;
  std::size_t variant = 0;
  std::size_t probe = 0;
  std::size_t wording = 0;  ///< index into the probe's wordings (not into eval_probe::wordings)
  bool thinking = false;
  std::size_t budget = 0;
  std::size_t sampler = 0;

  /// Whether two cells share the prompt prefill (same model, variant, probe, wording and thinking).
  [[nodiscard]] bool same_prefill(const eval_cell& o) const noexcept {
    return model == o.model && variant == o.variant && probe == o.probe && wording == o.wording &&
           thinking == o.thinking;
  }
};

/// Every cell of the grid, in the canonical order (model, variant, probe, wording, thinking, budget, sampler).
inline std::vector<eval_cell> enumerate_cells(const eval_config& c) {
  std::vector<eval_cell> out;
  for (std::size_t m = 0; m < c.models.size(); ++m)
    for (std::size_t v = 0; v < c.variants.size(); ++v)
      for (std::size_t p = 0; p < c.probes.size(); ++p)
        for (const std::size_t w : c.probes[p].wordings)
          for (const bool t : c.thinking)
            for (std::size_t b = 0; b < c.budgets.size(); ++b)
              for (std::size_t s = 0; s < c.samplers.size(); ++s) out.push_back({m, v, p, w, t, b, s});
  return out;
}

/// The stable key of a cell: `model|variant|probe|w<wording>|think-on|think-off|budget|sampler`.
inline std::string cell_key(const eval_config& c, const eval_cell& cell) {
  return c.models.at(cell.model).name + "|" + c.variants.at(cell.variant).name + "|" + c.probes.at(cell.probe).p.id +
         "|w" + std::to_string(cell.wording) + "|" + (cell.thinking ? "think-on" : "think-off") + "|" +
         c.budgets.at(cell.budget).name + "|" + c.samplers.at(cell.sampler).name;
}

/// The stable key of a record: the cell key, then `|seed=<seed>`.
inline std::string record_key(std::string_view cell, std::uint64_t seed) {
  return std::string(cell) + "|seed=" + std::to_string(seed);
}

/// `--shard i/n`: this process runs shard `index` of `count`.
struct shard_spec {
  std::size_t index = 0;
  std::size_t count = 1;
};

/// Parse "i/n" (0 ≤ i < n ≤ 100000). @throws scalpel::error (invalid_argument).
inline shard_spec parse_shard(std::string_view s) {
  const auto slash = s.find('/');
  shard_spec r;
  auto num = [&](std::string_view t, std::size_t& out) {
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc{} && p == t.data() + t.size();
  };
  if (slash == std::string_view::npos || !num(s.substr(0, slash), r.index) || !num(s.substr(slash + 1), r.count) ||
      r.count == 0 || r.count > 100000 || r.index >= r.count) {
    fail(errc::invalid_argument, "shard '" + std::string(s) + "': expected i/n with 0 <= i < n (e.g. 0/4 ... 3/4)");
  }
  return r;
}

/// One generation to run: a cell and a seed.
struct eval_task {
  std::size_t cell = 0;  ///< index into the cell list
  std::uint64_t seed = 0;
  std::string key;  ///< record key
};

/// The tasks of one shard: every (cell, seed) in (cell order, seed order), dealt round-robin.
inline std::vector<eval_task> plan_tasks(const eval_config& c, const std::vector<eval_cell>& cells,
                                         shard_spec shard = {}) {
  if (shard.count == 0 || shard.index >= shard.count)
    fail(errc::invalid_argument,
         "plan_tasks: bad shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count));
  std::vector<eval_task> out;
  std::size_t i = 0;
  for (std::size_t k = 0; k < cells.size(); ++k) {
    const std::string ck = cell_key(c, cells[k]);
    for (const std::uint64_t seed : c.seeds) {
      if (i++ % shard.count == shard.index) out.push_back({k, seed, record_key(ck, seed)});
    }
  }
  return out;
}

/// The chat family used for a model variant name (`model::variant_name`): the config's, else the model's
/// (26B/31B large, others small).
inline gen::chat_family eval_chat_family(const eval_config& c, std::string_view model_variant) {
  if (c.family) return *c.family;
  return gen::family_from_variant(model_variant).value_or(gen::chat_family::small);
}

/// The rendered prompt text of a cell: the wording as one user turn (after the optional system prompt), Gemma 4
/// chat format, generation prompt appended, thinking per the cell.
inline std::string eval_prompt_text(const eval_config& c, const eval_cell& cell, gen::chat_family family) {
  std::vector<gen::chat_message> conv;
  if (!c.system.empty()) conv.push_back({gen::chat_role::system, c.system});
  conv.push_back({gen::chat_role::user, c.probes.at(cell.probe).p.wordings.at(cell.wording)});
  gen::chat_options o;
  o.thinking = cell.thinking;
  o.family = family;
  o.think_newline = c.think_newline;
  return gen::render_chat(conv, o);
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
