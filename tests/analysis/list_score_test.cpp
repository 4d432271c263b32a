// List scoring: normalisation, parsing (lists, tables, commas, plain lines, thinking stripped), matching with
// aliases / initials / diacritics, coverage, correctness, duplicates, order agreement, ambiguous gold lists.
#include "scalpel/analysis/list_score.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/core/error.hpp"

namespace ut_list_score_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel::analysis;

namespace {
gold_list simple(const std::vector<std::string>& names) {
  gold_list g;
  for (const auto& n : names) g.items.push_back(gold_item{n, {}, 1});
  return g;
}
std::vector<std::string> texts(const std::vector<list_item>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.text);
  return out;
}
}  // namespace

TEST_CASE("normalise_key: case, diacritics, punctuation, articles, symbols") {
  using detail::normalise_key;
  CHECK(normalise_key("The Target") == "target");
  CHECK(normalise_key("  the   TARGET. ") == "target");
  CHECK(normalise_key("Mr. Mime") == "mr mime");
  CHECK(normalise_key("Farfetch\u2019d") == normalise_key("Farfetch'd"));
  CHECK(normalise_key("Farfetch'd") == "farfetchd");
  CHECK(normalise_key("Bo\u00F6tes") == "bootes");
  CHECK(normalise_key("Pok\u00E9mon") == "pokemon");
  CHECK(normalise_key("\u0141\u00F3d\u017A") == "lodz");
  CHECK(normalise_key("Stra\u00DFe") == "strasse");
  CHECK(normalise_key("Nidoran\u2640") == "nidoran female");
  CHECK(normalise_key("Nidoran\u2642") == "nidoran male");
  CHECK(normalise_key("Deadpool & Wolverine") == "deadpool and wolverine");
  CHECK(normalise_key("Thunderbolts*") == "thunderbolts");
  CHECK(normalise_key("-30-") == "30");
  CHECK(normalise_key("A New Day") == "new day");
  CHECK(normalise_key("An") == "an");  // a lone article stays
  CHECK(normalise_key("...") == "");
}

TEST_CASE("parse_list_items: numbered, bulleted, group headers and thinking") {
  const std::string text =
      "<|channel>thought\n1. Not this\n2. Nor this<channel|>Here they are:\n\n"
      "**Season 1**\n1. The Target\n2. The Detail\n\n- Ebb Tide\n* Hot Shots\n\u2022 Undertow\n<turn|>";
  CHECK(texts(parse_list_items(text)) ==
        std::vector<std::string>{"The Target", "The Detail", "Ebb Tide", "Hot Shots", "Undertow"});
  const std::string nested = "1. Season 1\n   - The Target\n   - The Detail\n2. Season 2\n   - Ebb Tide\n";
  CHECK(texts(parse_list_items(nested)) == std::vector<std::string>{"The Target", "The Detail", "Ebb Tide"});
  const std::string unclosed = "<|channel>thought\n1. a\n2. b\n3. c";
  CHECK(parse_list_items(unclosed).empty());
}

TEST_CASE("parse_list_items: tables, comma lists and plain lines") {
  const auto table = parse_list_items(
      "| # | Title | Aired |\n|---|:---:|---|\n| 1 | \"Serenity\" | 2002 |\n| 2 | The Train Job | 2002 |\n"
      "| 3 | **Bushwhacked** | 2002 |\n");
  REQUIRE(table.size() == 3);
  CHECK(table[0].kind == list_item_kind::table);
  CHECK(table[2].text == "Bushwhacked");
  const auto comma = parse_list_items("The noble gases are helium (He), neon, argon; krypton, xenon and radon.");
  CHECK(comma.size() >= 5);
  CHECK(comma.front().kind == list_item_kind::comma);
  const auto lines = parse_list_items("Here:\nMercury\nVenus\nEarth\nMars\n");
  CHECK(texts(lines) == std::vector<std::string>{"Mercury", "Venus", "Earth", "Mars"});
  CHECK(parse_list_items("").empty());
}

