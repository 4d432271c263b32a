#pragma once
/// @file
/// @brief Loop banks and the bank metric (contracts.md "Localization").
///
/// A loop bank is a set of teacher-forced cases cut where a generation starts to loop:
/// ```json
/// { "format": "scalpel.loop-bank/1",
///   "items": [ {"ids": [2, ...], "target": 492, "contrast": 494} ] }
/// ```
/// `ids` are fed verbatim (put `<bos>` first yourself); `target` is the token that continues the loop, `contrast`
/// the token the model should have produced instead. Other fields are kept verbatim: items written by
/// `scalpel bank` add `source` ("ids" or "eval"), `m` (the item's metric when the bank was built) and, for banks
/// from evaluation runs, `probe`, `seed`, `onset`, `cut`, `phenotype`; the top level may carry `model` and
/// `metric_base`. Readers ignore fields they do not know.
///
/// The bank metric: M = mean over items of log_softmax(z)[target] − log_softmax(z)[contrast], z = the final
/// soft-capped logits at the last position of `ids`. The log-sum-exp cancels, so each term is exactly
/// z[target] − z[contrast]; it is computed that way (in double, from the f32 logits). Larger M = stronger pull
/// into the loop.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

inline constexpr std::string_view loop_bank_format = "scalpel.loop-bank/1";

/// One teacher-forced case.
struct bank_item {
  std::vector<std::int32_t> ids;  ///< prompt + generated tokens up to the cut, fed verbatim
  std::int32_t target = -1;       ///< the token that continues the loop
  std::int32_t contrast = -1;     ///< the alternative (next gold item's first token, or best non-loop token)
  nlohmann::json extra = nlohmann::json::object();  ///< other fields, kept verbatim
};

/// A loop bank (`scalpel.loop-bank/1`).
struct loop_bank {
  std::vector<bank_item> items;
  nlohmann::json extra = nlohmann::json::object();  ///< other top-level fields, kept verbatim
  std::string source;                               ///< file name, for messages

  /// The JSON document (format first, then items; extra fields merged in).
  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
    j["format"] = std::string(loop_bank_format);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& it : items) {
      nlohmann::json o = it.extra.is_object() ? it.extra : nlohmann::json::object();
      o["ids"] = it.ids;
      o["target"] = it.target;
      o["contrast"] = it.contrast;
      arr.push_back(std::move(o));
    }
    j["items"] = std::move(arr);
    return j;
  }

  /// Parse a bank document. @throws errc::json naming `source` and the field (wrong format string, missing or
  /// mistyped ids / target / contrast, an empty bank or an empty ids list).
  static loop_bank from_json(const nlohmann::json& doc, const std::string& source) {
    const io::json_field root(doc, source);
    if (!root.is_object()) root.fail_here("a loop bank must be a JSON object");
    const auto fmt = root.value<std::string>("format");
    if (fmt != loop_bank_format)
      root["format"].fail_here("expected \"" + std::string(loop_bank_format) + "\", found \"" + fmt + "\"");
    loop_bank b;
    b.source = source;
    for (auto it = doc.begin(); it != doc.end(); ++it)
      if (it.key() != "format" && it.key() != "items") b.extra[it.key()] = it.value();
    const auto items = root["items"];
    if (!items.is_array()) items.fail_here("expected an array of items");
    if (items.size() == 0) items.fail_here("the bank has no items");
    for (const auto& f : items.elements()) {
      if (!f.is_object()) f.fail_here("expected an object {\"ids\", \"target\", \"contrast\"}");
      bank_item item;
      item.ids = f.value<std::vector<std::int32_t>>("ids");
      if (item.ids.empty()) f["ids"].fail_here("empty token list");
      item.target = f.value<std::int32_t>("target");
      item.contrast = f.value<std::int32_t>("contrast");
      for (auto it = f.raw().begin(); it != f.raw().end(); ++it)
        if (it.key() != "ids" && it.key() != "target" && it.key() != "contrast") item.extra[it.key()] = it.value();
      b.items.push_back(std::move(item));
    }
    return b;
  }

  /// Read and parse a bank file. @throws errc::io / errc::json.
  static loop_bank read(const std::string& path) { return from_json(io::read_json_file(path), path); }

  /// Write atomically (temp file + rename).
  void write(const std::string& path) const { write_file_atomic(path, to_json().dump(1) + "\n"); }
};

