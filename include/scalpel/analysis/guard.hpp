#pragma once
/// @file
/// @brief The capability guard (docs/guard.md): how much an edit hurts a model, measured against the base.
///
/// - Text guard (this header): on a reference text, per-position KL(p_base ‖ p_edited), next-token NLL and
///   perplexity of both models, and top-1 agreement.
/// - Multiple-choice guard (`guard_mc.hpp`): accuracy of log-likelihood choice scoring on both models.
/// - `guard_report`: both summaries as `scalpel.guard/1` JSON (the `guard.json` the report generator reads).
///
/// The two models are a `guard_pair` (`guard_pair.hpp`): the base with a plan applied at run time, or another
/// checkpoint over the same vocabulary.
///
/// Text windows. The text's ids t_0 = `<bos>`, t_1 … t_N are split into windows of `context` tokens, each
/// `<bos>` followed by the next context − 1 text tokens (the last window may be shorter). The model is fed every
/// window token but the last and predicts every text token of the window, so each text token is predicted
/// exactly once, from `<bos>` and the text tokens before it in its window. At every such position:
///   KL  = Σ_v p_base(v) (log p_base(v) − log p_edited(v))   (nats, full vocabulary, softmax in double over the
///         final soft-capped logits; `logprob.hpp`, shared with the layer sweep's KL column)
///   NLL = −log p(next token)
/// tokens = N (positions scored); nll_* = mean NLL; ppl_* = exp(nll_*); ppl_delta = ppl_edited / ppl_base − 1
/// (= expm1(nll_edited − nll_base), exactly 0 for identical models); top1_agreement = fraction of positions
/// whose argmax token (first on ties) is the same on both sides.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/guard_builtin.hpp"
#include "scalpel/analysis/guard_mc.hpp"
#include "scalpel/analysis/guard_pair.hpp"
#include "scalpel/analysis/logprob.hpp"
#include "scalpel/analysis/reference_text.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/simd/threads.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// The text guard's summary (the `text` object of `scalpel.guard/1`).
struct text_guard_result {
  std::string source;      ///< "builtin" or the text file's path
  std::size_t tokens = 0;  ///< positions scored (text tokens, `<bos>` excluded)
  std::size_t windows = 0;
  double kl_mean = 0.0;   ///< mean per-position KL(p_base ‖ p_edited), nats
  double kl_max = 0.0;    ///< largest per-position KL, nats
  double nll_base = 0.0;  ///< mean next-token NLL, nats
  double nll_edited = 0.0;
  double ppl_base = 0.0;  ///< exp(nll_base)
  double ppl_edited = 0.0;
  double ppl_delta = 0.0;       ///< ppl_edited / ppl_base − 1
  double top1_agreement = 0.0;  ///< fraction of positions with the same argmax token
};

namespace detail {

/// Per-position statistics of one chunk: rows [n, V] of both sides' logits, targets[n] the next tokens.
struct position_stats {
  std::vector<double> kl, nll_base, nll_edited;
  std::vector<std::uint8_t> agree;
};

inline std::size_t argmax_row(const float* z, std::size_t V) noexcept {
  return static_cast<std::size_t>(std::max_element(z, z + V) - z);
}

inline void chunk_stats(const std::vector<float>& zb, const std::vector<float>& ze,
                        std::span<const std::int32_t> targets, std::size_t V, position_stats& st) {
  const std::size_t n = targets.size();
  st.kl.assign(n, 0.0);
  st.nll_base.assign(n, 0.0);
  st.nll_edited.assign(n, 0.0);
  st.agree.assign(n, 0);
  const auto rows = static_cast<std::ptrdiff_t>(n);
  // Rows are independent and each writes its own slots, so the sums taken afterwards do not depend on the
  // thread count. Two V-sized double buffers per thread.
#if SCALPEL_HAS_OPENMP
#pragma omp parallel if (n > 1)
#endif
  {
    std::vector<double> lp(V), lq(V);
#if SCALPEL_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t r = 0; r < rows; ++r) {
      const auto i = static_cast<std::size_t>(r);
      const float* b = zb.data() + i * V;
      const float* e = ze.data() + i * V;
      log_softmax(b, V, lp.data());
      log_softmax(e, V, lq.data());
      const auto t = static_cast<std::size_t>(targets[i]);
      st.kl[i] = kl_divergence(lp.data(), lq.data(), V);
      st.nll_base[i] = -lp[t];
      st.nll_edited[i] = -lq[t];
      st.agree[i] = argmax_row(b, V) == argmax_row(e, V) ? 1 : 0;
    }
  }
}

}  // namespace detail

