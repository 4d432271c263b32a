// scalpel tokenize: text -> token ids (contracts.md).
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "tokenizer_options.hpp"

namespace scalpel_cli {
namespace cmd_tokenize {  // named: unity builds put several commands in one TU
namespace {

const std::string usage =
    std::string(
        "usage: scalpel tokenize (--model PATH | --tokenizer FILE) (--text S | --file F | --texts "
        "F.json)\n"
        "                        [--bos] [--specials | --no-specials] [--special-table auto|gemma4|keep] "
        "[--json]\n\n"
        "Token ids of a text, exactly as the reference Gemma tokenizer gives them.\n\n") +
    tokenizer_options_help +
    "  --text S                 the text\n"
    "  --file F                 the bytes of a file (any bytes; invalid UTF-8 -> byte tokens)\n"
    "  --texts F.json           a JSON array of strings, encoded one by one\n"
    "  --bos                    prepend <bos> (not added twice when the text starts with it)\n"
    "  --specials               match special-token strings (<bos>, <|turn>, ...) in the text\n"
    "                           (the default, as HF tokenizers do)\n"
    "  --no-specials            encode special-token strings as ordinary text\n"
    "  --json                   {\"ids\": [...]}, or {\"results\": [{\"ids\": [...]}, ...]} "
    "with --texts\n\n"
    "Without --json: the ids space-separated, one line per text.";

int run_tokenize(args& a) {
  auto tok = tokenizer_from_args(a, true);
  const auto text = a.get("text");
  const auto file = a.get("file");
  const auto texts = a.get("texts");
  scalpel::io::encode_options eo;
  eo.add_bos = a.flag("bos");
  const bool specials = a.flag("specials");
  const bool no_specials = a.flag("no-specials");
  const bool json = a.flag("json");
  a.finish();
  if (specials && no_specials) throw usage_error("give --specials or --no-specials, not both");
  eo.parse_specials = !no_specials;
  if ((text ? 1 : 0) + (file ? 1 : 0) + (texts ? 1 : 0) != 1) {
    throw usage_error("give exactly one of --text, --file, --texts");
  }

  std::vector<std::string> inputs;
  if (text) inputs.push_back(*text);
  if (file) inputs.push_back(read_file_bytes(*file));
  if (texts) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file_bytes(*texts));
    } catch (const nlohmann::json::exception& e) {
      scalpel::fail(scalpel::errc::json, *texts + ": " + e.what());
    }
    if (!j.is_array()) scalpel::fail(scalpel::errc::json, *texts + ": expected a JSON array of strings");
    for (std::size_t k = 0; k < j.size(); ++k) {
      if (!j[k].is_string()) {
        scalpel::fail(scalpel::errc::json, *texts + ": element " + std::to_string(k) + " is not a string");
      }
      inputs.push_back(j[k].get<std::string>());
    }
  }

  std::vector<std::vector<std::int32_t>> results;
  results.reserve(inputs.size());
  for (const auto& s : inputs) results.push_back(tok->encode(s, eo));

  if (json) {
    nlohmann::json out;
    if (texts) {
      out["results"] = nlohmann::json::array();
      for (const auto& ids : results) out["results"].push_back({{"ids", ids}});
    } else {
      out["ids"] = results.front();
    }
    std::printf("%s\n", out.dump().c_str());
  } else {
    for (const auto& ids : results) print_ids(ids);
  }
  return 0;
}

const registrar reg{{"tokenize", "text -> token ids (Gemma tokenizer)", usage, &run_tokenize, 30}};

}  // namespace
}  // namespace cmd_tokenize
}  // namespace scalpel_cli
