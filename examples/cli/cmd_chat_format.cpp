// scalpel chat-format: render a JSON conversation in the Gemma 4 chat format (debugging templates).
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_options.hpp"

namespace scalpel_cli {
namespace cmd_chat_format {  // named: unity builds put several commands in one TU
namespace {

const std::string usage =
    std::string(
        "usage: scalpel chat-format --file CONV.json [--model PATH | --tokenizer FILE] [--think]\n"
        "                           [--family small|large] [--no-generation-prompt] [--think-newline] [--ids] "
        "[--json]\n\n"
        "Print the Gemma 4 prompt for a conversation (see docs/tokenizer.md for the template revision).\n\n"
        "  --file CONV.json         [{\"role\": \"system\"|\"user\"|\"model\"|\"assistant\", \"content\": \"...\"}, "
        "...]\n"
        "                           or {\"messages\": [...]}\n"
        "  --think                  thinking on: <|think|> in the system turn\n"
        "  --family F               small (E2B/E4B, default) or large (26B-A4B/31B: with thinking off the\n"
        "                           prompt ends with the empty thought block <|channel>thought\\n<channel|>)\n"
        "  --no-generation-prompt   do not end with <|turn>model\\n\n"
        "  --think-newline          write <|think|>\\n (the later revision of Google's template)\n"
        "  --ids                    also print the token ids (needs --model or --tokenizer)\n"
        "  --json                   {\"prompt\": \"...\", \"ids\": [...]} (ids only with --ids)\n") +
    tokenizer_options_help;

int run_chat_format(args& a) {
  auto tok = tokenizer_from_args(a, false);
  const std::string file = a.require("file");
  scalpel::gen::chat_options o;
  o.thinking = a.flag("think");
  const std::string family = a.get_or("family", "small");
  o.add_generation_prompt = !a.flag("no-generation-prompt");
  o.think_newline = a.flag("think-newline");
  const bool want_ids = a.flag("ids");
  const bool json = a.flag("json");
  a.finish();
  if (family == "small") {
    o.family = scalpel::gen::chat_family::small;
  } else if (family == "large") {
    o.family = scalpel::gen::chat_family::large;
  } else if (auto f = scalpel::gen::family_from_variant(family)) {
    o.family = *f;
  } else {
    throw usage_error("--family must be small or large (or e2b, e4b, 26b-a4b, 31b), not '" + family + "'");
  }
  if (want_ids && !tok) throw usage_error("--ids needs --model or --tokenizer");

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file_bytes(file));
  } catch (const nlohmann::json::exception& e) {
    scalpel::fail(scalpel::errc::json, file + ": " + e.what());
  }
  const auto messages = scalpel::gen::conversation_from_json(j, file);
  const std::string prompt = scalpel::gen::render_chat(messages, o);

  std::vector<std::int32_t> ids;
  if (want_ids) {
    if (!tok->has_gemma4_specials()) {
      scalpel::fail(scalpel::errc::tokenizer, tok->origin() +
                                                  " has no Gemma 4 chat tokens (<|turn>, <turn|>); the prompt cannot "
                                                  "be encoded with it");
    }
    ids = tok->encode(prompt, {.add_bos = false, .parse_specials = true});
  }
  if (json) {
    nlohmann::json out = {{"prompt", prompt}};
    if (want_ids) out["ids"] = ids;
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  if (want_ids) {
    if (prompt.empty() || prompt.back() != '\n') std::fputc('\n', stdout);
    print_ids(ids);
  }
  return 0;
}

const registrar reg{{"chat-format", "render a conversation in the Gemma 4 chat format", usage, &run_chat_format, 32}};

}  // namespace
}  // namespace cmd_chat_format
}  // namespace scalpel_cli
