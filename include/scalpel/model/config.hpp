#pragma once
/// @file
/// @brief `model::gemma4_config`: the Gemma 4 text-decoder hyper-parameters and the per-layer geometry derived
/// from them once (layer type, head dim, q/kv heads, v_proj presence, KV owner or donor, MLP width, MoE sizes,
/// sliding window, RoPE). `derive()` validates the whole config with errors that name the field.
///
/// Spec: shared/docs/gemma4-architecture.md §1–§2. Layers differ (head dims 256/512, KV heads, MLP widths), so
/// everything per layer lives in `layers[l]`; nothing downstream recomputes geometry.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

enum class layer_kind : std::uint8_t { sliding, full };
constexpr std::string_view layer_kind_name(layer_kind k) noexcept {
  return k == layer_kind::sliding ? "sliding_attention" : "full_attention";
}

/// RoPE flavour of a layer type. `standard` rotates every pair (ω_i = θ^(−2i/d)); `proportional` (Gemma 4 full
/// layers) rotates only the first `floor(p·d/2)` pairs, still with the exponent denominator d (spec §2.5).
enum class rope_kind : std::uint8_t { standard, proportional };

struct rope_config {
  rope_kind kind = rope_kind::standard;
  double theta = 10000.0;
  double partial_rotary_factor = 1.0;
};

/// Released variants recognised by geometry.
enum class variant : std::uint8_t { e2b, e4b, moe_26b_a4b, dense_31b, custom };
constexpr std::string_view variant_name(variant v) noexcept {
  switch (v) {
    case variant::e2b:
      return "e2b";
    case variant::e4b:
      return "e4b";
    case variant::moe_26b_a4b:
      return "26b-a4b";
    case variant::dense_31b:
      return "31b";
    case variant::custom:
      return "custom";
  }
  return "custom";
}

/// Everything about one decoder layer that varies across layers.
struct layer_geometry {
  std::size_t index = 0;
  layer_kind kind = layer_kind::sliding;
  std::size_t head_dim = 0;    ///< d: 256 (sliding) / 512 (full) in the released models
  std::size_t n_q_heads = 0;   ///< query heads
  std::size_t n_kv_heads = 0;  ///< key/value heads (GQA group = n_q_heads / n_kv_heads)
  bool has_v_proj = true;      ///< false on attention_k_eq_v full layers: V = v_norm(raw K projection)
  bool owns_kv = true;         ///< false on KV-shared layers (they read the donor's cache)
  std::size_t kv_source = 0;   ///< layer whose K/V this layer attends over (== index when owns_kv)
  std::size_t ffn_dim = 0;     ///< dense MLP width (E2B: doubled on KV-shared layers)
  bool moe = false;            ///< MoE block (routed experts) in parallel with the dense MLP
  std::size_t window = 0;      ///< sliding window W (a query sees W positions incl. itself); 0 = full causal
  double rope_theta = 10000.0;
  std::size_t rope_pairs = 0;  ///< rotating (i, i + d/2) pairs, counted from 0; the rest pass through

  [[nodiscard]] std::size_t q_dim() const noexcept { return n_q_heads * head_dim; }
  [[nodiscard]] std::size_t kv_dim() const noexcept { return n_kv_heads * head_dim; }
  [[nodiscard]] std::size_t group() const noexcept { return n_q_heads / n_kv_heads; }
  /// RoPE inverse frequency of pair i (f32, as the references compute it).
  [[nodiscard]] float inv_freq(std::size_t i) const noexcept {
    return static_cast<float>(1.0 / std::pow(rope_theta, static_cast<double>(2 * i) / static_cast<double>(head_dim)));
  }
};

