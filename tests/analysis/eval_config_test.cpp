// The eval config (scalpel.eval-config/1): parsing, defaults, errors, canonical form, hash; cells, keys, shards.
#include "scalpel/analysis/eval_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_grid.hpp"

namespace ut_eval_config_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;
using nlohmann::json;

namespace {
json minimal() {
  return json::parse(R"({"format": "scalpel.eval-config/1", "model": "/models/m", "probes": ["noble_gases"]})");
}
an::eval_config parse(const json& j) { return an::parse_eval_config(j, "cfg.json", "/base"); }

/// The message of the scalpel::error `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const scalpel::error& e) {
    return e.what();
  }
  return "";
}

std::string hash_of(const an::eval_config& c) {
  std::vector<std::string> ids(c.models.size(), "model-id");
  return an::eval_config_hash(c, ids);
}

std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("scalpel-evalcfg-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}
}  // namespace

TEST_CASE("eval config: a minimal config gets the documented defaults") {
  const auto c = parse(minimal());
  REQUIRE(c.models.size() == 1);
  CHECK(c.models[0].name == "m");
  CHECK(c.models[0].path == "/models/m");
  REQUIRE(c.variants.size() == 1);
  CHECK(c.variants[0].name == "base");
  CHECK_FALSE(c.variants[0].plan.has_value());
  REQUIRE(c.probes.size() == 1);
  CHECK(c.probes[0].p.id == "noble_gases");
  CHECK(c.probes[0].wordings == std::vector<std::size_t>{0});
  CHECK(c.thinking == std::vector<bool>{false});
  REQUIRE(c.budgets.size() == 1);
  CHECK(c.budgets[0].name == "1536");
  CHECK(c.budgets[0].max_tokens == 1536);
  REQUIRE(c.samplers.size() == 1);
  CHECK(c.samplers[0].name == "default");
  CHECK(c.samplers[0].sampling.temperature == 1.0f);
  CHECK(c.samplers[0].sampling.top_k == 64);
  CHECK(c.samplers[0].sampling.top_p == 0.95f);
  CHECK(c.seeds == std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK_FALSE(c.family.has_value());
  CHECK_FALSE(c.stop_on_loop);
  CHECK(an::enumerate_cells(c).size() == 1);
}

TEST_CASE("eval config: every field") {
  const json j = json::parse(R"({
    "format": "scalpel.eval-config/1",
    "description": "everything",
    "models": ["rel/e2b", {"name": "big", "path": "/abs/31b.gguf", "tokenizer": "tok.json", "id": "gemma-31b"}],
    "variants": [{"name": "fix", "plan": {"format": "scalpel.edit-plan/1", "edits": [{"op": "negate", "layer": 2, "neurons": [37]}]}}],
    "probes": ["noble_gases", {"id": "iau_constellations", "wordings": [0, 2]}, {"id": "months", "wordings": "all"}],
    "wordings": "first",
    "thinking": "both",
    "budgets": [512, {"name": "long", "max_tokens": 4096, "thinking_budget": 1024}],
    "samplers": {"google": {}, "t07": {"temperature": 0.7, "top_k": 40, "repeat-penalty": 1.15, "samplers": "top_k;temperature",
                                      "logit-bias": ["5:-inf", [7, 1.5]]}},
    "seeds": {"count": 4, "start": 100},
    "chat": {"family": "large", "system": "Be brief.", "think_newline": true},
    "stop": {"stop_on_loop": true, "ignore_eos": true, "on_thinking_budget": "stop"}
  })");
  const auto c = parse(j);
  CHECK(c.description == "everything");
  REQUIRE(c.models.size() == 2);
  CHECK(c.models[0].name == "e2b");
  CHECK(c.models[0].path == "/base/rel/e2b");
  CHECK(c.models[1].name == "big");
  CHECK(c.models[1].tokenizer == "/base/tok.json");
  CHECK(c.models[1].id == "gemma-31b");
  CHECK(an::default_model_name("/x/model-f32.gguf") == "model-f32");
  CHECK(an::default_model_name("/x/gemma 4/") == "gemma_4");
  REQUIRE(c.variants.size() == 2);
  CHECK(c.variants[1].name == "fix");
  REQUIRE(c.variants[1].plan.has_value());
  CHECK(c.variants[1].plan->edits.size() == 1);
  REQUIRE(c.probes.size() == 3);
  CHECK(c.probes[0].wordings == std::vector<std::size_t>{0});
  CHECK(c.probes[1].wordings == std::vector<std::size_t>{0, 2});
  CHECK(c.probes[2].wordings.size() == c.probes[2].p.wordings.size());
  CHECK(c.thinking == std::vector<bool>{false, true});
  REQUIRE(c.budgets.size() == 2);
  CHECK(c.budgets[0].name == "512");
  CHECK(c.budgets[1].name == "long");
  CHECK(c.budgets[1].thinking_budget == 1024);
  REQUIRE(c.samplers.size() == 2);
  CHECK(c.samplers[0].name == "google");
  CHECK(c.samplers[1].name == "t07");
  const auto& t07 = c.samplers[1].sampling;
  CHECK(t07.temperature == 0.7f);
  CHECK(t07.top_k == 40);
  CHECK(t07.repeat_penalty == 1.15f);
  CHECK(t07.order.size() == 3);  // logit_bias prepended
  REQUIRE(t07.logit_bias.size() == 2);
  CHECK(std::isinf(t07.logit_bias[0].bias));
  CHECK(t07.logit_bias[1].id == 7);
  CHECK(c.seeds == std::vector<std::uint64_t>{100, 101, 102, 103});
  CHECK(c.family == scalpel::gen::chat_family::large);
  CHECK(c.system == "Be brief.");
  CHECK(c.think_newline);
  CHECK(c.stop_on_loop);
  CHECK(c.ignore_eos);
  CHECK(c.on_thinking_budget == scalpel::gen::thinking_overflow::stop);
  // 2 models x 2 variants x (1 + 2 + 3 wordings) x 2 thinking x 2 budgets x 2 samplers
  CHECK(an::enumerate_cells(c).size() == 2 * 2 * 6 * 2 * 2 * 2);

  SUBCASE("the canonical form parses back to the same config") {
    const json canon = an::to_json(c);
    const auto again = an::parse_eval_config(canon, "canon", "");
    CHECK(an::to_json(again) == canon);
    CHECK(hash_of(again) == hash_of(c));
    CHECK(canon["samplers"][1]["logit-bias"] == json::parse(R"(["5:-inf", "7:1.5"])"));
    CHECK(canon["samplers"][1]["temperature"] == 0.7);  // shortest decimal, not 0.699999988
  }
}

