#pragma once
/// @file
/// @brief Typed weight structs of the Gemma 4 text decoder and their binding from a checkpoint's tensors.
///
/// Matrices stay in their file dtype and in place (memory-mapped): `matrix_ref` views, row-major
/// [out, in] as in PyTorch. Norm weights and other small vectors are converted once to owned f32.
/// Binding checks every shape against the derived geometry and reports all missing / mismatched tensors in
/// one error. Names are the HF ones without the `model.language_model.` / `model.` prefix ("canonical").

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/aligned_alloc.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/tensor/any_tensor.hpp"
#include "scalpel/tensor/matrix_ref.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

using vec_f32 = aligned_vector<float>;

struct attention_weights {
  matrix_ref q_proj;  ///< [n_q·d, H]
  matrix_ref k_proj;  ///< [n_kv·d, H]; unbound on KV-shared layers (never used there)
  matrix_ref v_proj;  ///< [n_kv·d, H]; unbound on k_eq_v layers (V = raw K) and KV-shared layers
  matrix_ref o_proj;  ///< [H, n_q·d]
  vec_f32 q_norm;     ///< [d]
  vec_f32 k_norm;     ///< [d]; empty on KV-shared layers
};

struct mlp_weights {
  matrix_ref gate;  ///< [I_l, H]
  matrix_ref up;    ///< [I_l, H]
  matrix_ref down;  ///< [H, I_l]
};

struct moe_weights {
  matrix_ref router;         ///< [E, H]
  vec_f32 router_scale;      ///< [H]
  vec_f32 per_expert_scale;  ///< [E]
  matrix_ref gate_up;        ///< [E·2·I_e, H]: expert e = rows [2·I_e·e, 2·I_e·(e+1)); gate half first, then up
  matrix_ref down;           ///< [E·H, I_e]: expert e = rows [H·e, H·(e+1))
  vec_f32 pre_norm_2;        ///< pre_feedforward_layernorm_2 [H] (expert input)
  vec_f32 post_norm_1;       ///< post_feedforward_layernorm_1 [H] (dense branch)
  vec_f32 post_norm_2;       ///< post_feedforward_layernorm_2 [H] (expert branch)

  [[nodiscard]] matrix_ref expert_gate_up(std::size_t e, std::size_t ie) const {
    return gate_up.rows_slice(2 * ie * e, 2 * ie);
  }
  [[nodiscard]] matrix_ref expert_down(std::size_t e, std::size_t h) const { return down.rows_slice(h * e, h); }
};

struct ple_layer_weights {
  matrix_ref input_gate;  ///< per_layer_input_gate [P, H]
  matrix_ref projection;  ///< per_layer_projection [H, P]
  vec_f32 post_norm;      ///< post_per_layer_input_norm [H]
};

struct layer_weights {
  vec_f32 input_norm;      ///< input_layernorm [H]
  vec_f32 post_attn_norm;  ///< post_attention_layernorm [H]
  vec_f32 pre_ffn_norm;    ///< pre_feedforward_layernorm [H]
  vec_f32 post_ffn_norm;   ///< post_feedforward_layernorm [H]
  attention_weights attn;
  mlp_weights mlp;
  moe_weights moe;        ///< bound when the layer has an MoE block
  ple_layer_weights ple;  ///< bound when the model has PLE
  float layer_scalar = 1.0f;
};

struct model_weights {
  matrix_ref embed;           ///< embed_tokens [V, H] (also the tied output head)
  matrix_ref ple_embed;       ///< embed_tokens_per_layer [V, L·P]
  matrix_ref ple_model_proj;  ///< per_layer_model_projection [L·P, H]
  vec_f32 ple_proj_norm;      ///< per_layer_projection_norm [P]
  vec_f32 final_norm;         ///< norm [H]
  std::vector<layer_weights> layers;
};

/// Looks a canonical name up in a checkpoint (returns nullptr when absent).
using tensor_lookup = std::function<const any_tensor*(std::string_view canonical)>;

namespace detail {

class binder {
 public:
  binder(const gemma4_config& c, tensor_lookup lookup) : c_(c), lookup_(std::move(lookup)) {}

  matrix_ref matrix(const std::string& name, std::initializer_list<std::size_t> shape, bool required = true) {
    const any_tensor* t = lookup_(name);
    if (t == nullptr) {
      if (required)
        problems_.push_back("missing tensor '" + name + "' (expected shape " + make_shape(shape).str() + ")");
      return {};
    }
    const shape_t want = make_shape(shape);
    // Stacked expert tensors [E, R, C] are bound as [E·R, C].
    shape_t got = t->shape();
    if (want.rank == 2 && got.rank == 3 && got[0] * got[1] == want[0] && got[2] == want[1]) {
      got = want;
    }
    if (!(got == want)) {
      problems_.push_back("tensor '" + name + "' has shape " + t->shape().str() + ", expected " + want.str());
      return {};
    }
    const any_tensor view = t->shape() == want ? *t : t->reshaped(want);
    try {
      return matrix_ref::from(view);
    } catch (const error& e) {
      problems_.push_back(e.what());
      return {};
    }
  }

