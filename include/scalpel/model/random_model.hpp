#pragma once
/// @file
/// @brief Random-weight Gemma 4 models (`scalpel make-tiny`): configs with the architecture features of each
/// released variant (PLE, KV sharing, double-wide MLP, k_eq_v, MoE) at tiny width or at the real layer sizes,
/// deterministic random weights for a seed, and the config.json / generation_config.json documents.
///
/// Weight scales follow shared/tools/llamaref/make_model.py so that logits are not degenerate: linear
/// N(0, 1/fan_in); embeddings N(0, (0.5/√H)²); PLE table N(0, 1/P); norms base + 0.05·N with post-norms ≈ 2 and
/// the final norm ≈ 6; q/k norms d^−¼; router N(0, 2²); layer_scalar, router.scale, per_expert_scale 1 + 0.1·N.
/// Every tensor draws from its own stream (seed, FNV-1a(name), chunk), so values do not depend on the thread
/// count or on which other tensors exist.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tensor_set.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/tensor/tensor.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// Which released architecture a random model imitates.
enum class tiny_variant : std::uint8_t { e2b, e4b, moe_26b_a4b, dense_31b };

/// Parse "e2b" | "e4b" | "26b-a4b" | "31b". Throws errc::invalid_argument.
inline tiny_variant parse_tiny_variant(const std::string& s) {
  if (s == "e2b") return tiny_variant::e2b;
  if (s == "e4b") return tiny_variant::e4b;
  if (s == "26b-a4b") return tiny_variant::moe_26b_a4b;
  if (s == "31b") return tiny_variant::dense_31b;
  fail(errc::invalid_argument, "unknown variant '" + s + "' (expected e2b, e4b, 26b-a4b or 31b)");
}

struct tiny_options {
  tiny_variant variant = tiny_variant::e2b;
  bool real_dims = false;      ///< the released layer sizes instead of tiny widths
  std::size_t vocab_size = 0;  ///< 0 = default (tiny: 1024; real dims: 262144)
  std::size_t num_layers = 0;  ///< 0 = the variant's layer count (the layer pattern is kept)
};

namespace detail {
inline std::vector<layer_kind> pattern(std::size_t n, std::size_t full_every) {
  std::vector<layer_kind> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = (i + 1) % full_every == 0 ? layer_kind::full : layer_kind::sliding;
  return out;
}
}  // namespace detail

