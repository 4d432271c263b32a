#pragma once
/// @file
/// @brief Hook points of the forward pass: a closed set with typed payloads. Observers read a payload,
/// interventions write it. Hooks act on whole per-layer blocks ([tokens × width]), never per element.
///
/// Two mechanisms share one interface (`wants<P>` + `on(payload&)`):
/// - compile-time hook types: the forward pass tests `if constexpr (Hooks::template wants<P>)`, so `no_hooks`
///   compiles to a forward pass with no hook code at all;
/// - `dynamic_hooks`: a registry of callbacks keyed by (hook point, layer) for tools and the CLI (the slow,
///   flexible path: a map lookup per layer and hook point).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/tensor/view.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// Where a hook runs. Shapes use T = tokens of the current chunk, H = hidden size.
enum class hook_point : std::uint8_t {
  embed_out,         ///< [T, H] scaled token embeddings (layer = 0)
  residual_in,       ///< [T, H] hidden state entering the layer
  attn_out,          ///< [T, H] attention block output after o_proj, before post_attention_layernorm
  ffn_act,           ///< [T, I_l] GeGLU activations gelu(gate)·up, before down_proj (the neuron basis)
  ffn_out_raw,       ///< [T, H] dense MLP output (down_proj), before its post-norm
  ffn_out,           ///< [T, H] the feed-forward block's contribution f in x ← r + f (after all post-norms;
                     ///<        MoE branch included). Writing zeros ablates the whole block.
  router_logits,     ///< [T, E] router logits before softmax/top-k (writable: set −inf to exclude experts)
  expert_selection,  ///< [T, k] selected experts: payload.expert_ids / expert_weights (after renormalisation
                     ///<        and per-expert scale; writable weights)
  expert_out,        ///< [n, H] one expert's weighted-in-later outputs for the n tokens routed to it
                     ///<        (payload.expert, payload.token_index)
  ple_in,            ///< [T, P] per-layer input (PLE) injected in this layer, before the gate product
  residual_out,      ///< [T, H] hidden state leaving the layer (after the layer scalar)
  logits,            ///< [n, V] final soft-capped logits of the positions that produce logits (layer = L)
};
inline constexpr std::size_t hook_point_count = 12;

constexpr std::string_view hook_point_name(hook_point p) noexcept {
  constexpr std::array<std::string_view, hook_point_count> names = {
      "embed_out",     "residual_in",      "attn_out",   "ffn_act", "ffn_out_raw",  "ffn_out",
      "router_logits", "expert_selection", "expert_out", "ple_in",  "residual_out", "logits"};
  return names[static_cast<std::size_t>(p)];
}

/// What a hook sees. `data` is the block for the hook point (rows = tokens); extra fields per point.
struct hook_payload {
  hook_point point{};
  std::size_t layer = 0;
  /// Absolute positions of the rows of `data` (size T; for `logits` the positions that produced logits;
  /// for `expert_out` the positions of the routed tokens).
  std::span<const std::size_t> positions;
  /// Token ids of the chunk (size T, aligned with positions except for expert_out / logits subsets).
  std::span<const std::int32_t> token_ids;
  matrix_view<f32> data;
  // expert_selection: [T * k] expert ids and weights, row-major by token.
  std::span<std::int32_t> expert_ids;
  std::span<float> expert_weights;
  std::size_t top_k = 0;
  // expert_out: which expert, and the chunk-row index of every row of `data`.
  std::int32_t expert = -1;
  std::span<const std::size_t> token_index;
};

/// The empty hook set: the forward pass contains no hook code.
struct no_hooks {
  template <hook_point P>
  static constexpr bool wants = false;
  void on(hook_payload&) const noexcept {}
};

/// A hook set is a type with `template <hook_point P> static constexpr bool wants` and `on(hook_payload&)`.
template <class H>
concept hook_set = requires(H& h, hook_payload& p) {
  { H::template wants<hook_point::ffn_act> } -> std::convertible_to<bool>;
  h.on(p);
};

/// Runtime registry of callbacks keyed by (hook point, layer); `any_layer` matches every layer.
class dynamic_hooks {
 public:
  using callback = std::function<void(hook_payload&)>;
  static constexpr std::size_t any_layer = static_cast<std::size_t>(-1);

  template <hook_point P>
  static constexpr bool wants = true;

  /// Register `cb` at `point` for `layer` (or every layer). Returns an id for `remove`.
  std::size_t add(hook_point point, std::size_t layer, callback cb) {
    entries_.push_back({point, layer, std::move(cb), next_id_});
    mask_ |= bit(point);
    return next_id_++;
  }
  void remove(std::size_t id) {
    std::erase_if(entries_, [&](const entry& e) { return e.id == id; });
    mask_ = 0;
    for (const auto& e : entries_) mask_ |= bit(e.point);
  }
  void clear() noexcept {
    entries_.clear();
    mask_ = 0;
  }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  /// Whether any callback is registered at `p` (lets the forward pass skip preparing a payload).
  [[nodiscard]] bool active(hook_point p) const noexcept { return (mask_ & bit(p)) != 0; }

  void on(hook_payload& p) const {
    if (!active(p.point)) return;
    for (const auto& e : entries_)
      if (e.point == p.point && (e.layer == any_layer || e.layer == p.layer)) e.cb(p);
  }

 private:
  static constexpr std::uint32_t bit(hook_point p) noexcept { return 1u << static_cast<unsigned>(p); }
  struct entry {
    hook_point point;
    std::size_t layer;
    callback cb;
    std::size_t id;
  };
  std::vector<entry> entries_;
  std::uint32_t mask_ = 0;
  std::size_t next_id_ = 1;
};

/// Compose two hook sets (both see every payload; `a` first).
template <hook_set A, hook_set B>
struct hook_pair {
  A& a;
  B& b;
  template <hook_point P>
  static constexpr bool wants = A::template wants<P> || B::template wants<P>;
  void on(hook_payload& p) {
    if (hook_wants(a, p.point)) a.on(p);
    if (hook_wants(b, p.point)) b.on(p);
  }

 private:
  template <class X>
  static bool hook_wants(const X&, hook_point pt) noexcept {
    bool w = false;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((w = w || (pt == static_cast<hook_point>(I) && X::template wants<static_cast<hook_point>(I)>)), ...);
    }
    (std::make_index_sequence<hook_point_count>{});
    return w;
  }
};

}  // namespace model
SCALPEL_END_NAMESPACE
