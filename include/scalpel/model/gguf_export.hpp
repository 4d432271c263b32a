#pragma once
/// @file
/// @brief Write a model as a GGUF file that llama.cpp loads (`scalpel export-gguf`): the metadata, tensor names,
/// tensor types and the generated `rope_freqs` tensor exactly as llama.cpp's converter (`convert_hf_to_gguf.py`,
/// `Gemma4Model`) writes them, plus the tokenizer (`tokenizer.ggml.*`).
///
/// Tensor types follow the converter: 1-D tensors, names not ending in ".weight" and the router projection
/// (`ffn_gate_inp.weight`) are F32; everything else takes the output type; with Q8_0 a tensor whose rows are not
/// whole 32-element blocks falls back to F16. Q8_0 blocks are quantised like ggml's reference quantiser
/// (`simd::quantize_q8_0`); Q8_0 input records are copied unchanged (an edit on a Q8_0 GGUF re-quantises only the
/// blocks it touched: it scales their block scales).

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/gguf.hpp"
#include "scalpel/io/gguf_names.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/simd/quantize.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// Output tensor type of a GGUF export.
enum class gguf_out_type : std::uint8_t { f32, f16, bf16, q8_0 };

inline gguf_out_type parse_gguf_out_type(const std::string& s) {
  if (s == "f32") return gguf_out_type::f32;
  if (s == "f16") return gguf_out_type::f16;
  if (s == "bf16") return gguf_out_type::bf16;
  if (s == "q8_0") return gguf_out_type::q8_0;
  fail(errc::invalid_argument, "unknown GGUF type '" + s + "' (expected f32, f16, bf16 or q8_0)");
}

struct gguf_export_options {
  gguf_out_type type = gguf_out_type::bf16;
  std::string name;           ///< general.name (default: the checkpoint directory's name)
  std::string chat_template;  ///< tokenizer.chat_template (empty: none)
  std::vector<std::pair<std::string, std::string>> extra_strings;  ///< extra string keys (e.g. scalpel.edit_plan)
};

