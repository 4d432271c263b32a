#pragma once
// Shared by the tokenizer tests: the real Gemma tokenizer (fetched by the ctest fixture "gemma_tokenizer" into
// <build>/test-assets, see tests/data/tokenizer/fetch-gemma-tokenizer.sh), loaded once per process, and the
// reference cases.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/io/tokenizer.hpp"

namespace tok_test {

struct ref_case {
  std::string category;
  std::string text;
  std::vector<std::int32_t> ids;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  return {std::istreambuf_iterator<char>(f), {}};
}

/// <build>/test-assets/gemma3-tokenizer.json; a missing file is a failure (the fixture must have fetched it).
inline std::string gemma_tokenizer_path() {
  const std::string p = SCALPEL_BINARY_DIR "/test-assets/gemma3-tokenizer.json";
  REQUIRE_MESSAGE(std::filesystem::exists(p), p << " is missing: run the ctest fixture test "
                                                   "'tokenizer: fetch the Gemma tokenizer.json' (needs npm)");
  return p;
}

/// The real tokenizer with the Gemma 4 table applied (the default load).
inline const scalpel::io::tokenizer& gemma() {
  static const scalpel::io::tokenizer t = scalpel::io::tokenizer::from_json_file(gemma_tokenizer_path());
  return t;
}

/// The real tokenizer exactly as the file defines it (Gemma 3 special tokens): the reference's tokenizer.
inline const scalpel::io::tokenizer& gemma_unpatched() {
  static const scalpel::io::tokenizer t =
      scalpel::io::tokenizer::from_json_file(gemma_tokenizer_path(), {.specials = scalpel::io::special_table::keep});
  return t;
}

/// Cases from a JSON file: an array of {text, ids} or an object {"cases": [...]}.
inline std::vector<ref_case> load_cases(const std::string& path) {
  const auto j = nlohmann::json::parse(slurp(path));
  const auto& arr = j.is_object() ? j.at("cases") : j;
  std::vector<ref_case> out;
  for (const auto& c : arr) {
    out.push_back({c.value("category", std::string("shared")), c.at("text").get<std::string>(),
                   c.at("ids").get<std::vector<std::int32_t>>()});
  }
  return out;
}

/// Whether `text` contains a string whose meaning the Gemma 4 table changes (a Gemma 4 special-token string, or
/// `<image_soft_token>`, whose id 262144 is past Gemma 4's vocabulary).
inline bool touches_gemma4_table(const std::string& text) {
  if (text.find("<image_soft_token>") != std::string::npos) return true;
  for (const auto& e : scalpel::io::gemma4_special_table()) {
    if (text.find(e.text) != std::string::npos) return true;
  }
  return false;
}

inline std::string show(const std::vector<std::int32_t>& ids) {
  std::string s = "[";
  for (std::size_t k = 0; k < ids.size(); ++k) s += (k ? ", " : "") + std::to_string(ids[k]);
  return s + "]";
}

}  // namespace tok_test
