// Reverse mode of the Gemma 4 forward pass: finite-difference gradient checks on tiny random models of every
// variant (f32 weights), through hooks on the engine's own forward pass (the ground truth).
//
// Tolerance. The metric m = z[target] − z[contrast] is computed by the f32 forward pass; its rounding noise is
// about 1e-6 relative to the logits (|z| ≲ 30), i.e. δ ≈ 3e-5 absolute. A central difference with step ε has
// noise δ/ε and truncation error ε²·|m'''|/6. With ε = 1e-2 (activations are O(0.1–10)) the noise is ~3e-3 and
// the truncation error is of the same order for these smooth models, so each check allows
// |fd − bp| ≤ 0.03·|bp| + 0.03·g_scale + 5e-3, g_scale = the largest |bp| in the sample; a wrong term in the
// backward pass (a missing norm, a transposed head, a missing KV-sharing path) is off by far more than that,
// which the "sensitivity" test checks by comparing against a deliberately wrong gradient.
#include "scalpel/analysis/backprop.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/analysis/bank.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/model/random_model.hpp"
#include "scalpel/simd/threads.hpp"

namespace ut_backprop_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;
namespace an = scalpel::analysis;

namespace {

std::vector<std::int32_t> test_ids(std::size_t T, std::size_t V, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int32_t> ids{2};
  while (ids.size() < T) ids.push_back(static_cast<std::int32_t>(3 + rng() % (V - 3)));
  return ids;
}

/// m with `delta` added to one element of the payload at (point, layer, row t, column i); t = npos: every row.
/// `routing` receives every MoE layer's expert selection (to see whether the perturbation switched experts).
double perturbed_metric(const gemma4_model& m, const std::vector<std::int32_t>& ids, std::int32_t target,
                        std::int32_t contrast, hook_point point, std::size_t layer, std::size_t t, std::size_t i,
                        float delta, std::vector<std::int32_t>& routing) {
  dynamic_hooks h;
  h.add(point, layer, [&](hook_payload& p) {
    for (std::size_t r = 0; r < p.data.extent(0); ++r)
      if (t == static_cast<std::size_t>(-1) || r == t) p.data(r, i) += delta;
  });
  h.add(hook_point::expert_selection, dynamic_hooks::any_layer,
        [&](hook_payload& p) { routing.insert(routing.end(), p.expert_ids.begin(), p.expert_ids.end()); });
  an::bank_item it{ids, target, contrast, {}};
  return an::item_metric(m, it, h);
}

/// Central difference; nullopt when the MoE routing choice differs between the two sides even at the smaller
/// step (the metric is not differentiable across a top-k switch: the gradient holds the routing fixed).
std::optional<double> central(const gemma4_model& m, const std::vector<std::int32_t>& ids, std::int32_t target,
                              std::int32_t contrast, hook_point point, std::size_t layer, std::size_t t, std::size_t i,
                              float eps) {
  for (const float e : {eps, eps / 5.0f}) {
    std::vector<std::int32_t> r_up, r_dn;
    const double up = perturbed_metric(m, ids, target, contrast, point, layer, t, i, e, r_up);
    const double dn = perturbed_metric(m, ids, target, contrast, point, layer, t, i, -e, r_dn);
    if (r_up == r_dn) return (up - dn) / (2.0 * static_cast<double>(e));
  }
  return std::nullopt;
}

struct check {
  std::optional<double> fd;
  double bp;
};

void require_close(const std::vector<check>& all, const char* what) {
  std::vector<std::pair<double, double>> cs;
  for (const auto& c : all)
    if (c.fd) cs.emplace_back(*c.fd, c.bp);
  CAPTURE(what);
  REQUIRE(cs.size() * 4 >= all.size() * 3);  // at most a quarter skipped for routing switches
  double scale = 0.0;
  for (const auto& c : cs) scale = std::max(scale, std::fabs(c.second));
  REQUIRE(scale > 0.0);
  for (const auto& [fd, bp] : cs) {
    const check c{fd, bp};
    CAPTURE(fd);
    CAPTURE(bp);
    CHECK(std::fabs(*c.fd - c.bp) <= 0.03 * std::fabs(c.bp) + 0.03 * scale + 5e-3);
  }
}

struct variant_case {
  tiny_variant v;
  std::size_t layers;  // 0 = the variant's own count
};

}  // namespace

