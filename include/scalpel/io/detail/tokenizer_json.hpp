#pragma once
// IWYU pragma: private, include "scalpel/io/tokenizer.hpp"
/// @file
/// @brief Reader of HF `tokenizer.json` files. A DOM parse of the 32 MB Gemma file (262k vocab entries, 515k
/// merges) through nlohmann::json costs seconds and ~1 GB; this reader scans the document once with a small
/// validating cursor, streams `model.vocab` and `model.merges` straight into string pools, and hands only the
/// small sections (added tokens, normalizer, pre-tokenizer, model settings) to nlohmann::json.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/detail/tokenizer_tables.hpp"
#include "scalpel/io/detail/tokenizer_utf8.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io::detail {

/// A forward-only JSON cursor with byte-offset error messages (`file:line:col`).
class json_cursor {
 public:
  json_cursor(std::string_view text, const std::string& origin) : t_(text), origin_(origin) {}

  [[noreturn]] void error(const std::string& what) const { error_at(i_, what); }
  [[noreturn]] void error_at(std::size_t at, const std::string& what) const {
    std::size_t line = 1;
    std::size_t col = 1;
    for (std::size_t k = 0; k < at && k < t_.size(); ++k) {
      if (t_[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    fail(errc::json, origin_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  void ws() noexcept {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
  }
  /// Next non-space byte, or 0 at the end.
  char peek() noexcept {
    ws();
    return i_ < t_.size() ? t_[i_] : '\0';
  }
  void expect(char c, const char* where) {
    if (peek() != c) {
      error(std::string("expected '") + c + "' " + where + (i_ < t_.size() ? "" : " (unexpected end of file)"));
    }
    ++i_;
  }
  bool consume(char c) noexcept {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  [[nodiscard]] std::size_t pos() const noexcept { return i_; }
  [[nodiscard]] bool at_end() noexcept {
    ws();
    return i_ >= t_.size();
  }

  /// A JSON string (cursor on its opening quote); appends the unescaped bytes to `out`.
  void string(std::string& out) {
    expect('"', "(a string)");
    for (;;) {
      const std::size_t start = i_;
      while (i_ < t_.size()) {
        const auto c = static_cast<unsigned char>(t_[i_]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        ++i_;
      }
      out.append(t_.data() + start, i_ - start);
      if (i_ >= t_.size()) error("unterminated string");
      const char c = t_[i_];
      if (c == '"') {
        ++i_;
        return;
      }
      if (c != '\\') error("control character inside a string");
      ++i_;
      if (i_ >= t_.size()) error("unterminated escape");
      const char e = t_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          char32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i_ + 1 >= t_.size() || t_[i_] != '\\' || t_[i_ + 1] != 'u') error("unpaired UTF-16 surrogate");
            i_ += 2;
            const char32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) error("unpaired UTF-16 surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            error("unpaired UTF-16 surrogate");
          }
          utf8_append(out, cp);
          break;
        }
        default:
          error(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  /// A JSON integer in [lo, hi]; `what()` names it in an error (built only then).
  template <class What>
  std::int64_t integer(std::int64_t lo, std::int64_t hi, What&& what) {
    ws();
    const std::size_t start = i_;
    bool neg = false;
    if (i_ < t_.size() && t_[i_] == '-') {
      neg = true;
      ++i_;
    }
    std::int64_t v = 0;
    std::size_t digits = 0;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') {
      if (v > (INT64_MAX - 9) / 10) error_at(start, what() + ": integer too large");
      v = v * 10 + (t_[i_] - '0');
      ++i_;
      ++digits;
    }
    if (digits == 0) error_at(start, what() + ": expected an integer");
    if (i_ < t_.size() && (t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')) {
      error_at(start, what() + ": expected an integer, found a fractional number");
    }
    if (neg) v = -v;
    if (v < lo || v > hi) {
      error_at(start, what() + ": " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
    }
    return v;
  }

  /// Skip any value (validating its syntax); returns the byte range it occupied.
  std::pair<std::size_t, std::size_t> skip(int depth = 0) {
    if (depth > 512) error("nesting deeper than 512 levels");
    const char c = peek();
    const std::size_t start = i_;
    if (c == '{') {
      ++i_;
      if (!consume('}')) {
        do {
          if (peek() != '"') error("expected a string key");
          skip_string();
          expect(':', "after an object key");
          skip(depth + 1);
        } while (consume(','));
        expect('}', "to close an object");
      }
    } else if (c == '[') {
      ++i_;
      if (!consume(']')) {
        do {
          skip(depth + 1);
        } while (consume(','));
        expect(']', "to close an array");
      }
    } else if (c == '"') {
      skip_string();
    } else if (c == 't' || c == 'f' || c == 'n') {
      const std::string_view w = c == 't' ? "true" : (c == 'f' ? "false" : "null");
      if (t_.substr(i_, w.size()) != w) error("invalid literal");
      i_ += w.size();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      ++i_;
      while (i_ < t_.size() && ((t_[i_] >= '0' && t_[i_] <= '9') || t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E' ||
                                t_[i_] == '+' || t_[i_] == '-')) {
        ++i_;
      }
    } else if (c == '\0') {
      error("unexpected end of file");
    } else {
      error(std::string("unexpected character '") + c + "'");
    }
    return {start, i_};
  }

  /// Skip a value and parse it with nlohmann::json (for the small sections).
  nlohmann::json small_value() {
    const auto [b, e] = skip();
    try {
      return nlohmann::json::parse(t_.substr(b, e - b));
    } catch (const std::exception& ex) {
      error_at(b, std::string("malformed JSON value: ") + ex.what());
    }
  }

 private:
  void skip_string() {
    expect('"', "(a string)");
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == '"') {
        ++i_;
        return;
      }
      if (static_cast<unsigned char>(c) < 0x20) error("control character inside a string");
      i_ += c == '\\' ? 2 : 1;
    }
    error("unterminated string");
  }
  char32_t hex4() {
    if (i_ + 4 > t_.size()) error("truncated \\u escape");
    char32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = t_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<char32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<char32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<char32_t>(h - 'A' + 10);
      } else {
        error("invalid \\u escape");
      }
    }
    return v;
  }

  std::string_view t_;
  const std::string& origin_;
  std::size_t i_ = 0;
};

/// Append `s` to a pool and return its slice (pools stay below 4 GiB).
inline piece_ref pool_append(std::string& pool, std::string_view s, const std::string& origin) {
  if (pool.size() + s.size() > 0xFFFFFFFFull) fail(errc::unsupported, origin + ": vocabulary larger than 4 GiB");
  const piece_ref r{static_cast<std::uint32_t>(pool.size()), static_cast<std::uint32_t>(s.size())};
  pool.append(s);
  return r;
}

/// Whether `n` (a normalizer object) is HF's `Replace` of the String " " by "▁".
inline bool is_space_to_metaspace(const nlohmann::json& n) {
  if (!n.is_object() || n.value("type", std::string()) != "Replace") return false;
  const auto pat = n.find("pattern");
  const auto content = n.find("content");
  if (pat == n.end() || content == n.end() || !pat->is_object() || !content->is_string()) return false;
  const auto str = pat->find("String");
  return str != pat->end() && str->is_string() && str->get<std::string>() == " " &&
         content->get<std::string>() == "\xE2\x96\x81";
}

/// Interpret the `normalizer` section. Supported: null, the space->▁ `Replace`, or a `Sequence` of exactly that.
inline bool parse_normalizer(const nlohmann::json& n, const std::string& origin) {
  if (n.is_null()) return false;
  if (is_space_to_metaspace(n)) return true;
  if (n.is_object() && n.value("type", std::string()) == "Sequence") {
    const auto list = n.find("normalizers");
    if (list != n.end() && list->is_array()) {
      bool any = false;
      for (const auto& x : *list) {
        if (!is_space_to_metaspace(x)) {
          fail(errc::unsupported, origin + ": normalizer " + x.dump() +
                                      " is not supported (scalpel implements Gemma's Replace(' ' -> '\xE2\x96\x81'))");
        }
        any = true;
      }
      return any;
    }
  }
  fail(errc::unsupported, origin + ": normalizer " + n.dump().substr(0, 200) +
                              " is not supported (scalpel implements Gemma's Replace(' ' -> '\xE2\x96\x81'))");
}

/// Check the `pre_tokenizer` section: null, or a `Split` on the String " " (a no-op once spaces became ▁).
inline void check_pre_tokenizer(const nlohmann::json& p, bool replace_spaces, const std::string& origin) {
  if (p.is_null()) return;
  if (p.is_object() && p.value("type", std::string()) == "Split" && replace_spaces) {
    const auto pat = p.find("pattern");
    if (pat != p.end() && pat->is_object()) {
      const auto str = pat->find("String");
      if (str != pat->end() && str->is_string() && str->get<std::string>() == " ") return;
    }
  }
  fail(errc::unsupported, origin + ": pre_tokenizer " + p.dump().substr(0, 200) +
                              " is not supported (Gemma BPE applies no word pre-split)");
}

/// Fill `src` from the settings of `model` (everything but vocab and merges).
inline void parse_model_settings(const nlohmann::json& m, tokenizer_source& src) {
  const std::string& o = src.origin;
  const auto str_or_null = [&](const char* key) -> std::string {
    const auto it = m.find(key);
    if (it == m.end() || it->is_null()) return {};
    if (!it->is_string()) fail(errc::json, o + ": model." + key + " must be a string or null");
    return it->get<std::string>();
  };
  const auto flag = [&](const char* key, bool fallback) -> bool {
    const auto it = m.find(key);
    if (it == m.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(errc::json, o + ": model." + key + " must be a boolean");
    return it->get<bool>();
  };
  const auto type = m.find("type");
  if (type == m.end()) fail(errc::json, o + ": model.type is missing (expected \"BPE\")");
  if (!type->is_string() || type->get<std::string>() != "BPE") {
    fail(errc::unsupported, o + ": model.type is " + type->dump() + ", scalpel reads BPE tokenizers only");
  }
  if (const auto d = m.find("dropout"); d != m.end() && !d->is_null()) {
    if (!d->is_number() || d->get<double>() != 0.0) fail(errc::unsupported, o + ": BPE dropout is not supported");
  }
  if (!str_or_null("continuing_subword_prefix").empty() || !str_or_null("end_of_word_suffix").empty()) {
    fail(errc::unsupported, o + ": continuing_subword_prefix / end_of_word_suffix are not supported");
  }
  src.unk_token = str_or_null("unk_token");
  src.byte_fallback = flag("byte_fallback", false);
  src.ignore_merges = flag("ignore_merges", false);
}

/// Fill `src.added` from the `added_tokens` array.
inline void parse_added_tokens(const nlohmann::json& a, tokenizer_source& src) {
  const std::string& o = src.origin;
  if (a.is_null()) return;
  if (!a.is_array()) fail(errc::json, o + ": added_tokens must be an array");
  for (std::size_t k = 0; k < a.size(); ++k) {
    const auto& t = a[k];
    const std::string where = o + ": added_tokens[" + std::to_string(k) + "]";
    if (!t.is_object()) fail(errc::json, where + " must be an object");
    const auto id = t.find("id");
    const auto content = t.find("content");
    if (id == t.end() || !id->is_number_integer()) fail(errc::json, where + ".id is missing or not an integer");
    if (content == t.end() || !content->is_string()) fail(errc::json, where + ".content is missing or not a string");
    added_token_decl d;
    d.id = id->get<std::int64_t>();
    d.content = content->get<std::string>();
    const auto flag = [&](const char* key) {
      const auto it = t.find(key);
      if (it == t.end() || it->is_null()) return false;
      if (!it->is_boolean()) fail(errc::json, where + "." + key + " must be a boolean");
      return it->get<bool>();
    };
    d.special = flag("special");
    d.lstrip = flag("lstrip");
    d.rstrip = flag("rstrip");
    if (flag("single_word")) fail(errc::unsupported, where + " ('" + d.content + "'): single_word is not supported");
    if (flag("normalized") &&
        (d.content.find(' ') != std::string::npos || d.content.find("\xE2\x96\x81") != std::string::npos)) {
      fail(errc::unsupported, where + " ('" + d.content + "'): normalized added tokens with spaces are not supported");
    }
    src.added.push_back(std::move(d));
  }
}

/// Stream `model.vocab` (an object piece -> id) into the vocab pool.
inline void read_vocab(json_cursor& c, tokenizer_source& src) {
  if (c.peek() != '{') c.error("model.vocab must be an object {piece: id} (a BPE vocabulary)");
  c.expect('{', "");
  std::string key;
  if (c.consume('}')) return;
  do {
    key.clear();
    if (c.peek() != '"') c.error("model.vocab: expected a string key");
    c.string(key);
    c.expect(':', "after a vocab piece");
    const std::int64_t id = c.integer(0, 0x7FFFFFFE, [&] { return "model.vocab[\"" + key + "\"]"; });
    src.vocab.push_back(pool_append(src.vocab_pool, key, src.origin));
    src.vocab_id.push_back(id);
  } while (c.consume(','));
  c.expect('}', "to close model.vocab");
}

/// Stream `model.merges` ("a b" strings or ["a", "b"] pairs) into the merge pool.
inline void read_merges(json_cursor& c, tokenizer_source& src) {
  if (c.peek() != '[') c.error("model.merges must be an array");
  c.expect('[', "");
  if (c.consume(']')) return;
  std::string a;
  std::string b;
  do {
    const std::size_t k = src.merge_a.size();
    a.clear();
    b.clear();
    const char first = c.peek();
    if (first == '"') {
      const std::size_t at = c.pos();
      c.string(a);
      const std::size_t sp = a.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= a.size() || a.find(' ', sp + 1) != std::string::npos) {
        c.error_at(at,
                   "model.merges[" + std::to_string(k) + "] = \"" + a + "\" is not two tokens separated by one space");
      }
      b.assign(a, sp + 1, std::string::npos);
      a.resize(sp);
    } else if (first == '[') {
      c.expect('[', "");
      if (c.peek() != '"') c.error("model.merges[" + std::to_string(k) + "] must hold two strings");
      c.string(a);
      c.expect(',', "between the two tokens of a merge");
      if (c.peek() != '"') c.error("model.merges[" + std::to_string(k) + "] must hold two strings");
      c.string(b);
      if (c.peek() != ']') c.error("model.merges[" + std::to_string(k) + "] must hold exactly two strings");
      c.expect(']', "");
    } else {
      c.error("model.merges[" + std::to_string(k) + "] must be a string \"a b\" or a pair [\"a\", \"b\"]");
    }
    src.merge_a.push_back(pool_append(src.merge_pool, a, src.origin));
    src.merge_b.push_back(pool_append(src.merge_pool, b, src.origin));
  } while (c.consume(','));
  c.expect(']', "to close model.merges");
}

/// Parse a whole tokenizer.json document.
inline tokenizer_source read_tokenizer_json(std::string_view text, const std::string& origin) {
  tokenizer_source src;
  src.origin = origin;
  json_cursor c(text, origin);
  if (c.peek() != '{') c.error("a tokenizer.json must be a JSON object");
  c.expect('{', "");
  bool saw_model = false;
  bool saw_vocab = false;
  bool saw_merges = false;
  bool saw_normalizer = false;
  nlohmann::json pre_tokenizer;
  std::string key;
  if (!c.consume('}')) {
    do {
      key.clear();
      if (c.peek() != '"') c.error("expected a string key");
      c.string(key);
      c.expect(':', "after an object key");
      if (key == "model") {
        saw_model = true;
        if (c.peek() != '{') c.error("\"model\" must be an object");
        c.expect('{', "");
        nlohmann::json settings = nlohmann::json::object();
        std::string mkey;
        if (!c.consume('}')) {
          do {
            mkey.clear();
            if (c.peek() != '"') c.error("expected a string key in \"model\"");
            c.string(mkey);
            c.expect(':', "after an object key");
            if (mkey == "vocab") {
              saw_vocab = true;
              read_vocab(c, src);
            } else if (mkey == "merges") {
              saw_merges = true;
              read_merges(c, src);
            } else {
              settings[mkey] = c.small_value();
            }
          } while (c.consume(','));
          c.expect('}', "to close \"model\"");
        }
        parse_model_settings(settings, src);
      } else if (key == "added_tokens") {
        parse_added_tokens(c.small_value(), src);
      } else if (key == "normalizer") {
        saw_normalizer = true;
        src.replace_spaces = parse_normalizer(c.small_value(), origin);
      } else if (key == "pre_tokenizer") {
        pre_tokenizer = c.small_value();
      } else {
        c.skip();
      }
    } while (c.consume(','));
    c.expect('}', "to close the document");
  }
  if (!c.at_end()) c.error("trailing characters after the JSON document");
  if (!saw_model) fail(errc::json, origin + ": the \"model\" section is missing");
  if (!saw_vocab) fail(errc::json, origin + ": model.vocab is missing");
  if (!saw_merges) fail(errc::json, origin + ": model.merges is missing");
  if (!saw_normalizer) src.replace_spaces = false;
  check_pre_tokenizer(pre_tokenizer, src.replace_spaces, origin);
  return src;
}

}  // namespace io::detail
SCALPEL_END_NAMESPACE
