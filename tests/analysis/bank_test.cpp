// Loop banks: the JSON format (round trip, extra fields kept, errors naming the field), validation against a
// model, the metric (= the log-softmax difference of the contract), and single-prompt items.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include <doctest/doctest.h>

#include "localization_test_util.hpp"
#include "scalpel/analysis/bank_from_eval.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_bank_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace an = scalpel::analysis;

namespace {
std::string parse_error(const std::string& text) {
  try {
    (void)an::loop_bank::from_json(nlohmann::json::parse(text), "b.json");
  } catch (const scalpel::error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("bank: JSON round trip keeps extra fields") {
  const auto j = nlohmann::json::parse(R"({"format": "scalpel.loop-bank/1", "model": "m",
      "items": [{"ids": [2, 5, 6], "target": 9, "contrast": 10, "probe": "noble_gases", "seed": 3},
                {"ids": [2], "target": 1, "contrast": 0}]})");
  const auto b = an::loop_bank::from_json(j, "b.json");
  REQUIRE(b.items.size() == 2);
  CHECK(b.items[0].ids == std::vector<std::int32_t>{2, 5, 6});
  CHECK(b.items[0].target == 9);
  CHECK(b.items[0].contrast == 10);
  CHECK(b.items[0].extra["probe"] == "noble_gases");
  CHECK(b.extra["model"] == "m");
  CHECK(b.to_json() == j);
  const auto dir = std::filesystem::temp_directory_path() / "scalpel-bank-test";
  std::filesystem::create_directories(dir);
  b.write((dir / "bank.json").string());
  CHECK(an::loop_bank::read((dir / "bank.json").string()).to_json() == j);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bank: malformed files are errors naming the field") {
  CHECK(parse_error(R"([1, 2])").find("JSON object") != std::string::npos);
  CHECK(parse_error(R"({"items": []})").find("format") != std::string::npos);
  CHECK(parse_error(R"({"format": "scalpel.loop-bank/2", "items": []})").find("scalpel.loop-bank/1") !=
        std::string::npos);
  CHECK(parse_error(R"({"format": "scalpel.loop-bank/1"})").find("items") != std::string::npos);
  CHECK(parse_error(R"({"format": "scalpel.loop-bank/1", "items": []})").find("no items") != std::string::npos);
  CHECK(parse_error(R"({"format": "scalpel.loop-bank/1", "items": [{"ids": [2, "x"], "target": 1, "contrast": 2}]})")
            .find("items[0].ids[1]") != std::string::npos);
  CHECK(parse_error(R"({"format": "scalpel.loop-bank/1", "items": [{"ids": [], "target": 1, "contrast": 2}]})")
            .find("empty") != std::string::npos);
  CHECK(parse_error(R"({"format": "scalpel.loop-bank/1", "items": [{"ids": [2], "contrast": 2}]})")
            .find("items[0].target") != std::string::npos);
  CHECK(parse_error(R"({"format": "scalpel.loop-bank/1", "items": [{"ids": [2], "target": 1.5, "contrast": 2}]})")
            .find("items[0].target") != std::string::npos);
  CHECK_THROWS_AS(an::loop_bank::read("/nonexistent/bank.json"), scalpel::error);
}

TEST_CASE("bank: validation against the model") {
  const auto m = random_model({.variant = tiny_variant::dense_31b, .num_layers = 2}, 1);
  an::loop_bank b;
  b.source = "b.json";
  b.items.push_back({{2, 5}, 7, 8, {}});
  CHECK_NOTHROW(an::validate_bank(b, m.config()));
  auto bad = b;
  bad.items[0].target = 1024;
  CHECK_THROWS_WITH(an::validate_bank(bad, m.config()),
                    doctest::Contains("b.json: items[0].target: token id 1024 is out of range (vocab size 1024)"));
  bad = b;
  bad.items[0].ids[1] = -3;
  CHECK_THROWS_WITH(an::validate_bank(bad, m.config()), doctest::Contains("items[0].ids[1]"));
  bad = b;
  bad.items[0].contrast = 7;
  CHECK_THROWS_WITH(an::validate_bank(bad, m.config()), doctest::Contains("same token"));
  bad.items.clear();
  CHECK_THROWS_AS(an::validate_bank(bad, m.config()), scalpel::error);
}

TEST_CASE("bank: the metric is the log-softmax difference, averaged over items") {
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::e2b, .num_layers = 6}, 4);
  const auto bank = loc_test::random_bank(m, 3, 10, 2);
  double sum = 0.0;
  for (const auto& it : bank.items) {
    const auto z = m.logits(it.ids);
    double mx = -INFINITY, s = 0.0;
    for (float v : z) mx = std::max(mx, static_cast<double>(v));
    for (float v : z) s += std::exp(static_cast<double>(v) - mx);
    const double lse = mx + std::log(s);
    const double lsm = (static_cast<double>(z[static_cast<std::size_t>(it.target)]) - lse) -
                       (static_cast<double>(z[static_cast<std::size_t>(it.contrast)]) - lse);
    CHECK(an::item_metric(m, it) == doctest::Approx(lsm).epsilon(1e-12).scale(1.0));
    sum += lsm;
  }
  CHECK(an::bank_metric(m, bank) == doctest::Approx(sum / 3.0).epsilon(1e-12).scale(1.0));
}

