// Confirmation: candidate sets and plans, the judging rules, the choice of the smallest passing edit.
#include "scalpel/analysis/confirm.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_config.hpp"

namespace ut_confirm_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;

TEST_CASE("confirm: cumulative top-k sets x strengths, named and planned") {
  const std::vector<an::edit_unit> ranked{{2, 37}, {3, 5}, {2, 9}};
  an::confirm_options o;
  o.strengths = {0.0, -1.0, -0.5, 2.0};
  o.max_units = 2;
  const auto c = an::make_candidates(ranked, an::unit_kind::neuron, o);
  REQUIRE(c.size() == 8);
  CHECK(c[0].name == "top1-x0");
  CHECK(c[1].name == "top1-x-1");
  CHECK(c[2].name == "top1-x-0.5");
  CHECK(c[3].name == "top1-x2");
  CHECK(c[4].units.size() == 2);
  CHECK(c[0].plan.to_json()["edits"] == nlohmann::json::parse(R"([{"op":"strip","layer":2,"neurons":[37]}])"));
  CHECK(c[1].plan.to_json()["edits"] == nlohmann::json::parse(R"([{"op":"negate","layer":2,"neurons":[37]}])"));
  CHECK(c[6].plan.to_json()["edits"] == nlohmann::json::parse(R"([{"op":"scale","layer":2,"neurons":[37],"factor":-0.5},
                                  {"op":"scale","layer":3,"neurons":[5],"factor":-0.5}])"));
  for (const auto& x : c) CHECK(an::is_eval_name(x.name));

  const auto e = an::make_candidates(ranked, an::unit_kind::expert, o);
  REQUIRE(e.size() == 4);
  CHECK(e[0].name == "top1-route");
  CHECK(e[1].plan.to_json()["edits"] ==
        nlohmann::json::parse(R"([{"op":"expert_mask","layer":2,"experts":[37],"mode":"silence"}])"));

  CHECK_THROWS_AS(an::make_candidates({}, an::unit_kind::neuron, o), scalpel::error);
  o.strengths = {1.0};
  CHECK_THROWS_AS(an::make_candidates(ranked, an::unit_kind::neuron, o), scalpel::error);
}

TEST_CASE("confirm: judging - loop rate, significance, controls, KL, perplexity") {
  const an::loop_counts base{16, 16, 1, 8};
  const an::confirm_criteria crit;
  an::candidate_result r;
  r.counts = {0, 16, 1, 8};
  r.kl = 0.01;
  r.ppl_delta = 0.0;
  an::judge(r, base, crit);
  CHECK(r.pass);
  CHECK(r.reasons.empty());
  CHECK(r.p_vs_base < 1e-6);
  CHECK(r.ci.hi > 0.15);

  r.counts = {4, 16, 1, 8};  // 0.25 > 0.05
  an::judge(r, base, crit);
  CHECK_FALSE(r.pass);
  REQUIRE(r.reasons.size() == 1);
  CHECK(r.reasons[0].find("loop rate 0.25") != std::string::npos);

  r.counts = {0, 16, 3, 8};  // two more looping controls than the base
  an::judge(r, base, crit);
  CHECK_FALSE(r.pass);
  CHECK(r.reasons[0].find("control") != std::string::npos);

  r.counts = {0, 16, 1, 8};
  r.kl = 0.5;
  r.ppl_delta = 0.2;
  an::judge(r, base, crit);
  CHECK(r.reasons.size() == 2);

  // Not significant: a base that rarely loops cannot show a drop with few generations.
  r.kl = 0.0;
  r.ppl_delta = 0.0;
  an::judge(r, an::loop_counts{1, 16, 0, 0}, crit);
  CHECK_FALSE(r.pass);
  CHECK(r.reasons[0].find("no significant drop") != std::string::npos);
}

TEST_CASE("confirm: the smallest passing edit wins, then the smallest KL") {
  an::confirm_options o;
  o.strengths = {0.0, -1.0};
  const auto c = an::make_candidates({{1, 1}, {1, 2}}, an::unit_kind::neuron, o);
  std::vector<an::candidate_result> rs;
  for (const auto& x : c) {
    an::candidate_result r;
    r.cand = x;
    rs.push_back(r);
  }
  CHECK_FALSE(an::choose(rs).has_value());
  for (auto& r : rs) {
    r.evaluated = true;
    r.pass = true;
    r.kl = 0.05;
  }
  rs[1].kl = 0.01;
  rs[2].kl = 0.0;  // size 2: smaller KL, but a bigger edit
  CHECK(an::choose(rs) == 1u);
  rs[1].pass = false;
  CHECK(an::choose(rs) == 0u);
  rs[0].pass = false;
  CHECK(an::choose(rs) == 2u);

  const auto j = an::confirm_to_json({16, 16, 0, 0}, o, rs, 2);
  CHECK(j["format"] == "scalpel.confirm/1");
  CHECK(j["chosen"] == "top2-x0");
  CHECK(j["candidates"].size() == 4);
  CHECK(j["candidates"][0]["verdict"] == "fail");
  CHECK(j["candidates"][2]["units"] == nlohmann::json::parse(R"([{"layer":1,"neuron":1},{"layer":1,"neuron":2}])"));
  CHECK(j["base"]["rate"] == 1.0);
}

TEST_CASE("confirm: count_loops splits enumeration and control records of one variant") {
  std::vector<nlohmann::json> recs;
  auto rec = [](const char* variant, const char* cat, bool loop) {
    return nlohmann::json{{"variant", variant}, {"category", cat}, {"looping", loop}};
  };
  recs.push_back(rec("base", "enumeration", true));
  recs.push_back(rec("base", "enumeration", false));
  recs.push_back(rec("base", "control", true));
  recs.push_back(rec("x", "enumeration", true));
  const auto c = an::count_loops(recs, "base");
  CHECK(c.loops == 1);
  CHECK(c.n == 2);
  CHECK(c.control_loops == 1);
  CHECK(c.control_n == 1);
}

}  // namespace ut_confirm_test
