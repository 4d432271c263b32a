#pragma once
/// @file
/// @brief Scores an enumeration answer against a gold list, so "wrong but not looping" is visible: coverage
/// (fraction of gold found), correctness (fraction of produced items that are gold), duplicates and where the
/// first one is, and the number of items. See docs/probes.md ("Scoring").
///
/// Parsing (`parse_list_items`): the thinking channel and control tags are removed; then, in order of
/// preference, numbered/bulleted list lines (group headers with indented sub-items are skipped), markdown table
/// rows (header and separator rows skipped), comma/semicolon-separated items, or short plain lines.
/// Matching (`gold_index`): names and aliases are compared by `detail::normalise_key` (case, Latin diacritics,
/// punctuation, spacing, a leading article); each item tries several candidate readings (whole text, without
/// parentheses, quoted titles, parts split at " - ", ": ", " | ", ", " …, leading labels such as "Episode 3:"
/// removed); a secondary key without one-letter initials ("John F. Kennedy" = "John Kennedy") and a key
/// without spaces are used when they are unambiguous in the gold list.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/analysis/list_line.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// One gold entry: its name, accepted aliases, and how often a correct answer may list it (2 for Grover
/// Cleveland and Donald Trump in a list of presidencies).
struct gold_item {
  std::string name;
  std::vector<std::string> aliases;
  std::int32_t max_occurrences = 1;
};

/// A gold list: required items (coverage counts these) and accepted extras (correct but optional, e.g.
/// oganesson among the noble gases).
struct gold_list {
  std::vector<gold_item> items;
  std::vector<gold_item> extras;
  bool ordered = false;  ///< the items are in a canonical order (release order, numbering); enables order_agreement
};

/// How an item was found in the text.
enum class list_item_kind : std::uint8_t { list, table, comma, line };

constexpr std::string_view list_item_kind_name(list_item_kind k) noexcept {
  switch (k) {
    case list_item_kind::list:
      return "list";
    case list_item_kind::table:
      return "table";
    case list_item_kind::comma:
      return "comma";
    case list_item_kind::line:
      return "line";
  }
  return "list";
}

/// One produced item: its text and the candidate readings tried against the gold list, best first.
struct list_item {
  std::string text;
  std::vector<std::string> candidates;
  list_item_kind kind = list_item_kind::list;
};

namespace detail {

/// Removes the thinking channel (`<|channel>` … `<channel|>`, or to the end when unclosed) and other control tags.
inline std::string strip_thinking(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find("<|channel>", i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    const std::size_t close = text.find("<channel|>", open);
    if (close == std::string_view::npos) break;
    i = close + std::string_view("<channel|>").size();
  }
  // drop remaining control tags (<turn|>, <eos> …)
  std::string clean;
  for (std::size_t k = 0; k < out.size();) {
    if (out[k] == '<') {
      const std::size_t end = out.find('>', k);
      if (end != std::string::npos && end - k < 36 && is_control_piece(std::string_view(out).substr(k, end - k + 1))) {
        k = end + 1;
        continue;
      }
    }
    clean.push_back(out[k++]);
  }
  return clean;
}

/// Markdown emphasis, code ticks and links removed: `**[Iron Man](url)**` → `Iron Man`.
inline std::string strip_markdown(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '*' || c == '`' || (c == '_' && i + 1 < s.size() && s[i + 1] == '_')) {
      if (c == '_') ++i;
      continue;
    }
    if (c == ']' && i + 1 < s.size() && s[i + 1] == '(') {  // skip the link target
      const std::size_t close = s.find(')', i + 2);
      if (close != std::string_view::npos) {
        i = close;
        continue;
      }
    }
    if (c == '[') continue;
    out.push_back(c);
  }
  return std::string(trim(out));
}

/// `s` with (…) and […] parts removed.
inline std::string remove_brackets(std::string_view s) {
  std::string out;
  int depth = 0;
  for (const char c : s) {
    if (c == '(' || c == '[') {
      ++depth;
    } else if ((c == ')' || c == ']') && depth > 0) {
      --depth;
    } else if (depth == 0) {
      out.push_back(c);
    }
  }
  return std::string(trim(out));
}

inline std::vector<std::string> split_on(std::string_view s, std::string_view sep) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (true) {
    const std::size_t j = s.find(sep, i);
    parts.emplace_back(trim(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i)));
    if (j == std::string_view::npos) break;
    i = j + sep.size();
  }
  return parts;
}

