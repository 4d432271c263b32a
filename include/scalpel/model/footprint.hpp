#pragma once
/// @file
/// @brief What a decoded token costs in memory traffic: the bytes of weights it touches (the physical limit of
/// decode is read bandwidth ÷ these bytes). KV-shared layers read no k/v weights; MoE layers read the router, the
/// dense MLP and, on average, top_k of num_experts experts; the tied output head reads the whole embedding matrix;
/// the embedding lookups read one row.

#include <cstddef>

#include "scalpel/config.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

struct decode_footprint {
  std::size_t weight_bytes = 0;        ///< matrix bytes read per decoded token (expected value for MoE)
  std::size_t output_head_bytes = 0;   ///< of which the tied output head (the embedding matrix)
  std::size_t expert_bytes = 0;        ///< of which routed experts (top_k / num_experts of their total)
  std::size_t kv_bytes_per_token = 0;  ///< KV-cache bytes appended per token (f32)
};

inline decode_footprint decode_bytes_per_token(const gemma4_model& m) {
  const auto& c = m.config();
  const auto& w = m.weights();
  decode_footprint f;
  auto row = [](const matrix_ref& x) { return x.rows() ? x.size_bytes() / x.rows() : 0; };
  f.output_head_bytes = w.embed.size_bytes();
  f.weight_bytes += f.output_head_bytes + row(w.embed);
  if (c.has_ple()) f.weight_bytes += row(w.ple_embed) + w.ple_model_proj.size_bytes();
  for (const auto& g : c.layers) {
    const auto& lw = w.layers[g.index];
    f.weight_bytes += lw.attn.q_proj.size_bytes() + lw.attn.o_proj.size_bytes();
    if (g.owns_kv) {
      f.weight_bytes += lw.attn.k_proj.size_bytes() + lw.attn.v_proj.size_bytes();
      f.kv_bytes_per_token += 2 * g.kv_dim() * sizeof(float);
    }
    f.weight_bytes += lw.mlp.gate.size_bytes() + lw.mlp.up.size_bytes() + lw.mlp.down.size_bytes();
    if (g.moe) {
      const std::size_t experts = lw.moe.gate_up.size_bytes() + lw.moe.down.size_bytes();
      const std::size_t used = experts / c.num_experts * c.top_k_experts;
      f.expert_bytes += used;
      f.weight_bytes += lw.moe.router.size_bytes() + used;
    }
    if (c.has_ple()) f.weight_bytes += lw.ple.input_gate.size_bytes() + lw.ple.projection.size_bytes();
  }
  return f;
}

}  // namespace model
SCALPEL_END_NAMESPACE