TEST_CASE("eval config: seeds, thinking, probe sets and sampler forms") {
  auto j = minimal();
  j["seeds"] = 3;
  CHECK(parse(j).seeds == std::vector<std::uint64_t>{0, 1, 2});
  j["seeds"] = json::array({9, 4});
  CHECK(parse(j).seeds == std::vector<std::uint64_t>{9, 4});
  j["thinking"] = true;
  CHECK(parse(j).thinking == std::vector<bool>{true});
  j["thinking"] = json::array({true, false});
  CHECK(parse(j).thinking == std::vector<bool>{true, false});
  j["probes"] = "control";
  const auto c = parse(j);
  CHECK(c.probes.size() == 5);
  for (const auto& p : c.probes) CHECK(p.p.category == an::probe_category::control);
  j["probes"] = "all";
  CHECK(parse(j).probes.size() == an::builtin_probes().probes.size());
  // A user probe set: its ids first, then built-in ones.
  j["probe_set"] = json::parse(R"({"format": "scalpel.probes/1", "probes": [{"id": "mine", "category": "control",
      "wordings": ["Name two colours."], "expected_count": 2, "gold": {"items": ["red", "blue"]}}]})");
  j["probes"] = json::array({"mine", "planets"});
  const auto u = parse(j);
  REQUIRE(u.probes.size() == 2);
  CHECK(u.probes[0].p.wordings[0] == "Name two colours.");
  CHECK(u.probes[1].p.id == "planets");
  // A single unnamed sampler is "default"; snake_case option names work too.
  j["samplers"] = json::parse(R"([{"top_p": 0.9, "min_p": 0.05}])");
  const auto s = parse(j);
  CHECK(s.samplers[0].name == "default");
  CHECK(s.samplers[0].sampling.top_p == 0.9f);
  CHECK(s.samplers[0].sampling.min_p == 0.05f);
}

