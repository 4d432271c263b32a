#pragma once
/// @file
/// @brief The generation loop: prefill a prompt, then sample / stop / stream token by token with the sampler
/// chain (`sampler.hpp`) and the stop state machine (`stop.hpp`), on any hook set (run-time edits, observers).
///
/// A prefilled prompt (`prefix`) can be continued many times — N seeds of one prompt reuse its KV cache (the
/// cache is copied per continuation), which is what evaluation sweeps need.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/generate/sampler.hpp"
#include "scalpel/generate/stop.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen {

/// One generated token as seen by a streaming callback.
struct token_event {
  std::size_t index = 0;  ///< 0-based index among generated tokens
  token_id id = 0;
  std::string text;                ///< text released by this token (may be empty: held back, special, partial UTF-8)
  double logprob = 0.0;            ///< log-probability under the final (post-sampler) distribution
  double raw_logprob = 0.0;        ///< log-probability under the model's own distribution (NaN unless logprobs are on)
  std::vector<token_logprob> top;  ///< top alternatives (when requested)
  bool forced = false;             ///< inserted by a stop rule (closing the thinking channel), not sampled
};

/// Return false to stop generation (reason `cancelled`).
using stream_callback = std::function<bool(const token_event&)>;
/// Loop check run per token: return true when a loop is detected (stops when stop_config::stop_on_loop).
using loop_check = std::function<bool(token_id id, std::string_view piece)>;

struct generate_options {
  sampler_config sampling{};
  stop_config stop{};
  std::size_t max_context = 0;  ///< 0: prompt + max_tokens (+ thinking slack), capped by the model
  std::size_t max_chunk = model::default_max_chunk;
};

struct generation {
  std::vector<token_id> ids;  ///< generated ids (an end-of-generation id that stopped it is included)
  std::string text;           ///< streamed text (stop strings and end tokens excluded)
  stop_reason reason = stop_reason::none;
  std::size_t prompt_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  std::uint64_t seed = 0;
  [[nodiscard]] double prefill_tok_s() const {
    return prefill_seconds > 0 ? static_cast<double>(prompt_tokens) / prefill_seconds : 0.0;
  }
  [[nodiscard]] double decode_tok_s() const {
    return decode_seconds > 0 && ids.size() > 1 ? static_cast<double>(ids.size() - 1) / decode_seconds : 0.0;
  }
};

/// A prompt after prefill: cache + next-token logits. Continue it as often as needed.
struct prefix {
  std::vector<token_id> prompt;
  model::kv_cache cache;
  std::vector<float> logits;  ///< [V] at the last prompt position
  double seconds = 0.0;
};

class generator {
 public:
  generator(const model::gemma4_model& m, const io::tokenizer& t) : m_(&m), tok_(&t) {
    if (static_cast<std::size_t>(t.vocab_size()) > m.config().vocab_size)
      fail(errc::tokenizer, "the tokenizer has " + std::to_string(t.vocab_size()) + " tokens, the model only " +
                                std::to_string(m.config().vocab_size));
  }

  /// Run the prompt through the model. @throws errc::context_overflow, errc::out_of_range (bad ids).
  template <model::hook_set Hooks>
  prefix prefill(std::span<const token_id> prompt, std::size_t max_context, Hooks& hooks,
                 std::size_t max_chunk = model::default_max_chunk) const {
    if (prompt.empty()) fail(errc::invalid_argument, "generate: the prompt is empty (put at least <bos>)");
    prefix p;
    p.prompt.assign(prompt.begin(), prompt.end());
    p.cache = m_->make_cache(max_context, max_chunk);
    const auto t0 = std::chrono::steady_clock::now();
    m_->forward(prompt, p.cache, p.logits, model::logits_mode::last, hooks);
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return p;
  }

