#pragma once
/// @file
/// @brief `gen::sampler`: the per-request sampler chain (logit bias, repetition / presence / frequency penalties,
/// DRY, top-k, typical-p, top-p, min-p, temperature, greedy) with llama.cpp's semantics and default order, a
/// reproducible seeded draw, and optional per-token log-probabilities. See docs/sampling.md.
///
/// Per decode step the generator does:
/// @code
///   gen::sampler smp(cfg, breakers);           // once per sequence; smp.accept(prompt_ids)
///   auto r = smp.sample(logits);               // logits: the V final (soft-capped) f32 logits of the last position
///   smp.accept(r.id);                          // every token that enters the sequence, forced ones included
/// @endcode

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/generate/detail/det_math.hpp"
#include "scalpel/generate/detail/dry.hpp"
#include "scalpel/generate/detail/stages.hpp"
#include "scalpel/generate/rng.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen {

/// A token id (index into the vocabulary / the logits vector).
using token_id = std::int32_t;

/// The stages of the chain. Names and letters follow llama.cpp's `--samplers` / `--sampling-seq`.
enum class stage : std::uint8_t {
  logit_bias,   ///< "logit_bias" / 'b' (llama.cpp always applies it first and has no letter for it)
  penalties,    ///< "penalties"  / 'e': repetition, presence and frequency penalties
  dry,          ///< "dry"        / 'd'
  top_k,        ///< "top_k"      / 'k'
  typical_p,    ///< "typ_p"      / 'y'
  top_p,        ///< "top_p"      / 'p'
  min_p,        ///< "min_p"      / 'm'
  temperature,  ///< "temperature"/ 't' (temperature 0 = greedy)
};

/// llama.cpp's default order (common/common.h), minus its top-n-sigma and XTC stages, which scalpel lacks (both are
/// disabled by default there), with logit bias first as llama.cpp's common_sampler_init adds it.
inline constexpr std::array<stage, 8> default_order = {stage::logit_bias, stage::penalties,  stage::dry,
                                                       stage::top_k,      stage::typical_p,  stage::top_p,
                                                       stage::min_p,      stage::temperature};

/// The canonical name of a stage (llama.cpp's, plus "logit_bias").
constexpr std::string_view stage_name(stage s) noexcept {
  switch (s) {
    case stage::logit_bias:
      return "logit_bias";
    case stage::penalties:
      return "penalties";
    case stage::dry:
      return "dry";
    case stage::top_k:
      return "top_k";
    case stage::typical_p:
      return "typ_p";
    case stage::top_p:
      return "top_p";
    case stage::min_p:
      return "min_p";
    case stage::temperature:
      return "temperature";
  }
  return "unknown";
}

/// "penalties;dry;top_k;..." (the form `parse_stage_order` reads back).
inline std::string format_stage_order(std::span<const stage> order) {
  std::string out;
  for (const stage s : order) {
    if (!out.empty()) out += ';';
    out += stage_name(s);
  }
  return out;
}

namespace detail {
inline std::optional<stage> stage_from_name(std::string_view n) {
  if (n == "logit_bias" || n == "logit-bias" || n == "bias") return stage::logit_bias;
  if (n == "penalties" || n == "penalty") return stage::penalties;
  if (n == "dry") return stage::dry;
  if (n == "top_k" || n == "top-k") return stage::top_k;
  if (n == "typ_p" || n == "typical_p" || n == "typical-p" || n == "typical") return stage::typical_p;
  if (n == "top_p" || n == "top-p" || n == "nucleus") return stage::top_p;
  if (n == "min_p" || n == "min-p") return stage::min_p;
  if (n == "temperature" || n == "temp") return stage::temperature;
  return std::nullopt;
}
inline std::optional<stage> stage_from_letter(char c) {
  switch (c) {
    case 'b':
      return stage::logit_bias;
    case 'e':
      return stage::penalties;
    case 'd':
      return stage::dry;
    case 'k':
      return stage::top_k;
    case 'y':
      return stage::typical_p;
    case 'p':
      return stage::top_p;
    case 'm':
      return stage::min_p;
    case 't':
      return stage::temperature;
    default:
      return std::nullopt;
  }
}
inline bool is_llama_only_stage(std::string_view n) {
  return n == "top_n_sigma" || n == "top-n-sigma" || n == "xtc" || n == "infill" || n == "s" || n == "x" || n == "i";
}
}  // namespace detail

