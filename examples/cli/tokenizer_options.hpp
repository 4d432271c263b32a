#pragma once
// Shared by the tokenizer commands (tokenize, detokenize, chat-format): --model / --tokenizer / --special-table,
// file reading, and id printing.

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tokenizer.hpp"

namespace scalpel_cli {

/// Help text for the shared options.
inline constexpr const char* tokenizer_options_help =
    "  --model PATH             HF checkpoint directory (its tokenizer.json), a tokenizer.json file, or a\n"
    "                           .gguf (its embedded tokenizer.ggml.* vocabulary)\n"
    "  --tokenizer FILE         an HF tokenizer.json\n"
    "  --special-table T        auto (default): a Gemma 3 tokenizer.json gets the Gemma 4 special tokens\n"
    "                           (<|turn> 105, <turn|> 106, <|channel> 100, ...); gemma4: require that table;\n"
    "                           keep: the file's own special tokens, exactly as the reference tokenizer\n";

/// The tokenizer named by --model / --tokenizer; nullopt when neither is given and `required` is false.
inline std::optional<scalpel::io::tokenizer> tokenizer_from_args(args& a, bool required) {
  const auto model = a.get("model");
  const auto file = a.get("tokenizer");
  const std::string table = a.get_or("special-table", "auto");
  scalpel::io::load_options opts;
  if (table == "auto") {
    opts.specials = scalpel::io::special_table::automatic;
  } else if (table == "gemma4") {
    opts.specials = scalpel::io::special_table::gemma4;
  } else if (table == "keep") {
    opts.specials = scalpel::io::special_table::keep;
  } else {
    throw usage_error("--special-table must be auto, gemma4 or keep, not '" + table + "'");
  }
  if (model && file) throw usage_error("give --model or --tokenizer, not both");
  if (!model && !file) {
    if (required) throw usage_error("missing --model or --tokenizer");
    return std::nullopt;
  }
  if (file) return scalpel::io::tokenizer::from_json_file(*file, opts);
  return scalpel::io::load_tokenizer(*model, opts);
}

/// The bytes of a file; `errc::io` naming it.
inline std::string read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) scalpel::fail(scalpel::errc::io, "cannot open '" + path + "'");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) scalpel::fail(scalpel::errc::io, "cannot read '" + path + "'");
  return s;
}

/// Print ids space-separated, then a newline.
inline void print_ids(std::span<const std::int32_t> ids) {
  std::string line;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (k != 0) line += ' ';
    line += std::to_string(ids[k]);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

}  // namespace scalpel_cli
