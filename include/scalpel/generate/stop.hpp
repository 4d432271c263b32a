#pragma once
/// @file
/// @brief `gen::stop_state`: when generation ends and what text may be streamed. A small state machine fed every
/// generated token; it handles end-of-generation ids, max new tokens, stop strings across token boundaries (with a
/// hold-back buffer), the thinking-channel budget (force-close or stop) and the loop-detector hook.
///
/// Per decode step the generator does:
/// @code
///   gen::stop_state st(stop_cfg);
///   if (auto a = st.begin(); a.is_stop()) return a.reason;           // max_tokens == 0
///   std::optional<token_id> forced;
///   for (;;) {
///     token_id id = forced ? *forced : smp.sample(logits).id;       // forced: no sampling, no RNG use
///     forward(id); smp.accept(id);
///     gen::action a = st.on_token(id, tokenizer_piece(id), loop_detector_fired);
///     stream(a.text);                                                // the only text to show; may be empty
///     if (a.is_stop()) return a.reason;
///     forced = a.is_force() ? std::optional(a.token) : std::nullopt;
///   }
/// @endcode
/// External stops (Ctrl-C, a full context) go through `finish(reason)`, which also releases held-back text.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen {

/// Why generation ended. `none` while it has not.
enum class stop_reason : std::uint8_t {
  none,
  eos,              ///< an end-of-generation token (not emitted)
  max_tokens,       ///< the max-new-tokens limit
  stop_string,      ///< a stop string completed (it and anything after it are not emitted)
  thinking_budget,  ///< the thinking budget ran out and `on_thinking_budget` is `stop`
  loop,             ///< the loop detector fired and `stop_on_loop` is set
  cancelled,        ///< stopped from outside (e.g. Ctrl-C, a streaming callback)
  context_full,     ///< the context window is full
};

/// The JSON name of a reason: "eos", "max_tokens", "stop_string", "thinking_budget", "loop", "cancelled",
/// "context_full" ("none" while running).
constexpr std::string_view stop_reason_name(stop_reason r) noexcept {
  switch (r) {
    case stop_reason::none:
      return "none";
    case stop_reason::eos:
      return "eos";
    case stop_reason::max_tokens:
      return "max_tokens";
    case stop_reason::stop_string:
      return "stop_string";
    case stop_reason::thinking_budget:
      return "thinking_budget";
    case stop_reason::loop:
      return "loop";
    case stop_reason::cancelled:
      return "cancelled";
    case stop_reason::context_full:
      return "context_full";
  }
  return "unknown";
}

/// The reason named `name` (inverse of `stop_reason_name`), or nullopt.
constexpr std::optional<stop_reason> parse_stop_reason(std::string_view name) noexcept {
  for (auto r : {stop_reason::none, stop_reason::eos, stop_reason::max_tokens, stop_reason::stop_string,
                 stop_reason::thinking_budget, stop_reason::loop, stop_reason::cancelled, stop_reason::context_full}) {
    if (stop_reason_name(r) == name) return r;
  }
  return std::nullopt;
}

/// What happens when the thinking budget runs out.
enum class thinking_overflow : std::uint8_t {
  close_channel,  ///< force the channel-close token, then let the model answer
  stop,           ///< stop with `stop_reason::thinking_budget`
};

/// Stop conditions of one request. Defaults: Gemma 4 end-of-generation ids, no other limit.
struct stop_config {
  /// End-of-generation ids. Gemma 4: 1 `<eos>`, 106 `<turn|>`, 50 `<|tool_response>` (generation_config.json).
  std::vector<std::int32_t> eog_ids = {1, 106, 50};
  bool ignore_eos = false;  ///< do not stop on `eog_ids` (they are then ordinary tokens, text included)
  /// Max new tokens, counting every generated token (thinking and forced ones too); -1 = unlimited, 0 = none.
  std::int64_t max_tokens = -1;
  /// Matched on the streamed text (all of it, thinking included); non-empty strings.
  std::vector<std::string> stop_strings;
  /// Max tokens inside the thinking channel (between `channel_open_id` and `channel_close_id`, neither counted),
  /// summed over all channels of the response; -1 = unlimited, 0 = close a channel as soon as it opens.
  std::int64_t thinking_budget = -1;
  thinking_overflow on_thinking_budget = thinking_overflow::close_channel;
  std::int32_t channel_open_id = 100;   ///< Gemma 4 `<|channel>`
  std::int32_t channel_close_id = 101;  ///< Gemma 4 `<channel|>`
  bool stop_on_loop = false;  ///< stop with `stop_reason::loop` when `on_token` is told the loop detector fired
};