/// Parse a stage order: either names separated by ';' or ',' ("penalties;dry;top_k;temperature", llama.cpp's
/// `--samplers`) or one letter per stage ("edkypmt", llama.cpp's `--sampling-seq`). "logit_bias" is prepended
/// when absent, because llama.cpp always applies the bias first.
/// @throws scalpel::error `invalid_argument` for an unknown or repeated stage, `unsupported` for llama.cpp stages
/// scalpel does not implement (top_n_sigma, xtc, infill).
inline std::vector<stage> parse_stage_order(std::string_view text) {
  std::vector<std::string> names;
  const bool has_sep = text.find_first_of(";,") != std::string_view::npos;
  const bool all_letters =
      !has_sep && !text.empty() && !detail::stage_from_name(text) && std::all_of(text.begin(), text.end(), [](char c) {
        return detail::stage_from_letter(c) || c == 's' || c == 'x' || c == 'i';
      });
  if (all_letters) {
    for (const char c : text) names.emplace_back(1, c);
  } else {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      const std::size_t end = std::min(text.find_first_of(";,", pos), text.size());
      std::string_view item = text.substr(pos, end - pos);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) names.emplace_back(item);
      pos = end + 1;
    }
  }
  std::vector<stage> order;
  for (const auto& n : names) {
    std::optional<stage> s = n.size() == 1 ? detail::stage_from_letter(n[0]) : detail::stage_from_name(n);
    if (!s) {
      if (detail::is_llama_only_stage(n)) {
        fail(errc::unsupported, "sampler stage '" + n + "' (llama.cpp) is not implemented by scalpel");
      }
      fail(errc::invalid_argument,
           "unknown sampler stage '" + n + "' in '" + std::string(text) +
               "' (expected logit_bias, penalties, dry, top_k, typ_p, top_p, min_p, temperature or letters bedkypmt)");
    }
    if (std::find(order.begin(), order.end(), *s) != order.end()) {
      fail(errc::invalid_argument,
           "sampler stage '" + std::string(stage_name(*s)) + "' appears twice in '" + std::string(text) + "'");
    }
    order.push_back(*s);
  }
  if (std::find(order.begin(), order.end(), stage::logit_bias) == order.end()) {
    order.insert(order.begin(), stage::logit_bias);
  }
  return order;
}

/// Add `bias` to the logit of token `id` (-inf bans the token). Several entries for one id add up.
struct logit_bias_entry {
  token_id id;
  float bias;
};

/// Everything that configures one request's sampler. Defaults are Gemma 4 -it's generation_config.json
/// (temperature 1.0, top-k 64, top-p 0.95, nothing else) with llama.cpp's defaults for the options it leaves unset.
struct sampler_config {
  float temperature = 1.0f;   ///< > 0 divides logits; 0 = greedy (argmax, ties -> lowest id); < 0 is an error
  std::int32_t top_k = 64;    ///< keep the k most likely; 0 = disabled; k >= V keeps all
  float top_p = 0.95f;        ///< nucleus mass in (0, 1]; 1 = disabled
  float min_p = 0.0f;         ///< keep p >= min_p * p_max, in [0, 1]; 0 = disabled
  float typical_p = 1.0f;     ///< locally typical mass in (0, 1]; 1 = disabled
  std::int32_t min_keep = 0;  ///< top-p, min-p and typical-p keep at least this many tokens (>= 0)

  float repeat_penalty = 1.0f;  ///< > 0: positive logits of recent tokens / penalty, negative ones * penalty; 1 = off
  std::int32_t repeat_last_n = 64;  ///< penalty window (shared by the three penalties); 0 = off, -1 = all history
  float presence_penalty = 0.0f;    ///< subtracted once from each token present in the window (any finite value)
  float frequency_penalty = 0.0f;   ///< subtracted per occurrence in the window (any finite value)

  float dry_multiplier = 0.0f;           ///< >= 0; 0 = DRY disabled
  float dry_base = 1.75f;                ///< >= 1 when DRY is enabled
  std::int32_t dry_allowed_length = 2;   ///< >= 1: repeats longer than this are penalised
  std::int32_t dry_penalty_last_n = 64;  ///< DRY window; 0 = off, -1 = all history
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};  ///< resolved via `dry_breakers`

  std::vector<logit_bias_entry> logit_bias;                              ///< applied by the logit_bias stage
  std::vector<stage> order{default_order.begin(), default_order.end()};  ///< stage order; absent stages are off
  std::uint64_t seed = rng::default_seed;  ///< seeds `gen::rng`; the same seed gives the same tokens

  bool logprobs = false;          ///< fill `sample_result::raw_logprob` (costs one pass of exp over V)
  std::int32_t top_logprobs = 0;  ///< fill `sample_result::top` with this many alternatives (implies logprobs)
};

