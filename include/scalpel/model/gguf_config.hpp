#pragma once
/// @file
/// @brief Build a `gemma4_config` from a GGUF file written by llama.cpp's converter
/// (`general.architecture = gemma4`; keys in shared/docs/gemma4-architecture.md §4.2). Facts the metadata does
/// not carry are read from the tensors: the vocabulary size (token_embd rows), attention_k_eq_v (no attn_v on
/// full layers) and the proportional-RoPE fraction (the count of 1.0 entries in rope_freqs).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/gguf.hpp"
#include "scalpel/model/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

namespace detail {
/// A per-layer integer key that may be a scalar or an array of L values.
inline std::vector<std::size_t> per_layer(const io::gguf_metadata& md, const std::string& key, std::size_t L,
                                          const std::string& src) {
  const io::gguf_value* v = md.find(key);
  if (v == nullptr) fail(errc::config, src + ": GGUF key '" + key + "' is missing");
  if (v->get_if<io::gguf_array>() != nullptr) {
    const auto a = md.get_integer_array<std::int64_t>(key);
    if (a.size() != L)
      fail(errc::config, src + ": GGUF key '" + key + "' has " + std::to_string(a.size()) +
                             " entries, block_count is " + std::to_string(L));
    std::vector<std::size_t> out;
    for (auto x : a) {
      if (x < 0) fail(errc::config, src + ": GGUF key '" + key + "' has a negative entry");
      out.push_back(static_cast<std::size_t>(x));
    }
    return out;
  }
  return std::vector<std::size_t>(L, static_cast<std::size_t>(md.get_integer<std::uint64_t>(key)));
}
}  // namespace detail

