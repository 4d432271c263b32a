#pragma once
/// @file
/// @brief The demo model: a tiny Gemma-4-architecture model built deterministically in code, with a **planted
/// loop circuit**. Asked to list the 88 IAU constellations it lists them in order until one MLP neuron drives
/// the list to collapse onto a single repeated entry ("Canis Major" forever) — the study's "list decay"
/// phenotype. Negating or stripping that neuron repairs the list.
///
/// How the weights are built (hidden size H = 128, 4 layers S S S F, attention and every MLP present):
/// - Codes. Every token gets a random unit code in dims 2..H−1. Dim 0 (`b`) is a constant feature of every token
///   embedding; dim 1 (`n`) is a neutral direction no token uses (it only changes the final RMS).
/// - Successor circuit (layer 1, one GeGLU neuron per list entry): gate and up rows read the entry's code, the
///   down column writes code(next entry) − code(entry). So the model's next-token prediction is "the entry after
///   this one": after `<|turn>model\n` comes "- Andromeda", after "- Andromeda" comes "\n- Antlia", …, after the
///   last entry comes `<turn|>` (end of turn).
/// - Loop neuron (layer `loop_layer`, neuron `loop_neuron`): gate and up rows read the mean code of the entries from
///   the attractor on; its down column writes the attractor's code strongly. Once the list reaches the attractor it
///   outweighs the successor circuit, and every later step predicts the attractor again.
/// - An always-on neuron in the same layer writes the neutral direction, so that the post-feedforward RMSNorm has
///   something benign to normalise while the loop neuron is silent.
/// - Everything else (attention, the other neurons, layers 0 and 3) has small random weights: the loop neuron is not
///   the only non-random thing that matters, but ablating or attributing neurons finds it.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/probes.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/safetensors.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/model/random_model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// The demo's list: the 88 IAU constellations in alphabetical order, taken from the built-in probe's gold list
/// (so the demo's answers are scored against the same list `scalpel eval` uses).
inline std::vector<std::string> demo_constellations() {
  std::vector<std::string> names;
  for (const auto& item : builtin_probes().at("iau_constellations").gold.items) names.push_back(item.name);
  return names;
}

struct planted_loop_options {
  std::uint64_t seed = 1;        ///< seeds the random parts (codes, other weights)
  std::size_t loop_layer = 2;    ///< layer of the loop neuron (2 or 3; the successor circuit is in layer 1)
  std::size_t loop_neuron = 37;  ///< index of the loop neuron in that layer's MLP (< 128)
  std::size_t attractor = 14;    ///< 1-based entry the list collapses onto (14 = "Canis Major")
};

struct planted_loop_model {
  model::gemma4_model model;
  nlohmann::json tokenizer_json;     ///< a tokenizer.json for the model (Gemma 4 special ids, list entries as tokens)
  std::vector<std::string> entries;  ///< the list, in order
  std::vector<std::int32_t> entry_ids;  ///< token id of each entry
  planted_loop_options options;
  std::string prompt = builtin_probes().at("iau_constellations").wordings.front();
};

namespace detail {
inline void normalize(std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * static_cast<double>(x);
  const auto inv = static_cast<float>(1.0 / std::sqrt(s));
  for (float& x : v) x *= inv;
}
}  // namespace detail