/// The config of a random model. Tiny models keep the released layer patterns, head counts, KV sharing and
/// MoE routing shape, with H = 64, head dims 32/64, MLP 4·H, PLE 16, window 16.
inline gemma4_config make_tiny_config(const tiny_options& o) {
  gemma4_config c;
  c.source = "make-tiny";
  const bool real = o.real_dims;
  std::size_t full_every = 6;
  switch (o.variant) {
    case tiny_variant::e2b:
      c.num_layers = 35;
      full_every = 5;
      c.hidden_size = real ? 1536 : 64;
      c.intermediate_size = real ? 6144 : 256;
      c.use_double_wide_mlp = true;
      c.num_attention_heads = 8;
      c.num_key_value_heads = 1;
      c.num_kv_shared_layers = 20;
      c.ple_dim = real ? 256 : 16;
      c.sliding_window = real ? 512 : 16;
      c.max_position_embeddings = 131072;
      break;
    case tiny_variant::e4b:
      c.num_layers = 42;
      c.hidden_size = real ? 2560 : 64;
      c.intermediate_size = real ? 10240 : 256;
      c.num_attention_heads = 8;
      c.num_key_value_heads = 2;
      c.num_kv_shared_layers = 18;
      c.ple_dim = real ? 256 : 16;
      c.sliding_window = real ? 512 : 16;
      c.max_position_embeddings = 131072;
      break;
    case tiny_variant::moe_26b_a4b:
      c.num_layers = 30;
      c.hidden_size = real ? 2816 : 64;
      c.intermediate_size = real ? 2112 : 96;
      c.num_attention_heads = 16;
      c.num_key_value_heads = 8;
      c.num_global_key_value_heads = 2;
      c.attention_k_eq_v = true;
      c.enable_moe_block = true;
      c.num_experts = real ? 128 : 16;
      c.top_k_experts = real ? 8 : 4;
      c.moe_intermediate_size = real ? 704 : 32;
      c.sliding_window = real ? 1024 : 16;
      c.max_position_embeddings = 262144;
      break;
    case tiny_variant::dense_31b:
      c.num_layers = 60;
      c.hidden_size = real ? 5376 : 64;
      c.intermediate_size = real ? 21504 : 256;
      c.num_attention_heads = 32;
      c.num_key_value_heads = 16;
      c.num_global_key_value_heads = 4;
      c.attention_k_eq_v = true;
      c.sliding_window = real ? 1024 : 16;
      c.max_position_embeddings = 262144;
      break;
  }
  if (!real && c.num_attention_heads > 8) {  // keep tiny models tiny: scale head counts down by 4
    c.num_attention_heads /= 4;
    c.num_key_value_heads = std::max<std::size_t>(1, c.num_key_value_heads / 4);
  }
  c.head_dim = real ? 256 : 32;
  c.global_head_dim = real ? 512 : 64;
  c.vocab_size = o.vocab_size ? o.vocab_size : (real ? 262144 : 1024);
  c.vocab_size_per_layer_input = c.ple_dim ? c.vocab_size : 0;
  const std::size_t shared_full = c.num_kv_shared_layers, layers_full = c.num_layers;
  if (o.num_layers) c.num_layers = o.num_layers;
  c.layer_types = detail::pattern(c.num_layers, full_every);
  c.layer_types.back() = layer_kind::full;  // HF requires the last layer to be full attention
  if (shared_full > 0) {
    // Keep the shared fraction; move the first shared layer up until the layer before it is a full layer
    // (llama.cpp takes the KV of full layers from L-shared-1 and of sliding layers from L-shared-2).
    std::size_t first = c.num_layers - (c.num_layers * shared_full + layers_full / 2) / layers_full;
    while (first < c.num_layers && !(first >= 2 && c.layer_types[first - 1] == layer_kind::full &&
                                     c.layer_types[first - 2] == layer_kind::sliding))
      ++first;
    if (first >= c.num_layers) fail(errc::invalid_argument, "make-tiny: too few layers for KV sharing");
    c.num_kv_shared_layers = c.num_layers - first;
  }
  c.rope_sliding = {rope_kind::standard, 10000.0, 1.0};
  c.rope_full = {rope_kind::proportional, 1e6, 0.25};
  c.final_logit_softcapping = 30.0f;
  c.rms_norm_eps = 1e-6f;
  c.eos_token_ids = {1, 106, 50};
  c.derive();
  return c;
}

/// config.json in the released `Gemma4ForConditionalGeneration` form (text weights only: vision/audio null).
inline nlohmann::json config_to_hf_json(const gemma4_config& c) {
  using nlohmann::json;
  json lt = json::array();
  for (auto k : c.layer_types) lt.push_back(std::string(layer_kind_name(k)));
  auto nul_or = [](std::size_t v) { return v ? json(v) : json(nullptr); };
  json full_rope = {{"rope_type", c.rope_full.kind == rope_kind::proportional ? "proportional" : "default"},
                    {"rope_theta", c.rope_full.theta}};
  if (c.rope_full.kind == rope_kind::proportional)
    full_rope["partial_rotary_factor"] = c.rope_full.partial_rotary_factor;
  json tc = {
      {"model_type", "gemma4_text"},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_layers},
      {"intermediate_size", c.intermediate_size},
      {"use_double_wide_mlp", c.use_double_wide_mlp},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"num_global_key_value_heads", c.attention_k_eq_v ? nul_or(c.num_global_key_value_heads) : json(nullptr)},
      {"head_dim", c.head_dim},
      {"global_head_dim", c.global_head_dim},
      {"attention_k_eq_v", c.attention_k_eq_v},
      {"layer_types", lt},
      {"sliding_window", c.sliding_window},
      {"rope_parameters",
       {{"sliding_attention", {{"rope_type", "default"}, {"rope_theta", c.rope_sliding.theta}}},
        {"full_attention", full_rope}}},
      {"final_logit_softcapping", c.final_logit_softcapping},
      {"num_kv_shared_layers", c.num_kv_shared_layers},
      {"hidden_size_per_layer_input", c.ple_dim},
      {"vocab_size_per_layer_input", c.ple_dim ? c.vocab_size_per_layer_input : c.vocab_size},
      {"enable_moe_block", c.enable_moe_block},
      {"num_experts", nul_or(c.num_experts)},
      {"top_k_experts", nul_or(c.top_k_experts)},
      {"moe_intermediate_size", nul_or(c.moe_intermediate_size)},
      {"expert_intermediate_size", nul_or(c.moe_intermediate_size)},
      {"hidden_activation", "gelu_pytorch_tanh"},
      {"rms_norm_eps", c.rms_norm_eps},
      {"tie_word_embeddings", true},
      {"max_position_embeddings", c.max_position_embeddings},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_id", c.eos_token_id},
      {"pad_token_id", c.pad_token_id},
      {"use_cache", true},
      {"dtype", "bfloat16"},
  };
  return {{"architectures", {"Gemma4ForConditionalGeneration"}},
          {"model_type", "gemma4"},
          {"text_config", tc},
          {"vision_config", nullptr},
          {"audio_config", nullptr},
          {"eos_token_id", {1, 106}},
          {"tie_word_embeddings", true},
          {"dtype", "bfloat16"}};
}

