// The text guard (analysis/guard.hpp): its windows, KL, NLL, perplexity and top-1 agreement against brute force
// (whole forward passes per window, statistics computed in the test), for a run-time plan and for an edited
// copy of the weights, plus the identity and the error cases.
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "guard_test_util.hpp"
#include "scalpel/analysis/guard.hpp"
#include "scalpel/edit/apply.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/model/random_model.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_guard_text_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace an = scalpel::analysis;
using guard_test::close;

namespace {

/// A plan of one edit.
edit::plan single(edit::any_edit e) {
  edit::plan p;
  p.add(std::move(e));
  return p;
}

std::vector<std::int32_t> random_text(std::size_t n_text, std::size_t V, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int32_t> ids = {2};  // <bos>
  for (std::size_t i = 0; i < n_text; ++i) ids.push_back(static_cast<std::int32_t>(3 + rng() % (V - 3)));
  return ids;
}

/// A plan that changes the model a lot: strip, negate and amplify neurons in three layers.
edit::plan damaging_plan() {
  return edit::plan::from(edit::strip{1, {0, 3, 5, 8, 13, 21}} | edit::negate{3, {2, 4, 6, 10, 40}} |
                          edit::scale{4, {7, 9, 11}, 4.0f});
}

void check_against_truth(const an::text_guard_result& r, const guard_test::text_truth& t, double tol) {
  CHECK(r.tokens == t.tokens);
  CHECK(r.windows == t.windows);
  CHECK(close(r.kl_mean, t.kl_mean(), tol));
  CHECK(close(r.kl_max, t.kl_max, tol));
  CHECK(close(r.nll_base, t.nb(), tol));
  CHECK(close(r.nll_edited, t.ne(), tol));
  CHECK(close(r.ppl_base, std::exp(t.nb()), tol));
  CHECK(close(r.ppl_edited, std::exp(t.ne()), tol));
  CHECK(std::fabs(r.ppl_delta - t.ppl_delta()) <= tol * (1.0 + std::exp(t.ne() - t.nb())));
  CHECK(r.top1_agreement == doctest::Approx(t.top1()).epsilon(1e-12));
}

}  // namespace

TEST_CASE("guard text: the identity plan gives KL 0, ppl_delta 0 and full agreement") {
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::e2b, .num_layers = 6}, 3, dtype_id::f32);
  const auto ids = random_text(40, m.config().vocab_size, 1);
  const an::guard_pair pair(m, edit::plan{});
  an::guard_options o;
  o.context = 16;
  const auto r = an::guard_text(pair, ids, o);
  CHECK(r.tokens == 40);
  CHECK(r.windows == 3);  // 15 + 15 + 10 text tokens
  CHECK(r.kl_mean == 0.0);
  CHECK(r.kl_max == 0.0);
  CHECK(r.ppl_delta == 0.0);
  CHECK(r.nll_base == r.nll_edited);
  CHECK(r.top1_agreement == 1.0);
  CHECK(r.nll_base > 0.0);
  CHECK(r.source == "ids");
}

TEST_CASE("guard text: a real edit matches brute force (run-time plan, dense and MoE)") {
  simd::set_num_threads(2);
  for (const auto v : {tiny_variant::e2b, tiny_variant::moe_26b_a4b}) {
    CAPTURE(static_cast<int>(v));
    const auto m = random_model({.variant = v, .num_layers = 6}, 11, dtype_id::f32);
    auto p = damaging_plan();
    if (v == tiny_variant::moe_26b_a4b) p.add(edit::expert_mask{2, {0, 1, 5}});  // run-time only
    const auto ids = random_text(61, m.config().vocab_size, 5);
    const an::guard_pair pair(m, p);
    const edit::plan_hooks hooks(p, m.config());
    no_hooks none;
    for (const std::size_t context : {std::size_t{25}, std::size_t{512}}) {  // 3 windows (crossing the
      CAPTURE(context);                                                      // 16-token window), and 1
      const auto truth = guard_test::brute_text(m, none, m, hooks, ids, context);
      an::guard_options o;
      o.context = context;
      const auto r = an::guard_text(pair, ids, o);
      check_against_truth(r, truth, 1e-9);  // same chunks as brute force: the same logits
      CHECK(r.kl_mean > 1e-4);              // the edit did something
      CHECK(r.kl_max > r.kl_mean);
      CHECK(r.top1_agreement < 1.0);
      // smaller forward chunks than the window (cache reuse across calls): equal up to f32 rounding
      o.chunk = 7;
      check_against_truth(an::guard_text(pair, ids, o), truth, 1e-5);
    }
  }
}

TEST_CASE("guard text: --against an edited copy of the weights equals the run-time plan") {
  simd::set_num_threads(1);
  const tiny_options to{.variant = tiny_variant::e4b, .num_layers = 8};
  const auto base = random_model(to, 17, dtype_id::f32);
  auto edited = random_model(to, 17, dtype_id::f32);
  const auto p = damaging_plan();
  (void)edit::apply(edited, p);
  const auto ids = random_text(45, base.config().vocab_size, 9);
  an::guard_options o;
  o.context = 20;
  const auto by_plan = an::guard_text(an::guard_pair(base, p), ids, o);
  const an::guard_pair copy(base, edited);
  CHECK_FALSE(copy.uses_plan());
  const auto by_copy = an::guard_text(copy, ids, o);
  no_hooks none;
  const auto truth = guard_test::brute_text(base, none, edited, none, ids, o.context);
  check_against_truth(by_copy, truth, 1e-9);
  // f32 weights: the weight edit and the hook differ only in rounding order (docs/edits.md)
  CHECK(close(by_copy.kl_mean, by_plan.kl_mean, 1e-4));
  CHECK(close(by_copy.nll_edited, by_plan.nll_edited, 1e-5));
  CHECK(by_copy.nll_base == by_plan.nll_base);
  CHECK(by_copy.kl_mean > 1e-4);
}

