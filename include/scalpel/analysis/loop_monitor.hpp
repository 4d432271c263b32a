#pragma once
/// @file
/// @brief The combined loop monitor: feeds every detector one token at a time (id + decoded piece), answers
/// "has a loop fired?" after each token (for `--stop-on-loop`), and at the end (`finish(stop)`) evaluates the
/// doom loop and derives the outcome. Offline helpers run it over saved ids, pieces and/or text.
///
/// Per token: control pieces (`<|channel>`, `<turn|>` …) and engine-bug tokens are markup, not text, so they are
/// kept out of the character stream; the other pieces are decoded (UTF-8 carried across pieces) and fed to the
/// character-repeat, list-collapse and doom-loop detectors; ids go to the token-period, n-gram and engine-bug
/// detectors. The first detector to fire (earliest token; ties broken by `phenotype_priority`) names the
/// phenotype. Verbatim repeats are reclassified by their unit: a unit made only of engine-bug tokens is
/// `engine_bug`; a unit that is exactly one list line (`- Canis Major\n`) is `list_collapse`.
///
/// Cost: O(max token period + max character period) per token plus the piece length, independent of the stream
/// length. Memory: the text and one offset per token (kept for units and offline use), the n-gram counts.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/analysis/char_repeat.hpp"
#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/analysis/doom_loop.hpp"
#include "scalpel/analysis/engine_bug.hpp"
#include "scalpel/analysis/list_collapse.hpp"
#include "scalpel/analysis/list_line.hpp"
#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/analysis/ngram_repeat.hpp"
#include "scalpel/analysis/text_segment.hpp"
#include "scalpel/analysis/token_period.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Every detector's settings. Defaults are the study-like ones of docs/detectors.md.
struct loop_monitor_config {
  token_period_config token_period;
  ngram_config ngram;
  char_repeat_config char_repeat;
  list_collapse_config list_collapse;
  doom_loop_config doom_loop;
  engine_bug_config engine_bug;
  bool classify_units = true;  ///< reclassify verbatim repeats by their unit (engine-bug tokens, one list line)
  /// Ids that are markup, not text, when their piece is unknown (empty; ids-only input). Gemma 4: pad, eos, bos,
  /// unk, mask, tool markers, `<|think|>`, channel and turn markers. With a piece, `is_control_piece` decides.
  std::vector<std::int32_t> control_ids = {0, 1, 2, 3, 4, 46, 47, 48, 49, 50, 51, 52, 98, 100, 101, 105, 106};

  /// @throws scalpel::error (invalid_argument) naming the field of the first bad value.
  void validate() const {
    token_period.validate();
    ngram.validate();
    char_repeat.validate();
    list_collapse.validate();
    doom_loop.validate();
    engine_bug.validate();
  }
};

namespace detail {
/// Whether `unit` (one period of a verbatim repeat) is exactly one list line, in some rotation.
inline bool is_single_list_line_unit(std::string_view unit) {
  const std::size_t nl = unit.find('\n');
  if (nl == std::string_view::npos || unit.find('\n', nl + 1) != std::string_view::npos) return false;
  std::string line(unit.substr(nl + 1));
  line.append(unit.substr(0, nl));
  return parse_list_line(line).has_value();
}

inline std::string cap_unit(std::string s) {
  constexpr std::size_t cap = 256;
  if (s.size() <= cap) return s;
  std::size_t cut = cap;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  s.resize(cut);
  s += "...";
  return s;
}

/// Sorts detections (earliest fire, then priority) and fills the report's headline fields and outcome.
inline void finalize_report(loop_report& r) {
  std::stable_sort(r.fired.begin(), r.fired.end(), [](const detection& a, const detection& b) {
    if (a.fire_token != b.fire_token) return a.fire_token < b.fire_token;
    return phenotype_priority(a.kind) < phenotype_priority(b.kind);
  });
  r.looping = !r.fired.empty();
  if (r.looping) {
    const detection& d = r.fired.front();
    r.kind = d.kind;
    r.onset_token = d.onset_token;
    r.period_tokens = d.period_tokens;
    r.repeats = d.repeats;
    r.detail = d.detail;
    if (d.kind != d.detector) r.detail += " [found by " + std::string(phenotype_name(d.detector)) + "]";
  } else {
    r.kind = phenotype::none;
    r.onset_token = -1;
    r.period_tokens = 0;
    r.repeats = 0;
    r.detail = "no loop";
  }
  r.result = derive_outcome(r.kind, r.stop, r.thinking.answered, r.finished);
}
}  // namespace detail

