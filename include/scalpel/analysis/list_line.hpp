#pragma once
/// @file
/// @brief Recognises one line of a numbered or bulleted list (shared by the list-collapse detector and list
/// scoring). Accepted markers, after optional indentation:
/// - numbered: 1–4 digits followed by `.` or `)`, or `(digits)`, then whitespace (`12. `, `3) `, `(4) `);
/// - bulleted: `-`, `*`, `+`, `•`, `·`, `‣`, `◦`, `▪`, `–`, `—` followed by whitespace.
/// The body must contain a letter or digit, so markdown rules (`---`, `* * *`) and empty markers are not entries.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

enum class list_marker : std::uint8_t { numbered, bullet };

/// A parsed list line; views point into the line given to `parse_list_line`.
struct list_line {
  list_marker marker = list_marker::bullet;
  std::int32_t indent = 0;   ///< leading spaces (a tab counts 4)
  std::int32_t number = -1;  ///< the number of a numbered item, else -1
  std::string_view body;     ///< the entry text, trimmed
};

namespace detail {
/// Leading labels removed: "#001", "001", "Episode 3:", "Ep. 3 -", "S01E03", "1x03", "No. 5",
/// "Season 1, Episode 3:". A label alone ("Episode 3", "Day 4") is kept; "Season 1: 13 episodes" keeps "13 episodes".
inline std::string strip_entry_labels(std::string_view s) {
  std::string_view t = detail::trim(s);
  for (int round = 0; round < 3; ++round) {
    const std::string_view before = t;
    std::size_t i = 0;
    auto lower_prefix = [&](std::string_view w) {
      if (t.size() < w.size()) return false;
      for (std::size_t k = 0; k < w.size(); ++k) {
        char c = t[k];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != w[k]) return false;
      }
      return true;
    };
    for (const std::string_view w :
         {"episode ", "ep. ", "ep ", "season ", "chapter ", "no. ", "number ", "film ", "movie ", "part "}) {
      if (lower_prefix(w)) {
        i = w.size();
        break;
      }
    }
    if (round > 0 && i == 0) break;  // after the first label only labelled numbers go ("Season 1, Episode 3:")
    std::size_t j = i;
    if (j < t.size() && t[j] == '#') ++j;
    if (j < t.size() && (t[j] == 'S' || t[j] == 's') && j + 1 < t.size() && t[j + 1] >= '0' && t[j + 1] <= '9') ++j;
    const std::size_t digits_start = j;
    while (j < t.size() && ((t[j] >= '0' && t[j] <= '9') || t[j] == 'E' || t[j] == 'e' || t[j] == 'x')) ++j;
    const bool has_digit =
        std::any_of(t.begin() + static_cast<std::ptrdiff_t>(digits_start), t.begin() + static_cast<std::ptrdiff_t>(j),
                    [](char c) { return c >= '0' && c <= '9'; });
    if (!has_digit || j == t.size()) break;
    while (j < t.size() &&
           (t[j] == '.' || t[j] == ':' || t[j] == ')' || t[j] == '-' || t[j] == ',' || t[j] == ' ' || t[j] == '\t'))
      ++j;
    if (j >= t.size() || j == digits_start) break;
    t = detail::trim(t.substr(j));
    if (t == before) break;
  }
  return std::string(t);
}

}  // namespace detail

/// Parses `line` (without its newline) as a list item; nullopt when it is not one.
inline std::optional<list_line> parse_list_line(std::string_view line) {
  list_line out;
  std::size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
    out.indent += line[i] == '\t' ? 4 : 1;
    ++i;
  }
  std::string_view rest = line.substr(i);
  auto space_after = [&](std::size_t n) { return n < rest.size() && (rest[n] == ' ' || rest[n] == '\t'); };
  std::size_t marker_len = 0;
  if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
    std::size_t d = 0;
    std::int32_t num = 0;
    while (d < rest.size() && d < 5 && rest[d] >= '0' && rest[d] <= '9') num = num * 10 + (rest[d++] - '0');
    if (d > 4 || d >= rest.size() || (rest[d] != '.' && rest[d] != ')') || !space_after(d + 1)) return std::nullopt;
    out.marker = list_marker::numbered;
    out.number = num;
    marker_len = d + 1;
  } else if (!rest.empty() && rest[0] == '(') {
    std::size_t d = 1;
    std::int32_t num = 0;
    while (d < rest.size() && d < 6 && rest[d] >= '0' && rest[d] <= '9') num = num * 10 + (rest[d++] - '0');
    if (d == 1 || d > 5 || d >= rest.size() || rest[d] != ')' || !space_after(d + 1)) return std::nullopt;
    out.marker = list_marker::numbered;
    out.number = num;
    marker_len = d + 1;
  } else {
    static constexpr std::string_view bullets[] = {"-",      "*",      "+",      "\u2022", "\u00B7",
                                                   "\u2023", "\u25E6", "\u25AA", "\u2013", "\u2014"};
    for (const std::string_view b : bullets) {
      if (rest.substr(0, b.size()) == b && space_after(b.size())) {
        marker_len = b.size();
        break;
      }
    }
    if (marker_len == 0) return std::nullopt;
    out.marker = list_marker::bullet;
  }
  out.body = detail::trim(rest.substr(marker_len));
  if (!detail::has_word_char(out.body)) return std::nullopt;
  return out;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
