// The combined monitor: segmentation, stop-on-loop behaviour, doom loops, engine bugs, reclassification,
// outcomes, the JSON report (contracts.md), the offline helpers, and a long stream.
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/analysis/loop_detect.hpp"
#include "scalpel/core/error.hpp"

namespace ut_loop_monitor_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel::analysis;

namespace {
std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
std::vector<std::string> pieces_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& t : segment_text(text)) out.push_back(t.piece);
  return out;
}
const std::string thinking_prefix = "<|channel>thought\n";
}  // namespace

// ---- segmentation --------------------------------------------------------------------------------------------------

TEST_CASE("segment_text: pseudo-token rules") {
  using v = std::vector<std::string>;
  CHECK(pieces_of("Hello world") == v{"Hello", " world"});
  CHECK(pieces_of("151 Pokémon") == v{"1", "5", "1", " Pokémon"});
  CHECK(pieces_of("a  b") == v{"a", " ", " b"});
  CHECK(pieces_of("x\n\n\ny") == v{"x", "\n\n\n", "y"});
  CHECK(pieces_of("-----\n") == v{"-----", "\n"});
  CHECK(pieces_of("<|channel>thought\n") == v{"<|channel>", "thought", "\n"});
  CHECK(pieces_of("ok <unused49><unused49>") == v{"ok", " ", "<unused49>", "<unused49>"});
  CHECK(pieces_of("<b>bold</b>") == v{"<", "b", ">", "bold", "<", "/", "b", ">"});  // HTML is not control
  CHECK(pieces_of("end.") == v{"end", "."});
  const std::string mixed = "Boötes — 88 constellations!\n\t\tdone 😊 <turn|>";
  std::string joined;
  for (const auto& p : pieces_of(mixed)) joined += p;
  CHECK(joined == mixed);
  const auto toks = segment_text("the cat the cat");
  REQUIRE(toks.size() == 4);
  CHECK(toks[0].id >= pseudo_id_base);
  CHECK(toks[1].id == toks[3].id);  // " cat"
  CHECK(toks[0].id != toks[2].id);  // "the" vs " the"
}

// ---- stop-on-loop --------------------------------------------------------------------------------------------------

TEST_CASE("loop_monitor: push returns false until a loop fires, then true") {
  loop_monitor m;
  const auto toks = segment_text("Sure. " + repeat("Canis Major ", 40));
  std::size_t first_true = 0;
  for (std::size_t i = 0; i < toks.size(); ++i) {
    const bool looping = m.push(toks[i].id, toks[i].piece);
    if (looping && first_true == 0) first_true = i;
    if (first_true != 0) CHECK(looping);
  }
  REQUIRE(first_true > 0);
  CHECK(first_true < toks.size() / 2);  // stops early, long before the end
  const loop_report r = m.report();
  CHECK(r.looping);
  CHECK(r.result == outcome::token_loop);
  CHECK(r.onset_token == 2);  // "Sure" "." then the loop
  CHECK_FALSE(m.finished());
}

TEST_CASE("loop_monitor: a UTF-8 character split across byte pieces is decoded once") {
  loop_monitor m;
  const std::string e = "\xC3\xA9";  // é as two byte-fallback pieces
  for (int i = 0; i < 70; ++i) {
    m.push(1000, e.substr(0, 1));
    m.push(1001, e.substr(1));
  }
  const loop_report r = m.finish(stop_kind::budget);
  CHECK(m.text() == repeat(e, 70));
  bool char_seen = false;
  for (const auto& d : r.fired) {
    if (d.detector == phenotype::char_repeat) {
      char_seen = true;
      CHECK(d.period_chars == 1);
      CHECK(d.unit == e);
    }
  }
  CHECK(char_seen);
  CHECK(r.kind == phenotype::token_period);  // the 2-token period fires first
  CHECK(r.period_tokens == 2);
}

// ---- doom loops ----------------------------------------------------------------------------------------------------

