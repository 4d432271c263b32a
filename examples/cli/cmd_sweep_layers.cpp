// scalpel sweep-layers: ablate each layer's feed-forward (or attention) contribution in turn and report the bank
// metric M per layer, its change, and the KL divergence to the unablated model on a reference text.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "localization_common.hpp"
#include "scalpel/analysis/ablation.hpp"
#include "scalpel/analysis/localization_json.hpp"
#include "scalpel/io/tokenizer.hpp"

namespace scalpel_cli {
namespace cmd_sweep_layers {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage = R"(usage: scalpel sweep-layers --model PATH --bank BANK.json [--component mlp|attn]
                            [--mode zero|mean|scale:A] [--layers all|L1,L2,...] [--kl-text FILE | --no-kl]
                            [--mean-text FILE] [--json]

For every layer, ablate one block's contribution to the residual stream at every position and recompute the
bank metric M (mean of log p(target) - log p(contrast) at the last position of each bank item):
  mlp   the feed-forward block's output f in x <- r + f (after its post-norms; MoE included)
  attn  the attention block's output after its post-attention norm
  zero: set to 0;  mean: replaced by its mean over a reference corpus (the bank prompts, or --mean-text);
  scale:A: multiplied by A.
Also reports the KL divergence KL(unablated || ablated), mean over the positions of a reference text (default: a
built-in English paragraph, tokenized with the model's tokenizer). Each item's unablated pass runs once; ablated
runs resume at the ablated layer from the stored residual stream.

options:
  --model PATH         HF checkpoint directory or .gguf file
  --bank FILE          loop bank (scalpel.loop-bank/1)
  --component C        mlp (default) or attn
  --mode M             zero (default), mean, or scale:A (e.g. scale:-1)
  --layers LIST        all (default) or a comma-separated list
  --kl-text FILE       reference text for the KL column (needs the model's tokenizer)
  --no-kl              skip the KL column
  --mean-text FILE     reference text for mode mean (default: the bank prompts)
  --threads N          threads (default: all cores)
  --json               {"metric_base", "layers": [{"layer", "metric", "delta", "kl"}], ...})";

int run(args& a) {
  apply_threads(a);
  const bool json = a.flag("json");
  const std::string bank_path = a.require("bank");
  const std::string component = a.get_or("component", "mlp");
  const std::string mode = a.get_or("mode", "zero");
  const auto layers = layers_arg(a);
  const auto kl_text = a.get("kl-text");
  const bool no_kl = a.flag("no-kl");
  const auto mean_text = a.get("mean-text");
  const std::string model_path = a.require("model");
  if (kl_text && no_kl) throw usage_error("give --kl-text or --no-kl, not both");
  scalpel::analysis::ablation_spec spec;
  try {
    spec = scalpel::analysis::ablation_spec::parse(component, mode);
  } catch (const scalpel::error& e) {
    throw usage_error(std::string("--component/--mode: ") + e.what());
  }
  if (mean_text && spec.mode != scalpel::analysis::ablation_mode::mean)
    throw usage_error("--mean-text applies to --mode mean only");
  const auto m = scalpel::model::load_model(model_path);
  a.finish();
  const auto bank = load_bank(bank_path, m);

  scalpel::analysis::sweep_options o;
  o.spec = spec;
  o.layers = layers;
  std::optional<scalpel::io::tokenizer> tok;
  std::string kl_note;
  if (!no_kl || mean_text) {
    try {
      tok = scalpel::io::load_tokenizer(model_path);
    } catch (const scalpel::error& e) {
      if (kl_text || mean_text) throw;  // asked for text: the tokenizer is required
      kl_note = std::string("no KL column: ") + e.what();
    }
  }
  scalpel::io::encode_options enc;
  enc.add_bos = true;
  if (!no_kl && tok) {
    const std::string text = kl_text ? read_text_file(*kl_text) : std::string(scalpel::analysis::default_kl_text);
    o.kl_ids = tok->encode(text, enc);
    if (o.kl_ids.size() > m.config().max_position_embeddings) o.kl_ids.resize(m.config().max_position_embeddings);
  }
  if (mean_text) o.mean_corpus.push_back(tok->encode(read_text_file(*mean_text), enc));
  o.progress = [](std::size_t d, std::size_t t) { progress_line("sweep-layers: items", d, t); };
  const auto r = scalpel::analysis::sweep_layers(m, bank, o);
  if (!kl_note.empty()) std::fprintf(stderr, "scalpel sweep-layers: %s\n", kl_note.c_str());

  if (json) {
    print_json(scalpel::analysis::to_json(r, spec, bank.items.size()));
    return 0;
  }
  std::printf("metric_base %.6f over %zu items (%s, %s)\n", r.metric_base, bank.items.size(), component.c_str(),
              spec.mode_string().c_str());
  std::printf("%6s %12s %12s %12s\n", "layer", "metric", "delta", "kl");
  for (const auto& row : r.layers) {
    std::printf("%6zu %12.6f %12.6f ", row.layer, row.metric, row.delta);
    if (row.kl) {
      std::printf("%12.6f\n", *row.kl);
    } else {
      std::printf("%12s\n", "-");
    }
  }
  return 0;
}

const registrar reg{
    {"sweep-layers", "ablate each layer's MLP / attention output: bank metric and KL per layer", usage, &run, 231}};

}  // namespace
}  // namespace cmd_sweep_layers
}  // namespace scalpel_cli