/// Quoted parts: "…", “…”, «…».
inline std::vector<std::string> quoted_parts(std::string_view s) {
  std::vector<std::string> out;
  const std::pair<std::string_view, std::string_view> quotes[] = {
      {"\"", "\""}, {"\u201C", "\u201D"}, {"\u00AB", "\u00BB"}};
  for (const auto& [open, close] : quotes) {
    std::size_t i = 0;
    while ((i = s.find(open, i)) != std::string_view::npos) {
      const std::size_t j = s.find(close, i + open.size());
      if (j == std::string_view::npos) break;
      const auto inner = trim(s.substr(i + open.size(), j - i - open.size()));
      if (!inner.empty()) out.emplace_back(inner);
      i = j + close.size();
    }
  }
  return out;
}

/// Candidate readings of one item's text, best first, without duplicates.
inline std::vector<std::string> item_candidates(std::string_view raw, bool suffixes) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto add = [&](std::string c) {
    c = std::string(trim(c));
    if (!c.empty() && seen.insert(c).second) out.push_back(std::move(c));
  };
  const std::string full = strip_markdown(raw);
  add(full);
  const std::string bare = remove_brackets(full);
  add(bare);
  for (auto& q : quoted_parts(full)) add(q);
  add(strip_entry_labels(bare));
  for (const std::string_view sep : {" - ", " \u2013 ", " \u2014 ", " | ", ": ", ", ", " / ", "; "}) {
    if (bare.find(sep) == std::string::npos) continue;
    for (auto& part : split_on(bare, sep)) {
      add(part);
      add(strip_entry_labels(part));
    }
  }
  if (suffixes) {  // "The noble gases are helium" → "helium", "are helium", …
    std::vector<std::string_view> words;
    std::string_view b = bare;
    std::size_t i = 0;
    while (i < b.size()) {
      while (i < b.size() && b[i] == ' ') ++i;
      const std::size_t j = std::min(b.find(' ', i), b.size());
      if (j > i) words.push_back(b.substr(i, j - i));
      i = j;
    }
    for (std::size_t k = 1; k <= 4 && k < words.size(); ++k) {
      std::string s;
      for (std::size_t w = words.size() - k; w < words.size(); ++w) {
        if (!s.empty()) s.push_back(' ');
        s.append(words[w]);
      }
      add(s);
    }
  }
  return out;
}

inline bool is_table_separator(const std::vector<std::string>& cells) {
  return std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
    return !c.empty() && c.find_first_not_of("-: ") == std::string::npos;
  });
}

inline std::vector<std::string> table_cells(std::string_view line) {
  std::string_view t = trim(line);
  if (!t.empty() && t.front() == '|') t.remove_prefix(1);
  if (!t.empty() && t.back() == '|') t.remove_suffix(1);
  return split_on(t, "|");
}

}  // namespace detail

