#pragma once
// IWYU pragma: private
/// @file
/// @brief Text helpers shared by the loop detectors, list scoring and probes: an incremental UTF-8 decoder
/// (pieces of byte-fallback tokens may split a character), a letter/digit test that needs no Unicode tables,
/// folding for matching (case, diacritics of the common Latin letters, punctuation), and line helpers.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis::detail {

inline constexpr char32_t replacement_char = 0xFFFD;

/// Appends the UTF-8 encoding of `c` (invalid code points become U+FFFD).
inline void append_utf8(std::string& out, char32_t c) {
  if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) c = replacement_char;
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

/// Incremental UTF-8 decoder. Token pieces may end inside a multi-byte character (byte-fallback tokens
/// `<0xE2>` …), so the state carries over between `feed` calls. Malformed input never throws: each bad
/// byte (or truncated sequence) yields one U+FFFD.
class utf8_decoder {
 public:
  /// Decodes `bytes`, calling `emit(char32_t)` for every complete code point.
  template <class Emit>
  void feed(std::string_view bytes, Emit&& emit) {
    for (const char ch : bytes) {
      const auto b = static_cast<unsigned char>(ch);
      if (need_ > 0) {
        if ((b & 0xC0) == 0x80) {
          cp_ = (cp_ << 6) | (b & 0x3Fu);
          if (--need_ == 0) emit(validated());
          continue;
        }
        need_ = 0;  // truncated sequence: report it, then treat `b` as a new lead byte
        emit(replacement_char);
      }
      if (b < 0x80) {
        emit(static_cast<char32_t>(b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        start(b & 0x1Fu, 1, 0x80);
      } else if (b >= 0xE0 && b <= 0xEF) {
        start(b & 0x0Fu, 2, 0x800);
      } else if (b >= 0xF0 && b <= 0xF4) {
        start(b & 0x07u, 3, 0x10000);
      } else {
        emit(replacement_char);
      }
    }
  }
  /// Ends the stream: a pending incomplete sequence yields U+FFFD.
  template <class Emit>
  void flush(Emit&& emit) {
    if (need_ > 0) {
      need_ = 0;
      emit(replacement_char);
    }
  }
  void reset() noexcept { need_ = 0; }

 private:
  void start(std::uint32_t bits, int need, char32_t min) {
    cp_ = bits;
    need_ = need;
    min_ = min;
  }
  [[nodiscard]] char32_t validated() const {
    if (cp_ < min_ || cp_ > 0x10FFFF || (cp_ >= 0xD800 && cp_ <= 0xDFFF)) return replacement_char;
    return cp_;
  }
  char32_t cp_ = 0;
  char32_t min_ = 0;
  int need_ = 0;
};

/// Decodes a whole string (convenience for offline use and tests).
inline std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  utf8_decoder d;
  auto emit = [&](char32_t c) { out.push_back(c); };
  d.feed(s, emit);
  d.flush(emit);
  return out;
}

/// Letter or digit, without Unicode tables: ASCII letters/digits, and every non-ASCII code point outside the
/// punctuation, symbol, emoji, private-use and replacement ranges (so Latin, Greek, Cyrillic, CJK … count).
constexpr bool is_word_char(char32_t c) noexcept {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;  // Latin-1 punctuation/symbols except ª µ º
  if (c == 0xD7 || c == 0xF7) return false;                  // × ÷
  if (c >= 0x2000 && c <= 0x2BFF) return false;              // general punctuation, symbols, arrows, box drawing
  if (c >= 0x3000 && c <= 0x303F) return false;              // CJK punctuation
  if (c >= 0xE000 && c <= 0xF8FF) return false;              // private use
  if (c >= 0xFE00 && c <= 0xFE6F) return false;              // variation selectors, small forms
  if (c >= 0xFF00 && c <= 0xFF0F) return false;              // fullwidth punctuation
  if (c == replacement_char || c == 0xFEFF) return false;
  if (c >= 0x1F000 && c <= 0x1FAFF) return false;  // emoji and pictographs
  return c <= 0x10FFFF;
}

/// Formatting characters: whitespace, ASCII punctuation, Latin-1 punctuation, general punctuation (dashes, bullets),
/// arrows, box drawing, block elements and geometric shapes. A repeated unit made only of these (`-----`,
/// `|---|`, `═════`) is layout, not content; emoji, letters, digits and other symbols are content.
constexpr bool is_format_char(char32_t c) noexcept {
  if (c < 0x80) return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
  if (c >= 0xA0 && c <= 0xBF) return c != 0xAA && c != 0xB5 && c != 0xBA;
  if (c == 0xD7 || c == 0xF7) return true;
  if (c >= 0x2000 && c <= 0x206F) return true;  // general punctuation
  if (c >= 0x2190 && c <= 0x21FF) return true;  // arrows
  if (c >= 0x2500 && c <= 0x25FF) return true;  // box drawing, block elements, geometric shapes
  if (c >= 0x3000 && c <= 0x3003) return true;  // ideographic space and punctuation
  return false;
}

constexpr bool is_space(char32_t c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0xA0;
}

constexpr bool is_ascii_digit(char32_t c) noexcept { return c >= '0' && c <= '9'; }

/// ASCII folding of the Latin-1 and Latin Extended-A letters U+00C0…U+017F (nullptr: not a letter).
inline const char* latin_fold(char32_t c) noexcept {
  static constexpr std::array<const char*, 0x180 - 0xC0> table = {
      // U+00C0 À Á Â Ã Ä Å Æ Ç È É Ê Ë Ì Í Î Ï
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
      // U+00D0 Ð Ñ Ò Ó Ô Õ Ö × Ø Ù Ú Û Ü Ý Þ ß
      "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
      // U+00E0 à … ï
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
      // U+00F0 ð … ÿ
      "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "y",
      // U+0100 Ā ā Ă ă Ą ą Ć ć Ĉ ĉ Ċ ċ Č č Ď ď
      "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
      // U+0110 Đ đ Ē ē Ĕ ĕ Ė ė Ę ę Ě ě Ĝ ĝ Ğ ğ
      "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
      // U+0120 Ġ ġ Ģ ģ Ĥ ĥ Ħ ħ Ĩ ĩ Ī ī Ĭ ĭ Į į
      "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
      // U+0130 İ ı Ĳ ĳ Ĵ ĵ Ķ ķ ĸ Ĺ ĺ Ļ ļ Ľ ľ Ŀ
      "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
      // U+0140 ŀ Ł ł Ń ń Ņ ņ Ň ň ŉ Ŋ ŋ Ō ō Ŏ ŏ
      "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
      // U+0150 Ő ő Œ œ Ŕ ŕ Ŗ ŗ Ř ř Ś ś Ŝ ŝ Ş ş
      "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
      // U+0160 Š š Ţ ţ Ť ť Ŧ ŧ Ũ ũ Ū ū Ŭ ŭ Ů ů
      "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
      // U+0170 Ű ű Ų ų Ŵ ŵ Ŷ ŷ Ÿ Ź ź Ż ż Ž ž ſ
      "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s"};
  if (c >= 0xC0 && c < 0x180) return table[c - 0xC0];
  switch (c) {
    case 0x218:  // Ș ș (Romanian)
    case 0x219:
      return "s";
    case 0x21A:  // Ț ț
    case 0x21B:
      return "t";
    default:
      return nullptr;
  }
}

/// Appends the matching form of one code point: ASCII letters lower-cased, Latin letters with diacritics folded
/// to ASCII, apostrophes dropped (`Farfetch’d` = `Farfetchd`), `&` → ` and `, `♀`/`♂` → ` female `/` male `,
/// other punctuation and whitespace → a space; other letters (Greek, CJK …) kept as they are.
inline void append_folded(std::string& out, char32_t c) {
  if (c < 0x80) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out.push_back(static_cast<char>(c));
    } else if (c == '\'' || c == '`') {
      // dropped
    } else if (c == '&') {
      out += " and ";
    } else {
      out.push_back(' ');
    }
    return;
  }
  if (const char* f = latin_fold(c)) {
    out += f;
    return;
  }
  switch (c) {
    case 0x2018:  // ‘ ’ ʼ ´ ′
    case 0x2019:
    case 0x02BC:
    case 0x00B4:
    case 0x2032:
      return;
    case 0x2640:
      out += " female ";
      return;
    case 0x2642:
      out += " male ";
      return;
    default:
      break;
  }
  if (is_word_char(c)) {
    append_utf8(out, c);
  } else {
    out.push_back(' ');
  }
}

