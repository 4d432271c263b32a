// Character-repeat and list-collapse detectors: thresholds at and one below, units, onsets, legitimate
// repetition (rules, tables, nested lists, long correct lists), normalisation, linear cost.
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/analysis/char_repeat.hpp"
#include "scalpel/analysis/detail/text_util.hpp"
#include "scalpel/analysis/list_collapse.hpp"
#include "scalpel/core/error.hpp"

namespace ut_text_detectors_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel::analysis;

namespace {
std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
// Feeds `text` character by character (token index = character index); returns the character index at which
// the detector fired, or -1.
template <class Detector>
std::int64_t fire_at(Detector& d, const std::string& text) {
  std::int64_t at = -1;
  std::int64_t i = 0;
  for (const char32_t c : detail::decode_utf8(text)) {
    if (d.push(c, i) && at < 0) at = i;
    ++i;
  }
  if constexpr (requires { d.finish(); }) {
    if (d.finish() && at < 0) at = i;
  }
  return at;
}
std::string numbered(const std::vector<std::string>& items, int start = 1) {
  std::string out;
  for (std::size_t k = 0; k < items.size(); ++k)
    out += std::to_string(start + static_cast<int>(k)) + ". " + items[k] + "\n";
  return out;
}
std::vector<std::string> times(const std::string& s, int n) {
  return std::vector<std::string>(static_cast<std::size_t>(n), s);
}
std::vector<std::string> join(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

// ---- character repeat --------------------------------------------------------------------------------------------

TEST_CASE("char_repeat: a 3-character unit fires when its copies span 60 characters, not 59") {
  char_repeat_detector d;
  const std::string s = repeat("abc", 20);
  CHECK(fire_at(d, s.substr(0, 59)) == -1);
  char_repeat_detector e;
  CHECK(fire_at(e, s) == 59);
  CHECK(e.result().period_chars == 3);
  CHECK(e.result().onset_token == 0);
  CHECK(e.result().repeats == 20);
}

TEST_CASE("char_repeat: four copies are needed - long units fire at exactly four") {
  const std::string u15 = "abcdefghijklmno", u16 = "abcdefghijklmnop", u20 = "abcdefghijklmnopqrst";
  char_repeat_detector a;
  CHECK(fire_at(a, repeat(u15, 4)) == 59);  // 4 copies, 60 characters
  char_repeat_detector b;
  CHECK(fire_at(b, repeat(u15, 4).substr(0, 59)) == -1);
  char_repeat_detector c;
  CHECK(fire_at(c, repeat(u16, 4)) == 63);  // span 64
  char_repeat_detector d;
  CHECK(fire_at(d, repeat(u20, 3)) == -1);  // 60 characters but only 3 copies
  char_repeat_detector e;
  CHECK(fire_at(e, repeat(u20, 4)) == 79);
  CHECK(e.result().period_chars == 20);
}

TEST_CASE("char_repeat: onset, unit and repeats after a prefix") {
  char_repeat_detector d;
  const std::string prefix = "Answer:\n";  // does not end like the unit, so the repeat starts after it
  CHECK(fire_at(d, prefix + repeat("I think so. ", 10)) == static_cast<std::int64_t>(prefix.size() + 60 - 1));
  CHECK(d.result().onset_token == static_cast<std::int64_t>(prefix.size()));
  CHECK(d.result().repeats == 10);
  std::string unit;
  for (const char32_t c : d.tail(d.result().period_chars)) detail::append_utf8(unit, c);
  CHECK(unit == "I think so. ");
}

TEST_CASE("char_repeat: formatting-only units need symbol_min_span_chars - emoji are content") {
  char_repeat_detector rule;
  CHECK(fire_at(rule, std::string(399, '-')) == -1);
  char_repeat_detector rule2;
  CHECK(fire_at(rule2, std::string(400, '-')) == 399);
  char_repeat_detector sep;
  CHECK(fire_at(sep, "| a |" + repeat("---|", 30)) == -1);  // a 30-column table separator
  char_repeat_detector box;
  CHECK(fire_at(box, repeat("\u2550", 120)) == -1);  // ═══ box drawing
  char_repeat_detector emoji;
  CHECK(fire_at(emoji, repeat("\U0001F602", 60)) == 59);
}

TEST_CASE("char_repeat: units longer than max_period_chars are not seen") {
  std::string unit;
  for (int i = 0; i < 300; ++i) unit += static_cast<char>('a' + (i * 7) % 26) + std::to_string(i % 10);  // 600 chars
  char_repeat_config small;
  small.max_period_chars = 512;
  char_repeat_detector d(small);
  CHECK(fire_at(d, repeat(unit, 5)) == -1);
  char_repeat_detector e;  // 1024
  CHECK(fire_at(e, repeat(unit, 5)) == 4 * 600 - 1);
  CHECK(e.result().period_chars == 600);
}

TEST_CASE("char_repeat: invalid thresholds are errors naming the field") {
  char_repeat_config cfg;
  cfg.min_repeats = 1;
  CHECK_THROWS_WITH_AS(char_repeat_detector{cfg}, doctest::Contains("char_repeat.min_repeats"), scalpel::error);
}

TEST_CASE("char_repeat: 400k characters of varied text are processed in one pass without firing") {
  std::string text;
  std::uint32_t x = 7;
  while (text.size() < 400000) {
    x = x * 1664525u + 1013904223u;
    text += "word" + std::to_string(x % 100000) + (x % 13 == 0 ? ".\n" : " ");
  }
  char_repeat_detector d;
  CHECK(fire_at(d, text) == -1);
  CHECK(d.chars() == static_cast<std::int64_t>(text.size()));
}

// ---- list collapse -------------------------------------------------------------------------------------------------

TEST_CASE("list_collapse: the share rule fires at min_entries when one entry fills half") {
  // A B A C A D A E + A: 5 of 9 (below min_entries), then the 10th entry decides
  const std::vector<std::string> nine = {"Canis Major", "Aries",       "Canis Major", "Lyra",       "Canis Major",
                                         "Orion",       "Canis Major", "Vela",        "Canis Major"};
  list_collapse_detector a;
  CHECK(fire_at(a, numbered(nine)) == -1);
  list_collapse_detector b;
  const std::string ten = numbered(join(nine, {"Canis Major"}));
  CHECK(fire_at(b, ten) == static_cast<std::int64_t>(ten.size() - 1));
  CHECK(b.result().repeats == 6);
  list_collapse_detector c;  // 10th entry different: 5 of 10 -> fires (>= 0.5)
  CHECK(fire_at(c, numbered(join(nine, {"Draco"}))) >= 0);
  list_collapse_detector d;  // 4 of 10, then 5 of 11: below half
  const std::vector<std::string> low = {"Canis Major", "Aries", "Canis Major", "Lyra",  "Canis Major", "Orion",
                                        "Canis Major", "Vela",  "Draco",       "Cetus", "Canis Major"};
  CHECK(fire_at(d, numbered(low)) == -1);
}

TEST_CASE("list_collapse: onset is the first repeat, period the gap between the last two") {
  const std::string head = numbered({"Andromeda", "Antlia", "Apus", "Canis Major", "Aquila"});
  const std::string tail = numbered(times("Canis Major", 12), 6);
  list_collapse_detector d;
  CHECK(fire_at(d, head + tail) >= 0);
  const auto second = static_cast<std::int64_t>(head.size());  // "6. Canis Major" starts here
  CHECK(d.result().onset_token == second);
  // the period follows the loop: the last gap is between two two-digit lines
  CHECK(d.result().period_tokens == static_cast<std::int64_t>(std::string("16. Canis Major\n").size()));
  CHECK(d.result().unit == "canis major");
}

TEST_CASE("list_collapse: the cycle rule fires at 11 identical entries, not 10") {
  list_collapse_config cfg;
  cfg.min_entries = 1000;  // isolate the cycle rule
  list_collapse_detector a(cfg);
  CHECK(fire_at(a, numbered(join({"Aries"}, times("Lynx", 10)))) == -1);
  list_collapse_detector b(cfg);
  CHECK(fire_at(b, numbered(join({"Aries"}, times("Lynx", 11)))) >= 0);
  CHECK(b.result().repeats == 11);
  // an alternating pair: 10 entries beyond the first cycle of 2
  std::vector<std::string> alt;
  for (int i = 0; i < 12; ++i) alt.push_back(i % 2 ? "Greece" : "Hungary");
  list_collapse_detector c(cfg);
  CHECK(fire_at(c, numbered(std::vector<std::string>(alt.begin(), alt.begin() + 11))) == -1);
  list_collapse_detector e(cfg);
  CHECK(fire_at(e, numbered(alt)) >= 0);
  CHECK(e.result().unit == "hungary | greece");
  cfg.max_cycle_entries = 0;
  list_collapse_detector off(cfg);
  CHECK(fire_at(off, numbered(times("Lynx", 50))) == -1);
}

TEST_CASE("list_collapse: entries are compared after normalisation") {
  const std::string text =
      "1. **Canis Major**\n2) canis major.\n(3) Canis  Major\n- CANIS MAJOR!\n\u2022 Canis Major\n"
      "* Cánis Májor\n7. Episode 7: Canis Major\n8. _Canis Major_\n9. Canis-Major\n10. canis major\n";
  list_collapse_config cfg;
  cfg.max_cycle_entries = 0;
  list_collapse_detector d(cfg);
  CHECK(fire_at(d, text) >= 0);
  CHECK(d.result().repeats == 10);
}

TEST_CASE("list_collapse: blocks, headings, blank lines and code fences") {
  const std::string six = numbered(times("Lynx", 6));
  list_collapse_detector split;  // a heading ends the block: two groups of six
  CHECK(fire_at(split, six + "\n## More\n\n" + six) == -1);
  list_collapse_detector blank;  // blank lines do not
  CHECK(fire_at(blank, six + "\n\n" + six) >= 0);
  list_collapse_detector code;  // fenced code is not a list
  CHECK(fire_at(code, "```yaml\n" + repeat("- name: x\n", 30) + "```\n") == -1);
  list_collapse_detector rule;  // "---" and "* * *" are not entries
  CHECK(fire_at(rule, repeat("---\n* * *\n", 20)) == -1);
}

TEST_CASE("list_collapse: sub-bullets are grouped with their siblings, not with the parent list") {
  std::string nested, flat;
  const char* films[] = {"Iron Man",           "The Incredible Hulk",
                         "Iron Man 2",         "Thor",
                         "Captain America",    "The Avengers",
                         "Iron Man 3",         "Thor: The Dark World",
                         "The Winter Soldier", "Guardians of the Galaxy",
                         "Age of Ultron",      "Ant-Man"};
  int n = 1;
  for (const char* f : films) {
    nested += std::to_string(n) + ". " + f + "\n   - Phase One\n   - Marvel Studios\n";
    flat += "- " + std::string(f) + "\n- Phase One\n";
    ++n;
  }
  list_collapse_detector a;
  CHECK(fire_at(a, nested) == -1);
  list_collapse_detector b;  // the same details at the same level do fill half the list
  CHECK(fire_at(b, flat) >= 0);
}

TEST_CASE("list_collapse: markdown tables decay row by row - legitimate tables do not") {
  std::string decay = "| # | Film | Year |\n|---|---|---|\n";
  for (int i = 1; i <= 14; ++i) decay += "| " + std::to_string(i) + " | Spider-Man: Homecoming | 2017 |\n";
  list_collapse_detector a;
  CHECK(fire_at(a, decay) >= 0);
  std::string legit = "| Feature | A | B | C |\n|---|---|---|---|\n";
  for (int i = 1; i <= 20; ++i) legit += "| Feature " + std::to_string(i) + " | Yes | Yes | No |\n";
  list_collapse_detector b;
  CHECK(fire_at(b, legit) == -1);
  list_collapse_config cfg;
  cfg.tables = false;
  list_collapse_detector c(cfg);
  CHECK(fire_at(c, decay) == -1);
}

TEST_CASE("list_collapse: long correct enumerations and a last line without newline") {
  std::vector<std::string> items;
  for (int i = 1; i <= 151; ++i) items.push_back("Pokemon number " + std::to_string(i * 7919 % 1000));
  list_collapse_detector a;
  CHECK(fire_at(a, numbered(items)) == -1);
  std::string text = numbered(times("Lynx", 10));
  text.pop_back();  // the 10th entry ends without '\n': finish() counts it
  list_collapse_detector b;
  CHECK(fire_at(b, text) == static_cast<std::int64_t>(detail::decode_utf8(text).size()));
}

TEST_CASE("list_collapse: invalid thresholds are errors naming the field") {
  list_collapse_config cfg;
  cfg.min_share = 0.0;
  CHECK_THROWS_WITH_AS(list_collapse_detector{cfg}, doctest::Contains("list_collapse.min_share"), scalpel::error);
}

}  // namespace ut_text_detectors_test
