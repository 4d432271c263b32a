// scalpel chat: an interactive multi-turn session in the terminal.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "common.hpp"
#include "generation_options.hpp"
#include "scalpel/analysis/loop_monitor.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/io/tokenizer.hpp"

namespace scalpel_cli {
namespace cmd_chat {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage_head =
    R"(usage: scalpel chat --model PATH [--system TEXT] [--think] [--edit PLAN.json] [sampling options]

An interactive chat in the Gemma 4 chat format. Type a message and press Enter; the answer streams back.
Ctrl-C stops the current answer (the session is kept); Ctrl-D or /quit ends the session.
Previous answers are kept in the history with their thinking stripped (as the chat template does); the prompt
is extended turn by turn, reusing the KV cache.

commands:
  /reset            forget the conversation
  /think on|off     thinking mode (<|think|> in the system turn)
  /system TEXT      set the system prompt (empty: none)
  /history          print the rendered conversation so far
  /quit             end the session

options:
  --model PATH      HF checkpoint directory or .gguf
  --system TEXT     initial system prompt
  --think           start with thinking on
  --family small|large   chat template family (default from the model)
  --edit PLAN.json  apply an edit plan at run time
  --show-loops      print the loop detector's verdict after each answer
)";

int run(args& a) {
  apply_threads(a);
  std::string system = a.get_or("system", "");
  bool think = a.flag("think");
  const bool show_loops = a.flag("show-loops");
  const auto family_opt = a.get("family");
  const auto plan_path = a.get("edit");
  const auto tok_path = a.get("tokenizer");
  scalpel::model::model_files files;
  const auto m = load_model_arg(a, &files);
  auto opt = generation_options_from(a, files, m.config(), 1024);
  a.finish();
  const auto tok = scalpel::io::load_tokenizer(
      tok_path ? *tok_path : (files.tokenizer_path.empty() ? m.source() : files.tokenizer_path));
  scalpel::gen::chat_options co;
  co.family = family_opt
                  ? (*family_opt == "large" ? scalpel::gen::chat_family::large : scalpel::gen::chat_family::small)
                  : scalpel::gen::family_from_variant(scalpel::model::variant_name(m.config().detect_variant()))
                        .value_or(scalpel::gen::chat_family::small);
  const scalpel::gen::generator g(m, tok);
  scalpel::model::dynamic_hooks none;
  std::optional<scalpel::edit::plan_hooks> edit_hooks;
  if (plan_path) edit_hooks.emplace(scalpel::edit::plan::read(*plan_path), m.config());

  std::vector<scalpel::gen::chat_message> history;
  std::optional<scalpel::gen::prefix> pre;
  const bool tty = ::isatty(0) != 0;
  std::fprintf(stderr, "scalpel chat: %s (%s). /help for commands.\n", m.source().c_str(),
               std::string(scalpel::model::variant_name(m.config().detect_variant())).c_str());
  std::string line;
  std::uint64_t turn = 0;
  for (;;) {
    if (tty) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line[0] == '/') {
      if (line == "/quit" || line == "/exit") break;
      if (line == "/reset") {
        history.clear();
        pre.reset();
        std::printf("[conversation reset]\n");
      } else if (line == "/think on" || line == "/think off") {
        think = line == "/think on";
        pre.reset();
        std::printf("[thinking %s]\n", think ? "on" : "off");
      } else if (line.rfind("/system", 0) == 0) {
        system = line.size() > 8 ? line.substr(8) : "";
        pre.reset();
        std::printf("[system prompt %s]\n", system.empty() ? "cleared" : "set");
      } else if (line == "/history") {
        co.thinking = think;
        co.add_generation_prompt = false;
        std::vector<scalpel::gen::chat_message> conv;
        if (!system.empty()) conv.push_back({scalpel::gen::chat_role::system, system});
        conv.insert(conv.end(), history.begin(), history.end());
        std::printf("%s\n", conv.empty() ? "[empty]" : scalpel::gen::render_chat(conv, co).c_str());
        co.add_generation_prompt = true;
      } else if (line == "/help") {
        std::printf("%s", usage_head);
      } else {
        std::printf("[unknown command %s; /help lists them]\n", line.c_str());
      }
      std::fflush(stdout);
      continue;
    }
    history.push_back({scalpel::gen::chat_role::user, line});
    std::vector<scalpel::gen::chat_message> conv;
    if (!system.empty()) conv.push_back({scalpel::gen::chat_role::system, system});
    conv.insert(conv.end(), history.begin(), history.end());
    co.thinking = think;
    co.add_generation_prompt = true;
    const auto ids = tok.encode(scalpel::gen::render_chat(conv, co));
    // Reuse the cache when the new prompt extends the previous one; otherwise prefill from scratch.
    const bool extends =
        pre && ids.size() >= pre->prompt.size() && std::equal(pre->prompt.begin(), pre->prompt.end(), ids.begin());
    const std::size_t need = ids.size() + static_cast<std::size_t>(std::max<std::int64_t>(opt.stop.max_tokens, 0)) + 2;
    if (!extends || pre->cache.max_context() < need) {
      const std::size_t ctx =
          std::min<std::size_t>(m.config().max_position_embeddings, std::max<std::size_t>(need, 4096));
      pre = edit_hooks ? g.prefill(ids, ctx, *edit_hooks) : g.prefill(ids, ctx, none);
    } else {
      const std::span<const std::int32_t> more(ids.data() + pre->prompt.size(), ids.size() - pre->prompt.size());
      if (edit_hooks)
        g.extend(*pre, more, *edit_hooks);
      else
        g.extend(*pre, more, none);
    }
    interrupt::arm();
    scalpel::analysis::loop_monitor monitor{scalpel::analysis::loop_monitor_config{}};
    auto stream = [](const scalpel::gen::token_event& ev) {
      std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
      std::fflush(stdout);
      return !interrupt::requested();
    };
    const scalpel::gen::loop_check loop = [&](std::int32_t id, std::string_view piece) {
      return monitor.push(id, piece);
    };
    opt.sampling.seed += turn++;
    const auto r = edit_hooks ? g.continue_from(*pre, opt, *edit_hooks, stream, loop)
                              : g.continue_from(*pre, opt, none, stream, loop);
    interrupt::disarm();
    std::printf("\n");
    if (r.reason == scalpel::gen::stop_reason::cancelled) std::printf("[stopped]\n");
    if (show_loops) {
      const auto rep = monitor.finish(scalpel::analysis::parse_stop_reason(scalpel::gen::stop_reason_name(r.reason)));
      std::printf("[loop detector: %s]\n",
                  rep.looping ? std::string(scalpel::analysis::phenotype_name(rep.kind)).c_str() : "none");
    }
    std::fflush(stdout);
    history.push_back({scalpel::gen::chat_role::model, r.text});
  }
  return 0;
}

const registrar reg{
    {"chat", "interactive multi-turn chat (Ctrl-C stops an answer, /reset, /think, /system)", usage_head, &run, 31}};
}  // namespace
}  // namespace cmd_chat
}  // namespace scalpel_cli
