// The probe suite: built-in facts and self-consistency (every gold list scores its own complete answer
// perfectly), user probe files, and schema errors that name the field.
#include "scalpel/analysis/probes.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/core/error.hpp"

namespace ut_probes_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel::analysis;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> names(const probe& p) {
  std::vector<std::string> out;
  for (const auto& i : p.gold.items) out.push_back(i.name);
  return out;
}
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
// Parses a probe file text and returns the error message ("" if it parsed).
std::string error_of(const std::string& json) {
  try {
    (void)parse_probes(json, "user.json");
  } catch (const scalpel::error& e) {
    return e.what();
  }
  return "";
}
const std::string minimal_probe =
    R"({"id": "p", "category": "control", "wordings": ["List a, b, c."], "expected_count": 3,
        "gold": {"items": ["Alpha", {"name": "Beta", "aliases": ["B2"]}, "Gamma"]}})";
std::string file_with(const std::string& probe_json) {
  return R"({"format": "scalpel.probes/1", "probes": [)" + probe_json + "]}";
}
}  // namespace

TEST_CASE("builtin probes: the eight enumeration prompts and the controls") {
  const probe_set& s = builtin_probes();
  CHECK(s.source == "<built-in>");
  const std::pair<const char*, std::int64_t> expected[] = {{"noble_gases", 6},       {"eu_member_states", 27},
                                                           {"us_presidents", 45},    {"mcu_films", 37},
                                                           {"firefly_episodes", 14}, {"iau_constellations", 88},
                                                           {"pokemon_gen1", 151},    {"the_wire_episodes", 60},
                                                           {"days_of_week", 7},      {"months", 12},
                                                           {"planets", 8},           {"rainbow_colours", 7},
                                                           {"continents", 7}};
  CHECK(s.probes.size() == std::size(expected));
  for (const auto& [id, count] : expected) {
    INFO(id);
    const probe& p = s.at(id);
    CHECK(p.expected_count == count);
    CHECK(static_cast<std::int64_t>(p.gold.items.size()) == count);
    CHECK(p.wordings.size() >= (p.category == probe_category::enumeration ? 4u : 3u));
  }
  int enumerations = 0;
  for (const auto& p : s.probes) enumerations += p.category == probe_category::enumeration ? 1 : 0;
  CHECK(enumerations == 8);
  CHECK(s.find("nope") == nullptr);
  CHECK_THROWS_WITH_AS((void)s.at("nope"), doctest::Contains("known: noble_gases"), scalpel::error);
  CHECK(s.at("firefly_episodes").wordings[0] == "List all of the episodes of the TV series Firefly.");
}

TEST_CASE("builtin probes: spot checks of the facts") {
  const probe_set& s = builtin_probes();
  const auto eu = names(s.at("eu_member_states"));
  CHECK(contains(eu, "Croatia"));
  CHECK_FALSE(contains(eu, "United Kingdom"));
  const auto pres = names(s.at("us_presidents"));
  CHECK(pres.front() == "George Washington");
  CHECK(pres[21] == "Grover Cleveland");
  CHECK(pres[43] == "Donald Trump");
  CHECK(pres.back() == "Joe Biden");
  CHECK(s.at("us_presidents").gold.items[21].max_occurrences == 2);
  CHECK(s.at("us_presidents").gold.items[43].max_occurrences == 2);
  const auto mcu = names(s.at("mcu_films"));
  CHECK(mcu.front() == "Iron Man");
  CHECK(mcu.back() == "The Fantastic Four: First Steps");
  CHECK(s.at("mcu_films").notes.find("31 December 2025") != std::string::npos);
  const auto poke = names(s.at("pokemon_gen1"));
  CHECK(poke.front() == "Bulbasaur");
  CHECK(poke[24] == "Pikachu");
  CHECK(poke[149] == "Mewtwo");
  CHECK(poke.back() == "Mew");
  const auto wire = names(s.at("the_wire_episodes"));
  CHECK(wire[0] == "The Target");
  CHECK(wire[13] == "Ebb Tide");         // season 2 starts after 13
  CHECK(wire[25] == "Time After Time");  // season 3 after 13 + 12
  CHECK(wire[37] == "Boys of Summer");   // season 4 after 13 + 12 + 12
  CHECK(wire[50] == "More with Less");   // season 5 after 13 + 12 + 12 + 13
  CHECK(wire.back() == "-30-");
  const auto noble = s.at("noble_gases");
  CHECK(names(noble) == std::vector<std::string>{"Helium", "Neon", "Argon", "Krypton", "Xenon", "Radon"});
  REQUIRE(noble.gold.extras.size() == 1);
  CHECK(noble.gold.extras[0].name == "Oganesson");
  CHECK(contains(names(s.at("iau_constellations")), "Bo\u00F6tes"));
  CHECK_FALSE(contains(names(s.at("planets")), "Pluto"));
}

