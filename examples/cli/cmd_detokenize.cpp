// scalpel detokenize: token ids -> text.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_options.hpp"

namespace scalpel_cli {
namespace cmd_detokenize {  // named: unity builds put several commands in one TU
namespace {

const std::string usage =
    std::string(
        "usage: scalpel detokenize (--model PATH | --tokenizer FILE) --ids 1,2,3 [--skip-specials]\n"
        "                          [--special-table auto|gemma4|keep] [--json]\n\n"
        "The text of token ids: '\xE2\x96\x81' -> space, <0xXX> byte tokens re-assembled (byte-exact inverse of "
        "tokenize).\n\n") +
    tokenizer_options_help +
    "  --ids LIST               comma- or space-separated ids\n"
    "  --skip-specials          omit special tokens (<bos>, <|turn>, ...)\n"
    "  --json                   {\"text\": \"...\"} (invalid UTF-8 shown as U+FFFD); otherwise the raw bytes and "
    "a newline";

int run_detokenize(args& a) {
  auto tok = tokenizer_from_args(a, true);
  const std::string list = a.require("ids");
  scalpel::io::decode_options o;
  o.skip_specials = a.flag("skip-specials");
  const bool json = a.flag("json");
  a.finish();
  std::vector<std::int32_t> ids;
  for (const std::int64_t v : parse_int_list(list, "--ids")) {
    if (v < 0 || v >= tok->vocab_size()) {
      scalpel::fail(scalpel::errc::out_of_range, "--ids: token id " + std::to_string(v) +
                                                     " is outside the vocabulary [0, " +
                                                     std::to_string(tok->vocab_size()) + ")");
    }
    ids.push_back(static_cast<std::int32_t>(v));
  }
  const std::string text = tok->decode(ids, o);
  if (json) {
    const nlohmann::json out = {{"text", text}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}

const registrar reg{{"detokenize", "token ids -> text", usage, &run_detokenize, 31}};

}  // namespace
}  // namespace cmd_detokenize
}  // namespace scalpel_cli
