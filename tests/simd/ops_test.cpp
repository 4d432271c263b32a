// The vectorised ops (RMSNorm, GELU-tanh, GeGLU, softmax, RoPE, soft-capping, top-k, vector helpers)
// against their scalar references, for every xsimd architecture this build can run, over size sweeps
// 0..2N+1 (N = lanes x 4 accumulators) and misaligned operands.

#include "scalpel/simd/ops.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "simd_test_util.hpp"

namespace ut_ops_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using simd_test::offset_buffer;

namespace {

template <class Arch>
constexpr std::size_t sweep_n = simd::detail::lanes<Arch> * 4;  // lanes x accumulators

template <class Arch>
std::vector<std::size_t> misalignments() {
  constexpr std::size_t n = sweep_n<Arch>;
  return {0, 1, n / 4, 3 * n / 5};
}

/// |got - want| <= rel * |want| + abs.
bool close(double got, double want, double rel, double abs = 0.0) {
  if (std::isnan(want)) return std::isnan(got);
  return std::fabs(got - want) <= rel * std::fabs(want) + abs;
}

/// A misaligned copy of values.
offset_buffer<float> copy_at(const std::vector<float>& v, std::size_t off) {
  offset_buffer<float> b(v.size(), off);
  std::copy(v.begin(), v.end(), b.data());
  return b;
}

}  // namespace

TEST_CASE("ops: rmsnorm matches the f64-sum reference over sizes and misalignments, with and without weight") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    const auto offs = misalignments<Arch>();
    std::size_t i = 0;
    std::vector<std::size_t> sizes;
    for (std::size_t n = 0; n <= 2 * sweep_n<Arch> + 1; ++n) sizes.push_back(n);
    for (std::size_t n : {256u, 1536u, 2560u, 5376u}) sizes.push_back(n);
    for (std::size_t n : sizes) {
      ++i;
      CAPTURE(n);
      const auto xv = simd_test::normals(n, static_cast<std::uint32_t>(i), 3.0f);
      const auto wv = simd_test::normals(n, static_cast<std::uint32_t>(i + 1000));
      const auto x = copy_at(xv, offs[i % 4]);
      const auto w = copy_at(wv, offs[(i / 4) % 4]);
      offset_buffer<float> out(n, offs[(i / 2) % 4]);
      std::vector<float> ref(n), ref_nw(n);
      simd::reference::rmsnorm(xv.data(), wv.data(), 1e-6f, n, ref.data());
      simd::reference::rmsnorm(xv.data(), nullptr, 1e-6f, n, ref_nw.data());
      // f32 sum of squares over n / (4 L) terms per lane: relative error <= (n / 4L + 8) u; the output
      // adds a few roundings.
      const double tol = (static_cast<double>(n) / static_cast<double>(sweep_n<Arch>) + 16.0) * std::ldexp(1.0, -24);
      simd::detail::rmsnorm_kernel{}(Arch{}, x.data(), w.data(), 1e-6f, n, out.data());
      for (std::size_t k = 0; k < n; ++k) REQUIRE(close(out[k], ref[k], tol));
      simd::detail::rmsnorm_kernel{}(Arch{}, x.data(), nullptr, 1e-6f, n, out.data());
      for (std::size_t k = 0; k < n; ++k) REQUIRE(close(out[k], ref_nw[k], tol));
      // In place.
      auto xi = copy_at(xv, offs[i % 4]);
      simd::detail::rmsnorm_kernel{}(Arch{}, xi.data(), w.data(), 1e-6f, n, xi.data());
      for (std::size_t k = 0; k < n; ++k) REQUIRE(close(xi[k], ref[k], tol));
    }
  });
}

TEST_CASE("ops: rmsnorm_rows normalises each row with its own scale") {
  const std::size_t n = 40, rows = 3, ld = 45;
  std::vector<float> x = simd_test::normals(rows * ld, 5), out(rows * ld, 7.0f), w = simd_test::normals(n, 6);
  simd::rmsnorm_rows(x.data(), ld, w.data(), 1e-6f, n, rows, out.data(), ld);
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<float> ref(n);
    simd::reference::rmsnorm(x.data() + r * ld, w.data(), 1e-6f, n, ref.data());
    for (std::size_t k = 0; k < n; ++k) CHECK(close(out[r * ld + k], ref[k], 1e-6));
    for (std::size_t k = n; k < ld; ++k) CHECK(out[r * ld + k] == 7.0f);
  }
}