  /// Append more prompt tokens to a prefix (multi-turn chat: the next turn extends the previous prompt).
  template <model::hook_set Hooks>
  void extend(prefix& p, std::span<const token_id> more, Hooks& hooks) const {
    if (more.empty()) return;
    const auto t0 = std::chrono::steady_clock::now();
    m_->forward(more, p.cache, p.logits, model::logits_mode::last, hooks);
    p.prompt.insert(p.prompt.end(), more.begin(), more.end());
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  /// Generate from a prefilled prompt (its cache is copied; `pre` stays reusable).
  template <model::hook_set Hooks>
  generation continue_from(const prefix& pre, const generate_options& opt, Hooks& hooks,
                           const stream_callback& on_token = {}, const loop_check& loop = {}) const {
    validate(opt.sampling);
    generation g;
    g.prompt_tokens = pre.prompt.size();
    g.prefill_seconds = pre.seconds;
    g.seed = opt.sampling.seed;
    model::kv_cache cache = pre.cache;
    std::vector<float> logits = pre.logits;
    sampler smp(opt.sampling, breakers(opt.sampling));
    smp.accept(pre.prompt);
    stop_state st(opt.stop);
    io::stream_decoder dec(*tok_);
    const auto t0 = std::chrono::steady_clock::now();
    action a = st.begin();
    if (a.is_stop()) {
      g.reason = a.reason;
      return g;
    }
    std::optional<token_id> forced;
    for (std::size_t i = 0;; ++i) {
      token_event ev;
      ev.index = i;
      if (forced) {
        ev.id = *forced;
        ev.forced = true;
      } else {
        const sample_result r = smp.sample(logits);
        ev.id = r.id;
        ev.logprob = r.logprob;
        ev.raw_logprob = r.raw_logprob;
        ev.top = r.top;
      }
      smp.accept(ev.id);
      g.ids.push_back(ev.id);
      const std::string piece = tok_->is_special(ev.id) ? std::string(tok_->token_text(ev.id)) : dec.push(ev.id);
      const bool looped = loop ? loop(ev.id, piece) : false;
      a = st.on_token(ev.id, piece, looped);
      ev.text = a.text;
      g.text += a.text;
      if (on_token && !on_token(ev) && !a.is_stop()) a = st.finish(stop_reason::cancelled), g.text += a.text;
      if (a.is_stop()) {
        g.reason = a.reason;
        break;
      }
      forced = a.is_force() ? std::optional<token_id>(a.token) : std::nullopt;
      if (cache.size() >= cache.max_context()) {
        a = st.finish(stop_reason::context_full);
        g.text += a.text;
        g.reason = a.reason;
        break;
      }
      const token_id next = ev.id;
      m_->forward(std::span<const token_id>(&next, 1), cache, logits, model::logits_mode::last, hooks);
    }
    g.decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return g;
  }

  /// Prefill + generate.
  template <model::hook_set Hooks>
  generation generate(std::span<const token_id> prompt, const generate_options& opt, Hooks& hooks,
                      const stream_callback& on_token = {}, const loop_check& loop = {}) const {
    const prefix p = prefill(prompt, context_for(prompt.size(), opt), hooks, opt.max_chunk);
    return continue_from(p, opt, hooks, on_token, loop);
  }
  generation generate(std::span<const token_id> prompt, const generate_options& opt,
                      const stream_callback& on_token = {}) const {
    model::no_hooks h;
    return generate(prompt, opt, h, on_token);
  }

  /// N seeds of one prompt: one prefill, N continuations (seed i = seeds[i]).
  template <model::hook_set Hooks>
  std::vector<generation> generate_batch(std::span<const token_id> prompt, const generate_options& opt,
                                         std::span<const std::uint64_t> seeds, Hooks& hooks) const {
    const prefix p = prefill(prompt, context_for(prompt.size(), opt), hooks, opt.max_chunk);
    std::vector<generation> out;
    for (const std::uint64_t s : seeds) {
      generate_options o = opt;
      o.sampling.seed = s;
      out.push_back(continue_from(p, o, hooks));
    }
    return out;
  }

  /// The context a request needs: prompt + max_tokens (+1 for a forced channel close), capped by the model.
  [[nodiscard]] std::size_t context_for(std::size_t prompt_len, const generate_options& opt) const {
    if (opt.max_context) return opt.max_context;
    const std::size_t cap = m_->config().max_position_embeddings;
    const std::size_t gen_len = opt.stop.max_tokens >= 0 ? static_cast<std::size_t>(opt.stop.max_tokens) + 2 : cap;
    return std::min(cap, prompt_len + gen_len);
  }

  /// DRY sequence breakers resolved through the tokenizer (empty when DRY is off).
  [[nodiscard]] dry_breakers breakers(const sampler_config& c) const {
    if (c.dry_multiplier <= 0.0f || c.dry_sequence_breakers.empty()) return {};
    vocab_text vt;
    vt.size = static_cast<std::size_t>(tok_->vocab_size());
    vt.piece = [this](token_id id) { return tok_->decode(std::span<const token_id>(&id, 1)); };
    vt.encode = [this](std::string_view s) { return tok_->encode(s); };
    return dry_breakers::from_strings(c.dry_sequence_breakers, vt);
  }

 private:
  const model::gemma4_model* m_;
  const io::tokenizer* tok_;
};

}  // namespace gen
SCALPEL_END_NAMESPACE
