#pragma once
/// @file
/// @brief The multiple-choice capability guard (docs/guard.md): a JSONL file of questions, each choice scored
/// by the log-likelihood the model gives it after the prompt, on the base and the edited model.
///
/// File format (`scalpel.mc` JSONL), one JSON object per line, blank lines ignored:
///   {"id": "optional string", "prompt": "text", "choices": [" continuation A", " continuation B"], "answer": 0}
/// `choices` has at least 2 non-empty strings, `answer` indexes it, `meta` (any JSON) may carry notes and is
/// ignored; any other field is an error. Errors name `file:line` and the field.
///
/// Scoring. The prompt is tokenized with `<bos>` prepended; each choice is tokenized on its own (no `<bos>`)
/// and its ids appended. Why separately, not as the tail of tokenize(prompt + choice): every choice is then
/// conditioned on exactly the same prompt ids (a merge across the boundary cannot change the context from one
/// choice to the next), and a choice is always scored over the same ids whatever the prompt. Write the
/// separating space at the start of each choice (" Paris"), not at the end of the prompt: Gemma's tokenizer
/// attaches a space to the word after it (`▁Paris`), so this is also how the joined text would tokenize.
///
/// A choice's score is Σ_j log p(c_j | prompt, c_<j) (nats, softmax in double over the final soft-capped logits);
/// its length-normalised score divides by the number of choice tokens. The model "answers" the choice with the
/// highest score (ties: the lowest index).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/guard_pair.hpp"
#include "scalpel/analysis/logprob.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/kv_cache.hpp"
#include "scalpel/simd/threads.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// One question of a multiple-choice file.
struct mc_item {
  std::string id;                    ///< optional ("" when absent)
  std::string prompt;                ///< the context every choice continues
  std::vector<std::string> choices;  ///< ≥ 2 continuations
  std::size_t answer = 0;            ///< index of the correct choice
  std::size_t line = 0;              ///< 1-based line in the source (0 = built in code)
};

/// A parsed multiple-choice file.
struct mc_set {
  std::string source;  ///< path, or "builtin"
  std::vector<mc_item> items;
};

/// Parse multiple-choice JSONL (see the file comment). `source` names the text in messages ("path:line: ...").
/// @throws errc::json for malformed lines (bad JSON, missing / mistyped / unknown fields, empty choices, a duplicate
/// id, no items at all), errc::out_of_range for an answer index past the choices.
inline mc_set parse_mc_jsonl(std::string_view text, const std::string& source) {
  mc_set set;
  set.source = source;
  std::map<std::string, std::size_t> id_line;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 byte order mark
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;

    const std::string at = source + ":" + std::to_string(line_no) + ": ";
    auto bad = [&](const std::string& what) { fail(errc::json, at + what); };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      bad(std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) bad(std::string("expected a JSON object, found ") + j.type_name());
    for (const auto& [k, v] : j.items())
      if (k != "id" && k != "prompt" && k != "choices" && k != "answer" && k != "meta")
        bad("unknown field '" + k + "' (fields: id, prompt, choices, answer, meta)");

    mc_item it;
    it.line = line_no;
    if (j.contains("id")) {
      if (!j["id"].is_string()) bad("field 'id': expected a string, found " + j["id"].dump());
      it.id = j["id"].get<std::string>();
      const auto [where, fresh] = id_line.emplace(it.id, line_no);
      if (!fresh) bad("field 'id': duplicate id '" + it.id + "' (first on line " + std::to_string(where->second) + ")");
    }
    if (!j.contains("prompt")) bad("field 'prompt' is missing");
    if (!j["prompt"].is_string()) bad("field 'prompt': expected a string, found " + j["prompt"].dump());
    it.prompt = j["prompt"].get<std::string>();

    if (!j.contains("choices")) bad("field 'choices' is missing");
    const auto& ch = j["choices"];
    if (!ch.is_array() || ch.size() < 2)
      bad("field 'choices': expected an array of at least 2 strings, found " + ch.dump());
    for (std::size_t k = 0; k < ch.size(); ++k) {
      if (!ch[k].is_string() || ch[k].get<std::string>().empty())
        bad("field 'choices[" + std::to_string(k) + "]': expected a non-empty string, found " + ch[k].dump());
      it.choices.push_back(ch[k].get<std::string>());
    }

    if (!j.contains("answer")) bad("field 'answer' is missing");
    const auto& ans = j["answer"];
    if (!ans.is_number_integer()) bad("field 'answer': expected an integer index, found " + ans.dump());
    const std::int64_t a = ans.get<std::int64_t>();
    if (a < 0 || static_cast<std::size_t>(a) >= it.choices.size())
      fail(errc::out_of_range, at + "field 'answer': " + std::to_string(a) + " is out of range (" +
                                   std::to_string(it.choices.size()) + " choices: 0.." +
                                   std::to_string(it.choices.size() - 1) + ")");
    it.answer = static_cast<std::size_t>(a);
    set.items.push_back(std::move(it));
  }
  if (set.items.empty()) fail(errc::json, source + ": no items (expected one JSON object per line)");
  return set;
}