TEST_CASE("ops: gelu_tanh is within 1e-6 relative of the formula over a dense sweep including large |x|") {
  // Dense linear sweep of [-12, 12] plus every 2^12-th float bit pattern of the whole finite range.
  std::vector<float> xs;
  for (int i = -120000; i <= 120000; ++i) xs.push_back(static_cast<float>(i) * 1e-4f);
  for (std::uint32_t b = 0; b < 0x7f800000u; b += 4096u) {
    float f = 0.0f;
    std::memcpy(&f, &b, sizeof f);
    xs.push_back(f);
    xs.push_back(-f);
  }
  const double tiny = 1e-37;  // results below FLT_MIN are subnormal: compare absolutely there
  simd_test::for_each_arch([&](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    std::vector<float> out(xs.size());
    simd::detail::gelu_kernel{}(Arch{}, xs.data(), xs.size(), out.data());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double x = static_cast<double>(xs[i]);
      // The literal formula in long double where it does not cancel, the reference elsewhere.
      long double want = 0.0L;
      if (x > -5.0) {
        const long double xl = static_cast<long double>(x);
        want = 0.5L * xl * (1.0L + std::tanh(0.7978845608028654L * (xl + 0.044715L * xl * xl * xl)));
      } else {
        want = static_cast<long double>(simd::reference::gelu_tanh(xs[i]));
      }
      if (!close(static_cast<double>(out[i]), static_cast<double>(want), 1e-6, tiny)) {
        if (++bad < 5) {
          CAPTURE(x);
          CAPTURE(out[i]);
          CAPTURE(static_cast<double>(want));
          CHECK(false);
        }
      }
      // And against the scalar reference (same formula in double): at most 1 ulp apart.
      if (!close(static_cast<double>(out[i]), static_cast<double>(simd::reference::gelu_tanh(xs[i])), 1.2e-7, tiny))
        ++bad;
    }
    CHECK(bad == 0);
  });
  CHECK(simd::gelu_tanh(0.0f) == 0.0f);
  CHECK(std::isnan(simd::gelu_tanh(std::numeric_limits<float>::quiet_NaN())));
  CHECK(simd::gelu_tanh(std::numeric_limits<float>::infinity()) == std::numeric_limits<float>::infinity());
}

TEST_CASE("ops: gelu and geglu over sizes and misalignments, in place") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    const auto offs = misalignments<Arch>();
    for (std::size_t n = 0; n <= 2 * sweep_n<Arch> + 1; ++n) {
      CAPTURE(n);
      const auto gv = simd_test::normals(n, static_cast<std::uint32_t>(n), 3.0f);
      const auto uv = simd_test::normals(n, static_cast<std::uint32_t>(n + 77));
      auto g = copy_at(gv, offs[n % 4]);
      const auto u = copy_at(uv, offs[(n / 4) % 4]);
      offset_buffer<float> out(n, offs[(n / 2) % 4]);
      simd::detail::geglu_kernel{}(Arch{}, g.data(), u.data(), n, out.data());
      for (std::size_t k = 0; k < n; ++k)
        REQUIRE(close(out[k], simd::reference::gelu_tanh(gv[k]) * uv[k], 2.5e-7, 1e-37));
      simd::detail::gelu_kernel{}(Arch{}, g.data(), n, g.data());
      for (std::size_t k = 0; k < n; ++k) REQUIRE(close(g[k], simd::reference::gelu_tanh(gv[k]), 1.2e-7, 1e-37));
    }
  });
}

