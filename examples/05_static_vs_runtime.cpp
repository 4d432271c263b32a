// 05_static_vs_runtime: one edit applied two ways — to the weights, and as a run-time hook — with the logits
// compared, then the static edit undone by its journal, bit for bit.
//
//   usage: 05_static_vs_runtime [MODEL]
//     MODEL  HF checkpoint directory or .gguf; without one, a random tiny E2B-architecture model (bf16).
//
// Why two ways:
//   static   (edit::apply): rewrite down_proj columns. Zero cost at inference, and the result can be saved and
//            shipped (04). Memory-mapped tensors are copied on write; a `journal` keeps the originals.
//   run time (edit::plan_hooks): scale the activations at `ffn_act` during the forward pass. Weights untouched,
//            toggled per request by passing the hook set or not — what experiments and `generate --edit` use.
// Both act before Gemma's post-MLP RMSNorm, so they are the same function. They differ only by rounding: the
// static edit stores w·s in the weight's dtype (for bf16 that rounds to 8 significant bits; f32 only reorders
// one multiplication), so the bound on max |Δlogit| depends on the dtype.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "scalpel/core/error.hpp"
#include "scalpel/edit/apply.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/edit/policies.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/model/random_model.hpp"

namespace {
using namespace scalpel;

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2) {
    std::fprintf(stderr, "usage: %s [MODEL]\n", argv[0]);
    return 2;
  }
  try {
    std::optional<model::gemma4_model> loaded;
    if (argc > 1)
      loaded.emplace(model::load_model(argv[1]));
    else
      loaded.emplace(model::random_model({.variant = model::tiny_variant::e2b}, /*seed=*/5));
    model::gemma4_model& m = *loaded;
    const model::gemma4_config& cfg = m.config();

    // A prompt as token ids (01 shows how to get them from text). Every position's logits are compared.
    std::vector<std::int32_t> ids = {2};
    for (std::int32_t k = 1; k < 24; ++k) ids.push_back((97 * k + 31) % static_cast<std::int32_t>(cfg.vocab_size));
    const auto all = model::logits_mode::all;

    // The edit: 1.3 is deliberately not a power of two, so a bf16 weight edit has something to round.
    const auto edits = edit::strip{0, {1, 2}} | edit::negate{1, {5}} | edit::scale{2, {3, 7}, 1.3f};
    const edit::plan plan = edit::plan::from(edits);
    std::printf("model: %s; plan: %s\n", m.source().c_str(), plan.to_json()["edits"].dump().c_str());

    // ---- 1. Base logits [T × V]: no hooks.
    const std::vector<float> base = m.logits(ids, all);

    // ---- 2. Run time: the same model, the plan as a hook set (validated against the geometry here).
    const edit::plan_hooks hooks(plan, cfg);
    std::vector<float> runtime;
    model::kv_cache cache = m.make_cache(ids.size());
    m.forward(ids, cache, runtime, all, hooks);
    std::printf("the edit moves the logits by max |Δ| = %.4g\n", static_cast<double>(max_abs_diff(base, runtime)));

    // ---- 3. Static: rewrite the weights (a policy_set applies directly; a plan would too).
    edit::journal journal = edit::apply(m, edits);
    const std::vector<float> stat = m.logits(ids, all);
    const dtype_id dt = journal.originals().front().dtype();
    std::printf("static edit touched %zu tensors (%s):", journal.touched().size(), std::string(dtype_name(dt)).c_str());
    for (const auto& name : journal.touched()) std::printf(" %s", name.c_str());
    std::printf("\n");

    // The bound: f32 weights differ from the hook only in the order of one multiplication per weight; a bf16
    // (or f16, or a Q8_0 block scale) edit rounds each touched weight once, relative error ≤ 2^-9.
    const float bound = dt == dtype_id::f32 ? 1e-5f : 2e-2f;
    const float d = max_abs_diff(stat, runtime);
    std::printf("static vs run-time: max |Δ| = %.3g (bound %.0e for %s weights): %s\n", static_cast<double>(d),
                static_cast<double>(bound), std::string(dtype_name(dt)).c_str(), d <= bound ? "within" : "EXCEEDED");

    // ---- 4. Undo. The journal holds the original records (never modified: edits copy on write), so revert
    // restores bit-identical weights — and therefore bit-identical logits.
    journal.revert(m);
    const std::vector<float> after = m.logits(ids, all);
    const bool restored =
        after.size() == base.size() && std::memcmp(after.data(), base.data(), base.size() * sizeof(float)) == 0;
    std::printf("after journal.revert: logits bit-identical to the base: %s\n", restored ? "yes" : "NO");
    return d <= bound && restored ? 0 : 1;
  } catch (const error& e) {
    std::fprintf(stderr, "05_static_vs_runtime: %s\n", e.what());
    return 1;
  }
}