/// Read and parse a multiple-choice JSONL file. @throws errc::io if it cannot be read; as parse_mc_jsonl.
inline mc_set read_mc_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(errc::io, "cannot open multiple-choice file '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(errc::io, "cannot read multiple-choice file '" + path + "'");
  return parse_mc_jsonl(ss.str(), path);
}

/// A question as token ids: what the scorer needs (callers without a tokenizer build these directly).
struct mc_item_ids {
  std::string id;
  std::vector<std::int32_t> prompt;                ///< `<bos>` first
  std::vector<std::vector<std::int32_t>> choices;  ///< each non-empty, no `<bos>`
  std::size_t answer = 0;
};

/// Tokenize a set as the scorer expects (see the file comment): prompt with `<bos>`, each choice on its own.
/// @throws errc::invalid_argument for a choice that encodes to no tokens.
inline std::vector<mc_item_ids> tokenize_mc(const mc_set& set, const io::tokenizer& tok) {
  io::encode_options with_bos;
  with_bos.add_bos = true;
  std::vector<mc_item_ids> out;
  out.reserve(set.items.size());
  for (const auto& it : set.items) {
    mc_item_ids x;
    x.id = it.id;
    x.answer = it.answer;
    x.prompt = tok.encode(it.prompt, with_bos);
    for (std::size_t k = 0; k < it.choices.size(); ++k) {
      x.choices.push_back(tok.encode(it.choices[k]));
      if (x.choices.back().empty())
        fail(errc::invalid_argument, set.source + ":" + std::to_string(it.line) + ": field 'choices[" +
                                         std::to_string(k) + "]' encodes to no tokens");
    }
    out.push_back(std::move(x));
  }
  return out;
}

/// One question's scores on both sides.
struct mc_item_result {
  std::string id;
  std::size_t answer = 0;
  std::vector<std::size_t> choice_tokens;                ///< tokens per choice
  std::vector<double> logprob_base;                      ///< Σ log p per choice, base model
  std::vector<double> logprob_edited;                    ///< the same, edited model
  std::size_t pick_base = 0, pick_edited = 0;            ///< argmax of the summed log-prob
  std::size_t pick_norm_base = 0, pick_norm_edited = 0;  ///< argmax of the per-token mean
};

/// The multiple-choice guard's summary (the `mc` object of `scalpel.guard/1`) plus per-item detail.
struct mc_guard_result {
  std::string source;  ///< "builtin" or the file's path
  std::size_t items = 0;
  double acc_base = 0.0;  ///< fraction of items whose pick_base is the answer
  double acc_edited = 0.0;
  double acc_norm_base = 0.0;  ///< the same with length-normalised scores
  double acc_norm_edited = 0.0;
  std::size_t flipped = 0;          ///< items whose (summed log-prob) pick differs between base and edited
  double gold_logprob_delta = 0.0;  ///< mean over items of logprob_edited[answer] − logprob_base[answer], nats
  std::vector<mc_item_result> per_item;
};

