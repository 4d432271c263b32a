#pragma once
/// @file
/// @brief Applying a plan at run time, without touching weights: a hook set for the forward pass that scales
/// GeGLU activations at `ffn_act`, sets router logits of excluded experts to −∞ at `router_logits` (before
/// top-k) and zeroes the weights of silenced experts at `expert_selection`. Toggle per request by passing it
/// or not.

#include <cmath>
#include <cstddef>
#include <limits>

#include "scalpel/config.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/model/hooks.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace edit {

/// A hook set (see model/hooks.hpp) applying a validated plan. Only the hook points edits use are compiled in.
class plan_hooks {
 public:
  /// Validates `p` against `c` (throws errc::plan / errc::ineffective_edit).
  plan_hooks(const plan& p, const model::gemma4_config& c) {
    validate(p, c);
    effect_ = coalesce(p, c);
  }

  template <model::hook_point P>
  static constexpr bool wants = P == model::hook_point::ffn_act || P == model::hook_point::router_logits ||
                                P == model::hook_point::expert_selection;

  void on(model::hook_payload& p) const noexcept {
    if (p.layer >= effect_.layers.size()) return;
    const auto& le = effect_.layers[p.layer];
    switch (p.point) {
      case model::hook_point::ffn_act:
        if (!le.gains.empty()) {
          for (std::size_t t = 0; t < p.data.extent(0); ++t) {
            float* row = p.data.data_handle() + t * p.data.extent(1);
            for (std::size_t j = 0; j < le.gains.size(); ++j) row[j] *= le.gains[j];
          }
        }
        break;
      case model::hook_point::router_logits:
        for (std::size_t t = 0; t < p.data.extent(0); ++t)
          for (std::size_t e : le.excluded) p.data(t, e) = -std::numeric_limits<float>::infinity();
        break;
      case model::hook_point::expert_selection:
        if (!le.silenced.empty()) {
          for (std::size_t i = 0; i < p.expert_ids.size(); ++i)
            for (std::size_t e : le.silenced)
              if (static_cast<std::size_t>(p.expert_ids[i]) == e) p.expert_weights[i] = 0.0f;
        }
        break;
      default:
        break;
    }
  }

  [[nodiscard]] const coalesced& effect() const noexcept { return effect_; }

 private:
  coalesced effect_;
};

/// Run-time hooks for a compile-time policy set. Every member must be applicable at run time.
template <runtime_edit... Es>
plan_hooks hooks(const policy_set<Es...>& set, const model::gemma4_config& c) {
  return plan_hooks(plan::from(set), c);
}

}  // namespace edit
SCALPEL_END_NAMESPACE