TEST_CASE("doom_loop: thinking never closed at the budget end is a doom loop - other endings are not") {
  const std::string think = thinking_prefix +
                            "The 88th constellation. Wait, let me re-check. Actually, hold on, is it Pyxis? Hmm, "
                            "let me double-check the southern ones. I made a mistake earlier";
  const loop_report budget = detect_text(think, stop_kind::budget);
  CHECK(budget.looping);
  CHECK(budget.kind == phenotype::doom_loop);
  CHECK(budget.result == outcome::doom_loop);
  CHECK(budget.onset_token == 0);
  CHECK(budget.thinking.opened);
  CHECK_FALSE(budget.thinking.closed);
  CHECK_FALSE(budget.thinking.answered);
  // wait, let me re check, actually, hold on, hmm, let me double check, i made a mistake
  CHECK(budget.thinking.markers == 7);
  CHECK(budget.repeats == budget.thinking.markers);

  CHECK_FALSE(detect_text(think, stop_kind::natural).looping);  // ended inside thinking with EOS: not a doom loop
  CHECK(detect_text(think, stop_kind::natural).result == outcome::natural_end);
  CHECK(detect_text(think, stop_kind::unknown).kind == phenotype::doom_loop);  // offline text: taken as budget-cut
  loop_monitor_config strict;
  strict.doom_loop.unknown_stop_is_budget = false;
  CHECK_FALSE(detect_text(think, stop_kind::unknown, strict).looping);

  const std::string closed = think + "<channel|>The answer is Pyxis.";
  CHECK_FALSE(detect_text(closed, stop_kind::budget).looping);
  CHECK(detect_text(closed, stop_kind::budget).result == outcome::truncated);
  CHECK(detect_text(closed, stop_kind::natural).result == outcome::natural_end);
  const std::string empty_answer = think + "<channel|>\n<turn|>";
  const loop_report none = detect_text(empty_answer, stop_kind::budget);
  CHECK_FALSE(none.looping);
  CHECK(none.result == outcome::no_answer);
  CHECK(detect_text("", stop_kind::budget).result == outcome::no_answer);
}

TEST_CASE("doom_loop: the marker density is evidence - a threshold makes it required") {
  const std::string calm = thinking_prefix + repeat("I will list the southern constellations one by one now. ", 1) +
                           "Crux is small. Carina was part of Argo. Vela too. Puppis as well. Pyxis is the compass";
  loop_monitor_config cfg;
  CHECK(detect_text(calm, stop_kind::budget, cfg).kind == phenotype::doom_loop);
  cfg.doom_loop.min_marker_density = 20.0;  // per 1000 thought words
  const loop_report r = detect_text(calm, stop_kind::budget, cfg);
  CHECK_FALSE(r.looping);
  CHECK(r.result == outcome::no_answer);
  CHECK(r.thinking.markers == 0);
  const std::string busy = thinking_prefix + "Wait, Crux. Actually, Carina. Hmm, Vela. Wait, Puppis.";
  CHECK(detect_text(busy, stop_kind::budget, cfg).kind == phenotype::doom_loop);
  cfg.doom_loop.min_markers = 5;
  CHECK_FALSE(detect_text(busy, stop_kind::budget, cfg).looping);
}

TEST_CASE("doom_loop: channel markers are recognised by id when pieces are unknown") {
  std::vector<std::int32_t> ids = {100, 45518, 107};  // <|channel> thought \n
  for (int i = 0; i < 50; ++i) ids.push_back(2000 + i);
  const loop_report open = detect_tokens(ids, {}, stop_kind::budget);
  CHECK(open.kind == phenotype::doom_loop);
  ids.push_back(101);  // <channel|>
  ids.push_back(3000);
  const loop_report answered = detect_tokens(ids, {}, stop_kind::budget);
  CHECK_FALSE(answered.looping);
  CHECK(answered.result == outcome::truncated);
  ids.back() = 106;  // <turn|> is control, not an answer
  CHECK(detect_tokens(ids, {}, stop_kind::budget).result == outcome::no_answer);
  loop_monitor_config cfg;
  cfg.doom_loop.starts_in_thought = true;  // the prompt opened the channel
  CHECK(detect_tokens(std::vector<std::int32_t>{2000, 2001}, {}, stop_kind::budget, cfg).kind == phenotype::doom_loop);
}