/// The GGUF metadata llama.cpp's converter writes for this config and tokenizer.
inline io::gguf_metadata gguf_export_metadata(const gemma4_config& c, const io::tokenizer& tok,
                                              const gguf_export_options& o) {
  using u32 = std::uint32_t;
  io::gguf_metadata md;
  const std::string A = "gemma4.";
  auto set = [&](const std::string& k, io::gguf_value v) { md.set(k, std::move(v)); };  // later set keeps position
  auto u = [](std::size_t v) { return static_cast<u32>(v); };
  constexpr u32 file_types[] = {0, 1, 32, 7};  // f32, f16, bf16, q8_0 (llama_ftype)
  set("general.architecture", "gemma4");
  set("general.type", "model");
  set("general.name", o.name);
  set(A + "block_count", u(c.num_layers));
  set(A + "context_length", u(c.max_position_embeddings));
  set(A + "embedding_length", u(c.hidden_size));
  set(A + "feed_forward_length", u(c.intermediate_size));
  set(A + "attention.head_count", u(c.num_attention_heads));
  set(A + "attention.head_count_kv", u(c.num_key_value_heads));
  set(A + "rope.freq_base", static_cast<float>(c.rope_full.theta));
  set(A + "rope.freq_base_swa", static_cast<float>(c.rope_sliding.theta));
  set(A + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  if (c.enable_moe_block) {
    set(A + "expert_count", u(c.num_experts));
    set(A + "expert_used_count", u(c.top_k_experts));
  }
  set(A + "attention.key_length", u(c.head_dim));
  set(A + "attention.value_length", u(c.head_dim));
  set("general.file_type", file_types[static_cast<std::size_t>(o.type)]);
  if (c.final_logit_softcapping > 0.0f) set(A + "final_logit_softcapping", c.final_logit_softcapping);
  set(A + "attention.sliding_window", u(c.sliding_window));
  set(A + "attention.shared_kv_layers", u(c.num_kv_shared_layers));
  set(A + "embedding_length_per_layer_input", u(c.ple_dim));
  std::vector<bool> swa;
  for (auto k : c.layer_types) swa.push_back(k == layer_kind::sliding);
  set(A + "attention.sliding_window_pattern", io::gguf_value(swa));
  set(A + "attention.key_length", u(c.global_head_dim));
  set(A + "attention.value_length", u(c.global_head_dim));
  set(A + "attention.key_length_swa", u(c.head_dim));
  set(A + "attention.value_length_swa", u(c.head_dim));
  if (c.enable_moe_block) set(A + "expert_feed_forward_length", u(c.moe_intermediate_size));
  if (c.use_double_wide_mlp) {
    std::vector<std::int32_t> ff;
    for (const auto& g : c.layers) ff.push_back(static_cast<std::int32_t>(g.ffn_dim));
    set(A + "feed_forward_length", io::gguf_value(ff));
  }
  if (c.attention_k_eq_v) {
    std::vector<std::int32_t> kv;
    for (const auto& g : c.layers) kv.push_back(static_cast<std::int32_t>(g.n_kv_heads));
    set(A + "attention.head_count_kv", io::gguf_value(kv));
  }
  set(A + "rope.dimension_count", u(c.global_head_dim));
  set(A + "rope.dimension_count_swa", u(c.head_dim));
  set("general.quantization_version", u32{2});

  // Tokenizer (LlamaHfVocab + SpecialVocab): pieces, scores all -1000, types, merges, special ids.
  const auto V = static_cast<std::size_t>(tok.vocab_size());
  std::vector<std::string> tokens(V);
  std::vector<float> scores(V, -1000.0f);
  std::vector<std::int32_t> types(V);
  for (std::size_t id = 0; id < V; ++id) {
    const auto i = static_cast<std::int32_t>(id);
    tokens[id] = std::string(tok.token_text(i));
    types[id] = static_cast<std::int32_t>(tok.type(i));
  }
  // llama.cpp renders these Gemma 4 markers in output text: the converter types them USER_DEFINED.
  for (const char* s :
       {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>", "<|\"|>"}) {
    const std::int32_t id = tok.token_id(s);
    if (id >= 0) types[static_cast<std::size_t>(id)] = static_cast<std::int32_t>(io::token_type::user_defined);
  }
  set("tokenizer.ggml.model", "gemma4");
  set("tokenizer.ggml.tokens", io::gguf_value(tokens));
  set("tokenizer.ggml.scores", io::gguf_value(scores));
  set("tokenizer.ggml.token_type", io::gguf_value(types));
  set("tokenizer.ggml.merges", io::gguf_value(tok.merges()));
  const auto& sp = tok.specials();
  auto id_or = [](std::int32_t v, std::int32_t fb) { return static_cast<u32>(v >= 0 ? v : fb); };
  set("tokenizer.ggml.bos_token_id", id_or(sp.bos, 2));
  set("tokenizer.ggml.eos_token_id", id_or(sp.eos, 1));
  set("tokenizer.ggml.unknown_token_id", id_or(sp.unk, 3));
  set("tokenizer.ggml.padding_token_id", id_or(sp.pad, 0));
  set("tokenizer.ggml.mask_token_id", id_or(sp.mask, 4));
  set("tokenizer.ggml.add_bos_token", true);
  set("tokenizer.ggml.add_eos_token", false);
  set("tokenizer.ggml.add_space_prefix", false);
  if (!o.chat_template.empty()) set("tokenizer.chat_template", o.chat_template);
  for (const auto& [k, v] : o.extra_strings) set(k, v);
  return md;
}

namespace detail {
/// A record converted to a GGUF tensor of ggml type `t` (F32 / F16 / BF16 / Q8_0), under `name`.
inline any_tensor convert_record(const any_tensor& src, const std::string& name, dtype_id t) {
  if (src.dtype() == t) return any_tensor(name, t, src.shape(), src.data(), src.size_bytes(), src.keepalive());
  const std::size_t n = src.numel(), cols = src.shape()[src.rank() - 1], rows = n / cols;
  const matrix_ref m = matrix_ref::from(src.reshaped(make_shape({rows, cols})));
  std::vector<float> row(cols);
  auto buf = std::make_shared<std::vector<std::byte>>(any_tensor::expected_bytes(t, src.shape()));
  for (std::size_t r = 0; r < rows; ++r) {
    m.decode_row(r, row.data());
    switch (t) {
      case dtype_id::f32:
        std::memcpy(buf->data() + r * cols * 4, row.data(), cols * 4);
        break;
      case dtype_id::f16: {
        auto* o = reinterpret_cast<f16_bits*>(buf->data()) + r * cols;  // NOLINT
        for (std::size_t i = 0; i < cols; ++i) o[i] = to_f16(row[i]);
        break;
      }
      case dtype_id::bf16: {
        auto* o = reinterpret_cast<bf16_bits*>(buf->data()) + r * cols;  // NOLINT
        for (std::size_t i = 0; i < cols; ++i) o[i] = to_bf16(row[i]);
        break;
      }
      case dtype_id::q8_0:
        simd::quantize_q8_0(row.data(), cols, reinterpret_cast<q8_0_block*>(buf->data()) + r * (cols / 32));  // NOLINT
        break;
      default:
        fail(errc::unsupported, "GGUF export: cannot write tensor '" + name + "' as " + std::string(dtype_name(t)));
    }
  }
  const std::byte* p = buf->data();
  const std::size_t nb = buf->size();
  return any_tensor(name, t, src.shape(), p, nb, std::move(buf));
}
}  // namespace detail

/// The GGUF tensors of a model: `rope_freqs.weight` first, then every text-model tensor in checkpoint order,
/// renamed and converted as the converter does.
inline io::tensor_set gguf_export_tensors(const gemma4_model& m, gguf_out_type type) {
  const auto& c = m.config();
  io::tensor_set out;
  {
    const std::size_t half = c.global_head_dim / 2;
    const std::size_t n_rot =
        c.rope_full.kind == rope_kind::proportional
            ? static_cast<std::size_t>(c.rope_full.partial_rotary_factor * static_cast<double>(c.global_head_dim) / 2.0)
            : half;
    tensor<f32, 1> rf({half});
    for (std::size_t i = 0; i < half; ++i) rf.data()[i] = i < n_rot ? 1.0f : 1e30f;
    out.add(any_tensor::from(std::string(io::gguf_rope_freqs_name), std::move(rf)));
  }
  const bool from_gguf = m.format() == checkpoint_format::gguf;
  for (const auto& t : m.tensors()) {
    if (from_gguf && t.name() == io::gguf_rope_freqs_name) continue;
    const auto gname = from_gguf ? std::optional<std::string>(t.name()) : io::hf_to_gguf_name(t.name());
    if (!gname) continue;  // vision / audio towers, lm_head
    dtype_id dt = dtype_id::f32;
    const bool force_f32 = t.rank() <= 1 || !gname->ends_with(".weight") || gname->ends_with("ffn_gate_inp.weight");
    if (force_f32) {
      dt = dtype_id::f32;
    } else {
      switch (type) {
        case gguf_out_type::f32:
          dt = dtype_id::f32;
          break;
        case gguf_out_type::f16:
          dt = dtype_id::f16;
          break;
        case gguf_out_type::bf16:
          dt = dtype_id::bf16;
          break;
        case gguf_out_type::q8_0:
          dt = t.shape()[t.rank() - 1] % 32 == 0 ? dtype_id::q8_0 : dtype_id::f16;
          break;
      }
    }
    out.add(detail::convert_record(t, *gname, dt));
  }
  return out;
}

/// Write `m` (with its tokenizer) as a GGUF at `path` (atomically; never over an input file).
inline void export_gguf(const gemma4_model& m, const io::tokenizer& tok, const std::string& path,
                        const gguf_export_options& o) {
  io::write_gguf(path, gguf_export_metadata(m.config(), tok, o), gguf_export_tensors(m, o.type));
}

}  // namespace model
SCALPEL_END_NAMESPACE