/// The config of a gemma4 GGUF. Throws errc::config / errc::unsupported naming the key.
inline gemma4_config config_from_gguf(const io::gguf_file& g, const std::string& src) {
  const auto& md = g.metadata;
  const std::string arch = md.contains("general.architecture") ? md.get_string("general.architecture") : "";
  if (arch != "gemma4") fail(errc::unsupported, src + ": general.architecture is '" + arch + "', expected 'gemma4'");
  const std::string p = "gemma4.";
  auto u = [&](const std::string& key) { return static_cast<std::size_t>(md.get_integer<std::uint64_t>(p + key)); };
  auto u_or = [&](const std::string& key, std::size_t fb) { return md.contains(p + key) ? u(key) : fb; };
  auto f_or = [&](const std::string& key, double fb) { return md.contains(p + key) ? md.get_float(p + key) : fb; };

  gemma4_config c;
  c.source = src;
  c.num_layers = u("block_count");
  const std::size_t L = c.num_layers;
  if (L == 0 || L > 1024) fail(errc::config, src + ": gemma4.block_count " + std::to_string(L) + " is implausible");
  c.hidden_size = u("embedding_length");
  c.max_position_embeddings = u_or("context_length", 131072);
  c.num_attention_heads = u("attention.head_count");
  c.global_head_dim = u("attention.key_length");
  c.head_dim = u_or("attention.key_length_swa", c.global_head_dim);
  c.sliding_window = u_or("attention.sliding_window", 0);
  c.num_kv_shared_layers = u_or("attention.shared_kv_layers", 0);
  c.ple_dim = u_or("embedding_length_per_layer_input", 0);
  c.final_logit_softcapping = static_cast<float>(f_or("final_logit_softcapping", 0.0));
  c.rms_norm_eps = static_cast<float>(f_or("attention.layer_norm_rms_epsilon", 1e-6));
  c.rope_full = {rope_kind::proportional, f_or("rope.freq_base", 1e6), 1.0};
  c.rope_sliding = {rope_kind::standard, f_or("rope.freq_base_swa", 1e4), 1.0};

  // Layer types: sliding_window_pattern[l] == true means sliding.
  const std::string pat_key = p + "attention.sliding_window_pattern";
  if (md.contains(pat_key)) {
    const auto& pat = md.get_array<bool>(pat_key);
    if (pat.size() != L) fail(errc::config, src + ": " + pat_key + " has " + std::to_string(pat.size()) + " entries");
    for (bool s : pat) c.layer_types.push_back(s ? layer_kind::sliding : layer_kind::full);
  } else {
    c.layer_types.assign(L, layer_kind::full);
  }

  // Vocabulary and k_eq_v come from the tensors.
  const any_tensor* emb = g.tensors.find("token_embd.weight");
  if (emb == nullptr || emb->rank() != 2) fail(errc::missing_tensor, src + ": tensor 'token_embd.weight' is missing");
  c.vocab_size = emb->shape()[0];
  c.vocab_size_per_layer_input = c.ple_dim ? c.vocab_size : 0;
  std::size_t first_full = L;
  for (std::size_t l = 0; l < L; ++l)
    if (c.layer_types[l] == layer_kind::full) {
      first_full = l;
      break;
    }
  c.attention_k_eq_v = first_full < L && !g.tensors.contains("blk." + std::to_string(first_full) + ".attn_v.weight");

  // Proportional RoPE: rope_freqs = [1.0] × rotating pairs, then 1e30 (frozen).
  if (const any_tensor* rf = g.tensors.find("rope_freqs.weight")) {
    const auto v = rf->as<f32, 1>();
    std::size_t ones = 0;
    while (ones < v.extent(0) && v(ones) == 1.0f) ++ones;
    c.rope_full.partial_rotary_factor = 2.0 * static_cast<double>(ones) / static_cast<double>(c.global_head_dim);
    if (ones == v.extent(0)) c.rope_full.kind = rope_kind::standard;
  } else {
    c.rope_full.kind = rope_kind::standard;
  }

  // Heads and MLP widths may be per-layer arrays.
  const auto kv = detail::per_layer(md, p + "attention.head_count_kv", L, src);
  const auto ff = detail::per_layer(md, p + "feed_forward_length", L, src);
  c.num_key_value_heads = kv[0];
  for (std::size_t l = 0; l < L; ++l)
    if (c.layer_types[l] == layer_kind::sliding) {
      c.num_key_value_heads = kv[l];
      break;
    }
  if (first_full < L) c.num_global_key_value_heads = kv[first_full];
  const std::size_t first_shared = L - c.num_kv_shared_layers;
  c.intermediate_size = ff[0];
  c.use_double_wide_mlp = c.num_kv_shared_layers > 0 && ff[L - 1] == 2 * ff[0];
  for (std::size_t l = 0; l < L; ++l) {
    const std::size_t want = (c.use_double_wide_mlp && l >= first_shared) ? 2 * ff[0] : ff[0];
    if (ff[l] != want)
      fail(errc::unsupported, src + ": gemma4.feed_forward_length[" + std::to_string(l) +
                                  "] = " + std::to_string(ff[l]) +
                                  " does not follow the Gemma 4 pattern (uniform, or doubled on KV-shared layers)");
    const bool full = c.layer_types[l] == layer_kind::full;
    const std::size_t want_kv = (full && c.attention_k_eq_v) ? c.num_global_key_value_heads : c.num_key_value_heads;
    if (kv[l] != want_kv)
      fail(errc::unsupported, src + ": gemma4.attention.head_count_kv[" + std::to_string(l) +
                                  "] = " + std::to_string(kv[l]) + " does not follow the Gemma 4 pattern");
  }
  if (md.contains(p + "expert_count") && u("expert_count") > 0) {
    c.enable_moe_block = true;
    c.num_experts = u("expert_count");
    c.top_k_experts = u("expert_used_count");
    c.moe_intermediate_size = u("expert_feed_forward_length");
  }

  // End-of-generation ids: eos plus the Gemma 4 turn / tool-response tokens when the vocabulary has them.
  c.eos_token_id = md.contains("tokenizer.ggml.eos_token_id")
                       ? static_cast<std::int32_t>(md.get_integer<std::uint32_t>("tokenizer.ggml.eos_token_id"))
                       : 1;
  c.bos_token_id = md.contains("tokenizer.ggml.bos_token_id")
                       ? static_cast<std::int32_t>(md.get_integer<std::uint32_t>("tokenizer.ggml.bos_token_id"))
                       : 2;
  c.eos_token_ids = {c.eos_token_id};
  if (md.contains("tokenizer.ggml.tokens")) {
    const auto& toks = md.get_array<std::string>("tokenizer.ggml.tokens");
    if (toks.size() > 106 && toks[106] == "<turn|>") c.eos_token_ids.push_back(106);
    if (toks.size() > 50 && toks[50] == "<|tool_response>") c.eos_token_ids.push_back(50);
  }
  c.derive();
  return c;
}

}  // namespace model
SCALPEL_END_NAMESPACE
