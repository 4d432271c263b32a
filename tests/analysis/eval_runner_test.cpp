// The eval runner: a small grid on a random model (prefill reuse, records, shards, cancellation) and the demo
// model's base vs edited comparison (loop rate 1 -> 0, Fisher p small).
#include "scalpel/analysis/eval_runner.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_report.hpp"
#include "scalpel/analysis/planted_loop.hpp"
#include "scalpel/model/random_model.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_eval_runner_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;
namespace md = scalpel::model;
using nlohmann::json;

namespace {

struct tiny_fixture {
  md::gemma4_model model = md::random_model({.variant = md::tiny_variant::e2b, .num_layers = 6}, 7);
  scalpel::io::tokenizer tok =
      scalpel::io::tokenizer::from_json(md::tiny_tokenizer_json(model.config().vocab_size).dump(), "tiny tokenizer");
};

an::eval_config tiny_grid() {
  return an::parse_eval_config(json::parse(R"({
    "format": "scalpel.eval-config/1",
    "model": {"name": "tiny", "path": "/unused", "id": "random-7"},
    "variants": [{"name": "flip", "plan": {"format": "scalpel.edit-plan/1",
                  "edits": [{"op": "scale", "layer": 1, "neurons": [3, 5, 8, 13], "factor": -4}]}}],
    "probes": [{"id": "months", "wordings": [0, 1]}],
    "thinking": "both",
    "budgets": [6, 10],
    "samplers": {"greedy": {"temperature": 0}, "warm": {}},
    "seeds": 3
  })"),
                               "grid");
}

/// Run `tasks` and collect records by key.
std::map<std::string, json> run(const an::eval_config& c, const std::vector<an::eval_cell>& cells,
                                const std::vector<an::eval_task>& tasks, const tiny_fixture& f,
                                an::eval_run_stats* stats = nullptr) {
  std::map<std::string, json> out;
  an::eval_callbacks cb;
  cb.on_record = [&](const an::eval_task& t, json r) {
    CHECK(r["key"] == t.key);
    CHECK(out.emplace(t.key, std::move(r)).second);
  };
  const auto st = an::run_eval_tasks(c, cells, "hash", 0, f.model, f.tok, tasks, cb);
  if (stats) *stats = st;
  return out;
}

json without_timing(json r) {
  r.erase("timing");
  return r;
}

}  // namespace

TEST_CASE("eval runner: a small grid on a random model") {
  scalpel::simd::thread_count_guard one(1);
  const tiny_fixture f;
  const auto c = tiny_grid();
  const auto cells = an::enumerate_cells(c);
  const auto tasks = an::plan_tasks(c, cells);
  REQUIRE(tasks.size() == 2 * 2 * 2 * 2 * 2 * 3);
  an::eval_run_stats st;
  const auto recs = run(c, cells, tasks, f, &st);
  CHECK(st.records == tasks.size());
  CHECK(st.prefills == 2 * 2 * 2);  // one per (variant, wording, thinking)
  CHECK_FALSE(st.cancelled);
  REQUIRE(recs.size() == tasks.size());

  const scalpel::gen::generator g(f.model, f.tok);
  for (const auto& t : tasks) {
    CAPTURE(t.key);
    const json& r = recs.at(t.key);
    an::check_eval_record(r, t.key);
    const auto& cell = cells[t.cell];
    CHECK(r["config_hash"] == "hash");
    CHECK(r["seed"] == t.seed);
    CHECK(r["tokens"].get<std::int64_t>() <= c.budgets[cell.budget].max_tokens);
    CHECK(r["loop"]["tokens"] == r["tokens"]);
    CHECK(r["ids"].size() == r["tokens"].get<std::size_t>());
    const auto prompt = f.tok.encode(an::eval_prompt_text(c, cell, scalpel::gen::chat_family::small));
    CHECK(r["prompt_ids"].get<std::vector<std::int32_t>>() == prompt);
    CHECK(r["thinking"] == cell.thinking);
    CHECK(r["list_score"]["gold_size"] == 12);
  }
  // Greedy cells: every seed gives the same tokens; the 6-token budget is a prefix of the 10-token one.
  for (const auto& t : tasks) {
    const json& r = recs.at(t.key);
    if (r["sampler"] != "greedy") continue;
    const auto ids = r["ids"].get<std::vector<int>>();
    const std::string cell0 = r["cell"].get<std::string>();
    CHECK(recs.at(an::record_key(cell0, 0))["ids"] == r["ids"]);
    if (r["budget"] == "6") {
      std::string longer = cell0;
      longer.replace(longer.find("|6|"), 3, "|10|");
      const auto ids10 = recs.at(an::record_key(longer, t.seed))["ids"].get<std::vector<int>>();
      REQUIRE(ids10.size() >= ids.size());
      CHECK(std::vector<int>(ids10.begin(), ids10.begin() + static_cast<std::ptrdiff_t>(ids.size())) == ids);
    }
  }
  // Prefill reuse changes nothing: each record equals a fresh generation with the same options and hooks.
  bool variants_differ = false;
  for (const std::size_t k : {0u, 5u, 17u, 40u, 61u, 95u}) {
    const auto& t = tasks[k];
    const auto& cell = cells[t.cell];
    CAPTURE(t.key);
    const auto prompt = f.tok.encode(an::eval_prompt_text(c, cell, scalpel::gen::chat_family::small));
    const auto opt = an::eval_generate_options(c, cell, t.seed, f.model.config());
    scalpel::gen::generation fresh;
    if (c.variants[cell.variant].plan) {
      scalpel::edit::plan_hooks h(*c.variants[cell.variant].plan, f.model.config());
      fresh = g.generate(prompt, opt, h);
    } else {
      md::no_hooks h;
      fresh = g.generate(prompt, opt, h);
    }
    CHECK(recs.at(t.key)["ids"].get<std::vector<std::int32_t>>() == fresh.ids);
    CHECK(recs.at(t.key)["text"] == fresh.text);
    std::string other = t.key;
    const bool is_base = other.find("|base|") != std::string::npos;
    other.replace(other.find(is_base ? "|base|" : "|flip|"), 6, is_base ? "|flip|" : "|base|");
    variants_differ = variants_differ || recs.at(other)["ids"] != recs.at(t.key)["ids"];
  }
  CHECK(variants_differ);  // the plan is applied

  SUBCASE("shards: the union of 0/3, 1/3, 2/3 is the unsharded run") {
    std::map<std::string, json> joined;
    for (std::size_t i = 0; i < 3; ++i) {
      const auto part = run(c, cells, an::plan_tasks(c, cells, {i, 3}), f);
      for (const auto& [k, r] : part) CHECK(joined.emplace(k, r).second);
    }
    REQUIRE(joined.size() == recs.size());
    for (const auto& [k, r] : recs) CHECK(without_timing(joined.at(k)) == without_timing(r));
  }
  SUBCASE("cancelling from on_token drops the generation in flight") {
    std::size_t n = 0;
    an::eval_callbacks cb;
    cb.on_record = [&](const an::eval_task&, json) { ++n; };
    cb.on_token = [&](std::size_t) { return n < 3; };
    const auto s = an::run_eval_tasks(c, cells, "hash", 0, f.model, f.tok, tasks, cb);
    CHECK(s.cancelled);
    CHECK(n == 3);
    CHECK(s.records == 3);
  }
  SUBCASE("tasks of another model are skipped") {
    const auto s = an::run_eval_tasks(c, cells, "hash", 1, f.model, f.tok, tasks);
    CHECK(s.records == 0);
    CHECK(s.prefills == 0);
  }
}

