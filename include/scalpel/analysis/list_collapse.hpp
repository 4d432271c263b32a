#pragma once
/// @file
/// @brief List-collapse detector: a numbered or bulleted list (or a markdown table) whose entries decay onto one
/// repeated answer ("… 41. Canis Major 42. Canis Major 43. Canis Major …"). Numbering changes from line to line,
/// so no verbatim detector sees this; entries are compared after normalisation (numbering, bullets, case,
/// diacritics, punctuation and whitespace removed; in table rows, cells that are only numbers are dropped).
///
/// Structure: a *block* is a maximal run of list lines (`list_line.hpp`); blank lines and indented continuation
/// lines do not end it, any other line does (a heading, a paragraph); fenced code (```) is skipped. Within a block,
/// entries are grouped with their *siblings*: an entry indented deeper than the previous one opens a child group
/// (sub-bullets under one item), which ends when the indentation returns. A markdown table (consecutive `|` lines,
/// separator rows skipped) is one group. Rules, checked per group each time an entry completes:
/// - share (paper-notes): the group has ≥ `min_entries` entries and one normalised entry fills ≥ `min_share` of
///   them;
/// - cycle (extension, fires sooner online): the group's entry sequence ends in a cycle of 1..`max_cycle_entries`
///   entries continued for ≥ `cycle_min_run_entries` entries beyond its first cycle (11 identical entries in a
///   row with the defaults). Set `max_cycle_entries = 0` to use the share rule alone.
/// Grouping by siblings keeps per-item details ("  - Phase One" under every film) from counting as a collapse.
///
/// Cost: O(1) amortised per character (a line is normalised once when it ends; counts live in hash maps).

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/analysis/list_line.hpp"
#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Thresholds of the list-collapse detector (share rule: paper-notes "Detectors", reconstructed).
struct list_collapse_config {
  bool enabled = true;
  std::int64_t min_entries = 10;            ///< entries the group needs before the share rule applies
  double min_share = 0.5;                   ///< share of entries taken by the most frequent one
  std::int32_t max_cycle_entries = 4;       ///< cycle rule: cycles of 1..this many entries (0 disables it)
  std::int64_t cycle_min_run_entries = 10;  ///< cycle rule: entries beyond the first cycle that continue it
  bool tables = true;                       ///< markdown table rows count as entries

  /// @throws scalpel::error (invalid_argument) naming the field when a value is out of range.
  void validate() const {
    if (min_entries < 1)
      fail(errc::invalid_argument, "list_collapse.min_entries must be >= 1, got " + std::to_string(min_entries));
    if (!(min_share > 0.0 && min_share <= 1.0))
      fail(errc::invalid_argument, "list_collapse.min_share must be in (0, 1], got " + std::to_string(min_share));
    if (max_cycle_entries < 0 || max_cycle_entries > 64)
      fail(errc::invalid_argument,
           "list_collapse.max_cycle_entries must be in [0, 64], got " + std::to_string(max_cycle_entries));
    if (cycle_min_run_entries < 1)
      fail(errc::invalid_argument,
           "list_collapse.cycle_min_run_entries must be >= 1, got " + std::to_string(cycle_min_run_entries));
  }
};

namespace detail {
/// The comparison key of a markdown table row: normalised cells, number-only cells dropped ("| 42 | Canis Major |"
/// and "| 43 | Canis Major |" share a key). Empty for separator rows.
inline std::string table_row_key(std::string_view line) {
  std::string_view t = trim(line);
  if (!t.empty() && t.front() == '|') t.remove_prefix(1);
  if (!t.empty() && t.back() == '|') t.remove_suffix(1);
  std::string key;
  std::size_t i = 0;
  while (i <= t.size()) {
    const std::size_t j = std::min(t.find('|', i), t.size());
    const std::string cell = normalise_key(t.substr(i, j - i));
    if (!cell.empty() && cell.find_first_not_of("0123456789 ") != std::string::npos) {
      if (!key.empty()) key += " | ";
      key += cell;
    }
    i = j + 1;
  }
  return key;
}
}  // namespace detail

/// Online list-collapse detector over characters.
class list_collapse_detector {
 public:
  explicit list_collapse_detector(const list_collapse_config& cfg = {}) : cfg_(cfg) {
    cfg_.validate();
    reset();
  }