TEST_CASE("bank: single-prompt items default to the greedy token and the best other token") {
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::e4b, .num_layers = 8}, 6);
  const std::vector<std::int32_t> ids{2, 100, 200, 300};
  const auto z = m.logits(ids);
  const auto it = an::make_bank_item(m, ids);
  CHECK(it.target == static_cast<std::int32_t>(std::max_element(z.begin(), z.end()) - z.begin()));
  for (std::size_t v = 0; v < z.size(); ++v)
    if (static_cast<std::int32_t>(v) != it.target) CHECK(z[v] <= z[static_cast<std::size_t>(it.contrast)]);
  CHECK(it.extra["source"] == "ids");
  CHECK(it.extra["m"].get<double>() > 0.0);  // the greedy token beats every other one
  const auto fixed = an::make_bank_item(m, ids, 5, 6);
  CHECK(fixed.target == 5);
  CHECK(fixed.contrast == 6);
  CHECK_THROWS_WITH(an::make_bank_item(m, ids, 5000), doctest::Contains("out of range"));
  CHECK_THROWS_WITH(an::make_bank_item(m, ids, 5, 5), doctest::Contains("same token"));
}

namespace {
nlohmann::json eval_record(const std::vector<std::int32_t>& prompt, const std::vector<std::int32_t>& gen,
                           const std::string& probe, std::int64_t onset, std::int64_t period,
                           const std::string& phenotype = "list_collapse", bool looping = true) {
  return {{"looping", looping},
          {"model", "demo"},
          {"variant", "base"},
          {"probe", probe},
          {"seed", 4},
          {"cell", "c"},
          {"prompt_ids", prompt},
          {"ids", gen},
          {"loop", {{"phenotype", phenotype}, {"onset_token", onset}, {"period_tokens", period}}}};
}
}  // namespace