TEST_CASE("backprop kernels: the transposed product and the GELU derivative") {
  // dX += dY·W against a naive double loop: F32 and BF16 storage, sizes that are not multiples of the tiles
  // (300 rows > one 256-row tile, 70 columns, 13 tokens).
  const std::size_t R = 300, C = 70, T = 13;
  std::mt19937_64 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> wf(R * C), dy(T * R), base(T * C);
  for (auto& v : wf) v = nd(rng);
  for (auto& v : dy) v = nd(rng);
  for (auto& v : base) v = nd(rng);
  std::vector<bf16_bits> wb(R * C);
  for (std::size_t i = 0; i < R * C; ++i) wb[i] = to_bf16(wf[i]);
  const matrix_ref as_f32(matrix_view<const f32>(wf.data(), {R, C}));
  const matrix_ref as_bf16(matrix_view<const bf16>(wb.data(), {R, C}));
  for (const auto* w : {&as_f32, &as_bf16}) {
    std::vector<float> dx = base;
    an::detail::matmul_t_acc(*w, dy.data(), T, R, dx.data(), C);
    std::vector<float> row(C);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t c = 0; c < C; ++c) {
        double ref = base[t * C + c], mag = std::fabs(ref);
        for (std::size_t r = 0; r < R; ++r) {
          w->decode_row(r, row.data());
          ref += static_cast<double>(dy[t * R + r]) * static_cast<double>(row[c]);
          mag += std::fabs(static_cast<double>(dy[t * R + r]) * static_cast<double>(row[c]));
        }
        CHECK(std::fabs(static_cast<double>(dx[t * C + c]) - ref) <= 4e-7 * mag);  // f32 summation of R terms
      }
  }
  // GELU-tanh derivative against the formula in double
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.0137f) x.push_back(v);
  x.push_back(0.0f);
  x.push_back(1e-5f);
  x.push_back(-3e-4f);
  std::vector<float> gel(x.size()), der(x.size());
  an::detail::gelu_and_derivative(x.data(), x.size(), gel.data(), der.data());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i], k = 0.7978845608028654, c = 0.044715, th = std::tanh(k * (xi + c * xi * xi * xi));
    const double ref = 0.5 * (1.0 + th) + 0.5 * xi * (1.0 - th * th) * k * (1.0 + 3.0 * c * xi * xi);
    CAPTURE(xi);
    CHECK(std::fabs(static_cast<double>(der[i]) - ref) <= 2e-5);
    CHECK(std::fabs(static_cast<double>(gel[i]) - 0.5 * xi * (1.0 + th)) <= 1e-6);  // the engine's GELU
  }
}

TEST_CASE("backprop: the recording forward pass reproduces the engine's metric on every variant") {
  simd::set_num_threads(1);
  for (const auto vc : {variant_case{tiny_variant::e2b, 0}, variant_case{tiny_variant::e4b, 0},
                        variant_case{tiny_variant::moe_26b_a4b, 0}, variant_case{tiny_variant::dense_31b, 12}}) {
    CAPTURE(static_cast<int>(vc.v));
    const auto m = random_model({.variant = vc.v, .num_layers = vc.layers}, 11, dtype_id::f32);
    const auto ids = test_ids(24, m.config().vocab_size, 5);  // crosses the 16-token sliding window
    const an::bank_item it{ids, 17, 99, {}};
    const double ref = an::item_metric(m, it);
    const auto r = an::backprop(m, ids, 17, 99, {});
    CHECK(r.metric == doctest::Approx(ref).epsilon(1e-6).scale(1.0));
  }
}