/// What the generator must do after a token.
struct action {
  enum class kind : std::uint8_t {
    proceed,      ///< sample the next token
    stop,         ///< generation is over (`reason`)
    force_token,  ///< feed `token` next instead of sampling, then report it through `on_token` as usual
  };
  kind what = kind::proceed;
  stop_reason reason = stop_reason::none;  ///< for `stop`
  std::int32_t token = -1;                 ///< for `force_token`
  std::string text;                        ///< text now safe to stream (possibly empty); stream it in every case

  [[nodiscard]] bool is_stop() const noexcept { return what == kind::stop; }
  [[nodiscard]] bool is_force() const noexcept { return what == kind::force_token; }
};

/// Stop conditions and streamed-text hold-back for one generation.
///
/// Order of checks in `on_token`: end-of-generation id, then the stop strings, then the loop flag, then max
/// tokens, then the thinking budget; the first that fires decides the reason.
///
/// Hold-back: text is released only once no stop string can still complete with it: the longest suffix of the
/// unreleased text that is a proper prefix of some stop string stays back. On a stop string the text before the
/// match is released and the rest dropped; on any other stop everything held back is released.
class stop_state {
 public:
  /// @throws scalpel::error `invalid_argument` for an empty stop string, max_tokens or thinking_budget < -1, or
  /// equal channel ids.
  explicit stop_state(stop_config cfg) : cfg_(std::move(cfg)) {
    for (std::size_t i = 0; i < cfg_.stop_strings.size(); ++i) {
      if (cfg_.stop_strings[i].empty()) {
        fail(errc::invalid_argument, "stop option stop_strings[" + std::to_string(i) + "] is empty");
      }
    }
    if (cfg_.max_tokens < -1) {
      fail(errc::invalid_argument,
           "stop option max_tokens must be >= -1 (-1 = unlimited), got " + std::to_string(cfg_.max_tokens));
    }
    if (cfg_.thinking_budget < -1) {
      fail(errc::invalid_argument,
           "stop option thinking_budget must be >= -1 (-1 = unlimited), got " + std::to_string(cfg_.thinking_budget));
    }
    if (cfg_.channel_open_id == cfg_.channel_close_id) {
      fail(errc::invalid_argument,
           "stop options channel_open_id and channel_close_id are both " + std::to_string(cfg_.channel_open_id));
    }
  }

  [[nodiscard]] const stop_config& config() const noexcept { return cfg_; }

  /// Call once before the first token: a stop (`max_tokens`) when max_tokens == 0, else proceed.
  action begin() {
    if (cfg_.max_tokens == 0 && reason_ == stop_reason::none) return stop_now(stop_reason::max_tokens, true);
    return {};
  }

  /// Report a token that entered the sequence (sampled or forced) and its text piece as the tokenizer decodes it
  /// (control tokens usually as ""). `loop_detected`: the loop detector's verdict including this token.
  /// @throws scalpel::error `invalid_argument` after a stop, or when a forced token was due and another came.
  action on_token(std::int32_t id, std::string_view piece, bool loop_detected = false) {
    if (reason_ != stop_reason::none) {
      fail(errc::invalid_argument,
           "stop_state::on_token after generation stopped (" + std::string(stop_reason_name(reason_)) + ")");
    }
    if (forced_ && *forced_ != id) {
      fail(errc::invalid_argument,
           "stop_state expected the forced token " + std::to_string(*forced_) + " next, got " + std::to_string(id));
    }
    forced_.reset();
    ++generated_;

    if (!cfg_.ignore_eos && std::find(cfg_.eog_ids.begin(), cfg_.eog_ids.end(), id) != cfg_.eog_ids.end()) {
      return stop_now(stop_reason::eos, true);
    }

    if (id == cfg_.channel_open_id) {
      in_thinking_ = true;
    } else if (id == cfg_.channel_close_id) {
      in_thinking_ = false;
    } else if (in_thinking_) {
      ++thinking_used_;
    }

    pending_.append(piece);
    action a;
    if (const auto m = find_stop_string()) {
      a = stop_now(stop_reason::stop_string, false);
      a.text = pending_.substr(0, m->first);
      matched_ = cfg_.stop_strings[m->second];
      pending_.clear();
      return a;
    }
    a.text = release_safe_text();

    if (loop_detected && cfg_.stop_on_loop) return with_text(stop_now(stop_reason::loop, true), a.text);
    if (cfg_.max_tokens >= 0 && generated_ >= cfg_.max_tokens) {
      return with_text(stop_now(stop_reason::max_tokens, true), a.text);
    }
    if (in_thinking_ && cfg_.thinking_budget >= 0 && thinking_used_ >= cfg_.thinking_budget) {
      if (cfg_.on_thinking_budget == thinking_overflow::stop) {
        return with_text(stop_now(stop_reason::thinking_budget, true), a.text);
      }
      a.what = action::kind::force_token;
      a.token = cfg_.channel_close_id;
      forced_ = cfg_.channel_close_id;
    }
    return a;
  }