/// Check a bank against a model: token ids, target and contrast in [0, vocab), target ≠ contrast, sequences
/// within the context limit. @throws errc::out_of_range / errc::invalid_argument naming the item and field.
inline void validate_bank(const loop_bank& b, const model::gemma4_config& c) {
  const std::string src = b.source.empty() ? std::string("loop bank") : b.source;
  const auto V = static_cast<std::int64_t>(c.vocab_size);
  if (b.items.empty()) fail(errc::invalid_argument, src + ": the bank has no items");
  for (std::size_t i = 0; i < b.items.size(); ++i) {
    const auto& it = b.items[i];
    const std::string where = src + ": items[" + std::to_string(i) + "]";
    if (it.ids.empty()) fail(errc::invalid_argument, where + ".ids: empty token list");
    for (std::size_t k = 0; k < it.ids.size(); ++k)
      if (it.ids[k] < 0 || it.ids[k] >= V)
        fail(errc::out_of_range, where + ".ids[" + std::to_string(k) + "]: token id " + std::to_string(it.ids[k]) +
                                     " is out of range (vocab size " + std::to_string(V) + ")");
    for (const auto& [name, id] :
         {std::pair<const char*, std::int32_t>{"target", it.target}, {"contrast", it.contrast}})
      if (id < 0 || id >= V)
        fail(errc::out_of_range, where + "." + name + ": token id " + std::to_string(id) +
                                     " is out of range (vocab size " + std::to_string(V) + ")");
    if (it.target == it.contrast)
      fail(errc::invalid_argument, where + ": target and contrast are the same token (" + std::to_string(it.target) +
                                       "): the metric would be 0");
    if (it.ids.size() > c.max_position_embeddings)
      fail(errc::context_overflow, where + ".ids: " + std::to_string(it.ids.size()) +
                                       " tokens exceed the model's context limit " +
                                       std::to_string(c.max_position_embeddings));
  }
}

/// The metric term of one logits row: log_softmax(z)[target] − log_softmax(z)[contrast] = z[target] − z[contrast].
inline double metric_of_logits(std::span<const float> z, std::int32_t target, std::int32_t contrast) noexcept {
  return static_cast<double>(z[static_cast<std::size_t>(target)]) -
         static_cast<double>(z[static_cast<std::size_t>(contrast)]);
}

/// Final soft-capped logits at the last position of `ids` (one full forward pass with `hooks`).
template <model::hook_set Hooks>
std::vector<float> last_logits(const model::gemma4_model& m, std::span<const std::int32_t> ids, Hooks& hooks) {
  auto cache = m.make_cache(std::max<std::size_t>(ids.size(), 1), std::max<std::size_t>(ids.size(), 1));
  std::vector<float> logits;
  m.forward(ids, cache, logits, model::logits_mode::last, hooks);
  return logits;
}

/// One item's metric term with a full forward pass (the reference every faster path is tested against).
template <model::hook_set Hooks>
double item_metric(const model::gemma4_model& m, const bank_item& it, Hooks& hooks) {
  const auto z = last_logits(m, it.ids, hooks);
  return metric_of_logits(z, it.target, it.contrast);
}
inline double item_metric(const model::gemma4_model& m, const bank_item& it) {
  model::no_hooks h;
  return item_metric(m, it, h);
}

/// M over the bank with `hooks` applied (full forward per item).
template <model::hook_set Hooks>
double bank_metric(const model::gemma4_model& m, const loop_bank& b, Hooks& hooks) {
  double s = 0.0;
  for (const auto& it : b.items) s += item_metric(m, it, hooks);
  return b.items.empty() ? 0.0 : s / static_cast<double>(b.items.size());
}
inline double bank_metric(const model::gemma4_model& m, const loop_bank& b) {
  model::no_hooks h;
  return bank_metric(m, b, h);
}

/// The index of the largest logit, skipping `exclude` (ties: lower id).
inline std::int32_t best_token(std::span<const float> z, std::int32_t exclude = -1) noexcept {
  std::int32_t best = -1;
  for (std::size_t v = 0; v < z.size(); ++v) {
    if (static_cast<std::int32_t>(v) == exclude) continue;
    if (best < 0 || z[v] > z[static_cast<std::size_t>(best)]) best = static_cast<std::int32_t>(v);
  }
  return best;
}

/// A bank item for one prompt: target defaults to the model's greedy next token (the one that continues the
/// loop), contrast to the best token that is not the target. Adds `source: "ids"` and `m` to the item.
/// @throws errc::out_of_range for ids / target / contrast outside the vocabulary.
inline bank_item make_bank_item(const model::gemma4_model& m, std::vector<std::int32_t> ids,
                                std::optional<std::int32_t> target = std::nullopt,
                                std::optional<std::int32_t> contrast = std::nullopt) {
  if (ids.empty()) fail(errc::invalid_argument, "bank item: empty token list");
  const auto V = static_cast<std::int64_t>(m.config().vocab_size);
  for (const auto& [name, id] :
       {std::pair<const char*, std::optional<std::int32_t>>{"target", target}, {"contrast", contrast}})
    if (id && (*id < 0 || *id >= V))
      fail(errc::out_of_range, std::string("bank item: ") + name + " token id " + std::to_string(*id) +
                                   " is out of range (vocab size " + std::to_string(V) + ")");
  model::no_hooks h;
  const auto z = last_logits(m, ids, h);
  bank_item it;
  it.ids = std::move(ids);
  it.target = target ? *target : best_token(z);
  it.contrast = contrast ? *contrast : best_token(z, it.target);
  if (it.target == it.contrast)
    fail(errc::invalid_argument,
         "bank item: target and contrast are the same token (" + std::to_string(it.target) + ")");
  it.extra["source"] = "ids";
  it.extra["m"] = metric_of_logits(z, it.target, it.contrast);
  return it;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