TEST_CASE("backprop: dm/da of MLP neurons matches central differences on every variant") {
  simd::set_num_threads(1);
  for (const auto vc : {variant_case{tiny_variant::e2b, 0}, variant_case{tiny_variant::e4b, 0},
                        variant_case{tiny_variant::moe_26b_a4b, 0}, variant_case{tiny_variant::dense_31b, 12}}) {
    CAPTURE(static_cast<int>(vc.v));
    const auto m = random_model({.variant = vc.v, .num_layers = vc.layers}, 3, dtype_id::f32);
    const auto& c = m.config();
    const auto ids = test_ids(20, c.vocab_size, 9);
    const std::int32_t target = 40, contrast = 41;
    // early, middle (KV donors / sharers on e2b/e4b), last layer
    std::vector<std::size_t> layers = {0, c.num_layers / 2, c.num_layers - 2, c.num_layers - 1};
    if (c.num_kv_shared_layers > 0) layers.push_back(c.first_kv_shared_layer() - 1);  // a KV donor
    an::backprop_options o;
    o.act_layers = layers;
    const auto r = an::backprop(m, ids, target, contrast, o);
    std::mt19937_64 rng(7);
    std::vector<check> per_pos, summed;
    for (std::size_t li = 0; li < layers.size(); ++li) {
      const std::size_t l = layers[li], I = c.layers[l].ffn_dim, T = ids.size();
      for (int k = 0; k < 4; ++k) {
        const std::size_t j = rng() % I, t = (k == 0 ? T - 1 : rng() % T);
        per_pos.push_back({central(m, ids, target, contrast, hook_point::ffn_act, l, t, j, 1e-2f),
                           static_cast<double>(r.d_act[li][t * I + j])});
        double sum = 0.0;
        for (std::size_t u = 0; u < T; ++u) sum += static_cast<double>(r.d_act[li][u * I + j]);
        summed.push_back(
            {central(m, ids, target, contrast, hook_point::ffn_act, l, static_cast<std::size_t>(-1), j, 1e-2f), sum});
      }
    }
    require_close(per_pos, "dm/da at one position");
    require_close(summed, "sum over positions of dm/da");
  }
}

TEST_CASE("backprop: dm/d(residual) and dm/d(embedding) match central differences on every variant") {
  simd::set_num_threads(1);
  for (const auto vc : {variant_case{tiny_variant::e2b, 0}, variant_case{tiny_variant::e4b, 0},
                        variant_case{tiny_variant::moe_26b_a4b, 0}, variant_case{tiny_variant::dense_31b, 12}}) {
    CAPTURE(static_cast<int>(vc.v));
    const auto m = random_model({.variant = vc.v, .num_layers = vc.layers}, 4, dtype_id::f32);
    const auto& c = m.config();
    const auto ids = test_ids(20, c.vocab_size, 13);
    const std::int32_t target = 7, contrast = 300;
    const std::size_t H = c.hidden_size, T = ids.size();
    an::backprop_options o;
    o.residual_layers = {1, c.num_layers / 2, c.num_layers - 1};
    o.embedding = true;
    const auto r = an::backprop(m, ids, target, contrast, o);
    std::mt19937_64 rng(3);
    std::vector<check> cs;
    for (std::size_t li = 0; li < o.residual_layers.size(); ++li)
      for (int k = 0; k < 4; ++k) {
        const std::size_t t = k == 0 ? T - 1 : rng() % T, i = rng() % H;
        cs.push_back({central(m, ids, target, contrast, hook_point::residual_in, o.residual_layers[li], t, i, 1e-2f),
                      static_cast<double>(r.d_residual[li][t * H + i])});
      }
    require_close(cs, "dm/d residual_in");
    std::vector<check> ce;
    for (int k = 0; k < 6; ++k) {
      const std::size_t t = k == 0 ? T - 1 : rng() % T, i = rng() % H;
      ce.push_back({central(m, ids, target, contrast, hook_point::embed_out, 0, t, i, 1e-2f),
                    static_cast<double>(r.d_embed[t * H + i])});
    }
    require_close(ce, "dm/d embed_out (with the PLE path)");
  }
}

TEST_CASE("backprop: rebuilding tapes under a memory budget gives the same gradients") {
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::e2b}, 5, dtype_id::f32);
  const auto ids = test_ids(18, m.config().vocab_size, 2);
  an::backprop_options o;
  o.act_layers = {0, 14, 30};
  o.residual_layers = {3};
  const auto full = an::backprop(m, ids, 10, 11, o);
  o.max_tape_bytes = 1;
  const auto low = an::backprop(m, ids, 10, 11, o);
  CHECK_FALSE(full.recomputed);
  CHECK(low.recomputed);
  for (std::size_t i = 0; i < o.act_layers.size(); ++i) CHECK(full.d_act[i] == low.d_act[i]);
  CHECK(full.d_residual[0] == low.d_residual[0]);
}