  /// Stop from outside (`cancelled`, `context_full`, or `loop` from a detector run elsewhere); releases held-back
  /// text. @throws scalpel::error `invalid_argument` for `none` or when already stopped.
  action finish(stop_reason why) {
    if (why == stop_reason::none) fail(errc::invalid_argument, "stop_state::finish needs a reason");
    if (reason_ != stop_reason::none) {
      fail(errc::invalid_argument,
           "stop_state::finish after generation stopped (" + std::string(stop_reason_name(reason_)) + ")");
    }
    return stop_now(why, true);
  }

  [[nodiscard]] bool stopped() const noexcept { return reason_ != stop_reason::none; }
  [[nodiscard]] stop_reason reason() const noexcept { return reason_; }
  [[nodiscard]] std::int64_t generated_tokens() const noexcept { return generated_; }
  [[nodiscard]] std::int64_t thinking_tokens() const noexcept { return thinking_used_; }
  [[nodiscard]] bool in_thinking() const noexcept { return in_thinking_; }
  /// The token the generator must feed next, if any.
  [[nodiscard]] std::optional<std::int32_t> pending_force() const noexcept { return forced_; }
  /// Text received but not yet released (a possible stop-string prefix).
  [[nodiscard]] std::string_view held_back_text() const noexcept { return pending_; }
  /// The stop string that ended generation (empty otherwise).
  [[nodiscard]] const std::string& matched_stop_string() const noexcept { return matched_; }

  /// Back to the initial state (same configuration).
  void reset() {
    pending_.clear();
    matched_.clear();
    reason_ = stop_reason::none;
    generated_ = thinking_used_ = 0;
    in_thinking_ = false;
    forced_.reset();
  }

 private:
  action stop_now(stop_reason why, bool release_all) {
    reason_ = why;
    forced_.reset();
    action a;
    a.what = action::kind::stop;
    a.reason = why;
    if (release_all) a.text = std::exchange(pending_, {});
    return a;
  }

  static action with_text(action a, const std::string& before) {
    a.text.insert(0, before);
    return a;
  }

  /// Earliest (then longest) complete stop string in `pending_`: (position, index into stop_strings).
  [[nodiscard]] std::optional<std::pair<std::size_t, std::size_t>> find_stop_string() const {
    std::optional<std::pair<std::size_t, std::size_t>> best;
    for (std::size_t i = 0; i < cfg_.stop_strings.size(); ++i) {
      const std::size_t pos = pending_.find(cfg_.stop_strings[i]);
      if (pos == std::string::npos) continue;
      if (!best || pos < best->first ||
          (pos == best->first && cfg_.stop_strings[i].size() > cfg_.stop_strings[best->second].size())) {
        best = std::pair{pos, i};
      }
    }
    return best;
  }

  /// Release all of `pending_` except its longest suffix that is a proper prefix of a stop string.
  std::string release_safe_text() {
    std::size_t hold = 0;
    for (const auto& s : cfg_.stop_strings) {
      const std::size_t max_k = std::min(s.size() - 1, pending_.size());
      for (std::size_t k = max_k; k > hold; --k) {
        if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
          hold = k;
          break;
        }
      }
    }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
  }

  stop_config cfg_;
  std::string pending_;
  std::string matched_;
  stop_reason reason_ = stop_reason::none;
  std::int64_t generated_ = 0;
  std::int64_t thinking_used_ = 0;
  bool in_thinking_ = false;
  std::optional<std::int32_t> forced_;
};

}  // namespace gen
SCALPEL_END_NAMESPACE
