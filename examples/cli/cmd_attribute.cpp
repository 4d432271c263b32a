// scalpel attribute: rank the MLP neurons whose zeroing lowers the bank metric the most (gradient x activation
// from one backward pass per bank item, then exact re-scoring of the best candidates).
#include <cstdio>
#include <string>

#include "common.hpp"
#include "localization_common.hpp"
#include "scalpel/analysis/attribution.hpp"
#include "scalpel/analysis/localization_json.hpp"

namespace scalpel_cli {
namespace cmd_attribute {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel attribute --model PATH --bank BANK.json [--layers all|L1,L2,...] [--top K]
                         [--exact N] [--per-position] [--no-router-grad] [--json]

Score every MLP neuron of the chosen layers by how much zeroing it (at every position) would change the bank metric
M (mean of log p(target) - log p(contrast); lower = weaker pull into the loop):
  score       = -(1/n) sum_items sum_positions a * dM/da   (gradient x activation; negative = zeroing lowers M)
  score_norm  = the same change estimated exactly through the neuron's own post-norm, linearly after it
  exact_delta = M(neuron zeroed) - M, by re-running the model (the first N candidates, taken alternately from the
                two rankings; they are listed first, ordered by exact_delta)
The list is filled up to K with the best remaining neurons by score.

options:
  --model PATH        HF checkpoint directory or .gguf file
  --bank FILE         loop bank (scalpel.loop-bank/1)
  --layers LIST       all (default) or a comma-separated list
  --top K             neurons listed (default 20)
  --exact N           candidates re-scored by exact ablation (default 10; 0 = none)
  --per-position      each listed neuron's score split by (item, position)
  --no-router-grad    MoE: hold the routing weights fixed in the backward pass
  --max-tape-mb MB    memory for the backward pass's tape before it recomputes layers (default 4096)
  --threads N         threads (default: all cores)
  --json              {"metric_base", "neurons": [{"layer", "neuron", "score", "score_norm", "exact_delta"}], ...})";

int run(args& a) {
  apply_threads(a);
  const bool json = a.flag("json");
  const std::string bank_path = a.require("bank");
  scalpel::analysis::attribute_options o;
  o.layers = layers_arg(a);
  o.top = static_cast<std::size_t>(a.get_int("top", 20, 1, 1000000));
  o.exact = static_cast<std::size_t>(a.get_int("exact", 10, 0, 1000000));
  o.per_position = a.flag("per-position");
  o.router_gradient = !a.flag("no-router-grad");
  o.max_tape_bytes = static_cast<std::size_t>(a.get_int("max-tape-mb", 4096, 1, 1 << 30)) << 20;
  const auto m = load_model_arg(a);
  a.finish();
  const auto bank = load_bank(bank_path, m);
  o.progress = [](std::string_view stage, std::size_t d, std::size_t t) {
    progress_line(std::string("attribute: ") + std::string(stage), d, t);
  };
  const auto r = scalpel::analysis::attribute_neurons(m, bank, o);

  if (json) {
    print_json(scalpel::analysis::to_json(r, bank.items.size(), o.per_position));
    return 0;
  }
  std::printf("metric_base %.6f over %zu items; %zu neurons scored\n", r.metric_base, bank.items.size(),
              r.neurons_scored);
  std::printf("%6s %8s %12s %12s %12s\n", "layer", "neuron", "score", "score_norm", "exact_delta");
  for (const auto& s : r.neurons) {
    std::printf("%6zu %8zu %12.6f %12.6f ", s.layer, s.neuron, s.score, s.score_norm);
    if (s.exact_delta) {
      std::printf("%12.6f\n", *s.exact_delta);
    } else {
      std::printf("%12s\n", "-");
    }
    for (const auto& p : s.per_position)
      if (p.score != 0.0) std::printf("%28s item %zu position %zu: %.6f\n", "", p.item, p.position, p.score);
  }
  std::printf("time: forward %.3f s, gradient %.3f s (%.2fx), exact %.3f s\n", r.forward_seconds, r.gradient_seconds,
              r.forward_seconds > 0 ? r.gradient_seconds / r.forward_seconds : 0.0, r.exact_seconds);
  return 0;
}

const registrar reg{{"attribute", "rank MLP neurons by their effect on the loop metric (gradient x activation + exact)",
                     usage, &run, 232}};

}  // namespace
}  // namespace cmd_attribute
}  // namespace scalpel_cli