/// generation_config.json of an -it model (Gemma 4 defaults).
inline nlohmann::json generation_config_json(const gemma4_config& c) {
  nlohmann::json eos = nlohmann::json::array();
  for (auto e : c.eos_token_ids) eos.push_back(e);
  return {{"bos_token_id", c.bos_token_id},
          {"pad_token_id", c.pad_token_id},
          {"eos_token_id", eos},
          {"do_sample", true},
          {"temperature", 1.0},
          {"top_k", 64},
          {"top_p", 0.95}};
}

namespace detail {
/// splitmix64: seeds the per-chunk streams.
inline std::uint64_t splitmix64(std::uint64_t& s) noexcept {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline std::uint64_t fnv1a(const std::string& s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char ch : s) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
  return h;
}
/// xoshiro256** stream producing standard normals by Box–Muller on 53-bit uniforms.
class normal_stream {
 public:
  explicit normal_stream(std::uint64_t seed) noexcept {
    for (auto& w : s_) w = splitmix64(seed);
  }
  double next() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform(), u2 = uniform();  // u1 in (0, 1]
    const double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
    spare_ = r * std::sin(th);
    has_spare_ = true;
    return r * std::cos(th);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t u64() noexcept {
    const std::uint64_t out = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return out;
  }
  double uniform() noexcept { return static_cast<double>(u64() >> 11) * (1.0 / 9007199254740992.0); }
  std::uint64_t s_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};
}  // namespace detail

/// How one tensor is initialised: value = base + scale · N(0, 1).
struct init_spec {
  double base = 0.0;
  double scale = 1.0;
};

/// Fill `out[0..n)` with base + scale·N(0,1) from the stream of (seed, name), bf16-rounded when `round_bf16`.
inline void fill_random(float* out, std::size_t n, std::uint64_t seed, const std::string& name, init_spec spec,
                        bool round_bf16) {
  constexpr std::size_t chunk = std::size_t{1} << 20;
  const std::uint64_t key = seed * 0x9e3779b97f4a7c15ull ^ detail::fnv1a(name);
  const auto n_chunks = static_cast<std::ptrdiff_t>((n + chunk - 1) / chunk);
#if SCALPEL_HAS_OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (n_chunks > 1)
#endif
  for (std::ptrdiff_t ci = 0; ci < n_chunks; ++ci) {
    detail::normal_stream rng(key + static_cast<std::uint64_t>(ci) * 0xd1b54a32d192ed03ull);
    const std::size_t b = static_cast<std::size_t>(ci) * chunk, e = std::min(n, b + chunk);
    for (std::size_t i = b; i < e; ++i) {
      const float v = static_cast<float>(spec.base + spec.scale * rng.next());
      out[i] = round_bf16 ? to_f32(to_bf16(v)) : v;
    }
  }
}

/// One planned tensor of a random checkpoint.
struct tensor_plan {
  std::string name;  ///< canonical (HF name without prefix)
  shape_t shape;
  init_spec init;
};

