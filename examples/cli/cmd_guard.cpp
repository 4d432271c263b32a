// scalpel guard: the capability guard (docs/guard.md). Compares an edited model with its base on a reference text
// (KL divergence, perplexity, top-1 agreement) and on a multiple-choice file (log-likelihood accuracy).
#include <cstdio>
#include <optional>
#include <string>

#include "common.hpp"
#include "localization_common.hpp"
#include "scalpel/analysis/guard.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/io/tokenizer.hpp"

namespace scalpel_cli {
namespace cmd_guard {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage = R"(usage: scalpel guard --model PATH (--edit PLAN.json | --against PATH2)
                     [--text FILE|builtin | --no-text] [--mc FILE|builtin | --no-mc]
                     [--context N] [--max-tokens N] [--threads N] [--json]
       scalpel guard --dump-mc-sample

How much does an edit hurt the model? Runs the base model and the edited one on the same inputs:
  text  a reference text (default: a built-in English paragraph, ~150 tokens), tokenized with <bos> and cut into
        windows of --context tokens: mean and max per-position KL(p_base || p_edited) in nats, next-token NLL
        and perplexity of both, ppl_delta = ppl_edited / ppl_base - 1, top-1 agreement
  mc    a multiple-choice JSONL file (default: the built-in 40-question sample): accuracy of both models when
        the choice with the highest log-likelihood is taken (summed, and per token), items whose pick flipped,
        mean change of the correct choice's log-likelihood
The edited model is the base with a plan applied at run time (--edit; no weight copy) or another checkpoint with
the same tokenizer (--against, e.g. the output of scalpel edit).

MC file format, one JSON object per line:
  {"id": "optional", "prompt": "The capital of France is", "choices": [" Paris", " Rome"], "answer": 0}
(start each choice with its separating space; see docs/guard.md)

options:
  --model PATH         base model: HF checkpoint directory or .gguf file (its tokenizer is used)
  --edit PLAN.json     edited = base + this plan at run time
  --against PATH2      edited = this checkpoint (same vocabulary and tokenizer as the base)
  --text FILE          reference text file, or 'builtin' (default)
  --no-text            skip the text guard
  --mc FILE            multiple-choice JSONL file, or 'builtin' (default)
  --no-mc              skip the multiple-choice guard
  --context N          text window length in tokens, <bos> included (default 512)
  --max-tokens N       score at most N text tokens (default: all)
  --threads N          threads (default: all cores)
  --json               {"format": "scalpel.guard/1", "text": {...} | null, "mc": {...} | null}
  --dump-mc-sample     print the built-in multiple-choice sample (JSONL) and exit)";

namespace an = scalpel::analysis;

void print_human(const an::guard_report& r, const std::string& edited_what) {
  std::printf("guard: base vs %s\n", edited_what.c_str());
  if (r.text) {
    const auto& t = *r.text;
    std::printf("\ntext (%s): %zu tokens in %zu window%s\n", t.source.c_str(), t.tokens, t.windows,
                t.windows == 1 ? "" : "s");
    std::printf("  %-22s %12s %12s\n", "", "base", "edited");
    std::printf("  %-22s %12.6f %12.6f\n", "nll (nats/token)", t.nll_base, t.nll_edited);
    std::printf("  %-22s %12.6g %12.6g\n", "perplexity", t.ppl_base, t.ppl_edited);
    std::printf("  %-22s %+.4f%%\n", "ppl_delta", 100.0 * t.ppl_delta);
    std::printf("  %-22s mean %.6g  max %.6g\n", "KL(base||edited) nats", t.kl_mean, t.kl_max);
    std::printf("  %-22s %.4f\n", "top-1 agreement", t.top1_agreement);
  }
  if (r.mc) {
    const auto& m = *r.mc;
    std::printf("\nmultiple choice (%s): %zu items\n", m.source.c_str(), m.items);
    std::printf("  %-22s %12s %12s\n", "", "base", "edited");
    std::printf("  %-22s %12.4f %12.4f\n", "accuracy", m.acc_base, m.acc_edited);
    std::printf("  %-22s %12.4f %12.4f\n", "accuracy (per token)", m.acc_norm_base, m.acc_norm_edited);
    std::printf("  %-22s %zu\n", "picks flipped", m.flipped);
    std::printf("  %-22s %+.6f\n", "gold log-prob delta", m.gold_logprob_delta);
  }
}

int run(args& a) {
  if (a.flag("dump-mc-sample")) {
    a.finish();  // nothing else may be given
    std::fwrite(an::builtin_mc_sample.data(), 1, an::builtin_mc_sample.size(), stdout);
    return 0;
  }
  apply_threads(a);
  const bool json = a.flag("json");
  const auto plan_path = a.get("edit");
  const auto against = a.get("against");
  const auto text_arg = a.get("text");
  const bool no_text = a.flag("no-text");
  const auto mc_arg = a.get("mc");
  const bool no_mc = a.flag("no-mc");
  an::guard_options o;
  o.context = static_cast<std::size_t>(a.get_int("context", 512, 2, 1 << 24));
  o.max_tokens = static_cast<std::size_t>(a.get_int("max-tokens", 0, 0, INT64_MAX));
  const std::string model_path = a.require("model");
  a.finish();
  if (plan_path.has_value() == against.has_value())
    throw usage_error("give the edited model as --edit PLAN.json or --against PATH (exactly one)");
  if (text_arg && no_text) throw usage_error("give --text or --no-text, not both");
  if (mc_arg && no_mc) throw usage_error("give --mc or --no-mc, not both");
  if (no_text && no_mc) throw usage_error("--no-text and --no-mc leave nothing to measure");

  // Inputs first (cheap, and their errors should not wait for a model load).
  std::optional<an::mc_set> mc_set;
  if (!no_mc) mc_set = !mc_arg || *mc_arg == "builtin" ? an::builtin_mc_set() : an::read_mc_file(*mc_arg);
  std::optional<std::string> text;
  const bool text_builtin = !text_arg || *text_arg == "builtin";
  if (!no_text) text = text_builtin ? std::string(an::default_kl_text) : read_text_file(*text_arg);
  std::optional<scalpel::edit::plan> plan;
  if (plan_path) plan = scalpel::edit::plan::read(*plan_path);

  const auto base = scalpel::model::load_model(model_path);
  const auto tok = scalpel::io::load_tokenizer(model_path);
  std::optional<scalpel::model::gemma4_model> other;
  std::optional<an::guard_pair> pair;
  std::string edited_what;
  if (plan) {
    pair.emplace(base, *plan);
    edited_what = "the base with plan " + *plan_path + " applied at run time";
  } else {
    other.emplace(scalpel::model::load_model(*against));
    pair.emplace(base, *other);
    an::check_same_tokenizer(tok, scalpel::io::load_tokenizer(*against));
    edited_what = *against;
  }

  an::guard_report r;
  if (text) {
    o.progress = [](std::size_t d, std::size_t t) { progress_line("guard: text windows", d, t); };
    const std::string source = text_builtin ? std::string("builtin") : *text_arg;
    r.text = an::guard_text(*pair, tok, *text, o, source);
  }
  if (mc_set) {
    o.progress = [](std::size_t d, std::size_t t) { progress_line("guard: mc items", d, t); };
    r.mc = an::guard_mc(*pair, tok, *mc_set, o);
  }
  if (json) {
    print_json(r.to_json());
  } else {
    print_human(r, edited_what);
  }
  return 0;
}

const registrar reg{{"guard", "capability guard: KL / perplexity on a text, multiple-choice accuracy, base vs edited",
                     usage, &run, 236}};

}  // namespace
}  // namespace cmd_guard
}  // namespace scalpel_cli
