// 02_chat_turn: one chat turn in the Gemma 4 format — render, generate, split into thinking and answer — and
// the start of the next turn, reusing the KV cache of the shared prompt prefix.
//
//   usage: 02_chat_turn [MODEL [PROMPT]] [--think]
//     MODEL  HF checkpoint directory or .gguf. Without one, the built-in demo model of `scalpel demo` is used: a
//            tiny Gemma 4 model whose weights were constructed to answer "List all 88 constellations ..."
//            (it lists them, then falls into a planted repetition loop).
//
// Instruction-tuned Gemma 4 models only behave when the prompt follows their chat template exactly:
//   <bos><|turn>system\n<|think|>...<turn|>\n<|turn>user\n...<turn|>\n<|turn>model\n
// gen::render_chat writes that text; the tokenizer turns each marker (<|turn>, <turn|>, <|think|>) into ONE
// special token. The model answers, optionally inside a thought block <|channel>thought\n...<channel|>, and
// ends its turn with <turn|> (an end-of-generation id). gen::parse_model_output splits the two parts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/analysis/loop_monitor.hpp"
#include "scalpel/analysis/planted_loop.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/generate/generate.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/loader.hpp"

namespace {

// Random models emit arbitrary bytes: show control bytes as '?', and newlines as \n when `one_line`.
std::string visible(const std::string& s, bool one_line = true) {
  std::string out;
  for (const char ch : s) {
    if (ch == '\n')
      out += one_line ? "\\n" : "\n";
    else
      out += static_cast<unsigned char>(ch) < 0x20 ? '?' : ch;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace scalpel;
  bool think = false;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--think")
      think = true;
    else
      pos.emplace_back(argv[i]);
  }
  if (pos.size() > 2) {
    std::fprintf(stderr, "usage: %s [MODEL [PROMPT]] [--think]\n", argv[0]);
    return 2;
  }
  try {
    // ---- The model and its tokenizer: from files, or the built-in demo model (in memory, no files).
    std::optional<model::gemma4_model> loaded;
    std::optional<io::tokenizer> tok;
    std::string prompt;
    if (!pos.empty()) {
      model::model_files files;
      loaded.emplace(model::load_model(pos[0], &files));
      tok.emplace(io::load_tokenizer(files.tokenizer_path.empty() ? pos[0] : files.tokenizer_path));
      prompt = pos.size() > 1 ? pos[1] : "Name three colours.";
    } else {
      analysis::planted_loop_model demo = analysis::build_planted_loop();
      tok.emplace(io::tokenizer::from_json(demo.tokenizer_json.dump(), "demo tokenizer"));
      prompt = demo.prompt;
      loaded.emplace(std::move(demo.model));
    }
    const model::gemma4_model& m = *loaded;

    // ---- 1. Render the conversation. The 26B/31B templates differ from E2B/E4B in one place (an empty thought
    // block after the generation prompt when thinking is off), so pick the family from the architecture.
    std::vector<gen::chat_message> conv = {{gen::chat_role::user, prompt}};
    gen::chat_options co;
    co.thinking = think;  // <|think|> in the system turn asks the model to reason before answering
    co.family =
        gen::family_from_variant(model::variant_name(m.config().detect_variant())).value_or(gen::chat_family::small);
    const std::string text = gen::render_chat(conv, co);
    std::printf("rendered prompt: %s\n", visible(text).c_str());

    // ---- 2. Tokenize with special-token parsing (the default), so markers are single ids. A tokenizer without
    // the Gemma 4 chat tokens would spell them out as ordinary text: the model would not recognise its turns.
    const std::vector<std::int32_t> ids = tok->encode(text);
    const std::int32_t turn = tok->specials().turn_start;
    std::size_t markers = 0;
    for (const auto id : ids) markers += static_cast<std::size_t>(id == turn);
    std::printf("prompt: %zu tokens; chat markers are single tokens: %s\n", ids.size(),
                turn >= 0 && markers >= 2 ? "yes" : "no (this tokenizer has no Gemma 4 chat tokens)");

    // ---- 3. Generate. Greedy so that the output is reproducible (real chats use the model's sampling
    // defaults). The end ids include <turn|>; a thinking budget closes a runaway thought block and lets the model
    // answer; the loop detector (analysis::loop_monitor, docs/detectors.md) sees every token through the
    // generator's loop_check, and stop_on_loop ends a repetition loop early (the demo model has one).
    // prefill + continue_from instead of generate() keeps the prompt's cache for the next turn.
    gen::generate_options opt;
    opt.sampling.temperature = 0.0f;
    opt.stop.eog_ids = m.config().eos_token_ids;
    opt.stop.max_tokens = 80;
    opt.stop.thinking_budget = think ? 24 : -1;
    opt.stop.stop_on_loop = true;
    analysis::loop_monitor monitor{analysis::loop_monitor_config{}};
    const gen::loop_check loop = [&](std::int32_t id, std::string_view piece) { return monitor.push(id, piece); };
    const gen::generator generator(m, *tok);
    model::no_hooks hooks;
    const std::size_t context = ids.size() + 512;  // room for this answer and the next turn
    gen::prefix pre = generator.prefill(ids, context, hooks);
    std::printf("--- model ---\n");
    const gen::stream_callback stream = [](const gen::token_event& ev) {
      std::fputs(visible(ev.text, /*one_line=*/false).c_str(), stdout);
      std::fflush(stdout);
      return true;
    };
    const gen::generation r = generator.continue_from(pre, opt, hooks, stream, loop);
    std::printf("\n--- end (%zu tokens, stop reason: %s) ---\n", r.ids.size(),
                std::string(gen::stop_reason_name(r.reason)).c_str());
    const analysis::loop_report rep = monitor.finish(analysis::parse_stop_reason(gen::stop_reason_name(r.reason)));
    if (rep.looping)
      std::printf("loop detector: LOOP (%s) from token %lld\n", std::string(analysis::phenotype_name(rep.kind)).c_str(),
                  static_cast<long long>(rep.onset_token));
    else
      std::printf("loop detector: no loop\n");

    // ---- 4. Split the raw output (special tokens included as text) into thinking and answer.
    const gen::model_output out = gen::parse_model_output(r.text);
    std::printf("thinking: %s\n", out.thinking.empty() ? "(none)" : visible(out.thinking).c_str());
    if (out.thinking_open) std::printf("(the thought block was still open when generation stopped)\n");
    std::printf("answer: %s\n", visible(std::string(gen::trim(out.answer))).c_str());

    // ---- 5. The next turn. History is rendered with thinking stripped from earlier model turns, so the new
    // prompt usually starts with the old one: extend the cached prefix with the new tokens only.
    conv.push_back({gen::chat_role::model, r.text});
    conv.push_back({gen::chat_role::user, "Thank you. Now the first one again."});
    const std::vector<std::int32_t> next = tok->encode(gen::render_chat(conv, co));
    const bool extends = next.size() > pre.prompt.size() && next.size() + 16 <= context &&
                         std::equal(pre.prompt.begin(), pre.prompt.end(), next.begin());
    if (extends) {
      generator.extend(pre, std::span<const std::int32_t>(next).subspan(ids.size()), hooks);
      std::printf("next turn: %zu tokens; reused the %zu-token prompt from the cache, prefilled %zu new ones\n",
                  next.size(), ids.size(), next.size() - ids.size());
    } else {
      pre = generator.prefill(next, next.size() + 64, hooks);  // e.g. thinking was stripped from the history
      std::printf("next turn: %zu tokens; the history differs from the cached prompt: prefilled all of them\n",
                  next.size());
    }
    opt.stop.max_tokens = 12;
    opt.stop.stop_on_loop = false;  // no loop_check passed below
    const gen::generation r2 = generator.continue_from(pre, opt, hooks);
    std::printf("second answer: %s\n", visible(gen::parse_model_output(r2.text).answer).c_str());
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "02_chat_turn: %s\n", e.what());
    return 1;
  }
}