// ---- engine bugs ---------------------------------------------------------------------------------------------------

TEST_CASE("engine_bug: a run of 8 unused tokens fires, 7 do not - whitespace does not break a run") {
  CHECK_FALSE(detect_text("Helium, neon" + repeat("<unused49>", 7), stop_kind::budget).looping);
  const loop_report r = detect_text("Helium, neon" + repeat("<unused49>", 8), stop_kind::budget);
  CHECK(r.kind == phenotype::engine_bug);
  CHECK(r.result == outcome::engine_bug);
  CHECK(r.onset_token == 3);  // "Helium" "," " neon"
  CHECK(r.period_tokens == 1);
  CHECK(detect_text(repeat("<unused49> \n", 8), stop_kind::budget).kind == phenotype::engine_bug);
  CHECK_FALSE(detect_text(repeat("<unused49> ok ", 6), stop_kind::budget).looping);  // text breaks the run
  const loop_report mixed = detect_text(repeat("<unused12><pad><unused0>", 4), stop_kind::budget);
  CHECK(mixed.kind == phenotype::engine_bug);
  CHECK(mixed.period_tokens == 0);
}

TEST_CASE("engine_bug: ids and predicates from the caller") {
  engine_bug_config cfg;
  CHECK(cfg.matches(0, ""));  // Gemma 4 <pad> by id
  cfg.ids = {7, 8};
  CHECK(cfg.matches(7, ""));
  CHECK_FALSE(cfg.matches(9, "<b>"));
  CHECK(cfg.matches(9, "<unused3>"));
  CHECK_FALSE(cfg.matches(9, "<unused>"));
  cfg.predicate = [](std::int32_t id, std::string_view) { return id > 250000; };
  CHECK(cfg.matches(255000, "x"));
  CHECK_FALSE(cfg.matches(7, ""));
  engine_bug_detector d(cfg);
  for (int i = 0; i < 7; ++i) CHECK_FALSE(d.push(i, 255000, true, false));
  CHECK(d.push(7, 255000, true, false));
  CHECK(d.result().onset_token == 0);
}

TEST_CASE("engine_bug: spam still reads as an engine bug when the verbatim detectors fire first") {
  loop_monitor_config cfg;
  cfg.engine_bug.min_run_tokens = 500;
  const loop_report r = detect_text(repeat("<unused49>", 100), stop_kind::budget, cfg);
  REQUIRE(r.looping);
  CHECK(r.kind == phenotype::engine_bug);
  // special tokens are not content, so the token-period rule needs its symbol run; the n-gram rule fires
  CHECK(r.fired.front().detector == phenotype::ngram);
}

// ---- reclassification and priority -------------------------------------------------------------------------------

TEST_CASE("loop_monitor: a verbatim repeat of one list line is reported as list collapse") {
  const loop_report r = detect_text("- Andromeda\n- Antlia\n- Apus\n" + repeat("- Canis Major\n", 40));
  REQUIRE(r.looping);
  CHECK(r.kind == phenotype::list_collapse);
  CHECK(r.result == outcome::list_collapse);
  CHECK(r.onset_token > 0);
  const loop_report prose = detect_text("The answer: " + repeat("Canis Major, ", 40));
  CHECK(prose.result == outcome::token_loop);
  loop_monitor_config cfg;
  cfg.classify_units = false;
  cfg.list_collapse.enabled = false;
  CHECK(detect_text("- Andromeda\n" + repeat("- Canis Major\n", 40), stop_kind::unknown, cfg).result ==
        outcome::token_loop);
}