TEST_CASE("eval config: errors name the file and the field") {
  struct bad {
    const char* patch;  // merged into the minimal config
    const char* expect;
  };
  const bad cases[] = {
      {R"({"format": "scalpel.eval-config/2"})", "field 'format'"},
      {R"({"colour": 1})", "field 'colour': unknown field"},
      {R"({"probes": ["no_such_probe"]})", "no probe 'no_such_probe' (known: noble_gases"},
      {R"({"probes": [{"id": "noble_gases", "wordings": [7]}]})", "has 4 wordings"},
      {R"({"probes": ["months", "months"]})", "listed twice"},
      {R"({"probes": []})", "no probes"},
      {R"({"samplers": [{"name": "a", "temprature": 1}]})", "unknown sampler option"},
      {R"({"samplers": [{"name": "a", "temperature": -1}]})", "temperature must be >= 0"},
      {R"({"samplers": [{"name": "a", "top_k": 3, "top-k": 4}]})", "option given twice"},
      {R"({"samplers": [{"temperature": 1}, {"temperature": 0.7}]})", "needs a \"name\""},
      {R"({"samplers": [{"name": "a"}, {"name": "a"}]})", "sampler name 'a' appears twice"},
      {R"({"samplers": [{"name": "a b"}]})", "not a valid name"},
      {R"({"samplers": [{"name": "a", "seed": 3}]})", "unknown sampler option"},
      {R"({"budgets": [0]})", "max_tokens must be in [1, 2^30]"},
      {R"({"budgets": [{"max_tokens": 5, "thinking_budget": -2}]})", "thinking_budget must be >= -1"},
      {R"({"seeds": 0})", "seed count must be in"},
      {R"({"seeds": [1, 1]})", "seed listed twice"},
      {R"({"thinking": "maybe"})", "field 'thinking'"},
      {R"({"base": false})", "no variants"},
      {R"({"variants": [{"name": "base", "plan": {"format": "scalpel.edit-plan/1", "edits": []}}]})", "reserved"},
      {R"({"variants": [{"plan": {"format": "scalpel.edit-plan/1", "edits": []}}]})", "needs a \"name\""},
      {R"({"variants": [{"name": "v", "plan": {"format": "scalpel.edit-plan/1", "edits": [{"op": "zap"}]}}]})",
       "unknown op"},
      {R"({"models": ["/a"]})", "not both"},
      {R"({"chat": {"family": "medium"}})", "field 'chat.family'"},
      {R"({"stop": {"on_thinking_budget": "later"}})", "field 'stop.on_thinking_budget'"},
  };
  for (const auto& b : cases) {
    CAPTURE(b.patch);
    auto j = minimal();
    j.merge_patch(json::parse(b.patch));
    const std::string msg = error_of([&] { (void)parse(j); });
    CHECK_MESSAGE(msg.find(b.expect) != std::string::npos, msg);
    CHECK_MESSAGE((msg.find("cfg.json") != std::string::npos || msg.find("plan") != std::string::npos), msg);
  }
}

TEST_CASE("eval config: the hash covers what a record means, not seeds or paths") {
  const auto base = parse(minimal());
  const std::string h = hash_of(base);
  CHECK(h.size() == 16);
  auto same = [&](json j) { return hash_of(parse(j)) == h; };
  auto j = minimal();
  j["seeds"] = 128;
  CHECK(same(j));  // more seeds: resume the same run
  j = minimal();
  j["model"] = "/elsewhere/m";
  CHECK(same(j));  // another directory: shards on other machines merge
  j = minimal();
  j["description"] = "x";
  CHECK(same(j));
  j = minimal();
  j["samplers"] = json::parse(R"([{"temperature": 1.0, "top-k": 64}])");
  CHECK(same(j));  // defaults written out
  for (
      const char* patch :
      {R"({"samplers": [{"temperature": 0.7}]})", R"({"budgets": [512]})", R"({"thinking": "on"})",
       R"({"probes": [{"id": "noble_gases", "wordings": [1]}]})", R"({"chat": {"system": "hi"}})",
       R"({"stop": {"stop_on_loop": true}})", R"({"model": {"path": "/models/m", "name": "other"}})",
       R"({"variants": [{"name": "v", "plan": {"format": "scalpel.edit-plan/1", "edits": [{"op": "strip", "layer": 0, "neurons": [1]}]}}]})"}) {
    CAPTURE(patch);
    j = minimal();
    j.merge_patch(json::parse(patch));
    CHECK_FALSE(same(j));
  }
  // The model identity is part of it.
  const std::vector<std::string> other = {"another-model"};
  CHECK(an::eval_config_hash(base, other) != h);
  CHECK_THROWS_AS((void)an::eval_config_hash(base, std::vector<std::string>{}), scalpel::error);
}