/// Online combined loop monitor (see the file comment).
class loop_monitor {
 public:
  explicit loop_monitor(const loop_monitor_config& cfg = {})
      : cfg_((cfg.validate(), cfg)),
        period_(cfg_.token_period),
        ngram_(cfg_.ngram),
        chars_(cfg_.char_repeat),
        list_(cfg_.list_collapse),
        doom_(cfg_.doom_loop),
        engine_(cfg_.engine_bug) {
    std::sort(cfg_.control_ids.begin(), cfg_.control_ids.end());
  }

  /// Feeds the next token: its id and its decoded text piece (may be empty when unknown, e.g. ids-only input).
  /// Returns whether a loop has fired so far (true from the firing token on), so generation can stop.
  /// @throws scalpel::error (invalid_argument) after `finish` (call `reset` to start a new stream).
  bool push(std::int32_t id, std::string_view piece) {
    if (finished_) fail(errc::invalid_argument, "loop_monitor::push after finish(); call reset() first");
    const std::int64_t idx = n_++;
    // A piece, when given, says what the token is; without one, the id decides.
    const bool control = piece.empty() ? std::binary_search(cfg_.control_ids.begin(), cfg_.control_ids.end(), id)
                                       : detail::is_control_piece(piece);
    const bool bug = cfg_.engine_bug.enabled && cfg_.engine_bug.matches(id, piece);
    token_start_.push_back(text_.size());
    text_.append(piece);
    bug_.push_back(bug ? 1 : 0);

    doom_.push_token(idx, id, piece, control || bug);
    bool has_content = piece.empty() && !control;  // unknown text: content unless a control id
    bool blank = !piece.empty();
    if (!control && !bug) {
      decoder_.feed(piece, [&](char32_t c) {
        has_content = has_content || !detail::is_format_char(c);
        blank = blank && detail::is_space(c);
        feed_char(c, idx);
      });
    } else {
      blank = false;
    }
    if (period_.push(id, has_content)) on_fire(period_.result());
    if (ngram_.push(id)) on_fire(ngram_.result());
    if (engine_.push(idx, id, bug, blank)) on_fire(engine_.result());
    return looping();
  }