namespace detail {

/// Index of the largest value (first one on ties).
inline std::size_t argmax_first(const std::vector<double>& v) {
  return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

/// Σ log p of each choice of `it` on side `s`: the prompt runs once, each choice continues a copy of its cache.
inline std::vector<double> score_choices(const guard_pair& pair, guard_side s, const mc_item_ids& it,
                                         std::size_t chunk) {
  const std::size_t V = pair.vocab_size();
  std::size_t longest = 0;
  for (const auto& c : it.choices) longest = std::max(longest, c.size());
  // The last token of a choice is only a target, never an input.
  model::kv_cache prompt_cache = pair.make_cache(s, it.prompt.size() + longest - 1, chunk);
  std::vector<float> z;
  pair.forward_last(s, it.prompt, prompt_cache, z);
  const double lse0 = log_sum_exp(z.data(), V);
  std::vector<double> out;
  for (const auto& c : it.choices) {
    double lp = static_cast<double>(z[static_cast<std::size_t>(c[0])]) - lse0;
    if (c.size() > 1) {
      model::kv_cache cache = prompt_cache;
      std::vector<float> zc;
      pair.forward(s, std::span<const std::int32_t>(c).first(c.size() - 1), cache, zc);
      for (std::size_t j = 0; j + 1 < c.size(); ++j) {
        const float* row = zc.data() + j * V;
        lp += static_cast<double>(row[static_cast<std::size_t>(c[j + 1])]) - log_sum_exp(row, V);
      }
    }
    out.push_back(lp);
  }
  return out;
}

}  // namespace detail

/// Score every question on both sides of `pair` and summarise. `source` goes into the result.
/// @throws errc::invalid_argument (no items, fewer than 2 choices, an empty prompt or choice, an answer past the
/// choices), errc::out_of_range (a token id ≥ the vocabulary), naming the item.
inline mc_guard_result guard_mc(const guard_pair& pair, std::span<const mc_item_ids> items, const guard_options& o = {},
                                std::string source = "ids") {
  const std::size_t V = pair.vocab_size();
  if (items.empty()) fail(errc::invalid_argument, "multiple-choice guard: no items");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    const std::string at = "multiple-choice item " + std::to_string(i) + (it.id.empty() ? "" : " ('" + it.id + "')");
    if (it.prompt.empty()) fail(errc::invalid_argument, at + ": the prompt has no tokens (it needs at least <bos>)");
    if (it.choices.size() < 2) fail(errc::invalid_argument, at + ": fewer than 2 choices");
    if (it.answer >= it.choices.size())
      fail(errc::invalid_argument, at + ": answer " + std::to_string(it.answer) + " is past the " +
                                       std::to_string(it.choices.size()) + " choices");
    auto check = [&](std::span<const std::int32_t> ids, const std::string& what) {
      for (const auto t : ids)
        if (t < 0 || static_cast<std::size_t>(t) >= V)
          fail(errc::out_of_range, at + ": " + what + ": token id " + std::to_string(t) +
                                       " is out of range (vocab size " + std::to_string(V) + ")");
    };
    check(it.prompt, "prompt");
    for (std::size_t k = 0; k < it.choices.size(); ++k) {
      if (it.choices[k].empty()) fail(errc::invalid_argument, at + ": choice " + std::to_string(k) + " has no tokens");
      check(it.choices[k], "choice " + std::to_string(k));
    }
  }
  const simd::thread_count_guard threads(o.threads);
  const std::size_t chunk = std::max<std::size_t>(o.chunk, 1);

  mc_guard_result r;
  r.source = std::move(source);
  r.items = items.size();
  std::size_t hits[4] = {0, 0, 0, 0};  // base, edited, norm base, norm edited
  double gold_delta = 0.0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    mc_item_result x;
    x.id = it.id;
    x.answer = it.answer;
    for (const auto& c : it.choices) x.choice_tokens.push_back(c.size());
    x.logprob_base = detail::score_choices(pair, guard_side::base, it, chunk);
    x.logprob_edited = detail::score_choices(pair, guard_side::edited, it, chunk);
    auto normalised = [&](const std::vector<double>& lp) {
      std::vector<double> n(lp.size());
      for (std::size_t k = 0; k < lp.size(); ++k) n[k] = lp[k] / static_cast<double>(x.choice_tokens[k]);
      return n;
    };
    x.pick_base = detail::argmax_first(x.logprob_base);
    x.pick_edited = detail::argmax_first(x.logprob_edited);
    x.pick_norm_base = detail::argmax_first(normalised(x.logprob_base));
    x.pick_norm_edited = detail::argmax_first(normalised(x.logprob_edited));
    hits[0] += x.pick_base == it.answer;
    hits[1] += x.pick_edited == it.answer;
    hits[2] += x.pick_norm_base == it.answer;
    hits[3] += x.pick_norm_edited == it.answer;
    r.flipped += x.pick_base != x.pick_edited;
    gold_delta += x.logprob_edited[it.answer] - x.logprob_base[it.answer];
    r.per_item.push_back(std::move(x));
    if (o.progress) o.progress(i + 1, items.size());
  }
  const auto n = static_cast<double>(items.size());
  r.acc_base = static_cast<double>(hits[0]) / n;
  r.acc_edited = static_cast<double>(hits[1]) / n;
  r.acc_norm_base = static_cast<double>(hits[2]) / n;
  r.acc_norm_edited = static_cast<double>(hits[3]) / n;
  r.gold_logprob_delta = gold_delta / n;
  return r;
}

/// Tokenize `set` with `tok` and score it (the result's source is the set's).
inline mc_guard_result guard_mc(const guard_pair& pair, const io::tokenizer& tok, const mc_set& set,
                                const guard_options& o = {}) {
  const auto ids = tokenize_mc(set, tok);
  return guard_mc(pair, ids, o, set.source);
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