/// Items of an enumeration answer (parsing rules in the file comment).
inline std::vector<list_item> parse_list_items(std::string_view text) {
  const std::string answer = detail::strip_thinking(text);
  std::vector<std::string> lines;
  {
    bool in_code = false;
    for (auto& l : detail::split_on(answer, "\n")) {
      if (l.rfind("```", 0) == 0 || l.rfind("~~~", 0) == 0) {
        in_code = !in_code;
        continue;
      }
      if (!in_code) lines.push_back(std::move(l));
    }
  }
  // split_on trims; list indentation matters for group headers, so re-split the raw answer for list lines
  std::vector<std::string> raw_lines;
  {
    bool in_code = false;
    std::size_t i = 0;
    while (i <= answer.size()) {
      const std::size_t j = std::min(answer.find('\n', i), answer.size());
      std::string l = answer.substr(i, j - i);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      const auto t = detail::trim(l);
      if (t.rfind("```", 0) == 0 || t.rfind("~~~", 0) == 0) {
        in_code = !in_code;
      } else if (!in_code) {
        raw_lines.push_back(std::move(l));
      }
      i = j + 1;
    }
  }

  std::vector<list_item> items;
  // 1. list lines and table rows
  struct pending {
    list_line line;
    std::string body;
  };
  std::vector<pending> list_lines;
  for (const auto& l : raw_lines) {
    if (auto p = parse_list_line(l)) list_lines.push_back({*p, std::string(p->body)});
  }
  for (std::size_t k = 0; k < list_lines.size(); ++k) {
    const bool group_header = k + 1 < list_lines.size() && list_lines[k + 1].line.indent > list_lines[k].line.indent;
    if (group_header) continue;
    items.push_back({list_lines[k].body, detail::item_candidates(list_lines[k].body, false), list_item_kind::list});
  }
  {
    std::vector<std::vector<std::string>> rows;
    auto flush_table = [&] {
      // header row = the row before the separator row
      for (std::size_t r = 0; r < rows.size(); ++r) {
        if (detail::is_table_separator(rows[r])) continue;
        if (r + 1 < rows.size() && detail::is_table_separator(rows[r + 1])) continue;
        list_item it;
        it.kind = list_item_kind::table;
        for (const auto& cell : rows[r]) {
          const std::string c = detail::strip_markdown(cell);
          if (c.empty() || c.find_first_not_of("0123456789.#: ") == std::string::npos) continue;
          if (it.text.empty()) it.text = c;
          for (auto& cand : detail::item_candidates(c, false)) it.candidates.push_back(std::move(cand));
        }
        if (!it.text.empty()) items.push_back(std::move(it));
      }
      rows.clear();
    };
    for (const auto& l : lines) {
      if (!l.empty() && l.front() == '|') {
        rows.push_back(detail::table_cells(l));
      } else {
        flush_table();
      }
    }
    flush_table();
  }
  if (items.size() >= 3) return items;

  // 2. comma / semicolon separated items
  std::vector<list_item> comma;
  for (const auto& l : lines) {
    const auto commas = std::count(l.begin(), l.end(), ',') + std::count(l.begin(), l.end(), ';');
    if (commas < 2) continue;
    std::string flat = l;
    std::replace(flat.begin(), flat.end(), ';', ',');
    for (auto& part : detail::split_on(flat, ",")) {
      std::string p = part;
      for (const std::string_view lead : {"and ", "or ", "& "}) {
        if (p.rfind(lead, 0) == 0) p.erase(0, lead.size());
      }
      while (!p.empty() && (p.back() == '.' || p.back() == '!')) p.pop_back();
      if (detail::normalise_key(p).empty()) continue;
      comma.push_back({p, detail::item_candidates(p, true), list_item_kind::comma});
    }
  }
  if (comma.size() >= 3) return comma;

  // 3. short plain lines
  std::vector<list_item> plain;
  for (const auto& l : lines) {
    if (l.empty() || l.back() == ':') continue;
    const auto words = std::count(l.begin(), l.end(), ' ') + 1;
    if (words > 8 || detail::normalise_key(l).empty()) continue;
    plain.push_back({l, detail::item_candidates(l, false), list_item_kind::line});
  }
  if (plain.size() >= 3) return plain;
  // short answers: list items, else comma items, else at least two plain lines ("I don't know." is no list)
  if (!items.empty()) return items;
  if (!comma.empty()) return comma;
  return plain.size() >= 2 ? plain : std::vector<list_item>{};
}

/// A gold item found: its index in `gold_list::items`, or in `extras` when `extra`.
struct gold_match {
  std::int32_t index = -1;
  bool extra = false;
  friend bool operator==(const gold_match&, const gold_match&) = default;
};

