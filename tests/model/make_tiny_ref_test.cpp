// make-tiny models with the real E2B / E4B / 26B-A4B / 31B layer patterns (at tiny width) against the
// independent numpy reference (tests/data/make_tiny_ref/make_refs.py documents how the file was produced).
#include <cmath>
#include <fstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/model/random_model.hpp"

namespace ut_make_tiny_ref_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;

TEST_CASE("make-tiny: real layer patterns at tiny width match the numpy reference at every checked position") {
  std::ifstream f(std::string(SCALPEL_TEST_DATA_DIR) + "/make_tiny_ref/reference.json");
  REQUIRE(f.good());
  const auto ref = nlohmann::json::parse(f);
  for (const auto& [name, cases] : ref.at("variants").items()) {
    CAPTURE(name);
    tiny_options o;
    o.variant = parse_tiny_variant(name);
    const auto m = random_model(o, ref.at("seed").get<std::uint64_t>());
    const std::size_t V = m.config().vocab_size;
    for (const auto& c : cases) {
      const auto ids = c.at("ids").get<std::vector<std::int32_t>>();
      const auto all = m.logits(ids, logits_mode::all);
      double worst = 0.0;
      const auto& positions = c.at("positions");
      for (std::size_t i = 0; i < positions.size(); ++i) {
        const auto p = positions[i].get<std::size_t>();
        const auto& row = c.at("logits")[i];
        for (std::size_t v = 0; v < V; ++v)
          worst = std::max(worst, std::abs(static_cast<double>(all[p * V + v]) - row[v].get<double>()));
      }
      MESSAGE(name, " (", ids.size(), " tokens): max |Δlogit| = ", worst);
      CHECK(worst <= 0.02);
    }
  }
}

}  // namespace ut_make_tiny_ref_test