TEST_CASE("score_list: coverage, correctness, duplicates and the first duplicate") {
  const gold_list g = simple({"Helium", "Neon", "Argon", "Krypton", "Xenon", "Radon"});
  const list_score s = score_list("1. Helium\n2. Neon\n3. Argon\n4. Neon\n5. Hydrogen\n6. Neon\n", g);
  CHECK(s.items == 6);
  CHECK(s.correct == 5);
  CHECK(s.gold_found == 3);
  CHECK(s.gold_size == 6);
  CHECK(s.coverage == doctest::Approx(0.5));
  CHECK(s.correctness == doctest::Approx(5.0 / 6.0));
  CHECK(s.duplicates == 2);
  CHECK(s.first_duplicate == 3);
  CHECK(s.first_duplicate_item == "Neon");
  CHECK(s.missing == std::vector<std::string>{"Krypton", "Xenon", "Radon"});
  CHECK(s.wrong == std::vector<std::string>{"Hydrogen"});
  CHECK(s.mode == "list");
  const list_score full = score_list("Helium, neon, argon, krypton, xenon, and radon.", g);
  CHECK(full.coverage == 1.0);
  CHECK(full.correctness == 1.0);
  CHECK(full.duplicates == 0);
  CHECK(full.first_duplicate == -1);
  const list_score no_oxford = score_list("They are helium, neon, argon, krypton, xenon and radon.", g);
  CHECK(no_oxford.coverage == 1.0);  // "xenon and radon" names two gold items
  CHECK(no_oxford.items == 6);
  const gold_list wire = simple({"Duck and Cover", "Hamsterdam", "Took"});
  CHECK(score_list("Took, Hamsterdam, Duck and Cover", wire).coverage == 1.0);  // a title with "and" stays whole
  const list_score none = score_list("I don't know.", g);
  CHECK(none.items == 0);
  CHECK(none.coverage == 0.0);
  CHECK(none.correctness == 0.0);
}

TEST_CASE("score_list: candidate readings find the name inside decorated items") {
  const gold_list g = simple({"The Target", "The Detail", "Ebb Tide", "Hamsterdam", "Took"});
  const list_score s = score_list(
      "1. Episode 1: \"The Target\" (2002)\n2. S01E02 - The Detail\n3. **Ebb Tide** \u2013 directed by Ed Bianchi\n"
      "4. Hamsterdam (Season 3)\n5. #57 Took\n6. Episode 7: Something Else\n",
      g);
  CHECK(s.correct == 5);
  CHECK(s.wrong.size() == 1);
}

TEST_CASE("score_list: aliases, initials, allowed repeats and ambiguity") {
  gold_list g;
  g.ordered = true;
  g.items = {{"John F. Kennedy", {"JFK"}, 1},
             {"Grover Cleveland", {}, 2},
             {"George H. W. Bush", {"George Bush Sr."}, 1},
             {"George W. Bush", {}, 1},
             {"Nidoran\u2640", {"Nidoran F", "Nidoran Female"}, 1},
             {"Nidoran\u2642", {"Nidoran M"}, 1}};
  g.extras = {{"Oganesson", {"Og"}, 1}};
  const list_score s = score_list(
      "1. John Kennedy\n2. Grover Cleveland\n3. JFK\n4. Grover Cleveland\n5. George Bush\n6. George H.W. Bush\n"
      "7. Nidoran (F)\n8. Nidoran\n9. Og\n10. Grover Cleveland\n",
      g);
  CHECK(s.correct == 8);  // "George Bush" and "Nidoran" alone are ambiguous
  CHECK(s.gold_found == 4);
  CHECK(s.extras_found == 1);
  CHECK(s.duplicates == 2);       // JFK again, Cleveland a third time
  CHECK(s.first_duplicate == 2);  // "JFK"
  CHECK(s.order_agreement >= 0.0);
  const list_score ordered = score_list("1. John F. Kennedy\n2. Grover Cleveland\n3. George W. Bush\n", g);
  CHECK(ordered.order_agreement == 1.0);
  const list_score reversed = score_list("1. George W. Bush\n2. Grover Cleveland\n3. John F. Kennedy\n", g);
  CHECK(reversed.order_agreement == 0.0);
  CHECK(simple({"a", "b"}).ordered == false);
  CHECK(score_list("1. a\n2. b\n3. a\n", simple({"Alpha", "a", "b"})).order_agreement == -1.0);
}

TEST_CASE("gold_index: two items sharing a normalised name are an error naming both") {
  gold_list g = simple({"The Avengers", "Avengers"});
  CHECK_THROWS_WITH_AS(gold_index{g}, doctest::Contains("'Avengers'"), scalpel::error);
  gold_list h;
  h.items = {{"Serpens", {"Serpens Caput"}, 1}, {"Caput", {"serpens  caput"}, 1}};
  CHECK_THROWS_AS(gold_index{h}, scalpel::error);
  gold_list e = simple({"..."});
  CHECK_THROWS_WITH_AS(gold_index{e}, doctest::Contains("no letters or digits"), scalpel::error);
}

TEST_CASE("list_score JSON has every field") {
  const nlohmann::json j = to_json(score_list("1. Neon\n2. Neon\n", simple({"Neon", "Argon"})));
  for (const char* k :
       {"items", "correct", "gold_size", "gold_found", "extras_found", "coverage", "correctness", "duplicates",
        "first_duplicate", "first_duplicate_item", "order_agreement", "mode", "missing", "wrong"}) {
    CHECK_MESSAGE(j.contains(k), k);
  }
  CHECK(j["duplicates"] == 1);
  CHECK(j["missing"] == nlohmann::json::array({"Argon"}));
}

}  // namespace ut_list_score_test