  /// Whether any online detector has fired.
  [[nodiscard]] bool looping() const noexcept { return !fired_.empty(); }
  [[nodiscard]] std::int64_t tokens() const noexcept { return n_; }
  [[nodiscard]] bool finished() const noexcept { return finished_; }
  /// Everything fed so far, concatenated.
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] const loop_monitor_config& config() const noexcept { return cfg_; }
  /// Thinking-channel evidence so far.
  [[nodiscard]] thinking_stats thinking() const { return doom_.stats(); }

  /// Ends the stream: flushes the last line and any partial character, evaluates the doom loop with the stop
  /// reason, and returns the final report. Idempotent.
  loop_report finish(stop_kind stop) {
    if (!finished_) {
      const std::int64_t last = n_ > 0 ? n_ - 1 : 0;
      decoder_.flush([&](char32_t c) { feed_char(c, last); });
      if (list_.finish()) on_fire(list_.result());
      const detection d = doom_.evaluate(stop, n_);
      if (d.fired) on_fire(d);
      stop_ = stop;
      finished_ = true;
    }
    return report();
  }

  /// The report so far (after `finish`: the final one). Repeats of a loop that continues keep growing.
  [[nodiscard]] loop_report report() const {
    loop_report r;
    r.tokens = n_;
    r.stop = stop_;
    r.finished = finished_;
    r.thinking = doom_.stats();
    for (const auto& f : fired_) {
      detection d = live(f.detector);
      d.kind = f.kind;
      d.unit = f.unit;
      r.fired.push_back(std::move(d));
    }
    detail::finalize_report(r);
    return r;
  }

  /// Starts a new stream with the same configuration.
  void reset() {
    period_.reset();
    ngram_.reset();
    chars_.reset();
    list_.reset();
    doom_.reset();
    engine_.reset();
    decoder_.reset();
    fired_.clear();
    doom_result_ = detection{};
    text_.clear();
    token_start_.clear();
    bug_.clear();
    n_ = 0;
    stop_ = stop_kind::unknown;
    finished_ = false;
  }

 private:
  void feed_char(char32_t c, std::int64_t idx) {
    if (chars_.push(c, idx)) on_fire(chars_.result());
    if (list_.push(c, idx)) on_fire(list_.result());
    doom_.push_char(c);
  }

  // The current state of a detector's finding (repeats grow after firing).
  [[nodiscard]] detection live(phenotype detector) const {
    switch (detector) {
      case phenotype::token_period:
        return period_.result();
      case phenotype::ngram:
        return ngram_.result();
      case phenotype::char_repeat:
        return chars_.result();
      case phenotype::list_collapse:
        return list_.result();
      case phenotype::engine_bug:
        return engine_.result();
      case phenotype::doom_loop:
        return doom_result_;
      case phenotype::none:
        break;
    }
    return detection{};
  }

  // Text of tokens [n_ − count, n_).
  [[nodiscard]] std::string tail_text(std::int64_t count) const {
    const auto first = static_cast<std::size_t>(std::max<std::int64_t>(0, n_ - count));
    return first < token_start_.size() ? text_.substr(token_start_[first]) : std::string{};
  }

  void on_fire(const detection& d) {
    fired_entry f{d.detector, d.kind, {}};
    std::string unit;
    bool all_bug = false;
    if (d.detector == phenotype::char_repeat) {
      for (const char32_t c : chars_.tail(d.period_chars)) detail::append_utf8(unit, c);
    } else if ((d.detector == phenotype::token_period || d.detector == phenotype::ngram) && d.period_tokens > 0) {
      unit = tail_text(d.period_tokens);
      const auto p = static_cast<std::size_t>(std::min<std::int64_t>(d.period_tokens, n_));
      all_bug = std::all_of(bug_.end() - static_cast<std::ptrdiff_t>(p), bug_.end(), [](char b) { return b != 0; });
    } else {
      unit = d.unit;
    }
    if (cfg_.classify_units && d.detector != phenotype::list_collapse && d.detector != phenotype::doom_loop &&
        d.detector != phenotype::engine_bug) {
      if (all_bug) {
        f.kind = phenotype::engine_bug;
      } else if (detail::is_single_list_line_unit(unit)) {
        f.kind = phenotype::list_collapse;
      }
    }
    f.unit = detail::cap_unit(std::move(unit));
    if (d.detector == phenotype::doom_loop) doom_result_ = d;
    fired_.push_back(std::move(f));
  }

  struct fired_entry {
    phenotype detector;
    phenotype kind;
    std::string unit;
  };

  loop_monitor_config cfg_;
  token_period_detector period_;
  ngram_detector ngram_;
  char_repeat_detector chars_;
  list_collapse_detector list_;
  doom_loop_tracker doom_;
  engine_bug_detector engine_;
  detail::utf8_decoder decoder_;
  std::vector<fired_entry> fired_;
  detection doom_result_;
  std::string text_;
  std::vector<std::size_t> token_start_;
  std::vector<char> bug_;
  std::int64_t n_ = 0;
  stop_kind stop_ = stop_kind::unknown;
  bool finished_ = false;
};

// ---- offline use ---------------------------------------------------------------------------------------------

/// Runs the monitor over saved tokens. `pieces` is empty (ids only: token-level detectors, engine-bug ids and the
/// channel ids still work; the text detectors see nothing) or has one piece per id.
/// @throws scalpel::error (invalid_argument) when pieces and ids differ in length.
inline loop_report detect_tokens(std::span<const std::int32_t> ids, std::span<const std::string> pieces,
                                 stop_kind stop = stop_kind::unknown, const loop_monitor_config& cfg = {}) {
  if (!pieces.empty() && pieces.size() != ids.size())
    fail(errc::invalid_argument, "detect: " + std::to_string(pieces.size()) + " pieces for " +
                                     std::to_string(ids.size()) + " ids (expected one piece per id)");
  loop_monitor m(cfg);
  for (std::size_t i = 0; i < ids.size(); ++i) m.push(ids[i], pieces.empty() ? std::string_view{} : pieces[i]);
  return m.finish(stop);
}

