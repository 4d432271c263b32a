#pragma once
/// @file
/// @brief Pseudo-tokens for text-only loop detection. When only text is available (no ids, no tokenizer),
/// nothing is tokenized: the token-level detectors run on this simple segmentation instead, which has roughly the
/// granularity of Gemma's BPE pieces:
/// - a control tag (`<|channel>`, `<channel|>`, `<turn|>`, `<unused49>`, `<pad>` …, see `is_control_piece`) is
///   one token;
/// - a run of newlines is one token (Gemma has single tokens for up to 31 newlines);
/// - each ASCII digit is one token (Gemma splits numbers into digits);
/// - a run of other letters/digits is one token, and so is a run of one repeated punctuation character
///   (`---`, `...`); every other character is its own token;
/// - a single space before a word or punctuation belongs to that token (`" word"`, like SentencePiece's `▁`);
///   other runs of spaces/tabs are one token.
/// Pseudo-ids are assigned by first appearance starting at 2^24 (outside any real vocabulary, so they never
/// collide with special-token ids such as `<|channel>` = 100); equal pieces get equal ids.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// One pseudo-token: an id (equal pieces, equal ids) and its text.
struct text_token {
  std::int32_t id = 0;
  std::string piece;
};

inline constexpr std::int32_t pseudo_id_base = std::int32_t{1} << 24;

namespace detail {
// Length of a control tag starting at s[i] (which is '<'), or 0.
inline std::size_t control_tag_length(const std::u32string& s, std::size_t i) {
  for (std::size_t j = i + 1; j < s.size() && j <= i + 33; ++j) {
    const char32_t c = s[j];
    if (c == '>') {
      std::string piece;
      for (std::size_t k = i; k <= j; ++k) append_utf8(piece, s[k]);
      return is_control_piece(piece) ? j - i + 1 : 0;
    }
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '|' || c == '"';
    if (!ok) return 0;
  }
  return 0;
}
constexpr bool is_inline_space(char32_t c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }
}  // namespace detail

/// Splits `text` into pseudo-tokens (rules in the file comment). Concatenating the pieces gives back the text
/// (invalid UTF-8 bytes come back as U+FFFD).
inline std::vector<text_token> segment_text(std::string_view text) {
  const std::u32string s = detail::decode_utf8(text);
  const std::size_t n = s.size();
  std::vector<text_token> out;
  std::unordered_map<std::string, std::int32_t> ids;
  auto emit = [&](std::size_t b, std::size_t e) {
    std::string piece;
    for (std::size_t k = b; k < e; ++k) detail::append_utf8(piece, s[k]);
    const auto [it, inserted] = ids.try_emplace(piece, pseudo_id_base + static_cast<std::int32_t>(ids.size()));
    out.push_back(text_token{it->second, std::move(piece)});
  };
  std::size_t i = 0;
  while (i < n) {
    std::size_t start = i;
    if (s[i] == '<') {
      if (const std::size_t len = detail::control_tag_length(s, i)) {
        emit(i, i + len);
        i += len;
        continue;
      }
    }
    if (s[i] == '\n') {
      while (i < n && s[i] == '\n') ++i;
      emit(start, i);
      continue;
    }
    if (detail::is_inline_space(s[i])) {
      std::size_t j = i;
      while (j < n && detail::is_inline_space(s[j])) ++j;
      const bool attach =
          j < n && s[j] != '\n' && s[j - 1] == ' ' && !(s[j] == '<' && detail::control_tag_length(s, j) > 0);
      if (!attach) {
        emit(i, j);
        i = j;
        continue;
      }
      if (j - 1 > i) emit(i, j - 1);  // the run minus its last space
      start = j - 1;
      i = j;
    }
    const char32_t c = s[i];
    if (detail::is_ascii_digit(c)) {
      ++i;
    } else if (detail::is_word_char(c)) {
      while (i < n && detail::is_word_char(s[i]) && !detail::is_ascii_digit(s[i])) ++i;
    } else {
      while (i < n && s[i] == c) ++i;
    }
    emit(start, i);
  }
  return out;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