/// Lookup of candidate strings in a gold list (keys described in the file comment).
class gold_index {
 public:
  /// @throws scalpel::error (invalid_argument) when two different gold items share a normalised name/alias,
  /// naming both.
  explicit gold_index(const gold_list& gold) : gold_(gold) {
    std::unordered_map<std::string, gold_match> initials, joined;
    std::unordered_set<std::string> bad_initials, bad_joined;
    auto add_all = [&](const std::vector<gold_item>& list, bool extra) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const gold_match m{static_cast<std::int32_t>(i), extra};
        std::vector<std::string> names{list[i].name};
        names.insert(names.end(), list[i].aliases.begin(), list[i].aliases.end());
        for (const auto& n : names) {
          const std::string key = detail::normalise_key(n);
          if (key.empty()) fail(errc::invalid_argument, "gold list: '" + n + "' has no letters or digits");
          const auto [it, inserted] = primary_.try_emplace(key, m);
          if (!inserted && !(it->second == m))
            fail(errc::invalid_argument, "gold list: '" + n + "' (of '" + list[i].name + "') and '" +
                                             name_of(it->second) + "' normalise to the same key '" + key + "'");
          secondary_key(initials, bad_initials, without_initials(key), m);
          secondary_key(joined, bad_joined, without_spaces(key), m);
        }
      }
    };
    add_all(gold.items, false);
    add_all(gold.extras, true);
    initials_ = std::move(initials);
    joined_ = std::move(joined);
  }

  /// The gold item a candidate names, if any.
  [[nodiscard]] std::optional<gold_match> find(std::string_view candidate) const {
    const std::string key = detail::normalise_key(candidate);
    if (key.empty()) return std::nullopt;
    if (auto it = primary_.find(key); it != primary_.end()) return it->second;
    if (auto it = initials_.find(without_initials(key)); it != initials_.end()) return it->second;
    if (auto it = joined_.find(without_spaces(key)); it != joined_.end()) return it->second;
    return std::nullopt;
  }

  /// The first candidate of `item` that names a gold item.
  [[nodiscard]] std::optional<gold_match> match(const list_item& item) const {
    for (const auto& c : item.candidates) {
      if (auto m = find(c)) return m;
    }
    return std::nullopt;
  }

  [[nodiscard]] const gold_list& gold() const noexcept { return gold_; }
  [[nodiscard]] const std::string& name_of(const gold_match& m) const {
    return (m.extra ? gold_.extras : gold_.items)[static_cast<std::size_t>(m.index)].name;
  }

 private:
  static std::string without_initials(const std::string& key) {
    std::string out;
    std::size_t i = 0;
    while (i < key.size()) {
      const std::size_t j = std::min(key.find(' ', i), key.size());
      const bool initial = j - i == 1 && key[i] >= 'a' && key[i] <= 'z';  // one letter; digits stay ("iron man 2")
      if (j > i && !initial) {
        if (!out.empty()) out.push_back(' ');
        out.append(key, i, j - i);
      }
      i = j + 1;
    }
    return out;
  }
  static std::string without_spaces(const std::string& key) {
    std::string out;
    for (const char c : key) {
      if (c != ' ') out.push_back(c);
    }
    return out;
  }
  static void secondary_key(std::unordered_map<std::string, gold_match>& map, std::unordered_set<std::string>& bad,
                            const std::string& key, const gold_match& m) {
    if (key.empty() || bad.count(key) != 0) return;
    const auto [it, inserted] = map.try_emplace(key, m);
    if (!inserted && !(it->second == m)) {  // ambiguous: "george bush" for both Bushes
      map.erase(it);
      bad.insert(key);
    }
  }

  gold_list gold_;
  std::unordered_map<std::string, gold_match> primary_;
  std::unordered_map<std::string, gold_match> initials_;
  std::unordered_map<std::string, gold_match> joined_;
};

/// The score of one answer (see the file comment).
struct list_score {
  std::int64_t items = 0;             ///< items produced
  std::int64_t correct = 0;           ///< produced items that are gold items or accepted extras (repeats included)
  std::int64_t gold_size = 0;         ///< required gold items
  std::int64_t gold_found = 0;        ///< distinct required gold items found
  std::int64_t extras_found = 0;      ///< distinct accepted extras found
  std::int64_t duplicates = 0;        ///< items repeating an earlier one beyond its allowed occurrences
  std::int64_t first_duplicate = -1;  ///< 0-based index of the first such item, -1 if none
  std::string first_duplicate_item;
  double coverage = 0.0;             ///< gold_found / gold_size
  double correctness = 0.0;          ///< correct / items
  double order_agreement = -1.0;     ///< ordered gold: share of consecutive found items in gold order (-1: n/a)
  std::string mode = "none";         ///< how items were read: list, table, comma, line, none
  std::vector<std::string> missing;  ///< required gold names not found
  std::vector<std::string> wrong;    ///< distinct produced items not in gold (first 100)
};