/// The text guard over token ids: `ids[0]` is the start token every window begins with (the tokenizer's `<bos>`),
/// `ids[1..]` the text. See the file comment for the windows and the statistics.
/// @throws errc::invalid_argument (fewer than 2 ids, context < 2), errc::out_of_range (an id ≥ the vocabulary),
/// errc::context_overflow (context past the model's maximum).
inline text_guard_result guard_text(const guard_pair& pair, std::span<const std::int32_t> ids,
                                    const guard_options& o = {}, std::string source = "ids") {
  const std::size_t V = pair.vocab_size();
  if (o.context < 2)
    fail(errc::invalid_argument,
         "text guard: context must be at least 2 tokens (<bos> and one text token), got " + std::to_string(o.context));
  if (ids.size() < 2)
    fail(errc::invalid_argument, "text guard: the text has " + std::to_string(ids.size()) +
                                     " token(s) with <bos>; at least one text token is needed");
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || static_cast<std::size_t>(ids[i]) >= V)
      fail(errc::out_of_range, "text guard: token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                                   " is out of range (vocab size " + std::to_string(V) + ")");
  std::size_t n_text = ids.size() - 1;
  if (o.max_tokens > 0) n_text = std::min(n_text, o.max_tokens);
  const std::size_t per_window = o.context - 1;  // text tokens per window
  const std::size_t n_windows = (n_text + per_window - 1) / per_window;
  const std::size_t chunk = std::max<std::size_t>(1, std::min(o.chunk, per_window));
  const simd::thread_count_guard threads(o.threads);

  // One cache per side, reused by every window (a window feeds at most min(context − 1, N) positions).
  const std::size_t max_fed = std::min(per_window, n_text);
  model::kv_cache cache_b = pair.make_cache(guard_side::base, max_fed, chunk);
  model::kv_cache cache_e = pair.make_cache(guard_side::edited, max_fed, chunk);
  std::vector<std::int32_t> feed, target;
  std::vector<float> zb, ze;
  detail::position_stats st;
  double kl_sum = 0.0, kl_max = 0.0, nb_sum = 0.0, ne_sum = 0.0;
  std::size_t agree = 0;
  for (std::size_t w = 0; w < n_windows; ++w) {
    // Window w predicts text tokens [first, first + count): fed <bos> + the count − 1 tokens before the last.
    const std::size_t first = 1 + w * per_window, count = std::min(per_window, n_text + 1 - first);
    feed.assign(1, ids[0]);
    feed.insert(feed.end(), ids.begin() + static_cast<std::ptrdiff_t>(first),
                ids.begin() + static_cast<std::ptrdiff_t>(first + count - 1));
    target.assign(ids.begin() + static_cast<std::ptrdiff_t>(first),
                  ids.begin() + static_cast<std::ptrdiff_t>(first + count));
    cache_b.clear();
    cache_e.clear();
    for (std::size_t c0 = 0; c0 < count; c0 += chunk) {
      const std::size_t nc = std::min(chunk, count - c0);
      const auto part = std::span<const std::int32_t>(feed).subspan(c0, nc);
      pair.forward(guard_side::base, part, cache_b, zb);
      pair.forward(guard_side::edited, part, cache_e, ze);
      detail::chunk_stats(zb, ze, std::span<const std::int32_t>(target).subspan(c0, nc), V, st);
      for (std::size_t i = 0; i < nc; ++i) {
        kl_sum += st.kl[i];
        kl_max = std::max(kl_max, st.kl[i]);
        nb_sum += st.nll_base[i];
        ne_sum += st.nll_edited[i];
        agree += st.agree[i];
      }
    }
    if (o.progress) o.progress(w + 1, n_windows);
  }
  text_guard_result r;
  r.source = std::move(source);
  r.tokens = n_text;
  r.windows = n_windows;
  const auto n = static_cast<double>(n_text);
  r.kl_mean = kl_sum / n;
  r.kl_max = kl_max;
  r.nll_base = nb_sum / n;
  r.nll_edited = ne_sum / n;
  r.ppl_base = std::exp(r.nll_base);
  r.ppl_edited = std::exp(r.nll_edited);
  r.ppl_delta = std::expm1(r.nll_edited - r.nll_base);
  r.top1_agreement = static_cast<double>(agree) / n;
  return r;
}

/// The text guard over a text: tokenized with `tok`, `<bos>` prepended.
inline text_guard_result guard_text(const guard_pair& pair, const io::tokenizer& tok, std::string_view text,
                                    const guard_options& o = {}, std::string source = "text") {
  io::encode_options enc;
  enc.add_bos = true;
  const auto ids = tok.encode(text, enc);
  return guard_text(pair, ids, o, std::move(source));
}

/// The text guard on the built-in reference text (`default_kl_text`, ~150 tokens with Gemma's tokenizer: one
/// window; enough to catch an edit that wrecks the model, too short for fine perplexity comparisons).
inline text_guard_result guard_text_builtin(const guard_pair& pair, const io::tokenizer& tok,
                                            const guard_options& o = {}) {
  return guard_text(pair, tok, default_kl_text, o, "builtin");
}

/// The JSON format id of a guard report.
inline constexpr std::string_view guard_format = "scalpel.guard/1";