  /// Feeds the next character and the index of its token. Returns true when the detector fires (at a newline).
  bool push(char32_t c, std::int64_t token) {
    if (!cfg_.enabled) return false;
    if (c == '\n') return end_line();
    if (line_token_ < 0) line_token_ = token;
    if (line_.size() < max_line_bytes) detail::append_utf8(line_, c);
    return false;
  }

  /// Ends the stream: the last line counts even without a newline. Returns true if that fired the detector.
  bool finish() { return cfg_.enabled && !line_.empty() ? end_line() : false; }

  [[nodiscard]] bool fired() const noexcept { return det_.fired; }
  [[nodiscard]] const detection& result() const noexcept { return det_; }
  [[nodiscard]] const list_collapse_config& config() const noexcept { return cfg_; }
  /// Entries in the innermost open group (0 outside a list or table).
  [[nodiscard]] std::int64_t group_entries() const noexcept {
    return groups_.empty() ? 0 : static_cast<std::int64_t>(groups_.back().entry_ids.size());
  }

  void reset() {
    line_.clear();
    line_token_ = -1;
    in_code_ = false;
    end_block();
    det_ = detection{};
    det_.detector = det_.kind = phenotype::list_collapse;
    fired_rule_ = rule::none;
  }

 private:
  static constexpr std::size_t max_line_bytes = 4096;  // longer lines are compared on their first 4 KiB
  static constexpr std::int32_t table_indent = -1;
  enum class rule : std::uint8_t { none, share, cycle };

  struct entry_stat {
    std::int64_t count = 0;
    std::int64_t second_token = -1;  // where the entry first repeated
    std::int64_t last_token = -1;
    std::int64_t last_gap = 0;
  };

  /// Sibling entries at one indentation (or the rows of one table).
  struct group {
    std::int32_t indent = 0;
    std::unordered_map<std::string, std::int32_t> ids;  // normalised entry -> id
    std::vector<std::string> keys;                      // id -> normalised entry
    std::vector<entry_stat> stats;                      // id -> counts
    std::int32_t top_id = -1;
    std::int64_t top_count = 0;
    std::vector<std::int32_t> entry_ids;
    std::vector<std::int64_t> entry_tokens;
    std::vector<std::int64_t> cycle_run;  // cycle_run[q]: entries equal to the entry q earlier, in a row
    bool holds_fire = false;              // the fired loop lives in this group
    std::int32_t fired_id = -1;
  };

  bool end_line() {
    std::string line;
    line.swap(line_);
    const std::int64_t token = line_token_;
    line_token_ = -1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string_view trimmed = detail::trim(line);
    if (trimmed.substr(0, 3) == "```" || trimmed.substr(0, 3) == "~~~") {
      in_code_ = !in_code_;
      end_block();
      return false;
    }
    if (in_code_ || trimmed.empty()) return false;  // blank lines do not end a block
    if (cfg_.tables && trimmed.front() == '|') {
      if (!in_table_) {
        end_block();
        in_table_ = true;
        groups_.emplace_back();
        groups_.back().indent = table_indent;
        init_cycles(groups_.back());
      }
      std::string key = detail::table_row_key(trimmed);
      return key.empty() ? false : add_entry(groups_.back(), std::move(key), token);
    }
    const auto item = parse_list_line(line);
    if (!item) {
      const bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
      if (!(indented && !groups_.empty() && !in_table_)) end_block();  // else: a continuation line
      return false;
    }
    if (in_table_) end_block();
    std::string key = detail::normalise_key(detail::strip_entry_labels(item->body));
    if (key.empty()) return false;
    // Find the sibling group: close deeper groups, open a child group when indented deeper (≥ 2 columns).
    while (!groups_.empty() && groups_.back().indent > item->indent + 1) close_group();
    if (groups_.empty() || item->indent >= groups_.back().indent + 2) {
      groups_.emplace_back();
      groups_.back().indent = item->indent;
      init_cycles(groups_.back());
    }
    return add_entry(groups_.back(), std::move(key), token);
  }

  void init_cycles(group& g) const { g.cycle_run.assign(static_cast<std::size_t>(cfg_.max_cycle_entries) + 1, 0); }

