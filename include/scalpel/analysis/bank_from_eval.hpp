#pragma once
/// @file
/// @brief Loop banks from looping generations (`scalpel bank --from RUN.jsonl`): each looping eval record
/// (`scalpel.eval-record/1`, analysis/eval_record.hpp) becomes one teacher-forced case cut where the loop
/// continues.
///
/// Where the cut goes. The loop report gives `onset_token` (first generated token of the repeated region) and
/// `period_tokens` (p; when 0, the smallest p ≤ 512 with ids[onset, onset+p) = ids[onset+p, onset+2p) is used).
/// The first copy of the repeated unit may still be right (the entry that later repeats is listed once
/// legitimately); the loop *continues* at c0 = onset + p, the start of the second copy.
/// - List route (the record's probe has a gold list, found in `probes`, and the text from c0 on holds a list
///   line): the first list line whose entry text starts at or after c0 is the repeated entry; the gold items
///   already named before it are read with `parse_list_items` + `gold_index`; the next gold item is the first
///   one (in gold order) not yet named. The correct continuation text — the same line up to the entry, then that
///   item's name — is tokenized and compared with the generated tokens from the token that holds the entry's
///   first character: the cut is the first token where they differ; target = the generated token there (the
///   loop's), contrast = the correct continuation's token ("the next gold item's first token"; when both
///   entries share a first word, the first token where they part).
/// - Otherwise: cut = c0, target = the generated token there, contrast = the model's best token at that
///   position that is neither the target nor any token of the repeated unit ids[onset, c0).
/// ids = prompt_ids + generated[0, cut). Items get `source: "eval"`, `probe`, `seed`, `cell`, `onset`, `cut`,
/// `phenotype`, `route` ("list" | "model") and `m` (the item's metric).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/bank.hpp"
#include "scalpel/analysis/eval_record.hpp"
#include "scalpel/analysis/list_line.hpp"
#include "scalpel/analysis/list_score.hpp"
#include "scalpel/analysis/probes.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

struct bank_from_eval_options {
  const probe_set* probes = nullptr;    ///< where record probe ids are looked up (nullptr = the built-in suite)
  std::vector<std::string> phenotypes;  ///< loop phenotypes to bank (empty = every one except doom_loop)
  std::string model_name;               ///< only records whose "model" field equals this (empty = all)
  std::string variant;                  ///< only records whose "variant" field equals this (empty = all)
  std::size_t max_items = 0;            ///< 0 = no limit
};

struct bank_from_eval_result {
  loop_bank bank;
  std::size_t records = 0;  ///< records read
  std::size_t looping = 0;  ///< looping records that passed the filters
  std::size_t skipped = 0;  ///< looping records that gave no usable case (see `skip_reasons`)
  std::vector<std::string> skip_reasons;
};

namespace detail {

/// Smallest p with ids[onset, onset+p) == ids[onset+p, onset+2p), or 0.
inline std::size_t find_period(const std::vector<std::int32_t>& g, std::size_t onset) {
  const std::size_t n = g.size();
  for (std::size_t p = 1; p <= 512 && onset + 2 * p <= n; ++p)
    if (std::equal(g.begin() + static_cast<std::ptrdiff_t>(onset), g.begin() + static_cast<std::ptrdiff_t>(onset + p),
                   g.begin() + static_cast<std::ptrdiff_t>(onset + p)))
      return p;
  return 0;
}

struct cut_choice {
  std::size_t cut = 0;
  std::int32_t target = -1, contrast = -1;
  std::string route;
};

/// The list route of the file comment; nullopt when it does not apply.
inline std::optional<cut_choice> list_cut(const std::vector<std::int32_t>& gen, std::size_t c0, const gold_list& gold,
                                          const io::tokenizer& tok) {
  const std::size_t n = gen.size();
  // Character offset where each generated token's text starts (prefix decodes: exact for multi-byte pieces).
  std::vector<std::size_t> len(n + 1, 0);
  for (std::size_t k = 1; k <= n; ++k) len[k] = tok.decode(std::span<const std::int32_t>(gen.data(), k)).size();
  const std::string text = tok.decode(gen);
  // The first list line whose entry text starts at or after the second copy of the unit.
  std::size_t body_at = std::string::npos;
  for (std::size_t s = 0; s < text.size();) {
    const std::size_t e = std::min(text.find('\n', s), text.size());
    const std::string_view line(text.data() + s, e - s);
    if (const auto ll = parse_list_line(line)) {
      const std::size_t b = s + static_cast<std::size_t>(ll->body.data() - line.data());
      if (b >= len[c0] && !ll->body.empty()) {
        body_at = b;
        break;
      }
    }
    s = e + 1;
  }
  if (body_at == std::string::npos) return std::nullopt;
  // Gold items named before it; the next one not yet named.
  const gold_index index(gold);
  std::vector<char> named(gold.items.size(), 0);
  for (const auto& item : parse_list_items(std::string_view(text).substr(0, body_at)))
    if (const auto m = index.match(item); m && !m->extra) named[static_cast<std::size_t>(m->index)] = 1;
  const auto next = std::find(named.begin(), named.end(), 0);
  if (next == named.end()) return std::nullopt;
  const std::string& name = gold.items[static_cast<std::size_t>(next - named.begin())].name;
  // The token holding the entry's first character, and the correct continuation from its start.
  std::size_t k = c0;
  while (k + 1 <= n && len[k + 1] <= body_at) ++k;
  if (k >= n) return std::nullopt;
  const std::string cont = text.substr(len[k], body_at - len[k]) + name;
  io::encode_options eo;
  eo.parse_specials = false;
  const auto alt = tok.encode(cont, eo);
  for (std::size_t j = 0; j < alt.size() && k + j < n; ++j)
    if (alt[j] != gen[k + j]) return cut_choice{k + j, gen[k + j], alt[j], "list"};
  return std::nullopt;
}

}  // namespace detail