/// Scores parsed items against an index.
inline list_score score_items(const std::vector<list_item>& items, const gold_index& index) {
  const gold_list& gold = index.gold();
  list_score s;
  s.gold_size = static_cast<std::int64_t>(gold.items.size());
  if (!items.empty()) s.mode = std::string(list_item_kind_name(items.front().kind));
  std::vector<std::int32_t> seen_items(gold.items.size(), 0), seen_extras(gold.extras.size(), 0);
  std::unordered_set<std::string> seen_wrong;
  std::vector<std::int32_t> order;  // gold indices of first occurrences, in answer order
  // A comma item such as "xenon and radon" that names no gold item as a whole may name two.
  std::vector<list_item> split_items;
  const std::vector<list_item>* list = &items;
  if (std::any_of(items.begin(), items.end(), [](const list_item& i) { return i.kind == list_item_kind::comma; })) {
    for (const auto& it : items) {
      const std::size_t and_pos = it.text.find(" and ");
      if (it.kind == list_item_kind::comma && and_pos != std::string::npos) {
        const std::string left = it.text.substr(0, and_pos), right = it.text.substr(and_pos + 5);
        list_item a{left, detail::item_candidates(left, true), it.kind};
        list_item b{right, detail::item_candidates(right, false), it.kind};
        const bool ma = index.match(a).has_value(), mb = index.match(b).has_value();
        // both halves are gold ("xenon and radon"), or the whole is not but a half is; "Duck and Cover" stays
        const bool whole = index.find(detail::remove_brackets(detail::strip_markdown(it.text))).has_value();
        if ((ma && mb && !whole) || (!whole && !index.match(it) && (ma || mb))) {
          split_items.push_back(std::move(a));
          split_items.push_back(std::move(b));
          continue;
        }
      }
      split_items.push_back(it);
    }
    list = &split_items;
  }
  const std::vector<list_item>& produced = *list;
  s.items = static_cast<std::int64_t>(produced.size());
  for (std::size_t k = 0; k < produced.size(); ++k) {
    bool dup = false;
    if (const auto m = index.match(produced[k])) {
      ++s.correct;
      const auto i = static_cast<std::size_t>(m->index);
      auto& seen = m->extra ? seen_extras[i] : seen_items[i];
      const auto& item = m->extra ? gold.extras[i] : gold.items[i];
      if (seen == 0 && !m->extra) order.push_back(m->index);
      dup = ++seen > std::max(1, item.max_occurrences);
    } else {
      const std::string key = detail::normalise_key(detail::remove_brackets(detail::strip_markdown(produced[k].text)));
      dup = !seen_wrong.insert(key).second;
      if (!dup && s.wrong.size() < 100) s.wrong.push_back(produced[k].text);
    }
    if (dup) {
      ++s.duplicates;
      if (s.first_duplicate < 0) {
        s.first_duplicate = static_cast<std::int64_t>(k);
        s.first_duplicate_item = produced[k].text;
      }
    }
  }
  for (std::size_t i = 0; i < gold.items.size(); ++i) {
    if (seen_items[i] > 0) {
      ++s.gold_found;
    } else {
      s.missing.push_back(gold.items[i].name);
    }
  }
  for (const auto c : seen_extras) s.extras_found += c > 0 ? 1 : 0;
  s.coverage = s.gold_size > 0 ? static_cast<double>(s.gold_found) / static_cast<double>(s.gold_size) : 0.0;
  s.correctness = s.items > 0 ? static_cast<double>(s.correct) / static_cast<double>(s.items) : 0.0;
  if (gold.ordered && order.size() >= 2) {
    std::size_t in_order = 0;
    for (std::size_t k = 1; k < order.size(); ++k) in_order += order[k] > order[k - 1] ? 1u : 0u;
    s.order_agreement = static_cast<double>(in_order) / static_cast<double>(order.size() - 1);
  }
  return s;
}

/// Parses `text` and scores it against `gold`.
/// @throws scalpel::error (invalid_argument) when the gold list is ambiguous (see `gold_index`).
inline list_score score_list(std::string_view text, const gold_list& gold) {
  const gold_index index(gold);
  return score_items(parse_list_items(text), index);
}

/// JSON of a score: {"items", "correct", "gold_size", "gold_found", "extras_found", "coverage", "correctness",
/// "duplicates", "first_duplicate", "first_duplicate_item", "order_agreement", "mode", "missing", "wrong"}.
inline nlohmann::json to_json(const list_score& s) {
  return nlohmann::json{{"items", s.items},
                        {"correct", s.correct},
                        {"gold_size", s.gold_size},
                        {"gold_found", s.gold_found},
                        {"extras_found", s.extras_found},
                        {"coverage", s.coverage},
                        {"correctness", s.correctness},
                        {"duplicates", s.duplicates},
                        {"first_duplicate", s.first_duplicate},
                        {"first_duplicate_item", s.first_duplicate_item},
                        {"order_agreement", s.order_agreement},
                        {"mode", s.mode},
                        {"missing", s.missing},
                        {"wrong", s.wrong}};
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
