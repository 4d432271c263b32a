#pragma once
/// @file
/// @brief Doom-loop tracker: the thinking channel (`<|channel>thought …`) was opened and never closed with
/// `<channel|>`, and there is no final answer when the budget ends. The model circles ("wait", "actually",
/// "let me re-check") over a fact it cannot recall until the token budget is gone. Because this needs the
/// end-of-generation signal, the tracker only gathers evidence online; `evaluate(stop)` decides at the end.
///
/// Evidence kept: whether the channel opened / closed (by token id or by the control piece's text), thought
/// tokens and words, self-correction markers (word sequences, case-insensitive, counted inside thinking), and
/// whether any letter or digit appeared outside thinking (a final answer). The marker density is reported as
/// evidence; the study's definition does not require it (`min_marker_density = 0`), a stricter setting may.
///
/// Cost: O(number of markers) per completed word, O(1) per character otherwise.

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Settings of the doom-loop tracker (definition: paper-notes "Detectors").
struct doom_loop_config {
  bool enabled = true;
  std::string open_text = "<|channel>";   ///< control piece that opens the thinking channel
  std::string close_text = "<channel|>";  ///< control piece that closes it
  std::int32_t open_id = 100;             ///< Gemma 4 id of `<|channel>` (-1: match by text only)
  std::int32_t close_id = 101;            ///< Gemma 4 id of `<channel|>` (-1: match by text only)
  bool starts_in_thought = false;         ///< the prompt already opened the channel (prefilled thinking)
  /// A stream that ends inside an open channel with an unknown stop reason (offline text) counts as cut by the
  /// budget: saved transcripts end where generation ended.
  bool unknown_stop_is_budget = true;
  double min_marker_density = 0.0;  ///< self-correction markers per 1000 thought words required (0: not required)
  std::int64_t min_markers = 0;     ///< and at least this many markers
  /// Self-correction markers, as lower-case word sequences (punctuation splits words: "re-check" = "re check").
  std::vector<std::string> markers = {"wait",
                                      "actually",
                                      "hmm",
                                      "hold on",
                                      "let me re check",
                                      "let me recheck",
                                      "let me double check",
                                      "let me reconsider",
                                      "let me rethink",
                                      "let me verify",
                                      "on second thought",
                                      "i made a mistake",
                                      "scratch that",
                                      "i was wrong",
                                      "correction"};

  /// @throws scalpel::error (invalid_argument) naming the field when a value is out of range.
  void validate() const {
    if (open_text.empty() || close_text.empty())
      fail(errc::invalid_argument, "doom_loop.open_text / close_text must not be empty");
    if (min_marker_density < 0.0)
      fail(errc::invalid_argument,
           "doom_loop.min_marker_density must be >= 0, got " + std::to_string(min_marker_density));
    if (min_markers < 0)
      fail(errc::invalid_argument, "doom_loop.min_markers must be >= 0, got " + std::to_string(min_markers));
    for (const auto& m : markers) {
      if (detail::normalise_key(m).empty() && !m.empty())
        fail(errc::invalid_argument, "doom_loop.markers: '" + m + "' has no letters or digits");
    }
  }
};

/// Online evidence for the doom-loop decision.
class doom_loop_tracker {
 public:
  explicit doom_loop_tracker(const doom_loop_config& cfg = {}) : cfg_(cfg) {
    cfg_.validate();
    for (const auto& m : cfg_.markers) {
      std::vector<std::string> words;
      std::string w;
      for (const char ch : m + " ") {
        if (ch == ' ' || ch == '-') {
          if (!w.empty()) words.push_back(std::move(w));
          w.clear();
        } else {
          w.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
        }
      }
      if (!words.empty() && words.size() <= recent_.size()) phrases_.push_back(std::move(words));
    }
    reset();
  }