/// Collapses runs of spaces to one and trims both ends (in place).
inline void collapse_spaces(std::string& s) {
  std::size_t w = 0;
  bool pending_space = false;
  for (const char ch : s) {
    if (ch == ' ') {
      pending_space = w > 0;
      continue;
    }
    if (pending_space) s[w++] = ' ';
    pending_space = false;
    s[w++] = ch;
  }
  s.resize(w);
}

/// The comparison key of an entry / item: folded (see `append_folded`), spaces collapsed, and one leading
/// English article ("the", "a", "an") removed. `"The Target"` and `"target"` share a key; so do
/// `"Mr. Mime"` / `"mr mime"`, `"Boötes"` / `"Bootes"`, `"Nidoran♀"` / `"Nidoran Female"`.
inline std::string normalise_key(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  utf8_decoder d;
  auto emit = [&](char32_t c) { append_folded(out, c); };
  d.feed(text, emit);
  d.flush(emit);
  collapse_spaces(out);
  for (const std::string_view article : {"the ", "a ", "an "}) {
    if (out.size() > article.size() && std::string_view(out).substr(0, article.size()) == article) {
      out.erase(0, article.size());
      break;
    }
  }
  return out;
}

/// Whether `s` contains a letter or digit (decoding UTF-8).
inline bool has_word_char(std::string_view s) {
  bool found = false;
  utf8_decoder d;
  auto emit = [&](char32_t c) { found = found || is_word_char(c); };
  d.feed(s, emit);
  return found;
}