TEST_CASE("eval runner: a plan that does not fit the model fails before generating") {
  scalpel::simd::thread_count_guard one(1);
  const tiny_fixture f;
  auto j = an::to_json(tiny_grid());
  j["variants"][0]["plan"]["edits"][0]["layer"] = 99;
  const auto c = an::parse_eval_config(j, "grid");
  const auto cells = an::enumerate_cells(c);
  std::size_t n = 0;
  an::eval_callbacks cb;
  cb.on_record = [&](const an::eval_task&, json) { ++n; };
  CHECK_THROWS_AS(an::run_eval_tasks(c, cells, "hash", 0, f.model, f.tok, an::plan_tasks(c, cells), cb),
                  scalpel::error);
  CHECK(n == 0);
}

TEST_CASE("eval runner: the demo model loops at T 1.0 and the plan removes it") {
  scalpel::simd::thread_count_guard one(1);
  const auto demo = an::build_planted_loop();
  const auto tok = scalpel::io::tokenizer::from_json(demo.tokenizer_json.dump(), "demo tokenizer");
  const auto c = an::parse_eval_config(json::parse(R"({
    "format": "scalpel.eval-config/1",
    "model": {"name": "demo", "path": "/unused", "id": "planted-loop"},
    "variants": [{"name": "fix", "plan": {"format": "scalpel.edit-plan/1", "edits": [{"op": "negate", "layer": 2, "neurons": [37]}]}}],
    "probes": ["iau_constellations"],
    "budgets": [120],
    "seeds": 4
  })"),
                                       "demo grid");
  const auto cells = an::enumerate_cells(c);
  std::vector<json> records;
  an::eval_callbacks cb;
  cb.on_record = [&](const an::eval_task&, json r) { records.push_back(std::move(r)); };
  an::run_eval_tasks(c, cells, "h", 0, demo.model, tok, an::plan_tasks(c, cells), cb);
  REQUIRE(records.size() == 8);
  for (const auto& r : records) {
    CAPTURE(r["key"]);
    if (r["variant"] == "base") {
      CHECK(r["looping"] == true);
      CHECK(r["outcome"] == "list_collapse");
      CHECK(r["list_score"]["duplicates"].get<int>() > 10);
    } else {
      CHECK(r["looping"] == false);
      CHECK(r["list_score"]["coverage"].get<double>() > 0.5);
    }
  }
  const auto s = an::summarize_eval(records);
  REQUIRE(s.comparisons.size() == 2);  // the probe, and all probes
  const auto& cmp = s.comparisons[0];
  CHECK(cmp.at.probe == "iau_constellations");
  CHECK(cmp.base_loops == 4);
  CHECK(cmp.loops == 0);
  CHECK(cmp.fisher.p_two_sided == doctest::Approx(2.0 / 70.0));  // 2 / C(8, 4)
}

}  // namespace ut_eval_runner_test
