// The multiple-choice guard (analysis/guard_mc.hpp): the JSONL format and its errors, the built-in sample, scoring
// against brute force (each prompt + choice run whole), and the scalpel.guard/1 JSON form.
#include "scalpel/analysis/guard_mc.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "guard_test_util.hpp"
#include "scalpel/analysis/guard.hpp"
#include "scalpel/analysis/guard_builtin.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/model/random_model.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_guard_mc_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace an = scalpel::analysis;

namespace {

/// A plan of one edit.
edit::plan single(edit::any_edit e) {
  edit::plan p;
  p.add(std::move(e));
  return p;
}

/// The scalpel::error a parse of `text` (named "f.jsonl") throws.
error parse_error(const std::string& text) {
  try {
    (void)an::parse_mc_jsonl(text, "f.jsonl");
  } catch (const error& e) {
    return e;
  }
  FAIL("no error for: " << text);
  return error(errc::json, "");
}

std::vector<an::mc_item_ids> random_items(std::size_t V, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto tok = [&] { return static_cast<std::int32_t>(3 + rng() % (V - 3)); };
  std::vector<an::mc_item_ids> items;
  for (std::size_t i = 0; i < 6; ++i) {
    an::mc_item_ids it;
    it.id = "q" + std::to_string(i);
    it.prompt = {2};
    for (std::size_t j = 0; j < 4 + 3 * i; ++j) it.prompt.push_back(tok());  // up to 19 tokens: past the window
    const std::size_t n_choices = 2 + i % 3;
    for (std::size_t k = 0; k < n_choices; ++k) {
      std::vector<std::int32_t> c;
      for (std::size_t j = 0; j < 1 + (i + k) % 4; ++j) c.push_back(tok());  // 1..4 tokens
      it.choices.push_back(c);
    }
    it.answer = i % n_choices;
    items.push_back(it);
  }
  return items;
}

}  // namespace

TEST_CASE("guard mc: the built-in sample parses and is byte-identical to examples/data/mc-sample.jsonl") {
  std::ifstream f(std::string(SCALPEL_SOURCE_DIR) + "/examples/data/mc-sample.jsonl", std::ios::binary);
  REQUIRE(f.good());
  const std::string file((std::istreambuf_iterator<char>(f)), {});
  CHECK(file == std::string(an::builtin_mc_sample));
  const auto set = an::builtin_mc_set();
  CHECK(set.source == "builtin");
  CHECK(set.items.size() == 40);
  std::set<std::string> ids;
  for (const auto& it : set.items) {
    CHECK(it.choices.size() >= 3);
    CHECK(it.choices.size() <= 4);
    CHECK(it.answer < it.choices.size());
    CHECK(ids.insert(it.id).second);
    for (const auto& c : it.choices) CHECK(c.front() == ' ');  // the documented convention
    CHECK(it.prompt.back() != ' ');
  }
  // the reading path gives the same items
  const auto read = an::read_mc_file(std::string(SCALPEL_SOURCE_DIR) + "/examples/data/mc-sample.jsonl");
  REQUIRE(read.items.size() == 40);
  CHECK(read.items[7].prompt == set.items[7].prompt);
  CHECK(read.items[39].line == 40);
}

TEST_CASE("guard mc: the JSONL format (optional id and meta, blank lines, CRLF)") {
  const auto s = an::parse_mc_jsonl(
      "\xEF\xBB\xBF{\"prompt\": \"A\", \"choices\": [\" x\", \" y\"], \"answer\": 1}\r\n"
      "\n   \n"
      "{\"id\": \"k\", \"prompt\": \"\", \"choices\": [\" a\", \" b\", \" c\"], \"answer\": 0, \"meta\": {\"n\": 1}}",
      "t.jsonl");
  REQUIRE(s.items.size() == 2);
  CHECK(s.items[0].id.empty());
  CHECK(s.items[0].answer == 1);
  CHECK(s.items[0].choices[1] == " y");
  CHECK(s.items[1].id == "k");
  CHECK(s.items[1].line == 4);
  CHECK(s.items[1].choices.size() == 3);
}

