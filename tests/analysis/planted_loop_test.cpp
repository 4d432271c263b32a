// The demo model's planted circuit: the list collapses onto the attractor; editing the loop neuron repairs it.
#include "scalpel/analysis/planted_loop.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "scalpel/edit.hpp"

namespace ut_planted_loop_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace ed = scalpel::edit;

namespace {
template <class Hooks>
std::vector<std::int32_t> greedy(const gemma4_model& m, std::vector<std::int32_t> prompt, std::size_t n, Hooks& h) {
  auto cache = m.make_cache(prompt.size() + n + 1);
  std::vector<float> logits;
  m.forward(prompt, cache, logits, logits_mode::last, h);
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto next = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(next);
    if (next == 106) break;
    m.forward(std::span<const std::int32_t>(&out.back(), 1), cache, logits, logits_mode::last, h);
  }
  return out;
}
const std::vector<std::int32_t> prompt = {2, 105, 2364 % 640, 107, 400, 401, 106, 107, 105, 450, 107};
}  // namespace

TEST_CASE("planted loop: the list collapses onto the attractor, and a neuron edit repairs it") {
  for (const auto& [layer, neuron, attractor, seed] :
       std::vector<std::tuple<std::size_t, std::size_t, std::size_t, std::uint64_t>>{
           {2, 37, 14, 1}, {3, 5, 20, 2}, {2, 100, 40, 3}, {3, 77, 9, 4}}) {
    CAPTURE(layer);
    CAPTURE(attractor);
    analysis::planted_loop_options o;
    o.loop_layer = layer;
    o.loop_neuron = neuron;
    o.attractor = attractor;
    o.seed = seed;
    auto demo = analysis::build_planted_loop(o);
    no_hooks none;
    const auto looping = greedy(demo.model, prompt, 140, none);
    // entries 1..attractor in order, then the attractor forever
    REQUIRE(looping.size() == 140);
    for (std::size_t k = 0; k < attractor; ++k) CHECK(looping[k] == demo.entry_ids[k]);
    for (std::size_t k = attractor; k < 140; ++k) CHECK(looping[k] == demo.entry_ids[attractor - 1]);

    for (const ed::plan& fix : {[&] {
                                  ed::plan p;
                                  p.add(ed::negate{layer, {neuron}});
                                  return p;
                                }(),
                                [&] {
                                  ed::plan p;
                                  p.add(ed::strip{layer, {neuron}});
                                  return p;
                                }()}) {
      ed::plan_hooks h(fix, demo.model.config());
      const auto repaired = greedy(demo.model, prompt, 140, h);
      REQUIRE(repaired.size() == demo.entries.size() + 1);
      for (std::size_t k = 0; k < demo.entries.size(); ++k) CHECK(repaired[k] == demo.entry_ids[k]);
      CHECK(repaired.back() == 106);  // end of turn
    }
  }
}

}  // namespace ut_planted_loop_test