TEST_CASE("ops: softmax matches an f64 softmax over sizes and misalignments") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    const auto offs = misalignments<Arch>();
    std::vector<std::size_t> sizes;
    for (std::size_t n = 1; n <= 2 * sweep_n<Arch> + 1; ++n) sizes.push_back(n);
    for (std::size_t n : {128u, 1000u, 262144u}) sizes.push_back(n);
    for (std::size_t n : sizes) {
      CAPTURE(n);
      const auto v = simd_test::normals(n, static_cast<std::uint32_t>(n), 4.0f);
      auto x = copy_at(v, offs[n % 4]);
      simd::detail::softmax_kernel{}(Arch{}, x.data(), n);
      // The f64 softmax of the f32-rounded shifted logits x - max (the rounding every f32 softmax, the
      // reference included, makes first: up to |x - max| 2^-24 relative in exp). Then exp within a few ulp
      // and the f32 sum within (n / 4L + 8) u.
      const float m = *std::max_element(v.begin(), v.end());
      std::vector<double> e(n);
      double s = 0.0;
      for (std::size_t k = 0; k < n; ++k) s += e[k] = std::exp(static_cast<double>(v[k] - m));
      const double tol = 1e-6 + static_cast<double>(n) / static_cast<double>(sweep_n<Arch>) * std::ldexp(1.0, -24);
      bool ok = true;
      for (std::size_t k = 0; k < n; ++k) ok = ok && close(x[k], e[k] / s, tol);
      CHECK(ok);
    }
  });
}

TEST_CASE("ops: softcap is within 3 ulp of cap * tanh(x / cap)") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    std::vector<float> v;
    for (int i = -100000; i <= 100000; ++i) v.push_back(static_cast<float>(i) * 3e-3f);
    v.push_back(1e-30f);
    v.push_back(-1e-30f);
    v.push_back(std::numeric_limits<float>::infinity());
    v.push_back(-std::numeric_limits<float>::infinity());
    auto x = v;
    simd::detail::softcap_kernel{}(Arch{}, x.data(), x.size(), 30.0f);
    bool ok = true;
    for (std::size_t k = 0; k < v.size(); ++k)
      ok = ok && close(x[k], 30.0 * std::tanh(static_cast<double>(v[k]) / 30.0), 3.6e-7);
    CHECK(ok);
  });
}

TEST_CASE("ops: rope (default and proportional) matches the reference rotation") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    for (std::size_t d : {8u, 256u, 512u}) {
      for (std::size_t n_rot : {std::size_t{0}, std::size_t{1}, d / 8, d / 4 - 1, d / 2}) {
        for (std::size_t pos : {0u, 1u, 17u, 4095u, 131071u}) {
          CAPTURE(d);
          CAPTURE(n_rot);
          CAPTURE(pos);
          std::vector<float> inv(d / 2);
          for (std::size_t i = 0; i < d / 2; ++i)
            inv[i] = static_cast<float>(std::pow(10000.0, -2.0 * static_cast<double>(i) / static_cast<double>(d)));
          const std::size_t heads = 3, stride = d + 5;
          const auto v = simd_test::normals(heads * stride, static_cast<std::uint32_t>(d + n_rot + pos));
          auto ref = v;
          for (std::size_t h = 0; h < heads; ++h)
            simd::reference::rope_neox(ref.data() + h * stride, d, n_rot, inv.data(), pos);
          std::vector<float> c(n_rot + 1), s(n_rot + 1);
          simd::rope_cos_sin(pos, inv.data(), n_rot, c.data(), s.data());
          auto x = copy_at(v, 1);
          simd::detail::rope_kernel{}(Arch{}, x.data(), heads, stride, d, n_rot, c.data(), s.data());
          bool ok = true;
          for (std::size_t k = 0; k < v.size(); ++k) ok = ok && close(x[k], ref[k], 0.0, 1e-6);
          // Untouched: padding and the non-rotated pairs are bit-identical.
          for (std::size_t h = 0; h < heads; ++h) {
            for (std::size_t i = n_rot; i < d / 2; ++i) {
              ok = ok && x[h * stride + i] == v[h * stride + i] &&
                   x[h * stride + i + d / 2] == v[h * stride + i + d / 2];
            }
            for (std::size_t k = d; k < stride; ++k) ok = ok && x[h * stride + k] == v[h * stride + k];
          }
          auto one = v;
          simd::rope_neox(one.data(), d, n_rot, inv.data(), pos);
          for (std::size_t k = 0; k < d; ++k) ok = ok && close(one[k], ref[k], 0.0, 1e-6);
          CHECK(ok);
        }
      }
    }
  });
}

