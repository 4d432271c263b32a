// 03_capture_activations: read the MLP neurons of every layer with observer hooks, and print per-layer
// statistics (mean |a| and the most active neurons).
//
//   usage: 03_capture_activations [MODEL] [PROMPT]
//     MODEL  HF checkpoint directory or .gguf; without one, a random tiny E2B-architecture model is built in memory.
//
// The "neurons" scalpel edits are the GeGLU activations a = gelu(gate·x) ⊙ (up·x) entering down_proj: one value
// per token and per MLP unit, the hook point `ffn_act` ([tokens × I_l]; I_l is per layer: E2B's KV-shared
// layers are twice as wide). A hook set is any type with `template <hook_point P> static constexpr bool wants`
// and `void on(hook_payload&)`. Two ways to write one:
//   - a compile-time type (below, `ffn_activation_stats`): the forward pass asks `wants<P>` with `if constexpr`,
//     so only the hook points the type wants get any code at all. `model::no_hooks` wants nothing, and the
//     plain forward pass compiles to exactly that: observing costs nothing when nobody observes.
//   - `model::dynamic_hooks`: callbacks registered at run time per (hook point, layer): flexible, for tools.
// Observers read `payload.data`; writing it would be an intervention (05 shows the edit hooks).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/model/random_model.hpp"

namespace {
using namespace scalpel;

// A compile-time observer: Σ_t |a_tj| per layer and neuron, and the number of token rows seen.
struct ffn_activation_stats {
  template <model::hook_point P>
  static constexpr bool wants = P == model::hook_point::ffn_act;

  std::vector<std::vector<double>> sum_abs;  // [layer][neuron]
  std::vector<std::size_t> rows;             // [layer]

  void on(model::hook_payload& p) {
    if (sum_abs.size() <= p.layer) sum_abs.resize(p.layer + 1), rows.resize(p.layer + 1);
    std::vector<double>& s = sum_abs[p.layer];
    s.resize(p.data.extent(1), 0.0);
    for (std::size_t t = 0; t < p.data.extent(0); ++t)  // rows = the tokens of this forward call
      for (std::size_t j = 0; j < p.data.extent(1); ++j) s[j] += std::abs(static_cast<double>(p.data(t, j)));
    rows[p.layer] += p.data.extent(0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3) {
    std::fprintf(stderr, "usage: %s [MODEL] [PROMPT]\n", argv[0]);
    return 2;
  }
  try {
    // ---- A model and a prompt. Token ids are all the forward pass needs; a tokenizer is one way to get them.
    std::optional<model::gemma4_model> loaded;
    std::vector<std::int32_t> ids;
    if (argc > 1) {
      model::model_files files;
      loaded.emplace(model::load_model(argv[1], &files));
      const io::tokenizer tok = io::load_tokenizer(files.tokenizer_path.empty() ? argv[1] : files.tokenizer_path);
      ids = tok.encode(argc > 2 ? argv[2] : "Mercury, Venus, Earth, Mars, Jupiter, Saturn", {.add_bos = true});
    } else {
      loaded.emplace(model::random_model({.variant = model::tiny_variant::e2b}, /*seed=*/7));
      ids = {2, 480, 17, 390, 311, 402, 88, 215, 403, 404, 127, 9, 406, 407};
    }
    const model::gemma4_model& m = *loaded;
    const std::size_t L = m.config().num_layers;
    std::printf("model: %s, %zu layers; prompt of %zu tokens\n", m.source().c_str(), L, ids.size());

    // ---- 1. The compile-time observer. The KV cache holds keys/values of every position seen so far, so a
    // prompt can be fed in pieces: here in two calls, as a chat would (prompt, then the next message).
    ffn_activation_stats stats;
    model::kv_cache cache = m.make_cache(/*max_context=*/ids.size());
    std::vector<float> logits_observed;  // [V]: the next-token logits after the last position
    const std::span<const std::int32_t> all(ids);
    const std::size_t half = ids.size() / 2;
    m.forward(all.first(half), cache, logits_observed, model::logits_mode::last, stats);
    m.forward(all.subspan(half), cache, logits_observed, model::logits_mode::last, stats);
    std::printf("KV cache: %zu positions, %zu bytes\n", cache.size(), cache.size_bytes());

    // ---- 2. The same capture with dynamic_hooks: copy every activation block (the payload's memory is scratch
    // space reused by the next layer, so copy what you want to keep).
    std::vector<std::vector<float>> copies(L);
    model::dynamic_hooks dyn;
    dyn.add(model::hook_point::ffn_act, model::dynamic_hooks::any_layer, [&](model::hook_payload& p) {
      copies[p.layer].insert(copies[p.layer].end(), p.data.data_handle(), p.data.data_handle() + p.data.size());
    });
    std::vector<float> logits_dynamic;
    model::kv_cache cache2 = m.make_cache(ids.size());
    m.forward(all.first(half), cache2, logits_dynamic, model::logits_mode::last, dyn);
    m.forward(all.subspan(half), cache2, logits_dynamic, model::logits_mode::last, dyn);

    // ---- 3. Per-layer statistics from the compile-time observer.
    bool agree = true;
    for (std::size_t l = 0; l < L; ++l) {
      const std::vector<double>& s = stats.sum_abs[l];
      const std::size_t width = s.size();
      const double mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(stats.rows[l] * width);
      std::vector<std::size_t> order(width);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::partial_sort(order.begin(), order.begin() + 3, order.end(), [&](auto a, auto b) { return s[a] > s[b]; });
      std::printf("layer %2zu (%4zu neurons): mean |a| = %.4f, top neurons:", l, width, mean);
      for (std::size_t k = 0; k < 3; ++k)
        std::printf(" %zu (%.3f)", order[k], s[order[k]] / static_cast<double>(stats.rows[l]));
      std::printf("\n");
      // The dynamic copies must hold the very same numbers, token by token.
      std::vector<double> again(width, 0.0);
      for (std::size_t i = 0; i < copies[l].size(); ++i)
        again[i % width] += std::abs(static_cast<double>(copies[l][i]));
      for (std::size_t j = 0; j < width; ++j) agree = agree && std::abs(again[j] - s[j]) <= 1e-9 * (1.0 + s[j]);
    }

    // ---- 4. Observers do not change the computation: the logits equal those of the hook-free pass bit for bit.
    std::vector<float> plain;
    model::kv_cache cache3 = m.make_cache(ids.size());
    m.forward(all.first(half), cache3, plain);  // no hooks: model::no_hooks, the forward pass without hook code
    m.forward(all.subspan(half), cache3, plain);
    const bool same = plain.size() == logits_observed.size() &&
                      std::memcmp(plain.data(), logits_observed.data(), plain.size() * sizeof(float)) == 0 &&
                      std::memcmp(plain.data(), logits_dynamic.data(), plain.size() * sizeof(float)) == 0;
    std::printf("compile-time and dynamic observers saw the same activations: %s\n", agree ? "yes" : "NO");
    std::printf("logits with and without observers are bit-identical: %s\n", same ? "yes" : "NO");
    return agree && same ? 0 : 1;
  } catch (const error& e) {
    std::fprintf(stderr, "03_capture_activations: %s\n", e.what());
    return 1;
  }
}