  vec_f32 vector(const std::string& name, std::size_t n, bool required = true) {
    const any_tensor* t = lookup_(name);
    vec_f32 out;
    if (t == nullptr) {
      if (required) problems_.push_back("missing tensor '" + name + "' (expected shape [" + std::to_string(n) + "])");
      return out;
    }
    if (t->numel() != n || t->rank() > 2) {
      problems_.push_back("tensor '" + name + "' has shape " + t->shape().str() + ", expected [" + std::to_string(n) +
                          "]");
      return out;
    }
    try {
      const matrix_ref m = matrix_ref::from(t->reshaped(make_shape({1, n})));
      if (m.dtype() == dtype_id::q8_0) {
        problems_.push_back("tensor '" + name + "' is Q8_0; vectors must be F32, F16 or BF16");
        return out;
      }
      out.resize(n);
      m.decode_row(0, out.data());
    } catch (const error& e) {
      problems_.push_back(e.what());
    }
    return out;
  }

  void finish(const std::string& source) const {
    if (problems_.empty()) return;
    std::string msg = source + ": " + std::to_string(problems_.size()) + " tensor problem(s): ";
    for (std::size_t i = 0; i < problems_.size(); ++i) {
      if (i) msg += "; ";
      if (i == 20) {
        msg += "... and " + std::to_string(problems_.size() - 20) + " more";
        break;
      }
      msg += problems_[i];
    }
    fail(errc::missing_tensor, msg);
  }

 private:
  const gemma4_config& c_;
  tensor_lookup lookup_;
  std::vector<std::string> problems_;
};

}  // namespace detail

/// Bind every tensor the text model needs; throws one `errc::missing_tensor` error listing all problems.
inline model_weights bind_weights(const gemma4_config& c, const tensor_lookup& lookup, const std::string& source) {
  detail::binder b(c, lookup);
  model_weights w;
  const std::size_t H = c.hidden_size, V = c.vocab_size, L = c.num_layers, P = c.ple_dim;
  w.embed = b.matrix("embed_tokens.weight", {V, H});
  w.final_norm = b.vector("norm.weight", H);
  if (c.has_ple()) {
    w.ple_embed = b.matrix("embed_tokens_per_layer.weight", {c.vocab_size_per_layer_input, L * P});
    w.ple_model_proj = b.matrix("per_layer_model_projection.weight", {L * P, H});
    w.ple_proj_norm = b.vector("per_layer_projection_norm.weight", P);
  }
  w.layers.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const layer_geometry& g = c.layers[l];
    layer_weights& lw = w.layers[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    lw.input_norm = b.vector(p + "input_layernorm.weight", H);
    lw.post_attn_norm = b.vector(p + "post_attention_layernorm.weight", H);
    lw.pre_ffn_norm = b.vector(p + "pre_feedforward_layernorm.weight", H);
    lw.post_ffn_norm = b.vector(p + "post_feedforward_layernorm.weight", H);
    const vec_f32 scalar = b.vector(p + "layer_scalar", 1);
    lw.layer_scalar = scalar.empty() ? 1.0f : scalar[0];

    auto& a = lw.attn;
    a.q_proj = b.matrix(p + "self_attn.q_proj.weight", {g.q_dim(), H});
    a.o_proj = b.matrix(p + "self_attn.o_proj.weight", {H, g.q_dim()});
    a.q_norm = b.vector(p + "self_attn.q_norm.weight", g.head_dim);
    if (g.owns_kv) {
      a.k_proj = b.matrix(p + "self_attn.k_proj.weight", {g.kv_dim(), H});
      a.k_norm = b.vector(p + "self_attn.k_norm.weight", g.head_dim);
      if (g.has_v_proj) a.v_proj = b.matrix(p + "self_attn.v_proj.weight", {g.kv_dim(), H});
    }
    // KV-shared layers' own k/v/k_norm tensors, when the file has them, are tolerated and never used.

    lw.mlp.gate = b.matrix(p + "mlp.gate_proj.weight", {g.ffn_dim, H});
    lw.mlp.up = b.matrix(p + "mlp.up_proj.weight", {g.ffn_dim, H});
    lw.mlp.down = b.matrix(p + "mlp.down_proj.weight", {H, g.ffn_dim});

    if (g.moe) {
      auto& m = lw.moe;
      const std::size_t E = c.num_experts, Ie = c.moe_intermediate_size;
      m.router = b.matrix(p + "router.proj.weight", {E, H});
      m.router_scale = b.vector(p + "router.scale", H);
      m.per_expert_scale = b.vector(p + "router.per_expert_scale", E);
      m.gate_up = b.matrix(p + "experts.gate_up_proj", {E * 2 * Ie, H});
      m.down = b.matrix(p + "experts.down_proj", {E * H, Ie});
      m.pre_norm_2 = b.vector(p + "pre_feedforward_layernorm_2.weight", H);
      m.post_norm_1 = b.vector(p + "post_feedforward_layernorm_1.weight", H);
      m.post_norm_2 = b.vector(p + "post_feedforward_layernorm_2.weight", H);
    }
    if (c.has_ple()) {
      lw.ple.input_gate = b.matrix(p + "per_layer_input_gate.weight", {P, H});
      lw.ple.projection = b.matrix(p + "per_layer_projection.weight", {H, P});
      lw.ple.post_norm = b.vector(p + "post_per_layer_input_norm.weight", H);
    }
  }
  b.finish(source);
  return w;
}

}  // namespace model
SCALPEL_END_NAMESPACE
