#pragma once
/// @file
/// @brief Vocabulary of loop detection: phenotypes, one detector's finding (`detection`), the end-of-generation
/// signal (`stop_kind`), the outcome classification (`outcome`) and the loop report of contracts.md with its JSON
/// form. See docs/detectors.md.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// What kind of loop a report describes; also names the detectors (each detector reports its own phenotype,
/// which the monitor may reclassify, e.g. a verbatim repeat of one list entry becomes `list_collapse`).
enum class phenotype : std::uint8_t {
  none,
  token_period,   ///< the token stream's tail is exactly periodic
  ngram,          ///< one n-gram occurs many times
  char_repeat,    ///< a substring repeats consecutively (character level)
  list_collapse,  ///< a list decays onto one repeated entry
  doom_loop,      ///< thinking never closed and no answer when the budget ended
  engine_bug,     ///< runs of `<unused*>` / special tokens
};

inline constexpr std::size_t phenotype_count = 7;

constexpr std::string_view phenotype_name(phenotype p) noexcept {
  switch (p) {
    case phenotype::none:
      return "none";
    case phenotype::token_period:
      return "token_period";
    case phenotype::ngram:
      return "ngram";
    case phenotype::char_repeat:
      return "char_repeat";
    case phenotype::list_collapse:
      return "list_collapse";
    case phenotype::doom_loop:
      return "doom_loop";
    case phenotype::engine_bug:
      return "engine_bug";
  }
  return "none";
}

/// Parses a phenotype name; returns false for an unknown name.
constexpr bool parse_phenotype(std::string_view s, phenotype& out) noexcept {
  for (std::size_t i = 0; i < phenotype_count; ++i) {
    const auto p = static_cast<phenotype>(i);
    if (phenotype_name(p) == s) {
      out = p;
      return true;
    }
  }
  return false;
}

/// Preference when two detectors fire at the same token (lower wins): the more specific explanation first.
constexpr int phenotype_priority(phenotype p) noexcept {
  switch (p) {
    case phenotype::engine_bug:
      return 0;
    case phenotype::list_collapse:
      return 1;
    case phenotype::token_period:
      return 2;
    case phenotype::ngram:
      return 3;
    case phenotype::char_repeat:
      return 4;
    case phenotype::doom_loop:
      return 5;
    case phenotype::none:
      break;
  }
  return 6;
}

/// One detector's finding. Token indices are 0-based positions in the stream fed to the detector (for
/// generation: the generated tokens only, not the prompt). Values are -1 / 0 when not applicable.
struct detection {
  phenotype detector = phenotype::none;  ///< which detector produced it
  phenotype kind = phenotype::none;      ///< the phenotype it is reported as (may differ after reclassification)
  bool fired = false;
  std::int64_t onset_token = -1;   ///< first token of the repeated region (or where thinking opened)
  std::int64_t fire_token = -1;    ///< the token at which the detector fired
  std::int64_t period_tokens = 0;  ///< length of one repeat in tokens (0: no regular period)
  std::int64_t period_chars = 0;   ///< length of one repeat in characters (character-level detectors)
  std::int64_t repeats = 0;        ///< how many times the unit occurs (grows while the loop continues)
  std::string unit;                ///< the repeated text (capped at 256 bytes), if known
  std::string detail;              ///< one human-readable sentence
};

/// How generation ended, as far as loop classification cares. Parse generator stop reasons with
/// `parse_stop_reason`.
enum class stop_kind : std::uint8_t {
  unknown,  ///< not known (e.g. offline text)
  natural,  ///< end-of-turn / EOS / a stop string
  budget,   ///< the token budget ran out (`max_tokens`)
  loop,     ///< stopped because a loop detector fired (`--stop-on-loop`)
  other,    ///< anything else (cancelled, error, context full …)
};

constexpr std::string_view stop_kind_name(stop_kind s) noexcept {
  switch (s) {
    case stop_kind::unknown:
      return "unknown";
    case stop_kind::natural:
      return "eos";
    case stop_kind::budget:
      return "max_tokens";
    case stop_kind::loop:
      return "loop";
    case stop_kind::other:
      return "other";
  }
  return "unknown";
}

/// Maps a generator's stop reason string (`gen::stop_reason_name`, contracts.md) onto `stop_kind`: `eos`,
/// `stop`, `stop_token`, `stop_string`, `end_of_turn`, `eot`, `natural` → natural; `max_tokens`,
/// `max_new_tokens`, `length`, `budget`, `thinking_budget`, `context_full` → budget (the model ran out of room
/// before finishing); `loop` → loop; empty, `none` or `unknown` → unknown; anything else (`cancelled` …) → other.
constexpr stop_kind parse_stop_reason(std::string_view s) noexcept {
  for (const std::string_view n : {"eos", "stop", "stop_token", "stop_string", "end_of_turn", "eot", "natural"}) {
    if (s == n) return stop_kind::natural;
  }
  for (const std::string_view b :
       {"max_tokens", "max_new_tokens", "length", "budget", "thinking_budget", "context_full"}) {
    if (s == b) return stop_kind::budget;
  }
  if (s == "loop") return stop_kind::loop;
  if (s.empty() || s == "none" || s == "unknown") return stop_kind::unknown;
  return stop_kind::other;
}