TEST_CASE("loop_monitor: legitimate repetition is not a loop") {
  const std::string chorus =
      "[Chorus]\nOh the wire runs deep, the wire runs long,\nevery word we say becomes a song.\n";
  CHECK_FALSE(detect_text("[Verse]\nStreetlights hum.\n" + chorus + "[Verse]\nThe harbor rusts.\n" + chorus).looping);
  CHECK_FALSE(detect_text(chorus + chorus).looping);
  std::string pokemon;
  for (int i = 1; i <= 151; ++i)
    pokemon += std::to_string(i) + ". Pokemon" + std::string(1, static_cast<char>('a' + i % 26)) +
               std::string(1, static_cast<char>('a' + (i / 26) % 26)) + "\n";
  CHECK_FALSE(detect_text(pokemon, stop_kind::natural).looping);
  CHECK_FALSE(detect_text("| a | b | c |\n" + std::string("|") + repeat("---|", 20) + "\n" + repeat("=", 120)).looping);
  CHECK_FALSE(detect_text("```c\n" + repeat("  x = 0;\n", 3) + "  break;\n" + repeat("  y = 1;\n", 3) + "```").looping);
}

TEST_CASE("loop_monitor: the earliest detector wins - all are kept in order") {
  // "I think so. " x 20: the character rule fires before the token rule
  const loop_report r = detect_text(repeat("I think so. ", 20));
  REQUIRE(r.fired.size() >= 2);
  CHECK(r.kind == phenotype::char_repeat);
  CHECK(r.fired[0].fire_token <= r.fired[1].fire_token);
  CHECK(r.period_tokens == 4);  // char repeat reports the tokens of one unit
}

// ---- report and JSON -----------------------------------------------------------------------------------------------

TEST_CASE("loop report JSON follows contracts.md") {
  const nlohmann::json j = to_json(detect_text(repeat("Yes. ", 50), stop_kind::budget));
  for (const char* k : {"looping", "phenotype", "onset_token", "period_tokens", "repeats", "detail", "outcome",
                        "stop_reason", "tokens", "detectors", "thinking"}) {
    CHECK_MESSAGE(j.contains(k), k);
  }
  CHECK(j["looping"].is_boolean());
  CHECK(j["phenotype"].is_string());
  CHECK(j["onset_token"].is_number_integer());
  CHECK(j["period_tokens"].is_number_integer());
  CHECK(j["repeats"].is_number_integer());
  CHECK(j["detail"].is_string());
  CHECK(j["stop_reason"] == "max_tokens");
  const nlohmann::json none = to_json(detect_text("Helium, neon and argon.", stop_kind::natural));
  CHECK(none["looping"] == false);
  CHECK(none["phenotype"] == "none");
  CHECK(none["onset_token"] == -1);
  CHECK(none["period_tokens"] == 0);
  CHECK(none["repeats"] == 0);
  CHECK(none["outcome"] == "natural_end");
  CHECK(none["detectors"].empty());
  phenotype p{};
  for (const char* name :
       {"none", "token_period", "ngram", "char_repeat", "list_collapse", "doom_loop", "engine_bug"}) {
    CHECK(parse_phenotype(name, p));
    CHECK(phenotype_name(p) == name);
  }
  CHECK_FALSE(parse_phenotype("loop", p));
}

TEST_CASE("stop reasons and outcomes") {
  CHECK(parse_stop_reason("eos") == stop_kind::natural);
  CHECK(parse_stop_reason("max_tokens") == stop_kind::budget);
  CHECK(parse_stop_reason("length") == stop_kind::budget);
  CHECK(parse_stop_reason("thinking_budget") == stop_kind::budget);
  CHECK(parse_stop_reason("context_full") == stop_kind::budget);
  CHECK(parse_stop_reason("stop_string") == stop_kind::natural);
  CHECK(parse_stop_reason("none") == stop_kind::unknown);
  CHECK(parse_stop_reason("loop") == stop_kind::loop);
  CHECK(parse_stop_reason("") == stop_kind::unknown);
  CHECK(parse_stop_reason("cancelled") == stop_kind::other);
  CHECK(derive_outcome(phenotype::ngram, stop_kind::loop, false, true) == outcome::token_loop);
  CHECK(derive_outcome(phenotype::none, stop_kind::budget, true, true) == outcome::truncated);
  CHECK(derive_outcome(phenotype::none, stop_kind::budget, false, true) == outcome::no_answer);
  CHECK(derive_outcome(phenotype::none, stop_kind::natural, false, true) == outcome::natural_end);
  CHECK(derive_outcome(phenotype::none, stop_kind::unknown, true, true) == outcome::unknown);
  CHECK(derive_outcome(phenotype::none, stop_kind::natural, true, false) == outcome::running);
}