TEST_CASE("builtin probes: every gold list scores its own complete answer perfectly") {
  for (const auto& p : builtin_probes().probes) {
    INFO(p.id);
    std::string numbered, bulleted;
    int n = 1;
    for (const auto& item : p.gold.items) {
      numbered += std::to_string(n++) + ". " + item.name + "\n";
      bulleted += "- " + (item.aliases.empty() ? item.name : item.aliases.back()) + "\n";
    }
    const list_score a = score_list(numbered, p.gold);
    CHECK(a.coverage == 1.0);
    CHECK(a.correctness == 1.0);
    CHECK(a.duplicates == 0);
    if (p.gold.ordered) CHECK(a.order_agreement == 1.0);
    const list_score b = score_list(bulleted, p.gold);  // aliases work too
    CHECK(b.coverage == 1.0);
    CHECK(b.duplicates == 0);
  }
}

TEST_CASE("builtin probes: the embedded pieces stay well below string-literal limits and round-trip") {
  for (const auto piece : builtin_probes_pieces) CHECK(piece.size() < 16000);
  const probe_set again = parse_probes(to_json(builtin_probes()).dump(), "roundtrip");
  REQUIRE(again.probes.size() == builtin_probes().probes.size());
  for (std::size_t i = 0; i < again.probes.size(); ++i) {
    CHECK(again.probes[i].id == builtin_probes().probes[i].id);
    CHECK(again.probes[i].gold.items.size() == builtin_probes().probes[i].gold.items.size());
    CHECK(again.probes[i].wordings == builtin_probes().probes[i].wordings);
  }
}

TEST_CASE("probe files: a user file loads from disk") {
  const fs::path dir = fs::temp_directory_path() / ("scalpel-probes-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "mine.json";
  std::ofstream(file) << file_with(minimal_probe);
  const probe_set s = load_probes(file.string());
  REQUIRE(s.probes.size() == 1);
  CHECK(s.probes[0].gold.items[1].aliases == std::vector<std::string>{"B2"});
  CHECK(s.probes[0].category == probe_category::control);
  CHECK(score_list("a) x\n- Alpha\n- B2\n- Gamma\n", s.probes[0].gold).coverage == 1.0);
  CHECK_THROWS_WITH_AS(load_probes((dir / "missing.json").string()), doctest::Contains("missing.json"), scalpel::error);
  fs::remove_all(dir);
}

TEST_CASE("probe files: malformed files are errors naming the field") {
  CHECK(error_of(file_with(minimal_probe)).empty());
  CHECK(error_of("{").find("not valid JSON") != std::string::npos);
  CHECK(error_of(R"({"probes": []})").find("format: missing") != std::string::npos);
  CHECK(error_of(R"({"format": "scalpel.probes/2", "probes": []})").find("format: expected") != std::string::npos);
  CHECK(error_of(R"({"format": "scalpel.probes/1", "probes": []})").find("probes: expected a non-empty array") !=
        std::string::npos);
  CHECK(error_of(R"({"format": "scalpel.probes/1", "probes": [], "extra": 1})").find("extra: unknown field") !=
        std::string::npos);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string p = minimal_probe;
    const auto at = p.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    p.replace(at, from.size(), to);
    return error_of(file_with(p));
  };
  CHECK(with(R"("id": "p")", R"("id": "Bad Id")").find("probes[0].id") != std::string::npos);
  CHECK(with(R"("category": "control")", R"("category": "quiz")").find(".category") != std::string::npos);
  CHECK(with(R"(["List a, b, c."])", "[]").find(".wordings") != std::string::npos);
  CHECK(with(R"(["List a, b, c."])", R"(["ok", 5])").find(".wordings[1]") != std::string::npos);
  CHECK(with(R"("expected_count": 3)", R"("expected_count": 4)").find("expected_count: 4 but gold.items has 3") !=
        std::string::npos);
  CHECK(with(R"("expected_count": 3)", R"("expected_count": "3")").find("expected_count: expected an integer") !=
        std::string::npos);
  CHECK(with(R"({"name": "Beta", "aliases": ["B2"]})", R"({"aliases": ["B2"]})").find("gold.items[1].name: missing") !=
        std::string::npos);
  CHECK(with(R"(["B2"])", "[2]").find("gold.items[1].aliases[0]: expected a string") != std::string::npos);
  CHECK(with(R"("aliases": ["B2"])", R"("alias": ["B2"])").find("gold.items[1].alias: unknown field") !=
        std::string::npos);
  CHECK(with(R"(["B2"])", R"(["gamma"])").find("same key") != std::string::npos);
  CHECK(with(R"("gold": {)", R"("gold": {"ordered": 1, )").find("gold.ordered: expected a boolean") !=
        std::string::npos);
  CHECK(with(R"(, "expected_count": 3)", "").find("expected_count: missing") != std::string::npos);
  CHECK(error_of(R"({"format": "scalpel.probes/1", "probes": [)" + minimal_probe + "," + minimal_probe + "]}")
            .find("duplicate id 'p'") != std::string::npos);
  // every message names the file
  CHECK(with(R"("id": "p")", R"("id": 7)").rfind("[scalpel.json] user.json: probes[0].id", 0) == 0);
}

}  // namespace ut_probes_test