  bool add_entry(group& g, std::string key, std::int64_t token) {
    const auto [it, inserted] = g.ids.try_emplace(key, static_cast<std::int32_t>(g.keys.size()));
    const std::int32_t id = it->second;
    if (inserted) {
      g.keys.push_back(std::move(key));
      g.stats.emplace_back();
    }
    entry_stat& s = g.stats[static_cast<std::size_t>(id)];
    if (s.count == 1) s.second_token = token;
    if (s.count > 0) s.last_gap = token - s.last_token;
    s.last_token = token;
    ++s.count;
    if (s.count > g.top_count) {
      g.top_count = s.count;
      g.top_id = id;
    }
    const std::size_t e = g.entry_ids.size();
    g.entry_ids.push_back(id);
    g.entry_tokens.push_back(token);
    for (std::size_t q = 1; q < g.cycle_run.size(); ++q) {
      g.cycle_run[q] = (e >= q && g.entry_ids[e - q] == id) ? g.cycle_run[q] + 1 : 0;
    }
    const auto entries = static_cast<std::int64_t>(e + 1);

    if (det_.fired) {  // the loop goes on in the same group: keep its size current
      if (!g.holds_fire) return false;
      if (fired_rule_ == rule::share && id == g.fired_id) {
        det_.repeats = s.count;
        det_.period_tokens = s.last_gap;
        describe_share(entries);
      } else if (fired_rule_ == rule::cycle) {
        const auto q = static_cast<std::size_t>(fired_cycle_);
        if (g.cycle_run[q] > 0) {
          det_.repeats = (g.cycle_run[q] + fired_cycle_) / fired_cycle_;
          describe_cycle();
        } else {
          g.holds_fire = false;
        }
      }
      return false;
    }
    for (std::size_t q = 1; q < g.cycle_run.size(); ++q) {
      if (g.cycle_run[q] < cfg_.cycle_min_run_entries) continue;
      const auto qq = static_cast<std::int64_t>(q);
      const std::int64_t run = g.cycle_run[q];
      fire(token, g.entry_tokens[e + 1 - static_cast<std::size_t>(run + qq)], g.entry_tokens[e] - g.entry_tokens[e - q],
           (run + qq) / qq);
      fired_rule_ = rule::cycle;
      fired_cycle_ = qq;
      g.holds_fire = true;
      for (std::size_t j = e + 1 - q; j <= e; ++j) {
        if (!det_.unit.empty()) det_.unit += " | ";
        det_.unit += g.keys[static_cast<std::size_t>(g.entry_ids[j])];
      }
      describe_cycle();
      return true;
    }
    if (entries >= cfg_.min_entries && g.top_count >= 2 &&
        static_cast<double>(g.top_count) >= cfg_.min_share * static_cast<double>(entries) - 1e-9) {
      const entry_stat& top = g.stats[static_cast<std::size_t>(g.top_id)];
      fire(token, top.second_token, top.last_gap, g.top_count);
      fired_rule_ = rule::share;
      g.fired_id = g.top_id;
      g.holds_fire = true;
      det_.unit = g.keys[static_cast<std::size_t>(g.top_id)];
      describe_share(entries);
      return true;
    }
    return false;
  }

  void fire(std::int64_t token, std::int64_t onset, std::int64_t period, std::int64_t repeats) {
    det_.fired = true;
    det_.fire_token = token;
    det_.onset_token = onset;
    det_.period_tokens = period;
    det_.repeats = repeats;
  }

  void describe_share(std::int64_t entries) {
    det_.detail = "list of " + std::to_string(entries) + " entries: \"" + det_.unit + "\" fills " +
                  std::to_string(det_.repeats) + " of them";
  }
  void describe_cycle() {
    det_.detail = "list entries cycle with period " + std::to_string(fired_cycle_) +
                  (fired_cycle_ == 1 ? " entry" : " entries") + " (\"" + det_.unit + "\", " +
                  std::to_string(det_.repeats) + " cycles from token " + std::to_string(det_.onset_token) + ")";
  }

  void close_group() { groups_.pop_back(); }

  void end_block() {
    groups_.clear();
    in_table_ = false;
  }

  list_collapse_config cfg_;
  std::string line_;
  std::int64_t line_token_ = -1;
  bool in_code_ = false;
  bool in_table_ = false;
  std::vector<group> groups_;  // the open sibling groups, outermost first
  rule fired_rule_ = rule::none;
  std::int64_t fired_cycle_ = 0;
  detection det_;
};

}  // namespace analysis
SCALPEL_END_NAMESPACE