/// The outcome of one generation, kept apart from the loop phenotype (docs/detectors.md, "Outcomes"):
/// a loop of some kind, or one of the non-loop endings.
enum class outcome : std::uint8_t {
  running,        ///< `finish` not called yet and no loop so far
  token_loop,     ///< token_period, ngram or char_repeat
  list_collapse,  ///< list_collapse
  doom_loop,      ///< doom_loop
  engine_bug,     ///< engine_bug
  natural_end,    ///< ended naturally, no loop
  truncated,      ///< the budget ended during the final answer, no loop
  no_answer,      ///< the budget ended with no final answer and no loop (budget exhausted without answer)
  unknown,        ///< no loop, stop reason unknown or other
};

constexpr std::string_view outcome_name(outcome o) noexcept {
  switch (o) {
    case outcome::running:
      return "running";
    case outcome::token_loop:
      return "token_loop";
    case outcome::list_collapse:
      return "list_collapse";
    case outcome::doom_loop:
      return "doom_loop";
    case outcome::engine_bug:
      return "engine_bug";
    case outcome::natural_end:
      return "natural_end";
    case outcome::truncated:
      return "truncated";
    case outcome::no_answer:
      return "no_answer";
    case outcome::unknown:
      return "unknown";
  }
  return "unknown";
}

/// The outcome rule: a loop phenotype decides first; otherwise the stop reason and whether a final answer
/// (text outside the thinking channel) exists.
constexpr outcome derive_outcome(phenotype looped, stop_kind stop, bool answered, bool finished) noexcept {
  switch (looped) {
    case phenotype::token_period:
    case phenotype::ngram:
    case phenotype::char_repeat:
      return outcome::token_loop;
    case phenotype::list_collapse:
      return outcome::list_collapse;
    case phenotype::doom_loop:
      return outcome::doom_loop;
    case phenotype::engine_bug:
      return outcome::engine_bug;
    case phenotype::none:
      break;
  }
  if (!finished) return outcome::running;
  switch (stop) {
    case stop_kind::natural:
      return outcome::natural_end;
    case stop_kind::budget:
      return answered ? outcome::truncated : outcome::no_answer;
    case stop_kind::unknown:
    case stop_kind::loop:
    case stop_kind::other:
      break;
  }
  return outcome::unknown;
}

/// Thinking-channel evidence gathered by the doom-loop tracker.
struct thinking_stats {
  bool opened = false;           ///< a `<|channel>` was seen (or the stream started inside one)
  bool closed = false;           ///< the last opened channel was closed by `<channel|>`
  bool answered = false;         ///< a letter or digit appeared outside the thinking channel
  std::int64_t open_token = -1;  ///< where the (last) thinking channel opened
  std::int64_t thought_tokens = 0;
  std::int64_t thought_words = 0;
  std::int64_t markers = 0;  ///< self-correction markers ("wait", "actually", "let me re-check" …) in thinking
  [[nodiscard]] double marker_density_per_1k_words() const noexcept {
    return thought_words > 0 ? 1000.0 * static_cast<double>(markers) / static_cast<double>(thought_words) : 0.0;
  }
};

/// The loop report (contracts.md): the first loop found (`looping`, `kind`, onset, period, repeats, detail),
/// plus the outcome, every detector that fired, and the thinking evidence.
struct loop_report {
  bool looping = false;
  phenotype kind = phenotype::none;
  std::int64_t onset_token = -1;
  std::int64_t period_tokens = 0;
  std::int64_t repeats = 0;
  std::string detail;
  outcome result = outcome::running;
  stop_kind stop = stop_kind::unknown;
  bool finished = false;
  std::int64_t tokens = 0;       ///< tokens seen
  std::vector<detection> fired;  ///< every detector that fired, earliest first
  thinking_stats thinking;
};

/// JSON of one detection: {"detector", "phenotype", "onset_token", "fire_token", "period_tokens", "period_chars",
/// "repeats", "unit", "detail"}.
inline nlohmann::json to_json(const detection& d) {
  return nlohmann::json{{"detector", phenotype_name(d.detector)},
                        {"phenotype", phenotype_name(d.kind)},
                        {"onset_token", d.onset_token},
                        {"fire_token", d.fire_token},
                        {"period_tokens", d.period_tokens},
                        {"period_chars", d.period_chars},
                        {"repeats", d.repeats},
                        {"unit", d.unit},
                        {"detail", d.detail}};
}

/// JSON of a report: the contracts.md fields `looping`, `phenotype`, `onset_token` (-1 when not looping),
/// `period_tokens` (0 when no regular period), `repeats`, `detail`, then `outcome`, `stop_reason`, `tokens`,
/// `detectors` (every detection, earliest first) and `thinking`.
inline nlohmann::json to_json(const loop_report& r) {
  nlohmann::json fired = nlohmann::json::array();
  for (const auto& d : r.fired) fired.push_back(to_json(d));
  return nlohmann::json{{"looping", r.looping},
                        {"phenotype", phenotype_name(r.kind)},
                        {"onset_token", r.onset_token},
                        {"period_tokens", r.period_tokens},
                        {"repeats", r.repeats},
                        {"detail", r.detail},
                        {"outcome", outcome_name(r.result)},
                        {"stop_reason", stop_kind_name(r.stop)},
                        {"tokens", r.tokens},
                        {"detectors", std::move(fired)},
                        {"thinking",
                         {{"opened", r.thinking.opened},
                          {"closed", r.thinking.closed},
                          {"answered", r.thinking.answered},
                          {"open_token", r.thinking.open_token},
                          {"thought_tokens", r.thinking.thought_tokens},
                          {"thought_words", r.thinking.thought_words},
                          {"markers", r.thinking.markers},
                          {"marker_density_per_1k_words", r.thinking.marker_density_per_1k_words()}}}};
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