/// Gemma 4 text config (HF `text_config` names in comments).
struct gemma4_config {
  std::size_t vocab_size = 0;                  ///< vocab_size
  std::size_t hidden_size = 0;                 ///< hidden_size (H)
  std::size_t num_layers = 0;                  ///< num_hidden_layers (L)
  std::size_t intermediate_size = 0;           ///< intermediate_size (dense MLP; the parallel MLP of MoE layers)
  bool use_double_wide_mlp = false;            ///< use_double_wide_mlp (KV-shared layers get 2x width)
  std::size_t num_attention_heads = 0;         ///< num_attention_heads
  std::size_t num_key_value_heads = 0;         ///< num_key_value_heads (sliding layers)
  std::size_t num_global_key_value_heads = 0;  ///< num_global_key_value_heads (full layers; 0 = same as sliding)
  std::size_t head_dim = 0;                    ///< head_dim (sliding layers)
  std::size_t global_head_dim = 0;             ///< global_head_dim (full layers; 0 = head_dim)
  bool attention_k_eq_v = false;               ///< attention_k_eq_v (full layers have no v_proj)
  std::vector<layer_kind> layer_types;         ///< layer_types
  std::size_t sliding_window = 0;              ///< sliding_window
  rope_config rope_sliding{};                  ///< rope_parameters.sliding_attention
  rope_config rope_full{rope_kind::proportional, 1e6, 0.25};  ///< rope_parameters.full_attention
  float final_logit_softcapping = 30.0f;                      ///< final_logit_softcapping (0 = none)
  std::size_t num_kv_shared_layers = 0;                       ///< num_kv_shared_layers
  std::size_t ple_dim = 0;                                    ///< hidden_size_per_layer_input (0 = no PLE)
  std::size_t vocab_size_per_layer_input = 0;                 ///< vocab_size_per_layer_input
  bool enable_moe_block = false;                              ///< enable_moe_block
  std::size_t num_experts = 0;                                ///< num_experts
  std::size_t top_k_experts = 0;                              ///< top_k_experts
  std::size_t moe_intermediate_size = 0;                      ///< moe_intermediate_size / expert_intermediate_size
  float rms_norm_eps = 1e-6f;                                 ///< rms_norm_eps
  bool tie_word_embeddings = true;                            ///< tie_word_embeddings
  std::size_t max_position_embeddings = 0;                    ///< max_position_embeddings
  std::int32_t bos_token_id = 2, eos_token_id = 1, pad_token_id = 0;
  std::vector<std::int32_t> eos_token_ids;  ///< end-of-generation ids (generation_config / top level)
  /// Per-layer overrides from a `per_layer_config` block (head_dim / heads / kv heads); 0 = no override.
  struct layer_override {
    std::size_t head_dim = 0, n_q_heads = 0, n_kv_heads = 0;
  };
  std::vector<layer_override> overrides;

  std::vector<layer_geometry> layers;  ///< derived by derive()
  std::string source;                  ///< where the config came from (for error messages)

  [[nodiscard]] std::size_t first_kv_shared_layer() const noexcept { return num_layers - num_kv_shared_layers; }
  [[nodiscard]] bool has_ple() const noexcept { return ple_dim > 0; }
  /// √H as f32 (the embedding multiplier).
  [[nodiscard]] float embed_scale() const noexcept { return std::sqrt(static_cast<float>(hidden_size)); }
  [[nodiscard]] std::size_t num_kv_owning_layers() const noexcept {
    std::size_t n = 0;
    for (const auto& g : layers) n += g.owns_kv ? 1 : 0;
    return n;
  }