/// Gemma 4 -it's generation_config.json sampling (the same as `sampler_config{}`).
inline sampler_config gemma4_it_defaults() { return sampler_config{}; }

/// llama.cpp's common defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, penalties off, DRY off).
inline sampler_config llama_cpp_defaults() {
  sampler_config c;
  c.temperature = 0.8f;
  c.top_k = 40;
  c.top_p = 0.95f;
  c.min_p = 0.05f;
  return c;
}

/// Make the sampler never pick `ids` (a -inf logit bias each), e.g. end-of-generation ids for llama.cpp's
/// `--ignore-eos`, which bans them rather than merely not stopping on them.
inline void ban_tokens(sampler_config& cfg, std::span<const token_id> ids) {
  for (const token_id id : ids) cfg.logit_bias.push_back({id, -std::numeric_limits<float>::infinity()});
}

/// Check every option. @throws scalpel::error `invalid_argument` naming the first bad option and its value.
inline void validate(const sampler_config& c) {
  auto bad = [](std::string_view opt, std::string_view rule, double v) {
    fail(errc::invalid_argument,
         "sampler option " + std::string(opt) + " must be " + std::string(rule) + ", got " + std::to_string(v));
  };
  auto finite = [&](std::string_view opt, float v) {
    if (!std::isfinite(v)) bad(opt, "finite", static_cast<double>(v));
  };
  finite("temperature", c.temperature);
  if (c.temperature < 0.0f) bad("temperature", ">= 0 (0 = greedy)", static_cast<double>(c.temperature));
  if (c.top_k < 0) bad("top_k", ">= 0 (0 = disabled)", c.top_k);
  if (!(c.top_p > 0.0f && c.top_p <= 1.0f)) bad("top_p", "in (0, 1] (1 = disabled)", static_cast<double>(c.top_p));
  if (!(c.min_p >= 0.0f && c.min_p <= 1.0f)) bad("min_p", "in [0, 1] (0 = disabled)", static_cast<double>(c.min_p));
  if (!(c.typical_p > 0.0f && c.typical_p <= 1.0f)) {
    bad("typical_p", "in (0, 1] (1 = disabled)", static_cast<double>(c.typical_p));
  }
  if (c.min_keep < 0) bad("min_keep", ">= 0", c.min_keep);
  finite("repeat_penalty", c.repeat_penalty);
  if (!(c.repeat_penalty > 0.0f)) bad("repeat_penalty", "> 0 (1 = disabled)", static_cast<double>(c.repeat_penalty));
  if (c.repeat_last_n < -1) bad("repeat_last_n", ">= -1 (0 = off, -1 = whole history)", c.repeat_last_n);
  finite("presence_penalty", c.presence_penalty);
  finite("frequency_penalty", c.frequency_penalty);
  finite("dry_multiplier", c.dry_multiplier);
  if (c.dry_multiplier < 0.0f) bad("dry_multiplier", ">= 0 (0 = disabled)", static_cast<double>(c.dry_multiplier));
  if (c.dry_multiplier > 0.0f) {
    if (!(std::isfinite(c.dry_base) && c.dry_base >= 1.0f)) {
      bad("dry_base", ">= 1 and finite", static_cast<double>(c.dry_base));
    }
    if (c.dry_allowed_length < 1) bad("dry_allowed_length", ">= 1", c.dry_allowed_length);
  }
  if (c.dry_penalty_last_n < -1) bad("dry_penalty_last_n", ">= -1 (0 = off, -1 = whole history)", c.dry_penalty_last_n);
  for (std::size_t i = 0; i < c.dry_sequence_breakers.size(); ++i) {
    if (c.dry_sequence_breakers[i].empty()) {
      fail(errc::invalid_argument, "sampler option dry_sequence_breakers[" + std::to_string(i) + "] is empty");
    }
  }
  for (const auto& b : c.logit_bias) {
    if (b.id < 0) fail(errc::invalid_argument, "sampler option logit_bias names token id " + std::to_string(b.id));
    if (std::isnan(b.bias) || b.bias == std::numeric_limits<float>::infinity()) {
      fail(errc::invalid_argument, "sampler option logit_bias for token " + std::to_string(b.id) +
                                       " must be finite or -inf, got " + std::to_string(b.bias));
    }
  }
  for (std::size_t i = 0; i < c.order.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (c.order[i] == c.order[j]) {
        fail(errc::invalid_argument,
             "sampler option order lists stage '" + std::string(stage_name(c.order[i])) + "' twice");
      }
    }
  }
  if (c.temperature == 0.0f && std::find(c.order.begin(), c.order.end(), stage::temperature) == c.order.end()) {
    fail(errc::invalid_argument,
         "sampler option temperature 0 (greedy) needs the 'temperature' stage in order, which is '" +
             format_stage_order(c.order) + "'");
  }
  if (c.top_logprobs < 0) bad("top_logprobs", ">= 0", c.top_logprobs);
}

