// scalpel logits: final (soft-capped) logits for a token sequence.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "common.hpp"
#include "scalpel/edit/runtime.hpp"

namespace scalpel_cli {
namespace cmd_logits {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel logits --model PATH --ids 2,17,... [--positions last|all] [--edit PLAN.json] [--json]

Run the ids through the model (fed verbatim: no <bos> is added) and print the final soft-capped logits.

options:
  --model PATH        Hugging Face checkpoint directory or .gguf file
  --ids LIST          token ids, comma-separated (put 2 = <bos> first yourself)
  --positions MODE    last (default) or all
  --edit PLAN.json    apply an edit plan at run time (hooks; weights untouched)
  --top K             without --json: how many top tokens to print per position (default 10)
  --threads N         threads (default: all cores)
  --json              {"vocab_size", "positions", "logits": [[V floats] per position]})";

int run(args& a) {
  apply_threads(a);
  const bool json = a.flag("json");
  const std::string mode = a.get_or("positions", "last");
  if (mode != "last" && mode != "all") throw usage_error("--positions must be 'last' or 'all'");
  const auto top = static_cast<std::size_t>(a.get_int("top", 10, 1, 1000));
  const auto plan_path = a.get("edit");
  const auto ids = ids_arg(a);
  const auto m = load_model_arg(a);
  a.finish();

  const auto lm = mode == "all" ? scalpel::model::logits_mode::all : scalpel::model::logits_mode::last;
  auto cache = m.make_cache(ids.size());
  std::vector<float> logits;
  if (plan_path) {
    scalpel::edit::plan_hooks hooks(scalpel::edit::plan::read(*plan_path), m.config());
    m.forward(ids, cache, logits, lm, hooks);
  } else {
    m.forward(ids, cache, logits, lm);
  }
  const std::size_t V = m.config().vocab_size, n = logits.size() / V, first = ids.size() - n;
  if (json) {
    nlohmann::json pos = nlohmann::json::array(), rows = nlohmann::json::array();
    for (std::size_t i = 0; i < n; ++i) {
      pos.push_back(first + i);
      rows.push_back(std::vector<float>(logits.begin() + static_cast<std::ptrdiff_t>(i * V),
                                        logits.begin() + static_cast<std::ptrdiff_t>((i + 1) * V)));
    }
    print_json({{"vocab_size", V}, {"positions", pos}, {"logits", rows}});
    return 0;
  }
  std::vector<std::size_t> order(V);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * V;
    std::iota(order.begin(), order.end(), std::size_t{0});
    const std::size_t k = std::min(top, V);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](std::size_t x, std::size_t y) { return row[x] > row[y]; });
    std::printf("position %zu (token %d):", first + i, ids[first + i]);
    for (std::size_t j = 0; j < k; ++j) std::printf(" %zu:%.4f", order[j], static_cast<double>(row[order[j]]));
    std::printf("\n");
  }
  return 0;
}

const registrar reg{{"logits", "final logits of a token sequence (optionally with an edit plan)", usage, &run, 20}};
}  // namespace
}  // namespace cmd_logits
}  // namespace scalpel_cli