TEST_CASE("guard mc: malformed lines name file:line and the field") {
  const std::string ok = R"({"prompt": "p", "choices": [" a", " b"], "answer": 0})";
  struct bad_case {
    std::string line;
    std::string expect;
    errc code = errc::json;
  };
  const std::vector<bad_case> cases = {
      {R"({"prompt": "p", "choices": [" a", " b"], "answer": 0)", "not valid JSON"},
      {R"(["p", [" a"], 0])", "expected a JSON object"},
      {R"({"choices": [" a", " b"], "answer": 0})", "field 'prompt' is missing"},
      {R"({"prompt": 3, "choices": [" a", " b"], "answer": 0})", "field 'prompt': expected a string"},
      {R"({"prompt": "p", "answer": 0})", "field 'choices' is missing"},
      {R"({"prompt": "p", "choices": [], "answer": 0})", "field 'choices': expected an array of at least 2"},
      {R"({"prompt": "p", "choices": [" a"], "answer": 0})", "field 'choices': expected an array of at least 2"},
      {R"({"prompt": "p", "choices": " a b", "answer": 0})", "field 'choices'"},
      {R"({"prompt": "p", "choices": [" a", ""], "answer": 0})", "field 'choices[1]': expected a non-empty string"},
      {R"({"prompt": "p", "choices": [" a", 7], "answer": 0})", "field 'choices[1]'"},
      {R"({"prompt": "p", "choices": [" a", " b"]})", "field 'answer' is missing"},
      {R"({"prompt": "p", "choices": [" a", " b"], "answer": "1"})", "field 'answer': expected an integer"},
      {R"({"prompt": "p", "choices": [" a", " b"], "answer": 1.0})", "field 'answer': expected an integer"},
      {R"({"prompt": "p", "choices": [" a", " b"], "answer": 2})", "field 'answer': 2 is out of range (2 choices",
       errc::out_of_range},
      {R"({"prompt": "p", "choices": [" a", " b"], "answer": -1})", "field 'answer': -1 is out of range",
       errc::out_of_range},
      {R"({"prompt": "p", "choices": [" a", " b"], "answers": 0})", "unknown field 'answers'"},
      {R"({"id": 5, "prompt": "p", "choices": [" a", " b"], "answer": 0})", "field 'id': expected a string"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    // the bad line is line 3 (after a good line and a blank one)
    const auto e = parse_error(ok + "\n\n" + c.line + "\n" + ok + "\n");
    const std::string msg = e.what();
    CHECK(msg.find("f.jsonl:3: ") != std::string::npos);
    CHECK(msg.find(c.expect) != std::string::npos);
    CHECK(e.code() == c.code);
  }
  const auto dup = parse_error(R"({"id": "a", "prompt": "p", "choices": [" a", " b"], "answer": 0})"
                               "\n"
                               R"({"id": "a", "prompt": "q", "choices": [" a", " b"], "answer": 0})");
  CHECK(std::string(dup.what()).find("f.jsonl:2: field 'id': duplicate id 'a' (first on line 1)") != std::string::npos);
  CHECK(std::string(parse_error("\n  \n").what()).find("f.jsonl: no items") != std::string::npos);
  CHECK_THROWS_WITH_AS(an::read_mc_file("/nonexistent/mc.jsonl"), doctest::Contains("/nonexistent/mc.jsonl"), error);
}

TEST_CASE("guard mc: scores equal brute-force log-prob sums, and picks, accuracy, flips, gold delta follow") {
  simd::set_num_threads(1);
  for (const auto v : {tiny_variant::e2b, tiny_variant::moe_26b_a4b}) {
    CAPTURE(static_cast<int>(v));
    const auto m = random_model({.variant = v, .num_layers = 6}, 4, dtype_id::f32);
    const auto items = random_items(m.config().vocab_size, 8);
    auto p = edit::plan::from(edit::strip{1, {0, 3, 5, 8, 13, 21}} | edit::negate{3, {2, 4, 6, 10, 40}} |
                              edit::scale{4, {7, 9, 11}, 6.0f});
    if (v == tiny_variant::moe_26b_a4b) p.add(edit::expert_mask{2, {0, 1, 5}});
    const an::guard_pair pair(m, p);
    std::size_t calls = 0;
    an::guard_options o;
    o.progress = [&](std::size_t done, std::size_t total) {
      CHECK(total == items.size());
      CHECK(done == ++calls);
    };
    const auto r = an::guard_mc(pair, items, o, "unit");
    CHECK(calls == items.size());
    CHECK(r.source == "unit");
    CHECK(r.items == items.size());
    REQUIRE(r.per_item.size() == items.size());
    const edit::plan_hooks hooks(p, m.config());
    no_hooks none;
    double gold = 0.0;
    std::size_t hits_b = 0, hits_e = 0, hits_nb = 0, hits_ne = 0, flips = 0;
    double max_diff = 0.0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& it = items[i];
      const auto& x = r.per_item[i];
      CHECK(x.id == it.id);
      std::vector<double> lb, le, nb, ne;
      for (std::size_t k = 0; k < it.choices.size(); ++k) {
        lb.push_back(guard_test::brute_choice(m, none, it.prompt, it.choices[k]));
        le.push_back(guard_test::brute_choice(m, hooks, it.prompt, it.choices[k]));
        nb.push_back(lb.back() / static_cast<double>(it.choices[k].size()));
        ne.push_back(le.back() / static_cast<double>(it.choices[k].size()));
        CHECK(x.choice_tokens[k] == it.choices[k].size());
        CHECK(guard_test::close(x.logprob_base[k], lb[k], 1e-5));
        CHECK(guard_test::close(x.logprob_edited[k], le[k], 1e-5));
        max_diff = std::max(max_diff, std::fabs(x.logprob_edited[k] - x.logprob_base[k]));
      }
      auto pick = [](const std::vector<double>& s) {
        return static_cast<std::size_t>(std::max_element(s.begin(), s.end()) - s.begin());
      };
      CHECK(x.pick_base == pick(lb));
      CHECK(x.pick_edited == pick(le));
      CHECK(x.pick_norm_base == pick(nb));
      CHECK(x.pick_norm_edited == pick(ne));
      hits_b += pick(lb) == it.answer;
      hits_e += pick(le) == it.answer;
      hits_nb += pick(nb) == it.answer;
      hits_ne += pick(ne) == it.answer;
      flips += pick(lb) != pick(le);
      gold += le[it.answer] - lb[it.answer];
    }
    const double n = static_cast<double>(items.size());
    CHECK(r.acc_base == static_cast<double>(hits_b) / n);
    CHECK(r.acc_edited == static_cast<double>(hits_e) / n);
    CHECK(r.acc_norm_base == static_cast<double>(hits_nb) / n);
    CHECK(r.acc_norm_edited == static_cast<double>(hits_ne) / n);
    CHECK(r.flipped == flips);
    CHECK(r.gold_logprob_delta == doctest::Approx(gold / n).epsilon(1e-5));
    CHECK(max_diff > 0.01);  // the edit did something

    // identity: nothing moves
    const auto id = an::guard_mc(an::guard_pair(m, edit::plan{}), items);
    CHECK(id.flipped == 0);
    CHECK(id.gold_logprob_delta == 0.0);
    CHECK(id.acc_base == id.acc_edited);
    CHECK(id.acc_norm_base == id.acc_norm_edited);
    CHECK(id.acc_base == r.acc_base);
  }
}

