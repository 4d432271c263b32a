// The forward pass against the golden references (two independent implementations on the same weights):
// every position vs the float64 numpy reference (transformers semantics), the last position vs llama.cpp,
// greedy continuations through the KV-cache decode path, from the HF checkpoint and from the GGUF files.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/model/loader.hpp"

namespace ut_golden_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;

namespace {
struct golden_case {
  std::vector<std::int32_t> ids;
  std::vector<std::vector<double>> numpy_ref;  // [T][V]
  std::vector<double> llama_last;              // [V]
  std::vector<std::int32_t> llama_greedy;
};

std::string golden_dir(const std::string& v) { return std::string(SCALPEL_TEST_DATA_DIR) + "/golden/" + v; }

std::vector<golden_case> load_cases(const std::string& v) {
  std::ifstream f(golden_dir(v) + "/golden.json");
  REQUIRE(f.good());
  const auto j = nlohmann::json::parse(f);
  std::vector<golden_case> out;
  for (const auto& c : j.at("cases")) {
    golden_case g;
    g.ids = c.at("ids").get<std::vector<std::int32_t>>();
    g.numpy_ref = c.at("numpy_ref").get<std::vector<std::vector<double>>>();
    g.llama_last = c.at("llama_cpp").at("last").get<std::vector<double>>();
    g.llama_greedy = c.at("llama_cpp").at("greedy").get<std::vector<std::int32_t>>();
    out.push_back(std::move(g));
  }
  return out;
}

double max_abs_diff(const float* a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < b.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

std::int32_t argmax(const float* x, std::size_t n) { return static_cast<std::int32_t>(std::max_element(x, x + n) - x); }

// Greedy continuation through the decode path: prefill the prompt, then one token at a time.
std::vector<std::int32_t> greedy(const gemma4_model& m, const std::vector<std::int32_t>& prompt, std::size_t n) {
  auto cache = m.make_cache(prompt.size() + n + 1);
  std::vector<float> logits;
  m.forward(prompt, cache, logits);
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t next = argmax(logits.data(), m.config().vocab_size);
    out.push_back(next);
    m.forward(std::span<const std::int32_t>(&out.back(), 1), cache, logits);
  }
  return out;
}

void check_against_references(const gemma4_model& m, const std::vector<golden_case>& cases, double tol_numpy,
                              bool check_greedy) {
  const std::size_t V = m.config().vocab_size;
  for (const auto& gc : cases) {
    CAPTURE(gc.ids.size());
    const auto all = m.logits(gc.ids, logits_mode::all);
    REQUIRE(all.size() == gc.ids.size() * V);
    double worst = 0.0;
    for (std::size_t t = 0; t < gc.ids.size(); ++t)
      worst = std::max(worst, max_abs_diff(all.data() + t * V, gc.numpy_ref[t]));
    MESSAGE("max |Δlogit| vs numpy over all ", gc.ids.size(), " positions: ", worst);
    CHECK(worst <= tol_numpy);
    const double last = max_abs_diff(all.data() + (gc.ids.size() - 1) * V, gc.llama_last);
    MESSAGE("max |Δlogit| vs llama.cpp at the last position: ", last);
    CHECK(last <= tol_numpy + 0.01);
    if (check_greedy) CHECK(greedy(m, gc.ids, gc.llama_greedy.size()) == gc.llama_greedy);
  }
}
}  // namespace

TEST_CASE("golden: every variant matches both references from the HF checkpoint") {
  for (const char* v : {"e2b-like", "moe-like", "dense-like"}) {
    CAPTURE(v);
    const auto m = load_model(golden_dir(v));
    check_against_references(m, load_cases(v), 0.02, true);
  }
}

TEST_CASE("golden: the f32 and bf16 GGUF files give the same logits as the HF checkpoint") {
  for (const char* v : {"e2b-like", "moe-like", "dense-like"}) {
    CAPTURE(v);
    const auto hf = load_model(golden_dir(v));
    const auto cases = load_cases(v);
    for (const char* file : {"model-f32.gguf", "model-bf16.gguf"}) {
      CAPTURE(file);
      const auto g = load_model(golden_dir(v) + "/" + file);
      CHECK(g.format() == checkpoint_format::gguf);
      for (const auto& gc : cases) {
        const auto a = hf.logits(gc.ids, logits_mode::all);
        const auto b = g.logits(gc.ids, logits_mode::all);
        REQUIRE(a.size() == b.size());
        float worst = 0.0f;
        for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
        // The weights are identical (bf16 values; norms stored as F32 in GGUF hold the same numbers).
        CHECK(worst == 0.0f);
      }
      check_against_references(g, cases, 0.02, true);
    }
  }
}

TEST_CASE("golden: the Q8_0 GGUF stays close to the references") {
  for (const char* v : {"e2b-like", "dense-like"}) {
    CAPTURE(v);
    const auto q = load_model(golden_dir(v) + "/model-q8_0.gguf");
    const auto cases = load_cases(v);
    const std::size_t V = q.config().vocab_size;
    for (const auto& gc : cases) {
      const auto all = q.logits(gc.ids, logits_mode::all);
      double worst = 0.0;
      for (std::size_t t = 0; t < gc.ids.size(); ++t)
        worst = std::max(worst, max_abs_diff(all.data() + t * V, gc.numpy_ref[t]));
      MESSAGE("Q8_0 max |Δlogit| vs numpy: ", worst);
      CHECK(worst < 1.5);  // quantisation error (llama.cpp's own q8_0 file differs from f32 by up to ~0.9)
    }
  }
}

}  // namespace ut_golden_test
