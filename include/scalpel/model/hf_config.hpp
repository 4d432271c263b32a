#pragma once
/// @file
/// @brief Parse Hugging Face `config.json` (the released `Gemma4ForConditionalGeneration` wrapper with
/// `text_config`, or a text-only `gemma4_text` config) and `generation_config.json` into `gemma4_config`.
///
/// Accepts both `moe_intermediate_size` and `expert_intermediate_size`, the flat `global_head_dim` /
/// `num_global_key_value_heads` keys and the newer `per_layer_config` block. Type errors name the JSON path.

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// Sampling defaults and stop ids from `generation_config.json` (absent fields stay empty).
struct generation_defaults {
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<std::int64_t> top_k;
  std::optional<bool> do_sample;
  std::vector<std::int32_t> eos_token_ids;
};

namespace detail {

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(errc::io, "cannot open '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    fail(errc::json, "'" + path + "' is not valid JSON: " + e.what());
  }
}

/// Typed, optional field access with errors naming `source: path`.
class json_fields {
 public:
  json_fields(const nlohmann::json& j, std::string source, std::string prefix)
      : j_(j), source_(std::move(source)), prefix_(std::move(prefix)) {}

  [[nodiscard]] bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  [[nodiscard]] const nlohmann::json& raw(const char* key) const { return j_.at(key); }

  [[nodiscard]] std::optional<std::size_t> size(const char* key) const {
    if (!has(key)) return std::nullopt;
    const auto& v = j_.at(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0) type_error(key, "a non-negative integer", v);
    return static_cast<std::size_t>(v.get<std::int64_t>());
  }
  [[nodiscard]] std::optional<std::int64_t> integer(const char* key) const {
    if (!has(key)) return std::nullopt;
    const auto& v = j_.at(key);
    if (!v.is_number_integer()) type_error(key, "an integer", v);
    return v.get<std::int64_t>();
  }
  [[nodiscard]] std::optional<double> number(const char* key) const {
    if (!has(key)) return std::nullopt;
    const auto& v = j_.at(key);
    if (!v.is_number()) type_error(key, "a number", v);
    return v.get<double>();
  }
  [[nodiscard]] std::optional<bool> boolean(const char* key) const {
    if (!has(key)) return std::nullopt;
    const auto& v = j_.at(key);
    if (!v.is_boolean()) type_error(key, "true or false", v);
    return v.get<bool>();
  }
  [[nodiscard]] std::optional<std::string> string(const char* key) const {
    if (!has(key)) return std::nullopt;
    const auto& v = j_.at(key);
    if (!v.is_string()) type_error(key, "a string", v);
    return v.get<std::string>();
  }
  /// An integer or an array of integers (eos_token_id).
  [[nodiscard]] std::vector<std::int32_t> int_list(const char* key) const {
    std::vector<std::int32_t> out;
    if (!has(key)) return out;
    const auto& v = j_.at(key);
    if (v.is_number_integer()) {
      out.push_back(static_cast<std::int32_t>(v.get<std::int64_t>()));
    } else if (v.is_array()) {
      for (const auto& e : v) {
        if (!e.is_number_integer()) type_error(key, "an integer or a list of integers", v);
        out.push_back(static_cast<std::int32_t>(e.get<std::int64_t>()));
      }
    } else {
      type_error(key, "an integer or a list of integers", v);
    }
    return out;
  }
  [[nodiscard]] std::string path(const char* key) const { return prefix_.empty() ? key : prefix_ + "." + key; }
  [[noreturn]] void type_error(const char* key, const char* expected, const nlohmann::json& v) const {
    fail(errc::config, source_ + ": " + path(key) + ": expected " + expected + ", found " + v.dump());
  }
  [[noreturn]] void missing(const char* key) const {
    fail(errc::config, source_ + ": " + path(key) + ": required field is missing");
  }
  template <class T>
  T require(std::optional<T> v, const char* key) const {
    if (!v) missing(key);
    return *v;
  }
  [[nodiscard]] const std::string& source() const { return source_; }

 private:
  const nlohmann::json& j_;
  std::string source_;
  std::string prefix_;
};