TEST_CASE("eval grid: cell and record keys, shards partition the tasks") {
  auto j = minimal();
  j.merge_patch(json::parse(R"({"probes": ["noble_gases", {"id": "months", "wordings": [0, 2]}], "thinking": "both",
                               "budgets": [16, 32], "samplers": {"a": {}, "b": {"temperature": 0.5}}, "seeds": 3})"));
  const auto c = parse(j);
  const auto cells = an::enumerate_cells(c);
  REQUIRE(cells.size() == 3 * 2 * 2 * 2);
  CHECK(an::cell_key(c, cells[0]) == "m|base|noble_gases|w0|think-off|16|a");
  CHECK(an::cell_key(c, cells[1]) == "m|base|noble_gases|w0|think-off|16|b");
  CHECK(an::cell_key(c, cells.back()) == "m|base|months|w2|think-on|32|b");
  CHECK(an::record_key(an::cell_key(c, cells[0]), 7) == "m|base|noble_gases|w0|think-off|16|a|seed=7");
  // Cells sharing a prefill are adjacent.
  CHECK(cells[0].same_prefill(cells[3]));
  CHECK_FALSE(cells[3].same_prefill(cells[4]));
  std::set<std::string> keys;
  for (const auto& cell : cells) keys.insert(an::cell_key(c, cell));
  CHECK(keys.size() == cells.size());

  const auto all = an::plan_tasks(c, cells);
  REQUIRE(all.size() == cells.size() * 3);
  CHECK(all[0].key == "m|base|noble_gases|w0|think-off|16|a|seed=0");
  CHECK(all[1].seed == 1);
  for (const std::size_t n : {2u, 3u, 5u, 100u}) {
    CAPTURE(n);
    std::vector<std::string> joined;
    for (std::size_t i = 0; i < n; ++i) {
      const auto part = an::plan_tasks(c, cells, {i, n});
      CHECK(part.size() >= all.size() / n);
      CHECK(part.size() <= all.size() / n + 1);
      for (const auto& t : part) joined.push_back(t.key);
    }
    std::vector<std::string> expect;
    for (const auto& t : all) expect.push_back(t.key);
    std::sort(joined.begin(), joined.end());
    std::sort(expect.begin(), expect.end());
    CHECK(joined == expect);
  }
  CHECK(an::parse_shard("3/8").index == 3);
  CHECK(an::parse_shard("3/8").count == 8);
  for (const char* bad : {"8/8", "1", "a/2", "1/0", "-1/2", "1/2/3", ""}) {
    CAPTURE(bad);
    CHECK_THROWS_AS((void)an::parse_shard(bad), scalpel::error);
  }
}

TEST_CASE("eval grid: prompts are rendered in the Gemma 4 chat format") {
  auto j = minimal();
  j["thinking"] = "both";
  auto c = parse(j);
  const auto cells = an::enumerate_cells(c);
  const auto off = an::eval_prompt_text(c, cells[0], scalpel::gen::chat_family::small);
  CHECK(off == "<bos><|turn>user\nList all of the noble gases.<turn|>\n<|turn>model\n");
  const auto on = an::eval_prompt_text(c, cells[1], scalpel::gen::chat_family::small);
  CHECK(on == "<bos><|turn>system\n<|think|><turn|>\n<|turn>user\nList all of the noble gases.<turn|>\n<|turn>model\n");
  CHECK(an::eval_chat_family(c, "31b") == scalpel::gen::chat_family::large);
  CHECK(an::eval_chat_family(c, "custom") == scalpel::gen::chat_family::small);
  c.family = scalpel::gen::chat_family::large;
  CHECK(an::eval_chat_family(c, "e2b") == scalpel::gen::chat_family::large);
}

TEST_CASE("eval config: files, relative paths and the model fingerprint") {
  const auto dir = temp_dir("files");
  std::filesystem::create_directories(dir / "m1");
  std::ofstream(dir / "m1" / "config.json") << R"({"a": 1})";
  std::ofstream(dir / "m1" / "model.safetensors") << std::string(10000, 'x');
  std::ofstream(dir / "m1" / "README.md") << "ignored";
  std::ofstream(dir / "plan.json")
      << R"({"format": "scalpel.edit-plan/1", "edits": [{"op": "negate", "layer": 1, "neurons": [2]}]})";
  std::ofstream(dir / "eval.json") << R"({"format": "scalpel.eval-config/1", "model": "m1", "probes": ["months"],
                                          "variants": [{"plan": "plan.json"}]})";
  const auto c = an::load_eval_config((dir / "eval.json").string());
  CHECK(c.models[0].path == (dir / "m1").string());
  REQUIRE(c.variants.size() == 2);
  CHECK(c.variants[1].name == "plan");  // the file stem
  const std::string fp = an::model_fingerprint((dir / "m1").string());
  CHECK(fp.rfind("sha256:", 0) == 0);
  // Independent of where the model lives and of unrelated files.
  std::filesystem::copy(dir / "m1", dir / "m2");
  std::ofstream(dir / "m2" / "README.md") << "different";
  CHECK(an::model_fingerprint((dir / "m2").string()) == fp);
  // A changed weight byte changes it.
  {
    std::fstream f(dir / "m2" / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('y');
  }
  CHECK(an::model_fingerprint((dir / "m2").string()) != fp);
  CHECK_THROWS_AS((void)an::model_fingerprint((dir / "missing").string()), scalpel::error);
  const std::string msg = error_of([&] { (void)an::load_eval_config((dir / "nope.json").string()); });
  CHECK(msg.find("nope.json") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace ut_eval_config_test
