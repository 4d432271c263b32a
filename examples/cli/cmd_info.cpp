// scalpel info: what a checkpoint is (variant, geometry per layer, sizes).
#include <cstdio>
#include <map>

#include "common.hpp"

namespace scalpel_cli {
namespace cmd_info {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage = R"(usage: scalpel info --model PATH [--json]

Describe a Gemma 4 checkpoint (HF directory or .gguf): the recognised variant (e2b, e4b, 26b-a4b, 31b or
custom), the layer pattern and per-layer geometry, weight dtypes and sizes, KV-cache bytes per token.

options:
  --model PATH   Hugging Face checkpoint directory or .gguf file
  --json         machine-readable output)";

int run(args& a) {
  const bool json = a.flag("json");
  scalpel::model::model_files files;
  const auto m = load_model_arg(a, &files);
  a.finish();
  const auto& c = m.config();
  nlohmann::json lt = nlohmann::json::array(), layers = nlohmann::json::array();
  std::size_t kv_bytes_per_token = 0;
  for (const auto& g : c.layers) {
    lt.push_back(std::string(scalpel::model::layer_kind_name(g.kind)));
    layers.push_back({{"layer", g.index},
                      {"type", std::string(scalpel::model::layer_kind_name(g.kind))},
                      {"head_dim", g.head_dim},
                      {"q_heads", g.n_q_heads},
                      {"kv_heads", g.n_kv_heads},
                      {"v_proj", g.has_v_proj},
                      {"kv_source", g.kv_source},
                      {"ffn_dim", g.ffn_dim},
                      {"moe", g.moe},
                      {"window", g.window}});
    if (g.owns_kv) kv_bytes_per_token += 2 * g.kv_dim() * sizeof(float);
  }
  std::map<std::string, std::size_t> dtype_bytes;
  std::size_t params = 0, bytes = 0;
  for (const auto& t : m.tensors()) {
    dtype_bytes[std::string(scalpel::dtype_name(t.dtype()))] += t.size_bytes();
    params += t.numel();
    bytes += t.size_bytes();
  }
  nlohmann::json out = {
      {"variant", std::string(scalpel::model::variant_name(c.detect_variant()))},
      {"format", std::string(scalpel::model::format_name(m.format()))},
      {"path", m.source()},
      {"num_layers", c.num_layers},
      {"hidden_size", c.hidden_size},
      {"vocab_size", c.vocab_size},
      {"intermediate_size", c.intermediate_size},
      {"num_attention_heads", c.num_attention_heads},
      {"head_dim", c.head_dim},
      {"global_head_dim", c.global_head_dim},
      {"sliding_window", c.sliding_window},
      {"num_kv_shared_layers", c.num_kv_shared_layers},
      {"ple_dim", c.ple_dim},
      {"moe", c.enable_moe_block},
      {"num_experts", c.num_experts},
      {"top_k_experts", c.top_k_experts},
      {"moe_intermediate_size", c.moe_intermediate_size},
      {"attention_k_eq_v", c.attention_k_eq_v},
      {"max_position_embeddings", c.max_position_embeddings},
      {"final_logit_softcapping", c.final_logit_softcapping},
      {"eos_token_ids", c.eos_token_ids},
      {"layer_types", lt},
      {"layers", layers},
      {"num_tensors", m.tensors().size()},
      {"num_parameters", params},
      {"weights_bytes", bytes},
      {"bytes_by_dtype", dtype_bytes},
      {"kv_cache_bytes_per_token_f32", kv_bytes_per_token},
      {"tokenizer", files.tokenizer_path.empty()
                        ? (m.format() == scalpel::model::checkpoint_format::gguf ? "embedded" : "")
                        : files.tokenizer_path},
  };
  if (json) {
    print_json(out);
    return 0;
  }
  std::printf("%s: Gemma 4 %s (%s)\n", m.source().c_str(), out["variant"].get<std::string>().c_str(),
              out["format"].get<std::string>().c_str());
  std::printf("  layers %zu, hidden %zu, vocab %zu, heads %zu, head dims %zu/%zu, window %zu\n", c.num_layers,
              c.hidden_size, c.vocab_size, c.num_attention_heads, c.head_dim, c.global_head_dim, c.sliding_window);
  std::printf("  MLP %zu%s%s\n", c.intermediate_size, c.use_double_wide_mlp ? " (doubled on KV-shared layers)" : "",
              c.enable_moe_block
                  ? (" + " + std::to_string(c.num_experts) + " experts (top-" + std::to_string(c.top_k_experts) +
                     ", width " + std::to_string(c.moe_intermediate_size) + ")")
                        .c_str()
                  : "");
  if (c.ple_dim) std::printf("  per-layer embeddings: %zu per layer\n", c.ple_dim);
  if (c.num_kv_shared_layers) {
    std::size_t donor_s = 0, donor_f = 0;
    for (const auto& g : c.layers) {
      if (g.owns_kv) continue;
      (g.kind == scalpel::model::layer_kind::full ? donor_f : donor_s) = g.kv_source;
    }
    std::printf("  KV sharing: layers %zu..%zu reuse the caches of layer %zu (sliding) and %zu (full)\n",
                c.first_kv_shared_layer(), c.num_layers - 1, donor_s, donor_f);
  }
  std::printf("  layer types: ");
  for (const auto& g : c.layers) std::printf("%c", g.kind == scalpel::model::layer_kind::full ? 'F' : 'S');
  std::printf("\n  %zu tensors, %.3f B parameters, %.2f GB", m.tensors().size(), static_cast<double>(params) / 1e9,
              static_cast<double>(bytes) / 1e9);
  for (const auto& [k, v] : dtype_bytes) std::printf(" [%s %.2f GB]", k.c_str(), static_cast<double>(v) / 1e9);
  std::printf("\n  KV cache: %zu bytes per token (f32)\n", kv_bytes_per_token);
  return 0;
}

const registrar reg{{"info", "describe a checkpoint (variant, geometry, sizes)", usage, &run, 10}};
}  // namespace
}  // namespace cmd_info
}  // namespace scalpel_cli