/// The tensors of a checkpoint for `c` (canonical names, HF shapes), with their initialisation.
inline std::vector<tensor_plan> plan_tensors(const gemma4_config& c) {
  std::vector<tensor_plan> out;
  const std::size_t H = c.hidden_size, V = c.vocab_size, L = c.num_layers, P = c.ple_dim;
  auto lin = [](std::size_t fan_in) { return init_spec{0.0, 1.0 / std::sqrt(static_cast<double>(fan_in))}; };
  auto norm = [](double base, double jit) { return init_spec{base, jit}; };
  constexpr double nj = 0.05, sj = 0.1, post = 2.0, final_norm = 6.0;
  out.push_back({"embed_tokens.weight", make_shape({V, H}), {0.0, 0.5 / std::sqrt(static_cast<double>(H))}});
  if (P) {
    out.push_back(
        {"embed_tokens_per_layer.weight", make_shape({V, L * P}), {0.0, 1.0 / std::sqrt(static_cast<double>(P))}});
    out.push_back({"per_layer_model_projection.weight", make_shape({L * P, H}), lin(H)});
    out.push_back({"per_layer_projection_norm.weight", make_shape({P}), norm(1.0, nj)});
  }
  out.push_back({"norm.weight", make_shape({H}), norm(final_norm, nj * final_norm)});
  for (std::size_t l = 0; l < L; ++l) {
    const auto& g = c.layers[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    const double qk = std::pow(static_cast<double>(g.head_dim), -0.25);
    out.push_back({p + "input_layernorm.weight", make_shape({H}), norm(1.0, nj)});
    out.push_back({p + "post_attention_layernorm.weight", make_shape({H}), norm(post, nj)});
    out.push_back({p + "pre_feedforward_layernorm.weight", make_shape({H}), norm(1.0, nj)});
    out.push_back({p + "post_feedforward_layernorm.weight", make_shape({H}), norm(post, nj)});
    out.push_back({p + "layer_scalar", make_shape({1}), norm(1.0, sj)});
    out.push_back({p + "self_attn.q_proj.weight", make_shape({g.q_dim(), H}), lin(H)});
    out.push_back({p + "self_attn.q_norm.weight", make_shape({g.head_dim}), norm(qk, nj)});
    // Released E2B/E4B files carry (unused) k/v weights on KV-shared layers too; so do ours.
    out.push_back({p + "self_attn.k_proj.weight", make_shape({g.kv_dim(), H}), lin(H)});
    out.push_back({p + "self_attn.k_norm.weight", make_shape({g.head_dim}), norm(qk, nj)});
    if (g.has_v_proj) out.push_back({p + "self_attn.v_proj.weight", make_shape({g.kv_dim(), H}), lin(H)});
    out.push_back({p + "self_attn.o_proj.weight", make_shape({H, g.q_dim()}), lin(g.q_dim())});
    out.push_back({p + "mlp.gate_proj.weight", make_shape({g.ffn_dim, H}), lin(H)});
    out.push_back({p + "mlp.up_proj.weight", make_shape({g.ffn_dim, H}), lin(H)});
    out.push_back({p + "mlp.down_proj.weight", make_shape({H, g.ffn_dim}), lin(g.ffn_dim)});
    if (g.moe) {
      const std::size_t E = c.num_experts, Ie = c.moe_intermediate_size;
      out.push_back({p + "router.proj.weight", make_shape({E, H}), {0.0, 2.0}});
      out.push_back({p + "router.scale", make_shape({H}), norm(1.0, sj)});
      out.push_back({p + "router.per_expert_scale", make_shape({E}), norm(1.0, sj)});
      out.push_back({p + "experts.gate_up_proj", make_shape({E, 2 * Ie, H}), lin(H)});
      out.push_back({p + "experts.down_proj", make_shape({E, H, Ie}), lin(Ie)});
      out.push_back({p + "post_feedforward_layernorm_1.weight", make_shape({H}), norm(1.0, nj)});
      out.push_back({p + "post_feedforward_layernorm_2.weight", make_shape({H}), norm(1.0, nj)});
      out.push_back({p + "pre_feedforward_layernorm_2.weight", make_shape({H}), norm(1.0, nj)});
    }
    if (P) {
      out.push_back({p + "per_layer_input_gate.weight", make_shape({P, H}), lin(H)});
      out.push_back({p + "per_layer_projection.weight", make_shape({H, P}), lin(P)});
      out.push_back({p + "post_per_layer_input_norm.weight", make_shape({H}), norm(post, nj)});
    }
  }
  return out;
}

/// Bytes the weights of `c` take in bf16.
inline std::size_t planned_bytes(const gemma4_config& c) {
  std::size_t n = 0;
  for (const auto& t : plan_tensors(c)) n += t.shape.numel();
  return n * 2;
}

/// Random weights for `c` under record names `prefix + canonical`, stored as BF16 (default) or F32 (the same
/// bf16-rounded values). `progress(done, total)` is called after each tensor (may be empty).
inline io::tensor_set random_weights(const gemma4_config& c, std::uint64_t seed,
                                     const std::string& prefix = "model.language_model.",
                                     const std::function<void(std::size_t, std::size_t)>& progress = {},
                                     dtype_id dtype = dtype_id::bf16) {
  if (dtype != dtype_id::bf16 && dtype != dtype_id::f32)
    fail(errc::invalid_argument, "random_weights: dtype must be BF16 or F32");
  io::tensor_set out;
  const auto plan = plan_tensors(c);
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& tp = plan[i];
    const std::size_t n = tp.shape.numel();
    if (dtype == dtype_id::f32) {
      tensor<f32, 1> t({n});
      fill_random(t.data(), n, seed, tp.name, tp.init, true);
      out.add(any_tensor::from(prefix + tp.name, std::move(t)).reshaped(tp.shape));
    } else {
      std::vector<float> tmp(n);
      fill_random(tmp.data(), n, seed, tp.name, tp.init, true);
      tensor<bf16, 1> t({n});
      for (std::size_t k = 0; k < n; ++k) t.data()[k] = to_bf16(tmp[k]);
      out.add(any_tensor::from(prefix + tp.name, std::move(t)).reshaped(tp.shape));
    }
    if (progress) progress(i + 1, plan.size());
  }
  return out;
}

