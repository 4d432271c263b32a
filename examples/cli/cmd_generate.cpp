// scalpel generate: sample a continuation (streamed to stdout, or one JSON record).
#include <csignal>
#include <cstdio>

#include "common.hpp"
#include "generation_options.hpp"
#include "scalpel/analysis/loop_monitor.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/io/tokenizer.hpp"

namespace scalpel_cli {
namespace cmd_generate {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage_head =
    R"(usage: scalpel generate --model PATH (--prompt TEXT [--chat] [--system TEXT] [--think] | --ids LIST)
                        [sampling and stopping options] [--edit PLAN.json] [--json]

Generate a continuation. Text streams to stdout as it is produced (Ctrl-C stops); prefill and decode speeds go to
stderr. With --json a single record is printed instead:
  {"ids", "text", "stop_reason", "loop": {loop report}, "prompt_tokens", "seed",
   "timing": {"prefill_tok_s", "decode_tok_s"}}
The loop detector (docs/detectors.md) watches every token; --stop-on-loop stops generation when it fires.

prompt:
  --prompt TEXT          text; without --chat it is encoded as is after <bos>
  --chat                 render TEXT as a user turn in the Gemma 4 chat format (generation prompt appended)
  --system TEXT          a system turn (with --chat)
  --think                enable thinking (<|think|> in the system turn)
  --family small|large   chat template family (default from the model: 26B/31B large, others small)
  --ids LIST             token ids fed verbatim (put 2 = <bos> first yourself)
  --tokenizer FILE       tokenizer.json to use instead of the model's
model:
  --model PATH           HF checkpoint directory or .gguf
  --edit PLAN.json       apply an edit plan at run time (weights untouched)
  --threads N            threads (default: all cores)
  --ctx N                context limit (default: prompt + max tokens)
output:
  --json                 one JSON record instead of streamed text
  --top-logprobs N       with --json: per-token log-probabilities and N alternatives
)";

int run(args& a) {
  apply_threads(a);
  const bool json = a.flag("json");
  const auto prompt_text = a.get("prompt");
  const bool chat = a.flag("chat"), think = a.flag("think");
  const auto system = a.get("system");
  const auto family_opt = a.get("family");
  const auto ids_opt = a.get("ids");
  const auto plan_path = a.get("edit");
  const auto tok_path = a.get("tokenizer");
  const auto top_lp = a.get_int("top-logprobs", 0, 0, 100);
  if (prompt_text.has_value() == ids_opt.has_value()) throw usage_error("give exactly one of --prompt and --ids");
  if (!prompt_text && (chat || think || system)) throw usage_error("--chat, --think and --system need --prompt");
  scalpel::model::model_files files;
  const auto m = load_model_arg(a, &files);
  auto opt = generation_options_from(a, files, m.config());
  if (top_lp > 0) {
    opt.sampling.logprobs = true;
    opt.sampling.top_logprobs = static_cast<std::int32_t>(top_lp);
  }
  a.finish();

  const auto tok = scalpel::io::load_tokenizer(
      tok_path ? *tok_path : (files.tokenizer_path.empty() ? m.source() : files.tokenizer_path));
  std::vector<std::int32_t> prompt;
  if (ids_opt) {
    for (auto v : parse_int_list(*ids_opt, "--ids")) prompt.push_back(static_cast<std::int32_t>(v));
  } else if (chat) {
    std::vector<scalpel::gen::chat_message> conv;
    if (system) conv.push_back({scalpel::gen::chat_role::system, *system});
    conv.push_back({scalpel::gen::chat_role::user, *prompt_text});
    scalpel::gen::chat_options co;
    co.thinking = think;
    const auto variant = scalpel::model::variant_name(m.config().detect_variant());
    co.family = family_opt
                    ? (*family_opt == "large" ? scalpel::gen::chat_family::large : scalpel::gen::chat_family::small)
                    : scalpel::gen::family_from_variant(variant).value_or(scalpel::gen::chat_family::small);
    prompt = tok.encode(scalpel::gen::render_chat(conv, co));
  } else {
    prompt = tok.encode(*prompt_text, {.add_bos = true});
  }

  interrupt::arm();
  const scalpel::gen::generator g(m, tok);
  nlohmann::json per_token = nlohmann::json::array();
  auto on_token = [&](const scalpel::gen::token_event& ev) {
    if (!json) {
      std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
      std::fflush(stdout);
    } else if (top_lp > 0) {
      nlohmann::json alts = nlohmann::json::array();
      for (const auto& t : ev.top) alts.push_back({{"id", t.id}, {"logprob", t.raw_logprob}});
      per_token.push_back({{"id", ev.id}, {"logprob", ev.raw_logprob}, {"top", alts}});
    }
    return !interrupt::requested();
  };
  scalpel::analysis::loop_monitor monitor{scalpel::analysis::loop_monitor_config{}};
  const scalpel::gen::loop_check loop = [&](std::int32_t id, std::string_view piece) {
    return monitor.push(id, piece);
  };
  scalpel::gen::generation r;
  if (plan_path) {
    scalpel::edit::plan_hooks hooks(scalpel::edit::plan::read(*plan_path), m.config());
    r = g.generate(prompt, opt, hooks, on_token, loop);
  } else {
    scalpel::model::no_hooks hooks;
    r = g.generate(prompt, opt, hooks, on_token, loop);
  }
  const auto report = monitor.finish(scalpel::analysis::parse_stop_reason(scalpel::gen::stop_reason_name(r.reason)));
  interrupt::disarm();
  std::fprintf(stderr,
               "\n[%zu prompt tokens, %.1f tok/s prefill; %zu generated, %.1f tok/s decode; stop: %s; loop: %s]\n",
               r.prompt_tokens, r.prefill_tok_s(), r.ids.size(), r.decode_tok_s(),
               std::string(scalpel::gen::stop_reason_name(r.reason)).c_str(),
               report.looping ? std::string(scalpel::analysis::phenotype_name(report.kind)).c_str() : "none");
  if (json) {
    nlohmann::json out = {{"ids", r.ids},
                          {"text", r.text},
                          {"stop_reason", std::string(scalpel::gen::stop_reason_name(r.reason))},
                          {"loop", scalpel::analysis::to_json(report)},
                          {"prompt_tokens", r.prompt_tokens},
                          {"seed", r.seed},
                          {"timing", {{"prefill_tok_s", r.prefill_tok_s()}, {"decode_tok_s", r.decode_tok_s()}}}};
    if (top_lp > 0) out["logprobs"] = per_token;
    print_json(out);
  } else {
    std::printf("\n");
  }
  return 0;
}

const std::string& full_usage() {
  static const std::string s = std::string(usage_head) + sampling_help;
  return s;
}
const registrar reg{{"generate", "generate text (streamed, or --json), with any sampler and optional run-time edits",
                     full_usage(), &run, 30}};
}  // namespace
}  // namespace cmd_generate
}  // namespace scalpel_cli