TEST_CASE("bank from eval records: the list route, the model route, filters and skips") {
  simd::set_num_threads(1);
  const auto demo = an::build_planted_loop();
  const auto tok = io::tokenizer::from_json(demo.tokenizer_json.dump(), "demo tokenizer");
  const auto prompt = loc_test::planted_prompt(demo);
  const std::size_t a = demo.options.attractor;
  std::vector<std::int32_t> gen(demo.entry_ids.begin(), demo.entry_ids.begin() + static_cast<std::ptrdiff_t>(a));
  for (int k = 0; k < 6; ++k) gen.push_back(demo.entry_ids[a - 1]);
  const std::vector<nlohmann::json> records = {
      eval_record(prompt, gen, "iau_constellations", static_cast<std::int64_t>(a - 1), 0),  // period found
      eval_record(prompt, gen, "iau_constellations", static_cast<std::int64_t>(a - 1), 1),  // same case: deduped
      eval_record(prompt, gen, "no_such_probe", static_cast<std::int64_t>(a - 1), 2),       // model route
      eval_record(prompt, gen, "iau_constellations", 2, 1, "list_collapse", false),         // not looping
      eval_record(prompt, gen, "iau_constellations", 2, 1, "doom_loop"),                    // doom loops: not banked
      eval_record(prompt, gen, "iau_constellations", 999, 1)};                              // bad onset
  const auto r = an::bank_from_eval(demo.model, tok, records, "run.jsonl");
  CHECK(r.records == 6);
  CHECK(r.looping == 4);
  CHECK(r.skipped == 1);
  REQUIRE(r.skip_reasons.size() == 1);
  CHECK(r.skip_reasons[0].find("run.jsonl: record 6: onset_token 999") != std::string::npos);
  REQUIRE(r.bank.items.size() == 2);
  const auto& list = r.bank.items[0];
  CHECK(list.extra["route"] == "list");
  CHECK(list.extra["cut"] == a);
  CHECK(list.ids.size() == prompt.size() + a);
  CHECK(list.target == demo.entry_ids[a - 1]);
  CHECK(list.contrast == demo.entry_ids[a]);  // the next constellation
  CHECK(list.extra["m"].get<double>() == doctest::Approx(an::item_metric(demo.model, list)));
  const auto& model_route = r.bank.items[1];
  CHECK(model_route.extra["route"] == "model");
  CHECK(model_route.extra["cut"] == a + 1);
  CHECK(model_route.target == demo.entry_ids[a - 1]);
  // contrast: the best token that is neither the target nor in the repeated unit
  const auto z = demo.model.logits(model_route.ids);
  for (std::size_t v = 0; v < z.size(); ++v)
    if (static_cast<std::int32_t>(v) != model_route.target)
      CHECK(z[v] <= z[static_cast<std::size_t>(model_route.contrast)]);

  an::bank_from_eval_options o;
  o.variant = "edited";
  CHECK(an::bank_from_eval(demo.model, tok, records, "run.jsonl", o).bank.items.empty());
  o.variant.clear();
  o.phenotypes = {"doom_loop"};
  CHECK(an::bank_from_eval(demo.model, tok, records, "run.jsonl", o).bank.items.size() == 1);
  o.phenotypes.clear();
  o.max_items = 1;
  CHECK(an::bank_from_eval(demo.model, tok, records, "run.jsonl", o).bank.items.size() == 1);
}

TEST_CASE("bank from eval records: multi-token entries cut at the first token where the next gold item differs") {
  // A tokenizer with short pieces: "- Argon" is several tokens. The list repeats Argon; the next noble gas not
  // yet listed is Krypton: the cut is the token that starts "Argon" in the second copy, contrast the one that
  // starts "Krypton".
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::dense_31b, .num_layers = 2}, 3);
  const auto tok = io::tokenizer::from_json(tiny_tokenizer_json(m.config().vocab_size).dump(), "tiny");
  const std::string head = "- Helium\n- Neon\n- Argon";
  std::string text = head;
  for (int k = 0; k < 4; ++k) text += "\n- Argon";
  io::encode_options eo;
  eo.parse_specials = false;
  const auto gen = tok.encode(text, eo);
  const auto unit = tok.encode("\n- Argon", eo);
  const auto first = tok.encode(head, eo);
  REQUIRE(unit.size() > 2);
  // onset: the first copy of "- Argon" ("\n- Argon" units start right after "Neon")
  const auto neon = tok.encode("- Helium\n- Neon", eo).size();
  const std::vector<nlohmann::json> recs = {eval_record({2, 105}, gen, "noble_gases", static_cast<std::int64_t>(neon),
                                                        static_cast<std::int64_t>(unit.size()))};
  const auto r = an::bank_from_eval(m, tok, recs, "run.jsonl");
  REQUIRE(r.bank.items.size() == 1);
  const auto& it = r.bank.items[0];
  CHECK(it.extra["route"] == "list");
  const auto cut = it.extra["cut"].get<std::size_t>();
  CHECK(cut > first.size());  // inside the second copy
  CHECK(tok.decode(std::span<const std::int32_t>(gen.data(), cut)) == head + "\n- ");
  CHECK(tok.decode(std::vector<std::int32_t>{it.target}).front() == 'A');
  CHECK(tok.decode(std::vector<std::int32_t>{it.contrast}).front() == 'K');
}

}  // namespace ut_bank_test