/// The vocabulary as text, for resolving DRY sequence breakers (strings) to token ids.
struct vocab_text {
  std::size_t size = 0;  ///< V
  /// The bytes token `id` adds to the output (special tokens as their literal text, byte tokens as the byte).
  std::function<std::string(token_id)> piece;
  /// Optional: tokenize text without special tokens. Needed only for multi-character breakers that can start
  /// inside a token (see `dry_breakers::from_strings`); without it those partial matches are skipped.
  std::function<std::vector<token_id>(std::string_view)> encode;
};

/// DRY sequence breakers resolved to token sequences. Resolve once per vocabulary and share among samplers
/// (copies share the table).
class dry_breakers {
 public:
  /// Unresolved: valid only when DRY is off or `dry_sequence_breakers` is empty.
  dry_breakers() = default;

  /// Breakers given directly as token sequences (the first id is the head). `dry_sequence_breakers` is ignored.
  static dry_breakers from_token_sequences(std::span<const std::vector<token_id>> seqs) {
    dry_breakers b;
    auto t = std::make_shared<detail::dry_table>();
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      if (seqs[i].empty()) fail(errc::invalid_argument, "DRY breaker sequence " + std::to_string(i) + " is empty");
      t->entries.push_back({seqs[i].front(), std::vector<token_id>(seqs[i].begin() + 1, seqs[i].end())});
    }
    t->normalize();
    b.table_ = std::move(t);
    b.kind_ = kind::sequences;
    return b;
  }

  /// llama.cpp's resolution: a token whose text contains a breaker is a single-token breaker; a token whose text
  /// ends with a proper prefix of a breaker is the head of a multi-token breaker whose tail is `encode(rest of the
  /// breaker)` (at most 20 tokens; skipped when `encode` is empty). Breakers are truncated to 40 bytes.
  static dry_breakers from_strings(std::span<const std::string> breakers, const vocab_text& vocab) {
    constexpr std::size_t max_chars = 40, max_tail = 20;
    if (!vocab.piece) fail(errc::invalid_argument, "vocab_text.piece is empty: cannot resolve DRY breakers");
    std::vector<std::string> strs;
    for (std::size_t i = 0; i < breakers.size(); ++i) {
      if (breakers[i].empty()) fail(errc::invalid_argument, "DRY breaker " + std::to_string(i) + " is empty");
      strs.push_back(breakers[i].substr(0, max_chars));
    }
    auto t = std::make_shared<detail::dry_table>();
    for (std::size_t v = 0; v < vocab.size && !strs.empty(); ++v) {
      const auto id = static_cast<token_id>(v);
      const std::string word = vocab.piece(id);
      for (const auto& str : strs) {
        if (word.find(str) != std::string::npos) {
          t->entries.push_back({id, {}});
          continue;
        }
        if (!vocab.encode) continue;
        // Every position where the rest of `word` is a prefix of `str`: the tail is the rest of `str`.
        for (std::size_t pos = word.find(str[0]); pos != std::string::npos; pos = word.find(str[0], pos + 1)) {
          const std::size_t n = word.size() - pos;  // < str.size(), else `str` would be contained
          if (word.compare(pos, n, str, 0, n) != 0) continue;
          std::vector<token_id> tail = vocab.encode(std::string_view(str).substr(n));
          if (tail.size() > max_tail) tail.resize(max_tail);
          t->entries.push_back({id, std::move(tail)});
        }
      }
    }
    t->normalize();
    dry_breakers b;
    b.table_ = std::move(t);
    b.strings_.assign(breakers.begin(), breakers.end());
    b.kind_ = kind::strings;
    return b;
  }

  /// The resolved (head, tail) pairs, sorted; empty when unresolved.
  [[nodiscard]] std::span<const detail::dry_entry> entries() const {
    return table_ ? std::span<const detail::dry_entry>(table_->entries) : std::span<const detail::dry_entry>{};
  }
  [[nodiscard]] bool resolved() const noexcept { return kind_ != kind::unresolved; }
  [[nodiscard]] bool from_token_ids() const noexcept { return kind_ == kind::sequences; }
  /// The strings `from_strings` resolved (empty otherwise).
  [[nodiscard]] std::span<const std::string> source_strings() const noexcept { return strings_; }
  [[nodiscard]] const detail::dry_table* table() const noexcept { return table_.get(); }

 private:
  enum class kind : std::uint8_t { unresolved, strings, sequences };
  std::shared_ptr<const detail::dry_table> table_;
  std::vector<std::string> strings_;
  kind kind_ = kind::unresolved;
};