/// Both guards' summaries; either may be absent (not run). Serialises to `scalpel.guard/1`:
/// {"format", "text": {source, tokens, windows, kl_mean, kl_max, nll_base, nll_edited, ppl_base, ppl_edited,
///  ppl_delta, top1_agreement} | null, "mc": {source, items, acc_base, acc_edited, acc_norm_base,
///  acc_norm_edited, flipped, gold_logprob_delta} | null}. Per-item MC detail is not serialised.
struct guard_report {
  std::optional<text_guard_result> text;
  std::optional<mc_guard_result> mc;

  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json j = {{"format", guard_format}, {"text", nullptr}, {"mc", nullptr}};
    if (text) {
      const auto& t = *text;
      j["text"] = {{"source", t.source},
                   {"tokens", t.tokens},
                   {"windows", t.windows},
                   {"kl_mean", t.kl_mean},
                   {"kl_max", t.kl_max},
                   {"nll_base", t.nll_base},
                   {"nll_edited", t.nll_edited},
                   {"ppl_base", t.ppl_base},
                   {"ppl_edited", t.ppl_edited},
                   {"ppl_delta", t.ppl_delta},
                   {"top1_agreement", t.top1_agreement}};
    }
    if (mc) {
      const auto& m = *mc;
      j["mc"] = {{"source", m.source},
                 {"items", m.items},
                 {"acc_base", m.acc_base},
                 {"acc_edited", m.acc_edited},
                 {"acc_norm_base", m.acc_norm_base},
                 {"acc_norm_edited", m.acc_norm_edited},
                 {"flipped", m.flipped},
                 {"gold_logprob_delta", m.gold_logprob_delta}};
    }
    return j;
  }

  /// Read `scalpel.guard/1` JSON (as written by to_json). @throws errc::json naming `source` and the field.
  static guard_report from_json(const nlohmann::json& j, const std::string& source = "guard.json") {
    auto bad = [&](const std::string& field, const std::string& what) -> void {
      fail(errc::json, source + ": field '" + field + "': " + what);
    };
    if (!j.is_object()) fail(errc::json, source + ": expected a JSON object");
    if (!j.contains("format") || j["format"] != guard_format)
      bad("format", "expected \"" + std::string(guard_format) + "\"");
    auto number = [&](const nlohmann::json& o, const std::string& at, const char* k) -> double {
      if (!o.contains(k) || !o[k].is_number()) bad(at + "." + k, "missing or not a number");
      return o[k].get<double>();
    };
    auto count = [&](const nlohmann::json& o, const std::string& at, const char* k) -> std::size_t {
      if (!o.contains(k) || !o[k].is_number_unsigned()) bad(at + "." + k, "missing or not a non-negative integer");
      return o[k].get<std::size_t>();
    };
    auto text_of = [&](const nlohmann::json& o, const std::string& at) -> std::string {
      if (!o.contains("source") || !o["source"].is_string()) bad(at + ".source", "missing or not a string");
      return o["source"].get<std::string>();
    };
    guard_report r;
    if (j.contains("text") && !j["text"].is_null()) {
      const auto& o = j["text"];
      if (!o.is_object()) bad("text", "expected an object or null");
      text_guard_result t;
      t.source = text_of(o, "text");
      t.tokens = count(o, "text", "tokens");
      t.windows = count(o, "text", "windows");
      t.kl_mean = number(o, "text", "kl_mean");
      t.kl_max = number(o, "text", "kl_max");
      t.nll_base = number(o, "text", "nll_base");
      t.nll_edited = number(o, "text", "nll_edited");
      t.ppl_base = number(o, "text", "ppl_base");
      t.ppl_edited = number(o, "text", "ppl_edited");
      t.ppl_delta = number(o, "text", "ppl_delta");
      t.top1_agreement = number(o, "text", "top1_agreement");
      r.text = std::move(t);
    }
    if (j.contains("mc") && !j["mc"].is_null()) {
      const auto& o = j["mc"];
      if (!o.is_object()) bad("mc", "expected an object or null");
      mc_guard_result m;
      m.source = text_of(o, "mc");
      m.items = count(o, "mc", "items");
      m.acc_base = number(o, "mc", "acc_base");
      m.acc_edited = number(o, "mc", "acc_edited");
      m.acc_norm_base = number(o, "mc", "acc_norm_base");
      m.acc_norm_edited = number(o, "mc", "acc_norm_edited");
      m.flipped = count(o, "mc", "flipped");
      m.gold_logprob_delta = number(o, "mc", "gold_logprob_delta");
      r.mc = std::move(m);
    }
    return r;
  }
};

/// The built-in multiple-choice sample, parsed (source "builtin").
inline mc_set builtin_mc_set() { return parse_mc_jsonl(builtin_mc_sample, "builtin"); }

}  // namespace analysis
SCALPEL_END_NAMESPACE