TEST_CASE("backprop: the gradient check is sensitive (dropping the router term fails it)") {
  // The MoE router gradient is a real term of dm/d(residual): the full gradient passes the finite-difference
  // check, the gradient with the routing weights held fixed does not.
  simd::set_num_threads(1);
  const auto m = random_model({.variant = tiny_variant::moe_26b_a4b, .num_layers = 6}, 8, dtype_id::f32);
  const auto ids = test_ids(16, m.config().vocab_size, 4);
  const std::size_t H = m.config().hidden_size, T = ids.size();
  an::backprop_options o;
  o.residual_layers = {2};
  const auto full = an::backprop(m, ids, 5, 6, o);
  o.router_gradient = false;
  const auto fixed = an::backprop(m, ids, 5, 6, o);
  std::mt19937_64 rng(5);
  std::vector<check> with_router, without;
  for (int k = 0; k < 16; ++k) {
    const std::size_t t = k < 4 ? T - 1 - static_cast<std::size_t>(k) : rng() % T, i = rng() % H;
    const auto fd = central(m, ids, 5, 6, hook_point::residual_in, 2, t, i, 1e-2f);
    with_router.push_back({fd, static_cast<double>(full.d_residual[0][t * H + i])});
    without.push_back({fd, static_cast<double>(fixed.d_residual[0][t * H + i])});
  }
  require_close(with_router, "full gradient");
  double scale = 0.0;
  for (const auto& c : without) scale = std::max(scale, std::fabs(c.bp));
  std::size_t failures = 0;
  for (const auto& c : without)
    if (c.fd && std::fabs(*c.fd - c.bp) > 0.03 * std::fabs(c.bp) + 0.03 * scale + 5e-3) ++failures;
  CHECK(failures >= 2);
}

TEST_CASE("backprop: weights stored as BF16, Q8_0 and F16 (golden checkpoints)") {
  // The transposed products decode every storage type; check dm/da against central differences on each.
  simd::set_num_threads(1);
  for (const char* file : {"e2b-like/model.safetensors", "moe-like/model-q8_0.gguf", "dense-like/model-q8_0.gguf",
                           "dense-like/model-bf16.gguf"}) {
    CAPTURE(file);
    std::string path = std::string(SCALPEL_TEST_DATA_DIR) + "/golden/" + file;
    if (path.ends_with("model.safetensors")) path = path.substr(0, path.size() - 18);  // the checkpoint directory
    const auto m = load_model(path);
    const auto& c = m.config();
    const auto ids = test_ids(20, c.vocab_size, 21);
    an::backprop_options o;
    o.act_layers = {0, c.num_layers - 2};
    const auto r = an::backprop(m, ids, 30, 31, o);
    std::mt19937_64 rng(2);
    std::vector<check> cs;
    for (std::size_t li = 0; li < o.act_layers.size(); ++li)
      for (int k = 0; k < 4; ++k) {
        const std::size_t l = o.act_layers[li], I = c.layers[l].ffn_dim,
                          t = k == 0 ? ids.size() - 1 : rng() % ids.size(), j = rng() % I;
        cs.push_back({central(m, ids, 30, 31, hook_point::ffn_act, l, t, j, 1e-2f),
                      static_cast<double>(r.d_act[li][t * I + j])});
      }
    require_close(cs, file);
  }
}

TEST_CASE("backprop: bad input is reported") {
  const auto m = random_model({.variant = tiny_variant::dense_31b, .num_layers = 2}, 1, dtype_id::f32);
  const std::vector<std::int32_t> ids{2, 5, 6};
  CHECK_THROWS_AS(an::backprop(m, ids, 5000, 1, {}), scalpel::error);
  an::backprop_options o;
  o.act_layers = {2};
  CHECK_THROWS_AS(an::backprop(m, ids, 5, 1, o), scalpel::error);
  const std::vector<std::int32_t> bad{2, -1};
  CHECK_THROWS_AS(an::backprop(m, bad, 5, 1, {}), scalpel::error);
}

}  // namespace ut_backprop_test