/// A token with its log-probability under the final distribution (-inf when the chain removed it) and under the
/// raw logits (the model's own distribution, before any stage).
struct token_logprob {
  token_id id;
  double logprob;
  double raw_logprob;
};

/// One entry of the final distribution: the logit after every stage and the probability the draw uses.
struct token_prob {
  token_id id;
  float logit;
  double p;
};

/// What `sampler::sample` returns.
struct sample_result {
  token_id id = -1;  ///< the chosen token
  /// ln p(id) under the final distribution (after every stage, temperature included; 0 when one candidate is left,
  /// as with greedy).
  double logprob = 0.0;
  /// ln softmax(raw logits)[id], the model's own log-probability; NaN unless `logprobs` or `top_logprobs` is set.
  double raw_logprob = std::numeric_limits<double>::quiet_NaN();
  std::size_t n_candidates = 0;  ///< size of the final distribution
  /// The `top_logprobs` most likely tokens under the raw logits (logit descending, id ascending), each with its
  /// final and raw log-probability. The chosen token need not be among them.
  std::vector<token_logprob> top;
};

/// The sampler chain for one sequence: configuration, token history (for penalties and DRY) and the RNG.
/// Not thread-safe; use one per sequence. Copying forks it (history and RNG state included).
class sampler {
 public:
  /// @throws scalpel::error `invalid_argument` for a bad option (see `validate`) or DRY breakers that are needed
  /// but not resolved (DRY on, `dry_sequence_breakers` non-empty, `breakers` unresolved or resolved from other
  /// strings).
  explicit sampler(sampler_config cfg, dry_breakers breakers = {}) : cfg_(std::move(cfg)), rng_(cfg_.seed) {
    validate(cfg_);
    if (dry_active()) {
      if (!breakers.resolved() && !cfg_.dry_sequence_breakers.empty()) {
        fail(errc::invalid_argument,
             "DRY is enabled with dry_sequence_breakers, but they were not resolved to token ids: pass "
             "gen::dry_breakers::from_strings(cfg.dry_sequence_breakers, vocab_text) to the sampler");
      }
      if (breakers.resolved() && !breakers.from_token_ids() &&
          !std::equal(breakers.source_strings().begin(), breakers.source_strings().end(),
                      cfg_.dry_sequence_breakers.begin(), cfg_.dry_sequence_breakers.end())) {
        fail(errc::invalid_argument, "the DRY breakers were resolved from other strings than dry_sequence_breakers");
      }
    }
    breakers_ = std::move(breakers);
    for (const auto& b : cfg_.logit_bias) bias_.emplace_back(b.id, b.bias);
    std::sort(bias_.begin(), bias_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  [[nodiscard]] const sampler_config& config() const noexcept { return cfg_; }

  /// Append a token to the history: the prompt (before the first sample) and every token that enters the
  /// sequence afterwards, sampled or forced. @throws scalpel::error `out_of_range` for a negative id or one >= V
  /// (once V is known from the first logits).
  void accept(token_id id) {
    check_id(id, "accepted token", vocab_);
    history_.push_back(id);
  }
  void accept(std::span<const token_id> ids) {
    for (const token_id id : ids) accept(id);
  }
  [[nodiscard]] std::span<const token_id> history() const noexcept { return history_; }

  /// Forget the history and restart the RNG from the configured seed.
  void reset() {
    history_.clear();
    rng_.reseed(cfg_.seed);
  }
  [[nodiscard]] const gen::rng& rng_state() const noexcept { return rng_; }

  /// Run the chain on `logits` (size V; NaN and +Inf rejected, -Inf = masked) and draw one token. Consumes exactly
  /// one RNG output per call (also for greedy). Does not add the token to the history (call `accept`).
  /// @throws scalpel::error `numeric` naming the token for NaN / +Inf logits or when every token is masked;
  /// `shape_mismatch` if V changes between calls; `out_of_range` for a logit-bias or history id >= V.
  sample_result sample(std::span<const float> logits) {
    run_chain(logits);
    finalize_sorted_by_id();
    const auto& items = cands_.items;
    const double total = sum_weights();
    const double target = rng_.uniform() * total;
    // First candidate (ascending id) whose running sum exceeds u * total; the last positive one at worst.
    std::size_t chosen = items.size() - 1;
    double run = 0.0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      run += items[i].p;
      if (run > target && items[i].p > 0.0) {
        chosen = i;
        break;
      }
    }
    while (items[chosen].p == 0.0 && chosen > 0) --chosen;  // unreachable unless total == 0 (excluded)
    sample_result r;
    r.id = items[chosen].id;
    r.n_candidates = items.size();
    r.logprob = detail::log_det(items[chosen].p / total);
    if (cfg_.logprobs || cfg_.top_logprobs > 0) fill_logprobs(logits, total, r);
    return r;
  }

  /// The final distribution `sample` would draw from, sorted by id (no RNG use, history unchanged).
  std::vector<token_prob> distribution(std::span<const float> logits) {
    run_chain(logits);
    finalize_sorted_by_id();
    const double total = sum_weights();
    std::vector<token_prob> out;
    out.reserve(cands_.items.size());
    for (const auto& c : cands_.items) out.push_back({c.id, c.logit, c.p / total});
    return out;
  }

 private:
  [[nodiscard]] bool dry_active() const {
    return cfg_.dry_multiplier > 0.0f && cfg_.dry_penalty_last_n != 0 &&
           std::find(cfg_.order.begin(), cfg_.order.end(), stage::dry) != cfg_.order.end();
  }

  /// `vocab` 0 = not known yet (only negative ids are rejected).
  static void check_id(token_id id, const char* what, std::size_t vocab) {
    if (id < 0 || (vocab != 0 && static_cast<std::size_t>(id) >= vocab)) {
      fail(errc::out_of_range, std::string(what) + " id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                   (vocab != 0 ? std::to_string(vocab) : std::string("V")) + ")");
    }
  }

  /// The last `n` history tokens (n = -1: all, 0: none).
  [[nodiscard]] std::span<const token_id> window(std::int32_t n) const {
    const std::span<const token_id> h = history_;
    if (n < 0) return h;
    return h.last(std::min(h.size(), static_cast<std::size_t>(n)));
  }

  void check_logits(std::span<const float> logits) {
    if (logits.empty()) fail(errc::shape_mismatch, "sampler: the logits vector is empty");
    if (vocab_ == 0) {
      if (logits.size() > static_cast<std::size_t>(std::numeric_limits<token_id>::max())) {
        fail(errc::shape_mismatch, "sampler: " + std::to_string(logits.size()) + " logits exceed the token id range");
      }
      for (const auto& b : bias_) check_id(b.first, "logit_bias token", logits.size());
      for (const token_id id : history_) check_id(id, "history token", logits.size());
      vocab_ = logits.size();  // only once everything fits
    } else if (logits.size() != vocab_) {
      fail(errc::shape_mismatch, "sampler: got " + std::to_string(logits.size()) +
                                     " logits, expected V = " + std::to_string(vocab_) + " as in the first call");
    }
    bool any_finite = false;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const float v = logits[i];
      if (std::isnan(v) || v == std::numeric_limits<float>::infinity()) {
        fail(errc::numeric, "sampler: the logit of token " + std::to_string(i) + " is " +
                                (std::isnan(v) ? "NaN" : "+Inf") + " (only finite values and -Inf are allowed)");
      }
      any_finite = any_finite || v != -std::numeric_limits<float>::infinity();
    }
    if (!any_finite) fail(errc::numeric, "sampler: every logit is -Inf (all tokens masked)");
  }