// ---- offline helpers and lifecycle ---------------------------------------------------------------------------------

TEST_CASE("detect_tokens: pieces must match ids") {
  const std::vector<std::int32_t> ids = {1, 2, 3};
  const std::vector<std::string> pieces = {"a", "b"};
  CHECK_THROWS_WITH_AS(detect_tokens(ids, pieces), doctest::Contains("2 pieces for 3 ids"), scalpel::error);
}

TEST_CASE("detect_ids_and_text: exact token onsets from ids, text findings mapped onto ids") {
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(5000 + i);
  for (int i = 0; i < 60; ++i) ids.push_back(77);
  const loop_report r = detect_ids_and_text(ids, "prefix words " + repeat("x", 60), stop_kind::budget);
  CHECK(r.kind == phenotype::token_period);
  CHECK(r.onset_token == 20);
  CHECK(r.tokens == 80);
  std::string list = "Intro\n";
  for (int i = 1; i <= 30; ++i) list += std::to_string(i) + ". Canis Major\n";
  std::vector<std::int32_t> many(200);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<std::int32_t>(9000 + i);
  const loop_report l = detect_ids_and_text(many, list, stop_kind::budget);
  CHECK(l.kind == phenotype::list_collapse);
  CHECK(l.onset_token >= 0);
  CHECK(l.onset_token < 200);
  CHECK(l.detail.find("estimated") != std::string::npos);
}

TEST_CASE("loop_monitor: finish is idempotent, push after finish is an error, reset starts over") {
  loop_monitor m;
  m.push(1, "a");
  const loop_report a = m.finish(stop_kind::natural);
  const loop_report b = m.finish(stop_kind::budget);
  CHECK(a.result == b.result);
  CHECK(b.stop == stop_kind::natural);
  CHECK_THROWS_AS(m.push(2, "b"), scalpel::error);
  m.reset();
  CHECK(m.tokens() == 0);
  CHECK(m.text().empty());
  for (int i = 0; i < 40; ++i) m.push(3000, " z");
  CHECK(m.looping());
  loop_monitor ids_only;  // without pieces, ids decide: 3 = <unk> is an engine-bug token
  for (int i = 0; i < 40; ++i) ids_only.push(3, "");
  CHECK(ids_only.report().kind == phenotype::engine_bug);
}

TEST_CASE("loop_monitor: invalid configuration is rejected up front") {
  loop_monitor_config cfg;
  cfg.ngram.n = 0;
  CHECK_THROWS_WITH_AS(loop_monitor{cfg}, doctest::Contains("ngram.n"), scalpel::error);
}

TEST_CASE("loop_monitor: a 100k-token generation streams through in one pass") {
  loop_monitor m;
  std::uint32_t x = 11;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;
    const std::uint32_t w = (x >> 9) % 40000u;
    std::string piece(i % 17 == 0 ? "\nw" : " w");
    piece += std::to_string(w);
    REQUIRE_FALSE(m.push(static_cast<std::int32_t>(w), piece));
  }
  const loop_report r = m.finish(stop_kind::budget);
  CHECK_FALSE(r.looping);
  CHECK(r.tokens == 100000);
  CHECK(r.result == outcome::truncated);
}

}  // namespace ut_loop_monitor_test