/// Runs the monitor over text alone: token-level detectors see the pseudo-tokens of `segment_text`, so token
/// indices in the report are pseudo-token indices.
inline loop_report detect_text(std::string_view text, stop_kind stop = stop_kind::unknown,
                               const loop_monitor_config& cfg = {}) {
  loop_monitor m(cfg);
  for (const auto& t : segment_text(text)) m.push(t.id, t.piece);
  return m.finish(stop);
}

/// Runs the monitor over ids and their text when the per-token pieces are unknown (e.g. a saved `generate`
/// result): token-level detectors on the ids (exact token indices), text-level detectors on the pseudo-tokens of
/// the text, whose token indices are mapped onto the ids by character offset (an estimate; the detail says so).
inline loop_report detect_ids_and_text(std::span<const std::int32_t> ids, std::string_view text,
                                       stop_kind stop = stop_kind::unknown, const loop_monitor_config& cfg = {}) {
  loop_monitor_config by_id = cfg;
  by_id.char_repeat.enabled = false;
  by_id.list_collapse.enabled = false;
  loop_monitor_config by_text = cfg;
  by_text.token_period.enabled = false;
  by_text.ngram.enabled = false;
  by_text.doom_loop.open_id = by_text.doom_loop.close_id = -1;
  const loop_report a = detect_tokens(ids, {}, stop, by_id);

  loop_monitor m(by_text);
  const auto toks = segment_text(text);
  std::vector<std::size_t> offset;  // character offset of each pseudo-token
  std::size_t chars = 0;
  for (const auto& t : toks) {
    offset.push_back(chars);
    chars += detail::decode_utf8(t.piece).size();
    m.push(t.id, t.piece);
  }
  const loop_report b = m.finish(stop);
  // start: the pseudo-token's first character (onsets); otherwise its end (the token where a detector fired)
  auto map_token = [&](std::int64_t t, bool start) -> std::int64_t {
    if (t < 0 || toks.empty() || ids.empty() || chars == 0) return t;
    const auto k = static_cast<std::size_t>(std::min<std::int64_t>(t, static_cast<std::int64_t>(toks.size()) - 1));
    const std::size_t off = start ? offset[k] : (k + 1 < offset.size() ? offset[k + 1] : chars);
    const auto est = static_cast<std::int64_t>(static_cast<double>(off) / static_cast<double>(chars) *
                                               static_cast<double>(ids.size()));
    return std::min<std::int64_t>(est, static_cast<std::int64_t>(ids.size()) - 1);
  };

  loop_report r;
  r.tokens = static_cast<std::int64_t>(ids.size());
  r.stop = stop;
  r.finished = true;
  r.thinking = b.thinking.opened || !a.thinking.opened ? b.thinking : a.thinking;
  r.thinking.answered = a.thinking.opened && !b.thinking.opened ? a.thinking.answered : b.thinking.answered;
  const auto has = [](const loop_report& x, phenotype det) {
    return std::any_of(x.fired.begin(), x.fired.end(), [&](const detection& d) { return d.detector == det; });
  };
  r.fired = a.fired;
  const double scale = toks.empty() ? 1.0 : static_cast<double>(ids.size()) / static_cast<double>(toks.size());
  for (auto d : b.fired) {
    // Doom loops and engine bugs are visible in both streams; the id-based finding has exact indices.
    if ((d.detector == phenotype::doom_loop || d.detector == phenotype::engine_bug) && has(a, d.detector)) continue;
    d.onset_token = map_token(d.onset_token, true);
    d.fire_token = map_token(d.fire_token, false);
    if (d.period_tokens > 0)
      d.period_tokens = std::max<std::int64_t>(1, std::llround(static_cast<double>(d.period_tokens) * scale));
    d.detail += " (token indices estimated from the character offset)";
    r.fired.push_back(std::move(d));
  }
  detail::finalize_report(r);
  return r;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