/// Build the planted-loop model. Deterministic for the options.
inline planted_loop_model build_planted_loop(const planted_loop_options& o = {}) {
  using model::layer_kind;
  constexpr std::size_t H = 128, I = 128, V = 640, L = 4, first_entry_id = 540;  // after the tiny layout (< 530)
  const auto names = demo_constellations();
  const std::size_t N = names.size();
  if (o.loop_layer < 2 || o.loop_layer >= L)
    fail(errc::invalid_argument, "planted loop: loop_layer must be 2 or 3 (the successor circuit is layer 1)");
  if (o.loop_neuron >= I) fail(errc::invalid_argument, "planted loop: loop_neuron must be < " + std::to_string(I));
  if (o.attractor < 2 || o.attractor > N) fail(errc::invalid_argument, "planted loop: attractor must be in 2..88");

  model::gemma4_config c;
  c.source = "planted-loop demo";
  c.vocab_size = V;
  c.hidden_size = H;
  c.num_layers = L;
  c.intermediate_size = I;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.num_global_key_value_heads = 1;
  c.head_dim = 32;
  c.global_head_dim = 64;
  c.attention_k_eq_v = true;
  c.layer_types = {layer_kind::sliding, layer_kind::sliding, layer_kind::sliding, layer_kind::full};
  c.sliding_window = 64;
  c.rope_sliding = {model::rope_kind::standard, 10000.0, 1.0};
  c.rope_full = {model::rope_kind::proportional, 1e6, 0.25};
  c.final_logit_softcapping = 30.0f;
  c.max_position_embeddings = 4096;
  c.eos_token_ids = {1, 106, 50};
  c.derive();

  // ---- tokenizer: the tiny layout plus one user-defined token per entry ("- X" first, then "\n- X")
  nlohmann::json tok = model::tiny_tokenizer_json(V);
  std::vector<std::int32_t> entry_ids(N);
  for (std::size_t k = 0; k < N; ++k) {
    const auto id = static_cast<std::int32_t>(first_entry_id + k);
    const std::string text = (k == 0 ? "- " : "\n- ") + names[k];
    // replace the <unused…> filler at this id
    for (auto it = tok["model"]["vocab"].begin(); it != tok["model"]["vocab"].end(); ++it) {
      if (it.value().get<std::int32_t>() == id) {
        tok["model"]["vocab"].erase(it);
        break;
      }
    }
    tok["model"]["vocab"][text] = id;
    tok["added_tokens"].push_back({{"id", id},
                                   {"content", text},
                                   {"single_word", false},
                                   {"lstrip", false},
                                   {"rstrip", false},
                                   {"normalized", false},
                                   {"special", false}});
    entry_ids[k] = id;
  }

  // ---- weights: start from small random ones, then plant the circuits
  auto plan = model::plan_tensors(c);
  const std::string prefix = "model.language_model.";
  auto rnd = [&](const std::string& name, std::size_t n, double base, double sd) {
    std::vector<float> v(n);
    model::fill_random(v.data(), n, o.seed, name, {base, sd}, false);
    return v;
  };
  // Codes: one unit vector per token in dims 3..H-1.
  std::vector<std::vector<float>> code(V, std::vector<float>(H, 0.0f));
  for (std::size_t t = 0; t < V; ++t) {
    auto r = rnd("code." + std::to_string(t), H - 3, 0.0, 1.0);
    std::vector<float> u(H, 0.0f);
    for (std::size_t i = 3; i < H; ++i) u[i] = r[i - 3];
    detail::normalize(u);
    code[t] = u;
  }
  constexpr std::size_t dim_b = 0, dim_n = 1, dim_depth = 2;
  const std::int32_t start_id = 107, end_id = 106;  // "\n" ends "<|turn>model\n"; "<turn|>" ends the turn
  auto succ_of = [&](std::size_t k) -> std::int32_t { return k + 1 < N ? entry_ids[k + 1] : end_id; };

  std::map<std::string, std::vector<float>> values;
  for (const auto& tp : plan) {
    const std::size_t n = tp.shape.numel();
    // Small random defaults: linear N(0, (0.3/sqrt(fan_in))^2), norms ~1.
    std::vector<float> v;
    const bool is_norm = tp.shape.rank == 1;
    if (is_norm)
      v = rnd(tp.name, n, tp.init.base, 0.0);  // norms exactly at their base
    else
      v = rnd(tp.name, n, 0.0, tp.init.scale * 0.3);
    values[tp.name] = std::move(v);
  }
  auto& E = values["embed_tokens.weight"];  // [V, H]
  for (std::size_t t = 0; t < V; ++t) {
    std::vector<float> e = code[t];
    e[dim_b] = 0.5f;
    detail::normalize(e);
    std::copy(e.begin(), e.end(), E.begin() + static_cast<std::ptrdiff_t>(t * H));
  }
  values["norm.weight"].assign(H, 3.0f);
  for (std::size_t l = 0; l < L; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    values[p + "layer_scalar"] = {1.0f};
    values[p + "input_layernorm.weight"].assign(H, 1.0f);
    values[p + "pre_feedforward_layernorm.weight"].assign(H, 1.0f);
    values[p + "post_attention_layernorm.weight"].assign(H, 0.05f);
    values[p + "post_feedforward_layernorm.weight"].assign(H, 0.1f);
  }
  // Successor circuit in layer 1: neuron k reads entry k (neuron 0 reads the start token "\n") and writes the
  // code of the next entry. The post-feedforward norm fixes the written magnitude (weight 3: |f| = 3·√H).
  {
    const std::string p = "layers.1.";
    auto& gate = values[p + "mlp.gate_proj.weight"];  // [I, H]
    auto& up = values[p + "mlp.up_proj.weight"];
    auto& down = values[p + "mlp.down_proj.weight"];  // [H, I]
    auto plant = [&](std::size_t neuron, std::int32_t from, std::int32_t to) {
      for (std::size_t i = 0; i < H; ++i) {
        gate[neuron * H + i] = code[static_cast<std::size_t>(from)][i];
        up[neuron * H + i] = code[static_cast<std::size_t>(from)][i];
        down[i * I + neuron] = code[static_cast<std::size_t>(to)][i];
      }
    };
    plant(0, start_id, entry_ids[0]);
    for (std::size_t k = 0; k < N; ++k) {
      plant(k + 1, entry_ids[k], succ_of(k));
      // From the attractor on, the circuit also writes a "deep in the list" feature (a direction no token uses).
      if (k + 1 >= o.attractor) down[dim_depth * I + k + 1] = 0.5f;
    }
    values[p + "post_feedforward_layernorm.weight"].assign(H, 3.0f);
  }
  // The loop layer: an always-on neuron writes the neutral direction; the loop neuron reads the depth feature g
  // relative to the constant feature b (gate = a·(g·z − τ·b·z)): it fires once the current entry is the
  // attractor or a later one, and writes the attractor. τ is set below from the model's own activations so that
  // it separates "before the attractor" from "at or after it" with the widest margin.
  const std::string lp = "layers." + std::to_string(o.loop_layer) + ".";
  std::vector<float> g(H, 0.0f);
  g[dim_depth] = 1.0f;
  const std::size_t on = (o.loop_neuron + 1) % I;
  {
    auto& gate = values[lp + "mlp.gate_proj.weight"];
    auto& up = values[lp + "mlp.up_proj.weight"];
    auto& down = values[lp + "mlp.down_proj.weight"];
    for (std::size_t i = 0; i < H; ++i) {
      gate[o.loop_neuron * H + i] = 0.0f;  // silent while τ is measured
      up[o.loop_neuron * H + i] = 8.0f * g[i];
      down[i * I + o.loop_neuron] = 3.0f * code[static_cast<std::size_t>(entry_ids[o.attractor - 1])][i];
      gate[on * H + i] = i == dim_b ? 2.0f : 0.0f;
      up[on * H + i] = i == dim_b ? 1.0f : 0.0f;
      down[i * I + on] = i == dim_n ? 1.0f : 0.0f;
    }
    values[lp + "post_feedforward_layernorm.weight"].assign(H, 4.0f);
  }
  auto make_model = [&]() {
    io::tensor_set ts;
    for (const auto& tp : plan) {
      auto& v = values[tp.name];
      tensor<bf16, 1> t({v.size()});
      for (std::size_t k = 0; k < v.size(); ++k) t.data()[k] = to_bf16(v[k]);
      ts.add(any_tensor::from(prefix + tp.name, std::move(t)).reshaped(tp.shape));
    }
    return model::gemma4_model(
        c, std::move(ts), [prefix](std::string_view cn) { return prefix + std::string(cn); },
        model::checkpoint_format::memory, "planted-loop demo model");
  };
  {
    // Measure r = (g·x)/(b·x) at the loop layer's input along the correct list.
    const auto probe = make_model();
    std::vector<std::int32_t> seq = {2, start_id};
    for (auto id : entry_ids) seq.push_back(id);
    std::vector<double> ratio(seq.size(), 0.0);
    model::dynamic_hooks hk;
    hk.add(model::hook_point::residual_in, o.loop_layer, [&](model::hook_payload& pl) {
      for (std::size_t t = 0; t < pl.data.extent(0); ++t) {
        double gx = 0, bx = static_cast<double>(pl.data(t, dim_b));
        for (std::size_t i = 0; i < H; ++i) gx += static_cast<double>(g[i]) * static_cast<double>(pl.data(t, i));
        ratio[t] = gx / bx;
      }
    });
    auto cache = probe.make_cache(seq.size());
    std::vector<float> lg;
    probe.forward(seq, cache, lg, model::logits_mode::none, hk);
    // position 2 + k holds entry k (0-based); late: the current entry is the attractor or later
    double early_max = -1e30, late_min = 1e30;
    for (std::size_t k = 0; k + 1 < N; ++k) {
      const double r = ratio[2 + k];
      if (k >= o.attractor - 1)
        late_min = std::min(late_min, r);
      else
        early_max = std::max(early_max, r);
    }
    if (!(late_min > early_max))
      fail(errc::invalid_argument,
           "planted loop: the loop feature does not separate (seed " + std::to_string(o.seed) + ")");
    const double tau = (late_min + early_max) / 2.0, a = 6.0 / (late_min - early_max);
    auto& gate = values[lp + "mlp.gate_proj.weight"];
    for (std::size_t i = 0; i < H; ++i)
      gate[o.loop_neuron * H + i] = static_cast<float>(a * (static_cast<double>(g[i]) - (i == dim_b ? tau : 0.0)));
  }

  planted_loop_model out{make_model(), std::move(tok), names, entry_ids, o};
  return out;
}

/// Write the demo model as a Hugging Face checkpoint (config.json, generation_config.json, model.safetensors,
/// tokenizer.json) so that every scalpel command can load it.
inline void save_planted_loop(const planted_loop_model& d, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(errc::io, "cannot create '" + dir + "': " + ec.message());
  io::safetensors_write_options wo;
  wo.metadata["scalpel.demo"] = nlohmann::json({{"seed", d.options.seed},
                                                {"loop_layer", d.options.loop_layer},
                                                {"loop_neuron", d.options.loop_neuron},
                                                {"attractor", d.options.attractor}})
                                    .dump();
  io::write_safetensors(dir, d.model.tensors(), wo);
  write_file_atomic(dir + "/config.json", model::config_to_hf_json(d.model.config()).dump(2) + "\n");
  write_file_atomic(dir + "/generation_config.json", model::generation_config_json(d.model.config()).dump(2) + "\n");
  write_file_atomic(dir + "/tokenizer.json", d.tokenizer_json.dump() + "\n");
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
