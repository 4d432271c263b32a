#pragma once
/// @file
/// @brief The two models a capability guard compares (docs/guard.md): a base model and an "edited" one, which is
/// either the same model with an edit plan applied at run time (`edit::plan_hooks`: no weight copy) or another
/// loaded checkpoint over the same vocabulary (e.g. an edited model saved by `scalpel edit`).
///
/// Both sides run the engine's forward pass (`gemma4_model::forward`) on the same token ids; the guards in
/// `guard.hpp` / `guard_mc.hpp` only ever ask a pair for the logits of a chunk appended to a KV cache.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/kv_cache.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Which model of a guard pair runs.
enum class guard_side : std::uint8_t { base, edited };

/// Progress of a long guard run: (units done, units total); units are text windows or MC items.
using guard_progress = std::function<void(std::size_t done, std::size_t total)>;

/// Options shared by the text and multiple-choice guards.
struct guard_options {
  std::size_t context = 512;   ///< text guard: tokens per window, the leading `<bos>` included (≥ 2)
  std::size_t max_tokens = 0;  ///< text guard: score at most this many text tokens (0 = all)
  std::size_t chunk = 128;     ///< positions per forward call: logits memory is 2 · chunk · V floats
  int threads = 0;             ///< kernel threads for the run (0 = leave the current setting)
  guard_progress progress;     ///< optional; called after each window / item
};

/// A base model and the model under test. Holds references: both models must outlive the pair.
class guard_pair {
 public:
  /// Base vs the same model with `p` applied at run time. @throws errc::plan / errc::ineffective_edit as
  /// `edit::validate` (an empty plan is valid: the identity).
  guard_pair(const model::gemma4_model& base, const edit::plan& p)
      : base_(&base), edited_(&base), hooks_(std::in_place, p, base.config()) {}

  /// Base vs another checkpoint. @throws errc::config when the vocabularies differ in size (the logits would
  /// not be comparable); use `check_same_tokenizer` to compare the tokenizers themselves.
  guard_pair(const model::gemma4_model& base, const model::gemma4_model& edited) : base_(&base), edited_(&edited) {
    const std::size_t vb = base.config().vocab_size, ve = edited.config().vocab_size;
    if (vb != ve)
      fail(errc::config, "cannot compare '" + edited.source() + "' (vocabulary " + std::to_string(ve) +
                             ") against the base '" + base.source() + "' (vocabulary " + std::to_string(vb) +
                             "): the models must share a vocabulary");
  }

  [[nodiscard]] const model::gemma4_model& base() const noexcept { return *base_; }
  /// The edited side's model (the base itself when a plan is applied at run time).
  [[nodiscard]] const model::gemma4_model& edited() const noexcept { return *edited_; }
  [[nodiscard]] const model::gemma4_model& model_of(guard_side s) const noexcept {
    return s == guard_side::base ? *base_ : *edited_;
  }
  /// True when the edited side is the base with a run-time plan.
  [[nodiscard]] bool uses_plan() const noexcept { return hooks_.has_value(); }
  [[nodiscard]] std::size_t vocab_size() const noexcept { return base_->config().vocab_size; }

  /// A KV cache for side `s` holding up to `max_context` positions, filled `max_chunk` tokens per call.
  /// @throws errc::context_overflow past the model's maximum context.
  [[nodiscard]] model::kv_cache make_cache(guard_side s, std::size_t max_context, std::size_t max_chunk) const {
    return model_of(s).make_cache(max_context, max_chunk);
  }

  /// Append `ids` to `cache` on side `s` and put the final logits of every position of `ids` in `logits`
  /// ([ids.size(), V], row-major).
  void forward(guard_side s, std::span<const std::int32_t> ids, model::kv_cache& cache,
               std::vector<float>& logits) const {
    if (s == guard_side::edited && hooks_) {
      const edit::plan_hooks& h = *hooks_;  // on() is const and keeps no state: one hook set serves every call
      model_of(s).forward(ids, cache, logits, model::logits_mode::all, h);
    } else {
      model_of(s).forward(ids, cache, logits, model::logits_mode::all);
    }
  }
  /// As `forward`, keeping only the last position's logits ([V]).
  void forward_last(guard_side s, std::span<const std::int32_t> ids, model::kv_cache& cache,
                    std::vector<float>& logits) const {
    if (s == guard_side::edited && hooks_) {
      const edit::plan_hooks& h = *hooks_;
      model_of(s).forward(ids, cache, logits, model::logits_mode::last, h);
    } else {
      model_of(s).forward(ids, cache, logits, model::logits_mode::last);
    }
  }

 private:
  const model::gemma4_model* base_;
  const model::gemma4_model* edited_;
  std::optional<edit::plan_hooks> hooks_;
};

/// Check that two tokenizers have the same vocabulary (size and every piece), so token ids mean the same text
/// on both sides of a guard. @throws errc::tokenizer naming both origins and the first differing id.
inline void check_same_tokenizer(const io::tokenizer& base, const io::tokenizer& edited) {
  if (base.vocab_size() != edited.vocab_size())
    fail(errc::tokenizer, "the tokenizers differ: " + base.origin() + " has " + std::to_string(base.vocab_size()) +
                              " tokens, " + edited.origin() + " has " + std::to_string(edited.vocab_size()));
  for (std::int32_t id = 0; id < base.vocab_size(); ++id)
    if (base.token_text(id) != edited.token_text(id))
      fail(errc::tokenizer, "the tokenizers differ at token id " + std::to_string(id) + ": '" +
                                std::string(base.token_text(id)) + "' in " + base.origin() + ", '" +
                                std::string(edited.token_text(id)) + "' in " + edited.origin());
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
