#pragma once
/// @file
/// @brief Edit policies: small value types that say *where* (layer, neurons or experts) and *what* (a gain,
/// a routing exclusion, a silencing), checked by concepts and composed with `|`.
///
/// Where a policy can be applied is a compile-time property (`sites`):
/// | policy           | weights (static, exact)                           | run time (hook)                          |
/// |------------------|---------------------------------------------------|------------------------------------------|
/// | `scale{l, n, s}` | down_proj[:, j] ×= s (Q8_0: up_proj[j, :] ×= s)   | GeGLU activation a_j ×= s at `ffn_act`   |
/// | `negate{l, n}`   | scale with s = −1 (a distinct type for intent)    | same                                     |
/// | `strip{l, n}`    | scale with s = 0                                  | same                                     |
/// | `expert_mask`    | — (not expressible: the router would still pick it) | router logit = −∞ before top-k          |
/// | `expert_silence` | router.per_expert_scale[e] = 0 (keeps its slot)   | expert weight = 0 at `expert_selection`  |
///
/// Gemma normalises the MLP output (post_feedforward_layernorm) after down_proj, so a neuron edit changes the
/// normalised output of the whole MLP, not only neuron j's share of the residual (paper-notes.md). The weight
/// edit and the activation hook are exactly equivalent because both act before that norm. Never negate the gate
/// row: GELU is not odd.

#include <concepts>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace edit {

/// Where a policy may be applied (a bit set).
enum class site : unsigned { none = 0u, weights = 1u, runtime = 2u, both = 3u };
constexpr bool has_site(site s, site bit) noexcept {
  return (static_cast<unsigned>(s) & static_cast<unsigned>(bit)) != 0;
}

/// Multiply the MLP neurons `neurons` of `layer` by `factor` (amplify > 1, suppress 0..1, sign-invert < 0).
struct scale {
  std::size_t layer = 0;
  std::vector<std::size_t> neurons;
  float factor = 1.0f;
  static constexpr site sites = site::both;
  static constexpr std::string_view op = "scale";
  [[nodiscard]] float gain() const noexcept { return factor; }
};
/// Sign-invert MLP neurons (scale by −1).
struct negate {
  std::size_t layer = 0;
  std::vector<std::size_t> neurons;
  static constexpr site sites = site::both;
  static constexpr std::string_view op = "negate";
  [[nodiscard]] static constexpr float gain() noexcept { return -1.0f; }
};
/// Zero MLP neurons (scale by 0; the neuron's weights stay in place, so shapes do not change).
struct strip {
  std::size_t layer = 0;
  std::vector<std::size_t> neurons;
  static constexpr site sites = site::both;
  static constexpr std::string_view op = "strip";
  [[nodiscard]] static constexpr float gain() noexcept { return 0.0f; }
};
/// Routing exclusion: the experts' router logits are set to −∞ before top-k, so other experts take their slots.
/// Run time only — no static weight edit has this effect (the router has no bias).
struct expert_mask {
  std::size_t layer = 0;
  std::vector<std::size_t> experts;
  static constexpr site sites = site::runtime;
  static constexpr std::string_view op = "expert_mask";
};
/// Silencing: the experts' per-expert scale is 0. They are still selected (occupying a top-k slot and its
/// probability mass) but contribute nothing. Static (router.per_expert_scale) or at run time.
struct expert_silence {
  std::size_t layer = 0;
  std::vector<std::size_t> experts;
  static constexpr site sites = site::both;
  static constexpr std::string_view op = "expert_silence";
};

/// Any edit policy: a value type with a layer and its application sites.
template <class E>
concept edit_policy = requires(const E& e) {
  { E::sites } -> std::convertible_to<site>;
  { E::op } -> std::convertible_to<std::string_view>;
  { e.layer } -> std::convertible_to<std::size_t>;
};
/// A policy that scales MLP neurons.
template <class E>
concept neuron_edit = edit_policy<E> && requires(const E& e) {
  { e.neurons } -> std::convertible_to<const std::vector<std::size_t>&>;
  { e.gain() } -> std::convertible_to<float>;
};
/// A policy on routed experts.
template <class E>
concept expert_edit = edit_policy<E> && requires(const E& e) {
  { e.experts } -> std::convertible_to<const std::vector<std::size_t>&>;
};
/// A policy that can be applied to the weights (a static edit).
template <class E>
concept weight_edit = edit_policy<E> && has_site(E::sites, site::weights);
/// A policy that can be applied at run time through hooks.
template <class E>
concept runtime_edit = edit_policy<E> && has_site(E::sites, site::runtime);

/// A compile-time composition of policies (`a | b | c`), applied in order. Gains on the same neuron multiply.
template <edit_policy... Es>
struct policy_set {
  std::tuple<Es...> items;
  static constexpr std::size_t size = sizeof...(Es);
  /// All members can be applied to weights.
  static constexpr bool all_weight_edits = (weight_edit<Es> && ...);
  template <class F>
  void for_each(F&& f) const {
    std::apply([&](const auto&... e) { (f(e), ...); }, items);
  }
};

template <edit_policy A, edit_policy B>
constexpr policy_set<A, B> operator|(A a, B b) {
  return {{std::move(a), std::move(b)}};
}
template <edit_policy... As, edit_policy B>
constexpr policy_set<As..., B> operator|(policy_set<As...> a, B b) {
  return {std::tuple_cat(std::move(a.items), std::tuple<B>{std::move(b)})};
}

}  // namespace edit
SCALPEL_END_NAMESPACE