/// Build a bank from a run's records. The model supplies the fallback contrast and each item's metric; the
/// tokenizer must be the one the run used. @throws on malformed records (errc::json naming the record).
inline bank_from_eval_result bank_from_eval(const model::gemma4_model& m, const io::tokenizer& tok,
                                            const std::vector<nlohmann::json>& records, const std::string& source,
                                            const bank_from_eval_options& o = {}) {
  const probe_set& probes = o.probes ? *o.probes : builtin_probes();
  bank_from_eval_result res;
  res.bank.source = source;
  std::set<std::tuple<std::vector<std::int32_t>, std::int32_t, std::int32_t>> seen;
  const auto V = static_cast<std::int64_t>(m.config().vocab_size);
  for (std::size_t r = 0; r < records.size(); ++r) {
    const auto& j = records[r];
    ++res.records;
    const std::string where = source + ": record " + std::to_string(r + 1);
    const io::json_field f(j, where);
    if (!f.value<bool>("looping")) continue;
    if (!o.model_name.empty() && f.value<std::string>("model") != o.model_name) continue;
    if (!o.variant.empty() && f.value<std::string>("variant") != o.variant) continue;
    const auto loop = f["loop"];
    const std::string phen = loop.value<std::string>("phenotype");
    if (o.phenotypes.empty() ? phen == "doom_loop"
                             : std::find(o.phenotypes.begin(), o.phenotypes.end(), phen) == o.phenotypes.end())
      continue;
    ++res.looping;
    auto skip = [&](const std::string& why) {
      ++res.skipped;
      if (res.skip_reasons.size() < 20) res.skip_reasons.push_back(where + ": " + why);
    };
    const auto prompt = f.value<std::vector<std::int32_t>>("prompt_ids");
    const auto gen = f.value<std::vector<std::int32_t>>("ids");
    const std::int64_t onset_i = loop.value<std::int64_t>("onset_token");
    const std::int64_t period_i = loop.value<std::int64_t>("period_tokens");
    if (onset_i < 0 || static_cast<std::size_t>(onset_i) >= gen.size()) {
      skip("onset_token " + std::to_string(onset_i) + " is outside the " + std::to_string(gen.size()) +
           " generated tokens");
      continue;
    }
    bool bad_id = false;
    for (const auto id : prompt) bad_id = bad_id || id < 0 || id >= V;
    for (const auto id : gen) bad_id = bad_id || id < 0 || id >= V;
    if (bad_id) {
      skip("token ids out of range for this model (vocab size " + std::to_string(V) + ")");
      continue;
    }
    const auto onset = static_cast<std::size_t>(onset_i);
    std::size_t period = period_i > 0 ? static_cast<std::size_t>(period_i) : detail::find_period(gen, onset);
    std::size_t c0 = period > 0 && onset + period < gen.size() ? onset + period : onset;
    std::optional<detail::cut_choice> choice;
    const std::string probe_id = f.value<std::string>("probe");
    const probe* p = probes.find(probe_id);
    if (p != nullptr && !p->gold.items.empty()) choice = detail::list_cut(gen, c0, p->gold, tok);
    if (!choice) {
      detail::cut_choice cc{c0, gen[c0], -1, "model"};
      std::vector<std::int32_t> ids = prompt;
      ids.insert(ids.end(), gen.begin(), gen.begin() + static_cast<std::ptrdiff_t>(c0));
      model::no_hooks none;
      const auto z = last_logits(m, ids, none);
      const std::set<std::int32_t> unit(gen.begin() + static_cast<std::ptrdiff_t>(onset),
                                        gen.begin() + static_cast<std::ptrdiff_t>(c0));
      for (std::size_t v = 0; v < z.size(); ++v) {
        const auto id = static_cast<std::int32_t>(v);
        if (id == cc.target || unit.count(id) != 0) continue;
        if (cc.contrast < 0 || z[v] > z[static_cast<std::size_t>(cc.contrast)]) cc.contrast = id;
      }
      if (cc.contrast < 0) cc.contrast = best_token(z, cc.target);
      choice = cc;
    }
    bank_item it;
    it.ids = prompt;
    it.ids.insert(it.ids.end(), gen.begin(), gen.begin() + static_cast<std::ptrdiff_t>(choice->cut));
    it.target = choice->target;
    it.contrast = choice->contrast;
    if (it.ids.empty() || it.target == it.contrast) {
      skip("no distinct contrast token");
      continue;
    }
    if (!seen.insert({it.ids, it.target, it.contrast}).second) continue;  // the same case from another record
    model::no_hooks none;
    it.extra = {{"source", "eval"},
                {"probe", probe_id},
                {"seed", j.value("seed", std::uint64_t{0})},
                {"cell", j.value("cell", std::string())},
                {"onset", onset},
                {"cut", choice->cut},
                {"phenotype", phen},
                {"route", choice->route},
                {"m", item_metric(m, it, none)}};
    res.bank.items.push_back(std::move(it));
    if (o.max_items && res.bank.items.size() >= o.max_items) break;
  }
  return res;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