TEST_CASE("guard mc: bad id items are errors naming the item") {
  const auto m = random_model({.variant = tiny_variant::dense_31b, .num_layers = 3}, 1, dtype_id::f32);
  const an::guard_pair pair(m, edit::plan{});
  auto items = random_items(m.config().vocab_size, 2);
  items[1].choices[0].push_back(5000);
  CHECK_THROWS_WITH_AS(an::guard_mc(pair, items), doctest::Contains("item 1 ('q1'): choice 0: token id 5000"), error);
  items = random_items(m.config().vocab_size, 2);
  items[2].answer = 9;
  CHECK_THROWS_WITH_AS(an::guard_mc(pair, items), doctest::Contains("answer 9"), error);
  items[2].answer = 0;
  items[2].choices[1].clear();
  CHECK_THROWS_WITH_AS(an::guard_mc(pair, items), doctest::Contains("choice 1 has no tokens"), error);
  CHECK_THROWS_AS(an::guard_mc(pair, std::vector<an::mc_item_ids>{}), error);
}

TEST_CASE("guard mc: the built-in sample on a golden model, tokenized as documented") {
  simd::set_num_threads(1);
  const std::string dir = std::string(SCALPEL_TEST_DATA_DIR) + "/golden/moe-like";
  const auto m = load_model(dir);
  const auto tok = io::load_tokenizer(dir);
  const auto set = an::builtin_mc_set();
  const auto ids = an::tokenize_mc(set, tok);
  REQUIRE(ids.size() == 40);
  io::encode_options bos;
  bos.add_bos = true;
  CHECK(ids[0].prompt == tok.encode(set.items[0].prompt, bos));
  CHECK(ids[0].prompt.front() == 2);
  CHECK(ids[0].choices[1] == tok.encode(set.items[0].choices[1]));  // each choice on its own, no <bos>
  const an::guard_pair pair(m, single(edit::strip{1, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}));
  const auto r = an::guard_mc(pair, tok, set);
  CHECK(r.source == "builtin");
  CHECK(r.items == 40);
  CHECK(r.per_item[5].choice_tokens[1] == ids[5].choices[1].size());
  CHECK(r.gold_logprob_delta != 0.0);
  no_hooks none;
  CHECK(guard_test::close(r.per_item[3].logprob_base[2],
                          guard_test::brute_choice(m, none, ids[3].prompt, ids[3].choices[2]), 1e-5));
}