  /// Validate the raw fields and compute `layers`. Throws `errc::config` naming the field.
  void derive() {
    auto bad = [&](const std::string& field, const std::string& what) {
      fail(errc::config, (source.empty() ? std::string("config") : source) + ": " + field + ": " + what);
    };
    auto positive = [&](std::size_t v, const char* field) {
      if (v == 0) bad(field, "must be positive");
    };
    positive(vocab_size, "vocab_size");
    positive(hidden_size, "hidden_size");
    positive(num_layers, "num_hidden_layers");
    positive(intermediate_size, "intermediate_size");
    positive(num_attention_heads, "num_attention_heads");
    positive(num_key_value_heads, "num_key_value_heads");
    positive(head_dim, "head_dim");
    // Guard absurd sizes before anything allocates from them.
    constexpr std::size_t big = std::size_t{1} << 24;
    if (vocab_size > big || hidden_size > 65536 || num_layers > 1024 || intermediate_size > big || head_dim > 8192 ||
        global_head_dim > 8192 || num_attention_heads > 1024)
      bad("dimensions", "implausibly large (vocab " + std::to_string(vocab_size) + ", hidden " +
                            std::to_string(hidden_size) + ", layers " + std::to_string(num_layers) + ")");
    if (global_head_dim == 0) global_head_dim = head_dim;
    if (num_global_key_value_heads == 0) num_global_key_value_heads = num_key_value_heads;
    if (layer_types.size() != num_layers)
      bad("layer_types",
          "has " + std::to_string(layer_types.size()) + " entries, num_hidden_layers is " + std::to_string(num_layers));
    if (num_kv_shared_layers >= num_layers && num_kv_shared_layers != 0)
      bad("num_kv_shared_layers",
          std::to_string(num_kv_shared_layers) + " must be < num_hidden_layers " + std::to_string(num_layers));
    if (!(rms_norm_eps > 0.0f) || !std::isfinite(rms_norm_eps)) bad("rms_norm_eps", "must be a positive number");
    if (!(final_logit_softcapping >= 0.0f)) bad("final_logit_softcapping", "must be >= 0");
    if (max_position_embeddings == 0) max_position_embeddings = 131072;
    if (eos_token_ids.empty()) eos_token_ids.push_back(eos_token_id);
    if (enable_moe_block) {
      positive(num_experts, "num_experts");
      positive(top_k_experts, "top_k_experts");
      positive(moe_intermediate_size, "moe_intermediate_size");
      if (top_k_experts > num_experts)
        bad("top_k_experts", std::to_string(top_k_experts) + " > num_experts " + std::to_string(num_experts));
    }
    if (ple_dim > 0 && vocab_size_per_layer_input == 0) vocab_size_per_layer_input = vocab_size;
    if (ple_dim > 0 && vocab_size_per_layer_input != vocab_size)
      bad("vocab_size_per_layer_input", std::to_string(vocab_size_per_layer_input) + " differs from vocab_size " +
                                            std::to_string(vocab_size) + " (unsupported)");
    for (const rope_config* r : {&rope_sliding, &rope_full}) {
      const char* f = r == &rope_sliding ? "rope_parameters.sliding_attention" : "rope_parameters.full_attention";
      if (!(r->theta > 0.0)) bad(f, "rope_theta must be positive");
      if (!(r->partial_rotary_factor > 0.0 && r->partial_rotary_factor <= 1.0))
        bad(f, "partial_rotary_factor must be in (0, 1]");
      if (r->kind == rope_kind::standard && r->partial_rotary_factor != 1.0)
        bad(f, "partial rotation is only supported with rope_type 'proportional'");
    }
    if (!overrides.empty() && overrides.size() != num_layers) overrides.resize(num_layers);

    const std::size_t first_shared = first_kv_shared_layer();
    layers.assign(num_layers, {});
    for (std::size_t l = 0; l < num_layers; ++l) {
      layer_geometry& g = layers[l];
      g.index = l;
      g.kind = layer_types[l];
      const bool full = g.kind == layer_kind::full;
      g.head_dim = full ? global_head_dim : head_dim;
      g.n_q_heads = num_attention_heads;
      // HF honours num_global_key_value_heads only on k_eq_v ("alternative attention") layers.
      g.n_kv_heads = (full && attention_k_eq_v) ? num_global_key_value_heads : num_key_value_heads;
      if (!overrides.empty()) {
        const auto& o = overrides[l];
        if (o.head_dim) g.head_dim = o.head_dim;
        if (o.n_q_heads) g.n_q_heads = o.n_q_heads;
        if (o.n_kv_heads) g.n_kv_heads = o.n_kv_heads;
      }
      const std::string where = "layer " + std::to_string(l) + " (" + std::string(layer_kind_name(g.kind)) + ")";
      if (g.head_dim % 2 != 0) bad("head_dim", where + ": head dim " + std::to_string(g.head_dim) + " must be even");
      if (g.n_kv_heads == 0 || g.n_q_heads % g.n_kv_heads != 0)
        bad((full && attention_k_eq_v) ? "num_global_key_value_heads" : "num_key_value_heads",
            where + ": " + std::to_string(g.n_q_heads) + " query heads are not divisible by " +
                std::to_string(g.n_kv_heads) + " key/value heads");
      g.has_v_proj = !(full && attention_k_eq_v);
      g.owns_kv = l < first_shared;
      g.kv_source = l;
      g.ffn_dim = intermediate_size * ((use_double_wide_mlp && !g.owns_kv) ? 2 : 1);
      g.moe = enable_moe_block;
      g.window = full ? 0 : sliding_window;
      if (!full && sliding_window == 0) bad("sliding_window", "must be positive when sliding layers exist");
      const rope_config& r = full ? rope_full : rope_sliding;
      g.rope_theta = r.theta;
      g.rope_pairs =
          r.kind == rope_kind::proportional
              ? static_cast<std::size_t>(std::floor(r.partial_rotary_factor * static_cast<double>(g.head_dim) / 2.0))
              : g.head_dim / 2;
    }
    // KV sharing: a shared layer reads the last non-shared layer of the same type (spec §2.6).
    for (std::size_t l = first_shared; l < num_layers; ++l) {
      layer_geometry& g = layers[l];
      bool found = false;
      for (std::size_t d = first_shared; d-- > 0;) {
        if (layers[d].kind == g.kind) {
          g.kv_source = d;
          found = true;
          break;
        }
      }
      if (!found)
        bad("num_kv_shared_layers", "layer " + std::to_string(l) + " shares KV but no earlier non-shared " +
                                        std::string(layer_kind_name(g.kind)) + " layer exists to donate it");
      const layer_geometry& donor = layers[g.kv_source];
      if (donor.head_dim != g.head_dim || donor.n_kv_heads != g.n_kv_heads)
        bad("num_kv_shared_layers", "layer " + std::to_string(l) + " and its KV donor layer " +
                                        std::to_string(g.kv_source) + " have different KV geometry");
    }
  }