TEST_CASE("ops: top_k returns the k largest, largest first, ties to the lower index, NaN last") {
  std::vector<float> x = simd_test::normals(128, 9);
  for (std::size_t k : {1u, 2u, 8u, 128u}) {
    std::vector<std::uint32_t> idx(k), want(128);
    std::vector<float> val(k);
    simd::top_k(x.data(), 128, k, idx.data(), val.data());
    std::iota(want.begin(), want.end(), 0u);
    std::stable_sort(want.begin(), want.end(), [&](std::uint32_t a, std::uint32_t b) { return x[a] > x[b]; });
    for (std::size_t j = 0; j < k; ++j) {
      CHECK(idx[j] == want[j]);
      CHECK(val[j] == x[idx[j]]);
    }
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> t = {1.0f, 3.0f, nan, 3.0f, -INFINITY, 2.0f, 3.0f, nan};
  std::uint32_t idx[8];
  simd::top_k(t.data(), t.size(), 8, idx);
  const std::uint32_t want[8] = {1, 3, 6, 5, 0, 4, 2, 7};
  for (std::size_t j = 0; j < 8; ++j) CHECK(idx[j] == want[j]);
  simd::top_k(t.data(), t.size(), 3, idx);
  CHECK(idx[0] == 1);
  CHECK(idx[1] == 3);
  CHECK(idx[2] == 6);
}

TEST_CASE("ops: add and axpy are exact (fused where the arch has FMA); dot is within its error bound") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    const auto offs = misalignments<Arch>();
    for (std::size_t n = 0; n <= 2 * sweep_n<Arch> + 1; ++n) {
      CAPTURE(n);
      const auto av = simd_test::normals(n, static_cast<std::uint32_t>(n));
      const auto bv = simd_test::normals(n, static_cast<std::uint32_t>(n + 1));
      auto y = copy_at(av, offs[n % 4]);
      const auto b = copy_at(bv, offs[(n / 4) % 4]);
      simd::detail::map2<Arch>(y.data(), b.data(), n, y.data(), [](auto p, auto q) { return p + q; });
      for (std::size_t k = 0; k < n; ++k) REQUIRE(y[k] == av[k] + bv[k]);
      auto z = copy_at(av, offs[(n / 2) % 4]);
      const simd::detail::fbatch<Arch> va(0.75f);
      simd::detail::map2<Arch>(z.data(), b.data(), n, z.data(),
                               [&](auto p, auto q) { return simd::detail::fmadd<Arch>(va, q, p); });
      // Fused (one rounding) where the arch has FMA; xsimd's emulation elsewhere, which the compiler may
      // still contract when the target has FMA: either rounding is accepted there.
      for (std::size_t k = 0; k < n; ++k) {
        const float fused = std::fma(0.75f, bv[k], av[k]);
        if constexpr (simd::detail::has_fma<Arch>) {
          REQUIRE(z[k] == fused);
        } else {
          REQUIRE((z[k] == fused || z[k] == 0.75f * bv[k] + av[k]));
        }
      }
      const float d = simd::detail::dot_kernel{}(Arch{}, y.data(), b.data(), n);
      double ref = 0.0, mag = 0.0;
      for (std::size_t k = 0; k < n; ++k) {
        ref += static_cast<double>(y[k]) * static_cast<double>(bv[k]);
        mag += std::fabs(static_cast<double>(y[k]) * static_cast<double>(bv[k]));
      }
      CHECK(close(d, ref, 0.0,
                  (static_cast<double>(n) / static_cast<double>(sweep_n<Arch>) + 10.0) * std::ldexp(mag, -24)));
    }
  });
  std::vector<float> y = {1.0f, 2.0f, 3.0f}, x = {0.5f, 0.25f, 2.0f};
  simd::add(y.data(), x.data(), 3);
  CHECK(y == std::vector<float>{1.5f, 2.25f, 5.0f});
  simd::scale(y.data(), 2.0f, 3);
  CHECK(y == std::vector<float>{3.0f, 4.5f, 10.0f});
  simd::axpy(y.data(), -2.0f, x.data(), 3);
  CHECK(y == std::vector<float>{2.0f, 4.0f, 6.0f});
  CHECK(simd::dot(y.data(), x.data(), 3) == 14.0f);
}

}  // namespace ut_ops_test