/// A random model in memory (no files): config + weights, named as an HF checkpoint.
inline gemma4_model random_model(const tiny_options& o, std::uint64_t seed, dtype_id dtype = dtype_id::bf16) {
  auto cfg = make_tiny_config(o);
  auto tensors = random_weights(cfg, seed, "model.language_model.", {}, dtype);
  return gemma4_model(
      std::move(cfg), std::move(tensors),
      [](std::string_view canonical) { return "model.language_model." + std::string(canonical); },
      checkpoint_format::memory, "random:" + std::to_string(seed));
}

/// A small SentencePiece-style BPE tokenizer.json (byte fallback) for random models, with the Gemma 4
/// special tokens at their real ids (so chat rendering and the stop ids 1/106/50 work unchanged):
/// 0–4 `<pad> <eos> <bos> <unk> <mask>`, 46–52 tool tokens, 98 `<|think|>`, 100/101 channel, 105/106 turn,
/// 107 `\n`, 108 `\n\n`, then 256 byte tokens, `▁`, printable ASCII, `▁a`…`▁z`, common bigrams, and
/// `<unusedK>` filler up to `vocab_size` (≥ 600).
inline nlohmann::json tiny_tokenizer_json(std::size_t vocab_size) {
  using nlohmann::json;
  if (vocab_size < 600) fail(errc::invalid_argument, "tiny tokenizer: vocab_size must be at least 600");
  std::vector<std::string> tok(vocab_size);
  std::vector<bool> special(vocab_size, false);
  const char* base[] = {"<pad>", "<eos>", "<bos>", "<unk>", "<mask>"};
  for (std::size_t i = 0; i < 5; ++i) tok[i] = base[i], special[i] = true;
  const std::pair<std::size_t, const char*> g4[] = {
      {46, "<|tool>"},          {47, "<tool|>"},          {48, "<|tool_call>"}, {49, "<tool_call|>"},
      {50, "<|tool_response>"}, {51, "<tool_response|>"}, {52, "<|\"|>"},       {98, "<|think|>"},
      {100, "<|channel>"},      {101, "<channel|>"},      {105, "<|turn>"},     {106, "<turn|>"}};
  for (const auto& [id, s] : g4) tok[id] = s, special[id] = true;
  std::size_t unused = 0;
  for (std::size_t i = 0; i < 107; ++i)
    if (tok[i].empty()) tok[i] = "<unused" + std::to_string(unused++) + ">";
  tok[107] = "\n";
  tok[108] = "\n\n";
  std::size_t next = 109;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned b = 0; b < 256; ++b) tok[next++] = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
  const std::string sp = "\u2581";  // ▁
  tok[next++] = sp;
  for (char ch = 33; ch < 127; ++ch) tok[next++] = std::string(1, ch);
  std::vector<std::string> merges = {"\n \n"};
  for (char ch = 'a'; ch <= 'z'; ++ch) {
    tok[next++] = sp + ch;
    merges.push_back(sp + " " + std::string(1, ch));
  }
  for (const char* bg : {"th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te",
                         "of", "ed", "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou",
                         "io", "le", "ve", "co", "me", "de", "hi", "ri", "ro", "ic", "ne", "ea", "ra", "ce"}) {
    tok[next++] = bg;
    merges.push_back(std::string(1, bg[0]) + " " + std::string(1, bg[1]));
  }
  while (next < vocab_size) tok[next++] = "<unused" + std::to_string(unused++) + ">";

  json vocab = json::object();
  for (std::size_t i = 0; i < vocab_size; ++i) vocab[tok[i]] = i;
  json added = json::array();
  for (std::size_t i = 0; i < vocab_size; ++i)
    if (special[i])
      added.push_back({{"id", i},
                       {"content", tok[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", sp}}},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", sp}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}}}}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", "<unk>"},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", merges}}}};
}

}  // namespace model
SCALPEL_END_NAMESPACE
