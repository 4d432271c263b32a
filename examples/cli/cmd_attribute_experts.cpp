// scalpel attribute-experts: for every (layer, expert) of an MoE model, the exact change of the bank metric from
// routing exclusion and from silencing, and how often the router picks it at loop vs clean positions.
#include <algorithm>
#include <cstdio>
#include <string>

#include "common.hpp"
#include "localization_common.hpp"
#include "scalpel/analysis/expert_attribution.hpp"
#include "scalpel/analysis/localization_json.hpp"

namespace scalpel_cli {
namespace cmd_attribute_experts {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel attribute-experts --model PATH --bank BANK.json [--layers all|L1,L2,...] [--top K]
                                 [--json]

For every routed expert of every MoE layer (or of --layers), re-run the bank with the expert
  excluded  (router logit -inf before top-k: another expert takes its slot)  -> delta_route
  silenced  (routing weight 0: it keeps its slot and probability mass)       -> delta_silence
and report the change of the bank metric M (negative = weaker pull into the loop), plus the routing frequency at
the bank's loop positions (the last position of each item: freq) and at its other positions (freq_clean, <bos>
excluded). Ordered by the more negative of the two deltas.

options:
  --model PATH     HF checkpoint directory or .gguf file (an MoE model)
  --bank FILE      loop bank (scalpel.loop-bank/1)
  --layers LIST    all MoE layers (default) or a comma-separated list
  --top K          list only the first K experts (default: all)
  --threads N      threads (default: all cores)
  --json           {"metric_base", "experts": [{"layer", "expert", "delta_route", "delta_silence", "freq",
                   "freq_clean"}], ...})";

int run(args& a) {
  apply_threads(a);
  const bool json = a.flag("json");
  const std::string bank_path = a.require("bank");
  scalpel::analysis::expert_options o;
  o.layers = layers_arg(a);
  const auto top = a.get_int_opt("top", 1, INT64_MAX);
  const auto m = load_model_arg(a);
  a.finish();
  const auto bank = load_bank(bank_path, m);
  o.progress = [](std::size_t d, std::size_t t) { progress_line("attribute-experts: items", d, t); };
  auto r = scalpel::analysis::attribute_experts(m, bank, o);
  if (top && static_cast<std::size_t>(*top) < r.experts.size()) r.experts.resize(static_cast<std::size_t>(*top));

  if (json) {
    print_json(scalpel::analysis::to_json(r, bank.items.size()));
    return 0;
  }
  std::printf("metric_base %.6f over %zu items (%zu loop positions, %zu clean positions)\n", r.metric_base,
              bank.items.size(), r.loop_positions, r.clean_positions);
  std::printf("%6s %7s %12s %14s %8s %11s\n", "layer", "expert", "delta_route", "delta_silence", "freq", "freq_clean");
  for (const auto& e : r.experts)
    std::printf("%6zu %7zu %12.6f %14.6f %8.3f %11.3f\n", e.layer, e.expert, e.delta_route, e.delta_silence, e.freq,
                e.freq_clean);
  return 0;
}

const registrar reg{
    {"attribute-experts", "MoE: exact metric change from excluding / silencing each expert", usage, &run, 233}};

}  // namespace
}  // namespace cmd_attribute_experts
}  // namespace scalpel_cli