  /// Feeds token `index`: opens / closes the channel on the marker ids or control texts, counts thought tokens.
  void push_token(std::int64_t index, std::int32_t id, std::string_view piece, bool control) {
    const bool open = (cfg_.open_id >= 0 && id == cfg_.open_id) || (control && piece == cfg_.open_text);
    const bool close = (cfg_.close_id >= 0 && id == cfg_.close_id) || (control && piece == cfg_.close_text);
    if (open && !in_thought_) {
      end_word();
      in_thought_ = true;
      stats_.opened = true;
      stats_.closed = false;
      stats_.open_token = index;
    } else if (close && in_thought_) {
      end_word();
      in_thought_ = false;
      stats_.closed = true;
    } else if (in_thought_) {
      ++stats_.thought_tokens;
    } else if (!control && piece.empty()) {
      stats_.answered = true;  // ids only: a non-control token outside thinking is answer text
    }
  }

  /// Feeds one character of a non-control piece.
  void push_char(char32_t c) {
    if (!in_thought_) {
      if (detail::is_word_char(c)) stats_.answered = true;
      return;
    }
    if (detail::is_word_char(c)) {
      detail::append_folded(word_, c);
    } else {
      end_word();
    }
  }

  /// The decision at the end of generation. `tokens`: how many tokens were fed.
  [[nodiscard]] detection evaluate(stop_kind stop, std::int64_t tokens) const {
    detection d;
    d.detector = d.kind = phenotype::doom_loop;
    if (!cfg_.enabled) return d;
    const thinking_stats s = stats();
    const bool budget = stop == stop_kind::budget || (stop == stop_kind::unknown && cfg_.unknown_stop_is_budget);
    if (!(in_thought_ && budget && !s.answered)) return d;
    const double density = s.marker_density_per_1k_words();
    if (density + 1e-12 < cfg_.min_marker_density || s.markers < cfg_.min_markers) return d;
    d.fired = true;
    d.onset_token = s.open_token < 0 ? 0 : s.open_token;
    d.fire_token = tokens > 0 ? tokens - 1 : 0;
    d.repeats = s.markers;
    char dens[32];
    std::snprintf(dens, sizeof dens, "%.1f", density);
    d.detail = "thinking opened at token " + std::to_string(d.onset_token) +
               " and never closed; the budget ended after " + std::to_string(s.thought_tokens) +
               " thought tokens with no final answer (" + std::to_string(s.markers) + " self-correction markers, " +
               dens + " per 1000 words)";
    return d;
  }

  /// Evidence so far (a word still being typed counts).
  [[nodiscard]] thinking_stats stats() const {
    thinking_stats s = stats_;
    if (in_thought_ && !word_.empty()) {
      ++s.thought_words;
      s.markers += count_markers(word_);
    }
    return s;
  }
  [[nodiscard]] bool in_thought() const noexcept { return in_thought_; }
  [[nodiscard]] const doom_loop_config& config() const noexcept { return cfg_; }

  void reset() {
    stats_ = thinking_stats{};
    in_thought_ = cfg_.starts_in_thought;
    if (in_thought_) {
      stats_.opened = true;
      stats_.open_token = 0;
    }
    word_.clear();
    for (auto& r : recent_) r.clear();
    recent_n_ = 0;
  }

 private:
  void end_word() {
    if (word_.empty()) return;
    ++stats_.thought_words;
    stats_.markers += count_markers(word_);
    recent_[recent_n_ % recent_.size()] = word_;
    ++recent_n_;
    word_.clear();
  }

  // Markers ending with `last` (the newest word), matched against the recent words before it.
  [[nodiscard]] std::int64_t count_markers(const std::string& last) const {
    std::int64_t found = 0;
    for (const auto& ph : phrases_) {
      if (ph.back() != last) continue;
      const std::size_t before = ph.size() - 1;
      if (before > recent_n_) continue;
      bool ok = true;
      for (std::size_t j = 0; j < before && ok; ++j) {  // ph[before - 1 - j] vs the (j+1)-th previous word
        ok = recent_[(recent_n_ - 1 - j) % recent_.size()] == ph[before - 1 - j];
      }
      found += ok ? 1 : 0;
    }
    return found;
  }

  doom_loop_config cfg_;
  std::vector<std::vector<std::string>> phrases_;
  thinking_stats stats_;
  bool in_thought_ = false;
  std::string word_;
  std::array<std::string, 6> recent_{};  // ring of the last completed thought words (phrases up to 6 words)
  std::size_t recent_n_ = 0;
};

}  // namespace analysis
SCALPEL_END_NAMESPACE