  /// Apply `f(candidate&, value)` to the candidates whose ids appear in `pairs` (sorted by id, unique). Direct
  /// indexing while the list still holds token i at position i; a scan otherwise.
  template <class T, class F>
  void for_each_listed(std::span<const std::pair<token_id, T>> pairs, F f) {
    auto& items = cands_.items;
    bool missed = false;
    for (const auto& [id, val] : pairs) {
      const auto u = static_cast<std::size_t>(id);
      if (u < items.size() && items[u].id == id) {
        f(items[u], val);
      } else {
        missed = true;
      }
    }
    if (!missed) return;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& c = items[i];
      if (static_cast<std::size_t>(c.id) == i) continue;  // handled above
      const auto it =
          std::lower_bound(pairs.begin(), pairs.end(), c.id, [](const auto& pr, token_id id) { return pr.first < id; });
      if (it != pairs.end() && it->first == c.id) f(c, it->second);
    }
  }

  static float checked(float v, token_id id, const char* st) {
    if (std::isnan(v) || v == std::numeric_limits<float>::infinity()) {
      fail(errc::numeric, "sampler: the " + std::string(st) + " stage made the logit of token " + std::to_string(id) +
                              (std::isnan(v) ? " NaN" : " +Inf"));
    }
    return v;
  }

  void require_some_finite(const char* st) const {
    for (const auto& c : cands_.items) {
      if (c.logit != -std::numeric_limits<float>::infinity()) return;
    }
    fail(errc::numeric, "sampler: after the " + std::string(st) + " stage every candidate is -Inf (all masked)");
  }

  void apply_logit_bias() {
    if (bias_.empty()) return;
    // Sum duplicate ids first (several entries for one id add up).
    merged_bias_.clear();
    for (const auto& b : bias_) {
      if (!merged_bias_.empty() && merged_bias_.back().first == b.first) {
        merged_bias_.back().second += b.second;
      } else {
        merged_bias_.push_back(b);
      }
    }
    for_each_listed<float>(merged_bias_,
                           [](detail::candidate& c, float b) { c.logit = checked(c.logit + b, c.id, "logit_bias"); });
    cands_.sorted = false;
    require_some_finite("logit_bias");
  }

  void apply_penalties() {
    const float rep = cfg_.repeat_penalty, freq = cfg_.frequency_penalty, pres = cfg_.presence_penalty;
    if (cfg_.repeat_last_n == 0 || (rep == 1.0f && freq == 0.0f && pres == 0.0f)) return;
    const auto w = window(cfg_.repeat_last_n);
    if (w.empty()) return;
    counts_.assign(w.begin(), w.end());
    std::sort(counts_.begin(), counts_.end());
    count_pairs_.clear();
    for (const token_id id : counts_) {
      if (!count_pairs_.empty() && count_pairs_.back().first == id) {
        ++count_pairs_.back().second;
      } else {
        count_pairs_.emplace_back(id, 1);
      }
    }
    for_each_listed<std::int32_t>(count_pairs_, [&](detail::candidate& c, std::int32_t n) {
      float l = c.logit;
      l = l <= 0.0f ? l * rep : l / rep;  // llama.cpp: never makes a negative logit more likely
      // count * freq is exact in double, so this is the same with or without a fused multiply-add.
      const double sub = static_cast<double>(n) * static_cast<double>(freq) + static_cast<double>(pres);
      c.logit = checked(static_cast<float>(static_cast<double>(l) - sub), c.id, "penalties");
    });
    cands_.sorted = false;
    require_some_finite("penalties");
  }

  void apply_dry() {
    if (!dry_active()) return;
    const auto w = window(cfg_.dry_penalty_last_n);
    static const detail::dry_table no_breakers{};
    const detail::dry_table& table = breakers_.table() != nullptr ? *breakers_.table() : no_breakers;
    detail::dry_repeats(w, table, cfg_.dry_allowed_length, z_, dry_pairs_);
    if (dry_pairs_.empty()) return;
    const double base = static_cast<double>(cfg_.dry_base);
    // Cap the exponent so base^e stays below FLT_MAX (llama.cpp: 88.7228391 / ln(base), truncated).
    const std::int32_t max_exp = base > 1.000001 ? static_cast<std::int32_t>(88.7228391 / detail::log_det(base)) : 0;
    const auto allowed = cfg_.dry_allowed_length;
    const auto mult = static_cast<double>(cfg_.dry_multiplier);
    for_each_listed<std::int32_t>(dry_pairs_, [&](detail::candidate& c, std::int32_t len) {
      if (table.is_single_token_breaker(c.id)) return;
      std::int32_t e = len - allowed;
      if (max_exp > 0 && e > max_exp) e = max_exp;
      const auto penalty = static_cast<float>(mult * detail::ipow(base, e));
      c.logit = checked(c.logit - penalty, c.id, "dry");
    });
    cands_.sorted = false;
    require_some_finite("dry");
  }

  void run_chain(std::span<const float> logits) {
    check_logits(logits);
    auto& items = cands_.items;
    items.resize(logits.size());
    for (std::size_t i = 0; i < logits.size(); ++i) items[i] = {static_cast<token_id>(i), logits[i], 0.0};
    cands_.sorted = false;
    const auto min_keep = static_cast<std::size_t>(cfg_.min_keep);
    for (const stage s : cfg_.order) {
      switch (s) {
        case stage::logit_bias:
          apply_logit_bias();
          break;
        case stage::penalties:
          apply_penalties();
          break;
        case stage::dry:
          apply_dry();
          break;
        case stage::top_k:
          detail::apply_top_k(cands_, cfg_.top_k);
          break;
        case stage::typical_p:
          detail::apply_typical(cands_, cfg_.typical_p, min_keep);
          break;
        case stage::top_p:
          detail::apply_top_p(cands_, cfg_.top_p, min_keep);
          break;
        case stage::min_p:
          detail::apply_min_p(cands_, cfg_.min_p, min_keep);
          break;
        case stage::temperature:
          detail::apply_temperature(cands_, cfg_.temperature);
          break;
      }
    }
  }

  /// Sort the survivors by id (the draw's canonical order) and store unnormalised weights exp(l - max) in `p`.
  void finalize_sorted_by_id() {
    auto& items = cands_.items;
    auto by_id = [](const auto& a, const auto& b) { return a.id < b.id; };
    if (!std::is_sorted(items.begin(), items.end(), by_id)) std::sort(items.begin(), items.end(), by_id);
    cands_.sorted = false;
    const double m = static_cast<double>(cands_.max_logit());
    for (auto& c : items) c.p = detail::exp_det(static_cast<double>(c.logit) - m);
  }

  [[nodiscard]] double sum_weights() const {
    double total = 0.0;
    for (const auto& c : cands_.items) total += c.p;
    return total;
  }

  void fill_logprobs(std::span<const float> logits, double total, sample_result& r) const {
    // log-sum-exp of the raw logits, summed in id order.
    float m = -std::numeric_limits<float>::infinity();
    for (const float v : logits) m = std::max(m, v);
    double s = 0.0;
    for (const float v : logits) s += detail::exp_det(static_cast<double>(v) - static_cast<double>(m));
    const double lse = static_cast<double>(m) + detail::log_det(s);
    auto raw = [&](token_id id) { return static_cast<double>(logits[static_cast<std::size_t>(id)]) - lse; };
    r.raw_logprob = raw(r.id);
    if (cfg_.top_logprobs <= 0) return;
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(cfg_.top_logprobs), logits.size());
    std::vector<token_id> ids(logits.size());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<token_id>(i);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(),
                      [&](token_id a, token_id b) {
                        const float la = logits[static_cast<std::size_t>(a)], lb = logits[static_cast<std::size_t>(b)];
                        return la > lb || (la == lb && a < b);
                      });
    const auto& items = cands_.items;  // sorted by id
    r.top.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const token_id id = ids[i];
      const auto it = std::lower_bound(items.begin(), items.end(), id,
                                       [](const detail::candidate& c, token_id x) { return c.id < x; });
      const double lp = (it != items.end() && it->id == id) ? detail::log_det(it->p / total)
                                                            : -std::numeric_limits<double>::infinity();
      r.top.push_back({id, lp, raw(id)});
    }
  }

  sampler_config cfg_;
  dry_breakers breakers_;
  gen::rng rng_;
  std::vector<token_id> history_;
  std::size_t vocab_ = 0;  // V, fixed by the first logits
  std::vector<std::pair<token_id, float>> bias_, merged_bias_;
  // Scratch reused across calls.
  detail::candidates cands_;
  std::vector<token_id> counts_;
  std::vector<std::pair<token_id, std::int32_t>> count_pairs_, dry_pairs_;
  std::vector<std::int32_t> z_;
};

}  // namespace gen
SCALPEL_END_NAMESPACE