  /// Recognise a released variant by geometry (spec §1.1); anything else is `custom`.
  [[nodiscard]] variant detect_variant() const noexcept {
    if (vocab_size != 262144 || head_dim != 256 || global_head_dim != 512) return variant::custom;
    if (num_layers == 35 && hidden_size == 1536 && intermediate_size == 6144 && use_double_wide_mlp &&
        num_attention_heads == 8 && num_key_value_heads == 1 && num_kv_shared_layers == 20 && ple_dim == 256 &&
        !enable_moe_block)
      return variant::e2b;
    if (num_layers == 42 && hidden_size == 2560 && intermediate_size == 10240 && num_attention_heads == 8 &&
        num_key_value_heads == 2 && num_kv_shared_layers == 18 && ple_dim == 256 && !enable_moe_block)
      return variant::e4b;
    if (num_layers == 30 && hidden_size == 2816 && intermediate_size == 2112 && enable_moe_block &&
        num_experts == 128 && top_k_experts == 8 && moe_intermediate_size == 704 && num_attention_heads == 16 &&
        num_key_value_heads == 8 && num_global_key_value_heads == 2 && attention_k_eq_v)
      return variant::moe_26b_a4b;
    if (num_layers == 60 && hidden_size == 5376 && intermediate_size == 21504 && num_attention_heads == 32 &&
        num_key_value_heads == 16 && num_global_key_value_heads == 4 && attention_k_eq_v && !enable_moe_block)
      return variant::dense_31b;
    return variant::custom;
  }
};

}  // namespace model
SCALPEL_END_NAMESPACE