TEST_CASE("guard text: max_tokens, progress and threads") {
  const auto m = random_model({.variant = tiny_variant::dense_31b, .num_layers = 5}, 2, dtype_id::f32);
  const auto ids = random_text(50, m.config().vocab_size, 3);
  const an::guard_pair pair(m, damaging_plan());
  an::guard_options o;
  o.context = 11;
  o.max_tokens = 23;
  std::vector<std::size_t> seen;
  o.progress = [&](std::size_t done, std::size_t total) {
    CHECK(total == 3);
    seen.push_back(done);
  };
  simd::set_num_threads(1);
  const auto r1 = an::guard_text(pair, ids, o);
  CHECK(r1.tokens == 23);
  CHECK(r1.windows == 3);  // 10 + 10 + 3
  CHECK(seen == std::vector<std::size_t>{1, 2, 3});
  const std::vector<std::int32_t> first(ids.begin(), ids.begin() + 24);
  no_hooks none;
  const edit::plan_hooks hooks(damaging_plan(), m.config());
  check_against_truth(r1, guard_test::brute_text(m, none, m, hooks, first, 11), 1e-9);
  // the statistics do not depend on the thread count (per-position values, summed in order)
  o.progress = nullptr;
  o.threads = 2;
  const auto r2 = an::guard_text(pair, ids, o);
  CHECK(close(r2.kl_mean, r1.kl_mean, 1e-6));
  CHECK(close(r2.nll_edited, r1.nll_edited, 1e-6));
  CHECK(simd::num_threads() == 1);  // options.threads is restored afterwards
}

TEST_CASE("guard text: bad inputs are errors, not crashes") {
  const auto m = random_model({.variant = tiny_variant::e2b, .num_layers = 6}, 1, dtype_id::f32);
  const an::guard_pair pair(m, edit::plan{});
  an::guard_options o;
  const std::vector<std::int32_t> only_bos = {2};
  CHECK_THROWS_WITH_AS(an::guard_text(pair, only_bos, o), doctest::Contains("at least one text token"), error);
  const std::vector<std::int32_t> bad = {2, 5, 99999};
  CHECK_THROWS_WITH_AS(an::guard_text(pair, bad, o), doctest::Contains("token id 99999 at index 2"), error);
  o.context = 1;
  CHECK_THROWS_WITH_AS(an::guard_text(pair, random_text(5, 1024, 1), o), doctest::Contains("context"), error);
  // a plan that does not fit the model
  CHECK_THROWS_AS(an::guard_pair(m, single(edit::strip{9, {1}})), error);
  // another checkpoint over another vocabulary
  const auto other = random_model({.variant = tiny_variant::e2b, .vocab_size = 640, .num_layers = 6}, 1);
  try {
    an::guard_pair p(m, other);
    FAIL("expected an error");
  } catch (const error& e) {
    CHECK(e.code() == errc::config);
    CHECK(std::string(e.what()).find("vocabulary 640") != std::string::npos);
  }
}

TEST_CASE("guard text: tokenized text on a golden model, and the tokenizer comparison") {
  simd::set_num_threads(1);
  const std::string dir = std::string(SCALPEL_TEST_DATA_DIR) + "/golden/dense-like";
  const auto m = load_model(dir);
  const auto tok = io::load_tokenizer(dir);
  const an::guard_pair pair(m, single(edit::negate{2, {1, 2, 3, 4, 5, 6, 7, 8}}));
  const auto r = an::guard_text_builtin(pair, tok);
  io::encode_options enc;
  enc.add_bos = true;
  const auto ids = tok.encode(an::default_kl_text, enc);
  CHECK(r.source == "builtin");
  CHECK(r.tokens == ids.size() - 1);
  CHECK(r.windows == (ids.size() - 1 + 510) / 511);
  const auto direct = an::guard_text(pair, ids);
  CHECK(direct.kl_mean == r.kl_mean);
  CHECK(direct.nll_edited == r.nll_edited);
  CHECK(r.kl_mean > 0.0);
  // tokenizers: the golden models share one; the tiny make-tiny tokenizer is another
  an::check_same_tokenizer(tok, io::load_tokenizer(std::string(SCALPEL_TEST_DATA_DIR) + "/golden/moe-like"));
  const auto swapped = io::tokenizer::from_json(guard_test::swapped_tokenizer_json(dir), "swapped");
  CHECK_THROWS_WITH_AS(an::check_same_tokenizer(tok, swapped), doctest::Contains("differ at token id 70"), error);
  const auto tiny640 = io::tokenizer::from_json(tiny_tokenizer_json(640).dump(), "tiny640");
  CHECK_THROWS_WITH_AS(an::check_same_tokenizer(tok, tiny640), doctest::Contains("has 512 tokens, tiny640 has 640"),
                       error);
}

}  // namespace ut_guard_text_test