TEST_CASE("guard report: scalpel.guard/1 JSON has exactly the documented shape and reads back") {
  an::guard_report rep;
  auto j = rep.to_json();
  CHECK(j == nlohmann::json::parse(R"({"format": "scalpel.guard/1", "text": null, "mc": null})"));
  rep.text = an::text_guard_result{"builtin", 151, 1, 0.01, 0.2, 2.0, 2.1, 7.39, 8.17, 0.105, 0.97};
  rep.mc = an::mc_guard_result{"mc.jsonl", 40, 0.75, 0.7, 0.725, 0.7, 3, -0.25, {}};
  j = rep.to_json();
  std::set<std::string> top, text, mc;
  for (const auto& [k, v] : j.items()) top.insert(k);
  for (const auto& [k, v] : j["text"].items()) text.insert(k);
  for (const auto& [k, v] : j["mc"].items()) mc.insert(k);
  CHECK(top == std::set<std::string>{"format", "text", "mc"});
  CHECK(text == std::set<std::string>{"source", "tokens", "windows", "kl_mean", "kl_max", "nll_base", "nll_edited",
                                      "ppl_base", "ppl_edited", "ppl_delta", "top1_agreement"});
  CHECK(mc == std::set<std::string>{"source", "items", "acc_base", "acc_edited", "acc_norm_base", "acc_norm_edited",
                                    "flipped", "gold_logprob_delta"});
  CHECK(j["text"]["tokens"].is_number_unsigned());
  CHECK(j["mc"]["flipped"] == 3);
  const auto back = an::guard_report::from_json(j);
  REQUIRE(back.text.has_value());
  REQUIRE(back.mc.has_value());
  CHECK(back.to_json() == j);
  auto broken = j;
  broken["mc"].erase("flipped");
  CHECK_THROWS_WITH_AS(an::guard_report::from_json(broken, "g.json"), doctest::Contains("g.json: field 'mc.flipped'"),
                       error);
}

}  // namespace ut_guard_mc_test