inline rope_config parse_rope(const nlohmann::json& j, const std::string& source, const std::string& path,
                              rope_config fallback) {
  if (!j.is_object()) fail(errc::config, source + ": " + path + ": expected an object, found " + j.dump());
  json_fields f(j, source, path);
  rope_config r = fallback;
  if (auto t = f.number("rope_theta")) r.theta = *t;
  if (auto p = f.number("partial_rotary_factor")) r.partial_rotary_factor = *p;
  if (auto type = f.string("rope_type")) {
    if (*type == "default") {
      r.kind = rope_kind::standard;
    } else if (*type == "proportional") {
      r.kind = rope_kind::proportional;
    } else {
      fail(errc::unsupported, source + ": " + path + ".rope_type: '" + *type +
                                  "' is not supported (expected 'default' or 'proportional')");
    }
  }
  if (r.kind == rope_kind::standard && !f.has("partial_rotary_factor")) r.partial_rotary_factor = 1.0;
  if (auto factor = f.number("factor"); factor && *factor != 1.0)
    fail(errc::unsupported, source + ": " + path + ".factor: RoPE scaling factor " + std::to_string(*factor) +
                                " is not supported (Gemma 4 uses none)");
  return r;
}

}  // namespace detail

/// Parse a config.json object. `source` names the file in errors.
inline gemma4_config parse_hf_config(const nlohmann::json& root, const std::string& source = "config.json") {
  if (!root.is_object()) fail(errc::config, source + ": expected a JSON object");
  const bool wrapped = root.contains("text_config") && root.at("text_config").is_object();
  const nlohmann::json& tj = wrapped ? root.at("text_config") : root;
  detail::json_fields f(tj, source, wrapped ? "text_config" : "");
  if (auto mt = f.string("model_type"); mt && *mt != "gemma4_text" && *mt != "gemma4")
    fail(errc::unsupported,
         source + ": " + f.path("model_type") + ": '" + *mt + "' is not a Gemma 4 text model (expected gemma4_text)");

  gemma4_config c;
  c.source = source;
  c.vocab_size = f.require(f.size("vocab_size"), "vocab_size");
  c.hidden_size = f.require(f.size("hidden_size"), "hidden_size");
  c.num_layers = f.require(f.size("num_hidden_layers"), "num_hidden_layers");
  c.intermediate_size = f.require(f.size("intermediate_size"), "intermediate_size");
  c.use_double_wide_mlp = f.boolean("use_double_wide_mlp").value_or(false);
  c.num_attention_heads = f.require(f.size("num_attention_heads"), "num_attention_heads");
  c.num_key_value_heads = f.require(f.size("num_key_value_heads"), "num_key_value_heads");
  c.num_global_key_value_heads = f.size("num_global_key_value_heads").value_or(0);
  c.head_dim = f.require(f.size("head_dim"), "head_dim");
  // transformers' Gemma4 config defaults global_head_dim to 512 when the key is absent.
  c.global_head_dim = f.size("global_head_dim").value_or(f.has("per_layer_config") ? 0 : 512);
  c.attention_k_eq_v = f.boolean("attention_k_eq_v").value_or(false);
  c.sliding_window = f.size("sliding_window").value_or(0);
  c.final_logit_softcapping = static_cast<float>(f.number("final_logit_softcapping").value_or(0.0));
  c.num_kv_shared_layers = f.size("num_kv_shared_layers").value_or(0);
  c.ple_dim = f.size("hidden_size_per_layer_input").value_or(0);
  c.vocab_size_per_layer_input = f.size("vocab_size_per_layer_input").value_or(0);
  c.enable_moe_block = f.boolean("enable_moe_block").value_or(false);
  c.num_experts = f.size("num_experts").value_or(0);
  c.top_k_experts = f.size("top_k_experts").value_or(0);
  c.moe_intermediate_size = f.size("moe_intermediate_size").value_or(f.size("expert_intermediate_size").value_or(0));
  c.rms_norm_eps = static_cast<float>(f.number("rms_norm_eps").value_or(1e-6));
  c.tie_word_embeddings = f.boolean("tie_word_embeddings").value_or(true);
  if (!c.tie_word_embeddings)
    fail(errc::unsupported, source + ": " + f.path("tie_word_embeddings") +
                                ": untied output embeddings are not supported (Gemma 4 ties them)");
  c.max_position_embeddings = f.size("max_position_embeddings").value_or(0);
  if (auto v = f.integer("bos_token_id")) c.bos_token_id = static_cast<std::int32_t>(*v);
  if (auto v = f.integer("pad_token_id")) c.pad_token_id = static_cast<std::int32_t>(*v);
  auto eos = f.int_list("eos_token_id");
  if (!eos.empty()) c.eos_token_id = eos.front();
  if (wrapped) {
    detail::json_fields top(root, source, "");
    auto top_eos = top.int_list("eos_token_id");
    if (!top_eos.empty()) eos = top_eos;
  }
  c.eos_token_ids = eos;
  if (auto act = f.string("hidden_activation"); act && *act != "gelu_pytorch_tanh")
    fail(errc::unsupported, source + ": " + f.path("hidden_activation") + ": '" + *act +
                                "' is not supported (Gemma 4 uses gelu_pytorch_tanh)");

  if (!f.has("layer_types")) f.missing("layer_types");
  const auto& lt = f.raw("layer_types");
  if (!lt.is_array()) f.type_error("layer_types", "an array of strings", lt);
  for (std::size_t i = 0; i < lt.size(); ++i) {
    const auto& e = lt[i];
    if (e == "sliding_attention") {
      c.layer_types.push_back(layer_kind::sliding);
    } else if (e == "full_attention") {
      c.layer_types.push_back(layer_kind::full);
    } else {
      fail(errc::config, source + ": " + f.path("layer_types") + "[" + std::to_string(i) +
                             "]: expected \"sliding_attention\" or \"full_attention\", found " + e.dump());
    }
  }

  if (f.has("rope_parameters")) {
    const auto& rp = f.raw("rope_parameters");
    const std::string rpath = f.path("rope_parameters");
    if (!rp.is_object()) fail(errc::config, source + ": " + rpath + ": expected an object");
    if (rp.contains("sliding_attention"))
      c.rope_sliding =
          detail::parse_rope(rp.at("sliding_attention"), source, rpath + ".sliding_attention", c.rope_sliding);
    if (rp.contains("full_attention"))
      c.rope_full = detail::parse_rope(rp.at("full_attention"), source, rpath + ".full_attention", c.rope_full);
  } else if (auto theta = f.number("rope_theta")) {
    c.rope_sliding.theta = *theta;
  }

  if (f.has("per_layer_config")) {
    const auto& plc = f.raw("per_layer_config");
    const std::string ppath = f.path("per_layer_config");
    c.overrides.assign(c.num_layers, {});
    auto apply = [&](std::size_t layer, const nlohmann::json& e, const std::string& epath) {
      if (layer >= c.num_layers)
        fail(errc::config, source + ": " + epath + ": layer " + std::to_string(layer) + " is out of range (" +
                               std::to_string(c.num_layers) + " layers)");
      if (!e.is_object()) fail(errc::config, source + ": " + epath + ": expected an object");
      detail::json_fields ef(e, source, epath);
      auto& o = c.overrides[layer];
      o.head_dim = ef.size("head_dim").value_or(0);
      o.n_q_heads = ef.size("num_attention_heads").value_or(0);
      o.n_kv_heads = ef.size("num_key_value_heads").value_or(0);
    };
    if (plc.is_object()) {
      for (const auto& [k, e] : plc.items()) {
        std::size_t layer = 0;
        try {
          std::size_t pos = 0;
          layer = static_cast<std::size_t>(std::stoul(k, &pos));
          if (pos != k.size()) throw std::invalid_argument(k);
        } catch (const std::exception&) {
          fail(errc::config, source + ": " + ppath + ": key '" + k + "' is not a layer index");
        }
        apply(layer, e, ppath + "." + k);
      }
    } else if (plc.is_array()) {
      for (std::size_t i = 0; i < plc.size(); ++i) apply(i, plc[i], ppath + "[" + std::to_string(i) + "]");
    } else {
      fail(errc::config, source + ": " + ppath + ": expected an object keyed by layer index or an array");
    }
    // Full-layer values given only per layer: take them as the global defaults too.
    for (std::size_t l = 0; l < c.num_layers && l < c.layer_types.size(); ++l) {
      if (c.layer_types[l] != layer_kind::full) continue;
      if (c.global_head_dim == 0 && c.overrides[l].head_dim) c.global_head_dim = c.overrides[l].head_dim;
      if (c.num_global_key_value_heads == 0 && c.overrides[l].n_kv_heads)
        c.num_global_key_value_heads = c.overrides[l].n_kv_heads;
    }
  }
  c.derive();
  return c;
}

/// Read and parse a config.json file.
inline gemma4_config read_hf_config(const std::string& path) {
  return parse_hf_config(detail::read_json_file(path), path);
}

/// Parse a generation_config.json object.
inline generation_defaults parse_generation_config(const nlohmann::json& j,
                                                   const std::string& source = "generation_config.json") {
  if (!j.is_object()) fail(errc::config, source + ": expected a JSON object");
  detail::json_fields f(j, source, "");
  generation_defaults g;
  g.temperature = f.number("temperature");
  g.top_p = f.number("top_p");
  g.min_p = f.number("min_p");
  g.repetition_penalty = f.number("repetition_penalty");
  g.top_k = f.integer("top_k");
  g.do_sample = f.boolean("do_sample");
  g.eos_token_ids = f.int_list("eos_token_id");
  return g;
}

inline generation_defaults read_generation_config(const std::string& path) {
  return parse_generation_config(detail::read_json_file(path), path);
}

}  // namespace model
SCALPEL_END_NAMESPACE