/// Whether `s` is all whitespace (or empty).
inline bool is_blank(std::string_view s) noexcept {
  for (const char ch : s) {
    if (!is_space(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

/// `s` without leading and trailing ASCII whitespace.
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// A control piece: a special-token string such as `<|channel>`, `<channel|>`, `<turn|>`, `<|"|>`, `<pad>` or
/// `<unused49>` (a `<…>` tag whose inside is 1–32 characters of `[A-Za-z0-9_|"]` and that either contains `|`
/// or is one of the bracketed vocabulary specials). Control pieces are markup, not text: they are left out of the
/// character stream the text detectors see.
inline bool is_control_piece(std::string_view p) noexcept {
  if (p.size() < 3 || p.size() > 34 || p.front() != '<' || p.back() != '>') return false;
  const std::string_view inner = p.substr(1, p.size() - 2);
  bool pipe = false;
  for (const char ch : inner) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '|' || ch == '"';
    if (!ok) return false;
    pipe = pipe || ch == '|';
  }
  if (pipe) return true;
  if (inner.rfind("unused", 0) == 0) return true;
  for (const std::string_view s : {"pad", "unk", "mask", "bos", "eos", "start_of_turn", "end_of_turn"}) {
    if (inner == s) return true;
  }
  return false;
}

/// `<unused123>`-style piece.
inline bool is_unused_piece(std::string_view p) noexcept {
  constexpr std::string_view head = "<unused";
  if (p.size() < head.size() + 2 || p.substr(0, head.size()) != head || p.back() != '>') return false;
  for (std::size_t i = head.size(); i + 1 < p.size(); ++i) {
    if (p[i] < '0' || p[i] > '9') return false;
  }
  return true;
}

}  // namespace analysis::detail
SCALPEL_END_NAMESPACE
