#pragma once
// IWYU pragma: private, include "scalpel/io/tokenizer.hpp"
/// @file
/// @brief Strict UTF-8 stepping for the tokenizer: one function that classifies the bytes at a position as a
/// complete valid scalar, a truncated-but-valid prefix, or a maximal invalid subpart (Unicode 15, §3.9 "U+FFFD
/// substitution of maximal subparts"), plus whitespace trimming with Python's `str.strip()` definition (the chat
/// templates use Jinja's `trim`, which is Python's `strip`).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io::detail {

/// What starts at a position of a byte string.
struct utf8_step {
  std::size_t len = 0;      ///< bytes consumed: the scalar, the invalid subpart, or (incomplete) the rest
  char32_t cp = 0;          ///< the scalar value when `valid`
  bool valid = false;       ///< a complete, well-formed scalar (no overlongs, no surrogates, <= U+10FFFF)
  bool incomplete = false;  ///< not valid, but every remaining byte is a valid prefix (more bytes may complete it)
};

/// Classify the bytes at `p` (`n` >= 1 bytes available).
inline utf8_step utf8_next(const unsigned char* p, std::size_t n) noexcept {
  utf8_step s;
  const unsigned b0 = p[0];
  if (b0 < 0x80) {
    s.len = 1;
    s.cp = b0;
    s.valid = true;
    return s;
  }
  std::size_t need = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    s.len = 1;  // a continuation byte or C0, C1, F5..FF: never valid
    return s;
  }
  for (std::size_t i = 1; i < need; ++i) {
    if (i >= n) {
      s.len = n;
      s.incomplete = true;
      return s;
    }
    const unsigned b = p[i];
    const unsigned l = i == 1 ? lo : 0x80u;
    const unsigned h = i == 1 ? hi : 0xBFu;
    if (b < l || b > h) {
      s.len = i;  // maximal subpart: the bytes that were still a valid prefix
      return s;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  s.len = need;
  s.cp = cp;
  s.valid = true;
  return s;
}

/// Whether `s` is entirely well-formed UTF-8.
inline bool utf8_valid(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const utf8_step st = utf8_next(p + i, s.size() - i);
    if (!st.valid) return false;
    i += st.len;
  }
  return true;
}

/// Append the UTF-8 encoding of a scalar value.
inline void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0u | (cp >> 6)));
    out.push_back(static_cast<char>(0x80u | (cp & 0x3Fu)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0u | (cp >> 12)));
    out.push_back(static_cast<char>(0x80u | ((cp >> 6) & 0x3Fu)));
    out.push_back(static_cast<char>(0x80u | (cp & 0x3Fu)));
  } else {
    out.push_back(static_cast<char>(0xF0u | (cp >> 18)));
    out.push_back(static_cast<char>(0x80u | ((cp >> 12) & 0x3Fu)));
    out.push_back(static_cast<char>(0x80u | ((cp >> 6) & 0x3Fu)));
    out.push_back(static_cast<char>(0x80u | (cp & 0x3Fu)));
  }
}

/// Python's `str.isspace()` (bidirectional class WS/B/S or category Zs), which Jinja's `trim` strips.
constexpr bool py_isspace(char32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/// `s` without leading and trailing Python whitespace (invalid bytes count as non-space).
inline std::string_view py_trim(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  std::size_t first = s.size();
  std::size_t last_end = 0;
  while (i < s.size()) {
    const utf8_step st = utf8_next(p + i, s.size() - i);
    const bool space = st.valid && py_isspace(st.cp);
    if (!space) {
      if (first == s.size()) first = i;
      last_end = i + st.len;
    }
    i += st.len;
  }
  if (first == s.size()) return s.substr(0, 0);
  return s.substr(first, last_end - first);
}

}  // namespace io::detail
SCALPEL_END_NAMESPACE
