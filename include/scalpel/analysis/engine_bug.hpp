#pragma once
/// @file
/// @brief Engine-bug repetition detector: runs of tokens a correct engine never samples in ordinary text —
/// `<unused*>` slots, `<pad>`, `<unk>`, `<mask>`, `<bos>`, multimodal placeholders. Such spam ("<unused49>" ×
/// 500) points at a broken forward pass (wrong weights, a bad kernel, NaN logits), not at the model's loop
/// circuits, and is kept apart from loops.
///
/// A token is an engine-bug token when the caller's predicate says so, or (without a predicate) when its id is in
/// `ids` or its piece is `<unused N>` / one of `texts`. Whitespace-only tokens neither count nor break a run.
/// Fires when a run reaches `min_run_tokens`. O(1) per token.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Settings of the engine-bug detector.
struct engine_bug_config {
  bool enabled = true;
  std::int64_t min_run_tokens = 8;  ///< consecutive engine-bug tokens that fire the detector
  bool match_unused = true;         ///< pieces `<unused0>`, `<unused1>`, … count
  std::vector<std::string> texts = {"<pad>", "<unk>", "<mask>", "<bos>", "<|image|>", "<|audio|>", "<|video|>"};
  /// Ids that count whatever their piece: Gemma 4 `<pad>`, `<bos>`, `<unk>`, `<mask>` (so ids-only input is
  /// covered); add a tokenizer's unused range here, or clear it for another vocabulary.
  std::vector<std::int32_t> ids = {0, 2, 3, 4};
  /// Overrides the rules above when set: true for an engine-bug token.
  std::function<bool(std::int32_t id, std::string_view piece)> predicate;

  /// @throws scalpel::error (invalid_argument) naming the field when a value is out of range.
  void validate() const {
    if (min_run_tokens < 1)
      fail(errc::invalid_argument, "engine_bug.min_run_tokens must be >= 1, got " + std::to_string(min_run_tokens));
  }

  /// Whether (id, piece) is an engine-bug token under this configuration.
  [[nodiscard]] bool matches(std::int32_t id, std::string_view piece) const {
    if (predicate) return predicate(id, piece);
    if (!ids.empty() && std::find(ids.begin(), ids.end(), id) != ids.end()) return true;
    if (piece.empty() || piece.front() != '<') return false;
    if (match_unused && detail::is_unused_piece(piece)) return true;
    return std::find(texts.begin(), texts.end(), piece) != texts.end();
  }
};

/// Online engine-bug run detector.
class engine_bug_detector {
 public:
  explicit engine_bug_detector(const engine_bug_config& cfg = {}) : cfg_(cfg) {
    cfg_.validate();
    reset();
  }

  /// Feeds token `index`; `bug` = `config().matches(id, piece)`, `blank` = the piece is whitespace only.
  /// Returns true at the one token where the detector fires.
  bool push(std::int64_t index, std::int32_t id, bool bug, bool blank) {
    if (!cfg_.enabled) return false;
    if (!bug) {
      if (blank) return false;
      if (det_.fired) following_ = false;
      run_ = 0;
      return false;
    }
    if (run_ == 0) {
      run_start_ = index;
      run_id_ = id;
      same_id_ = true;
    } else {
      same_id_ = same_id_ && id == run_id_;
    }
    ++run_;
    if (det_.fired) {
      if (following_) describe();
      return false;
    }
    if (run_ < cfg_.min_run_tokens) return false;
    det_.fired = true;
    det_.fire_token = index;
    det_.onset_token = run_start_;
    following_ = true;
    describe();
    return true;
  }

  [[nodiscard]] bool fired() const noexcept { return det_.fired; }
  [[nodiscard]] const detection& result() const noexcept { return det_; }
  [[nodiscard]] const engine_bug_config& config() const noexcept { return cfg_; }

  void reset() {
    run_ = 0;
    run_start_ = -1;
    run_id_ = -1;
    same_id_ = true;
    following_ = false;
    det_ = detection{};
    det_.detector = det_.kind = phenotype::engine_bug;
  }

 private:
  void describe() {
    det_.repeats = run_;
    det_.period_tokens = same_id_ ? 1 : 0;
    det_.detail = "a run of " + std::to_string(run_) + " engine-bug tokens (" +
                  (same_id_ ? "id " + std::to_string(run_id_) + " repeated" : std::string("mixed special tokens")) +
                  ") from token " + std::to_string(det_.onset_token);
  }

  engine_bug_config cfg_;
  std::int64_t run_ = 0;
  std::int64_t run_start_ = -1;
  std::int32_t run_id_ = -1;
  bool same_id_ = true;
  bool following_ = false;
  detection det_;
};

}  // namespace analysis
SCALPEL_END_NAMESPACE
