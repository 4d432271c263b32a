#pragma once
// IWYU pragma: private, include "scalpel/simd/ops.hpp"
/// @file
/// @brief Vectorised element-wise and row kernels (RMSNorm, GELU-tanh, GeGLU, softmax, RoPE, soft-capping,
/// vector helpers), templated on the xsimd architecture. One functor per op, architecture first.
///
/// Tails are handled by running the same vector code on a zero-padded copy of the last partial register,
/// so every element goes through the same arithmetic whatever its position (no scalar epilogue with
/// different rounding).

#include <cmath>
#include <cstddef>
#include <cstring>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/arch.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd::detail {

/// Apply `f(batch) -> batch` to n floats: out[i] = f(in[i]) lane-wise; the tail goes through a padded copy.
template <class Arch, class F>
SCALPEL_INLINE void map1(const float* in, std::size_t n, float* out, F&& f) noexcept {
  constexpr std::size_t L = lanes<Arch>;
  std::size_t i = 0;
  for (; i + L <= n; i += L) f(fbatch<Arch>::load_unaligned(in + i)).store_unaligned(out + i);
  if (i < n) {
    alignas(64) float t[L] = {};
    std::memcpy(t, in + i, (n - i) * sizeof(float));
    f(fbatch<Arch>::load_aligned(t)).store_aligned(t);
    std::memcpy(out + i, t, (n - i) * sizeof(float));
  }
}

/// out[i] = f(a[i], b[i]) lane-wise, tail through padded copies.
template <class Arch, class F>
SCALPEL_INLINE void map2(const float* a, const float* b, std::size_t n, float* out, F&& f) noexcept {
  constexpr std::size_t L = lanes<Arch>;
  std::size_t i = 0;
  for (; i + L <= n; i += L)
    f(fbatch<Arch>::load_unaligned(a + i), fbatch<Arch>::load_unaligned(b + i)).store_unaligned(out + i);
  if (i < n) {
    alignas(64) float ta[L] = {};
    alignas(64) float tb[L] = {};
    std::memcpy(ta, a + i, (n - i) * sizeof(float));
    std::memcpy(tb, b + i, (n - i) * sizeof(float));
    f(fbatch<Arch>::load_aligned(ta), fbatch<Arch>::load_aligned(tb)).store_aligned(ta);
    std::memcpy(out + i, ta, (n - i) * sizeof(float));
  }
}

/// sum_i f(a[i], b[i]) with 4 lane accumulators (register j takes chunks j, j+4, ...), then
/// acc = (acc0 + acc1) + (acc2 + acc3) and the fixed lane tree. Zero-padded tail (f(0, 0) must be 0).
template <class Arch, class F>
SCALPEL_INLINE float reduce_sum2(const float* a, const float* b, std::size_t n, F&& f) noexcept {
  constexpr std::size_t L = lanes<Arch>;
  fbatch<Arch> acc[4] = {fbatch<Arch>(0.0f), fbatch<Arch>(0.0f), fbatch<Arch>(0.0f), fbatch<Arch>(0.0f)};
  std::size_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L)
    for (std::size_t j = 0; j < 4; ++j)
      acc[j] = f(fbatch<Arch>::load_unaligned(a + i + j * L), fbatch<Arch>::load_unaligned(b + i + j * L), acc[j]);
  std::size_t j = 0;
  for (; i + L <= n; i += L, ++j)
    acc[j] = f(fbatch<Arch>::load_unaligned(a + i), fbatch<Arch>::load_unaligned(b + i), acc[j]);
  if (i < n) {
    alignas(64) float ta[L] = {};
    alignas(64) float tb[L] = {};
    std::memcpy(ta, a + i, (n - i) * sizeof(float));
    std::memcpy(tb, b + i, (n - i) * sizeof(float));
    acc[j] = f(fbatch<Arch>::load_aligned(ta), fbatch<Arch>::load_aligned(tb), acc[j]);
  }
  return reduce1<Arch>((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

/// sum_i a[i] * b[i] (f32, fused multiply-adds, 4 accumulators).
struct dot_kernel {
  template <class Arch>
  float operator()(Arch, const float* a, const float* b, std::size_t n) const noexcept {
    return reduce_sum2<Arch>(a, b, n, [](auto x, auto y, auto acc) { return fmadd<Arch>(x, y, acc); });
  }
};

/// out = x / sqrt(mean(x^2) + eps) * w (w == nullptr: no weight). Sum of squares in f32 with 4 lane
/// accumulators; then out[i] = (x[i] * inv) * w[i], the reference's rounding sequence.
struct rmsnorm_kernel {
  template <class Arch>
  void operator()(Arch, const float* x, const float* w, float eps, std::size_t n, float* out) const noexcept {
    if (n == 0) return;
    const float ss = reduce_sum2<Arch>(x, x, n, [](auto a, auto b, auto acc) { return fmadd<Arch>(a, b, acc); });
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
    const fbatch<Arch> vinv(inv);
    if (w != nullptr) {
      map2<Arch>(x, w, n, out, [&](auto a, auto b) { return (a * vinv) * b; });
    } else {
      map1<Arch>(x, n, out, [&](auto a) { return a * vinv; });
    }
  }
};

/// gelu_pytorch_tanh evaluated in double: x / (1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3))), which equals
/// 0.5 x (1 + tanh(...)) but has no cancellation for negative x. Rounded once to float: within 1 ulp of
/// the exact formula over the whole range (f32 evaluation loses ~1e-5 relative for x < -5, where the
/// exponent's argument is large).
template <class Arch>
SCALPEL_INLINE dbatch<Arch> gelu_f64(const dbatch<Arch>& x) noexcept {
  const dbatch<Arch> k(-2.0 * 0.7978845608028654);  // -2 sqrt(2/pi)
  const dbatch<Arch> c(0.044715);
  const dbatch<Arch> one(1.0);
  const dbatch<Arch> u = k * xsimd::fma(c * x, x * x, x);
  return x / (one + xsimd::exp(u));
}

/// out[i] = gelu_tanh(x[i]).
struct gelu_kernel {
  template <class Arch>
  void operator()(Arch, const float* x, std::size_t n, float* out) const noexcept {
    map1<Arch>(x, n, out, [](const fbatch<Arch>& v) {
      dbatch<Arch> lo, hi;
      split_to_f64<Arch>(v, lo, hi);
      return join_from_f64<Arch>(gelu_f64<Arch>(lo), gelu_f64<Arch>(hi));
    });
  }
};

/// out[i] = gelu_tanh(gate[i]) * up[i] (product taken in double, rounded once).
struct geglu_kernel {
  template <class Arch>
  void operator()(Arch, const float* gate, const float* up, std::size_t n, float* out) const noexcept {
    map2<Arch>(gate, up, n, out, [](const fbatch<Arch>& g, const fbatch<Arch>& u) {
      dbatch<Arch> glo, ghi, ulo, uhi;
      split_to_f64<Arch>(g, glo, ghi);
      split_to_f64<Arch>(u, ulo, uhi);
      return join_from_f64<Arch>(gelu_f64<Arch>(glo) * ulo, gelu_f64<Arch>(ghi) * uhi);
    });
  }
};

/// In-place softmax: m = max; x = exp(x - m); x *= 1 / sum. Sum in f32, 4 lane accumulators.
struct softmax_kernel {
  template <class Arch>
  void operator()(Arch, float* x, std::size_t n) const noexcept {
    if (n == 0) return;
    constexpr std::size_t L = lanes<Arch>;
    fbatch<Arch> vm(-INFINITY);
    std::size_t i = 0;
    for (; i + L <= n; i += L) vm = xsimd::max(vm, fbatch<Arch>::load_unaligned(x + i));
    float m = reduce_max<Arch>(vm);
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    const fbatch<Arch> bm(m);
    map1<Arch>(x, n, x, [&](const fbatch<Arch>& v) { return xsimd::exp(v - bm); });
    const float s = reduce_sum2<Arch>(x, x, n, [](auto a, auto, auto acc) { return acc + a; });
    const fbatch<Arch> inv(1.0f / s);
    map1<Arch>(x, n, x, [&](const fbatch<Arch>& v) { return v * inv; });
  }
};

/// NeoX rotation of n_heads head vectors (x + h * stride, d floats each) by precomputed cos/sin of the
/// first n_rot pair angles: (a, b) = (x[i], x[i + d/2]) -> (a c - b s, b c + a s) for i < n_rot.
struct rope_kernel {
  template <class Arch>
  void operator()(Arch, float* x, std::size_t n_heads, std::size_t stride, std::size_t d, std::size_t n_rot,
                  const float* cs, const float* sn) const noexcept {
    constexpr std::size_t L = lanes<Arch>;
    const std::size_t half = d / 2;
    for (std::size_t h = 0; h < n_heads; ++h) {
      float* a = x + h * stride;
      float* b = a + half;
      std::size_t i = 0;
      const auto rot = [](const fbatch<Arch>& va, const fbatch<Arch>& vb, const fbatch<Arch>& c, const fbatch<Arch>& s,
                          fbatch<Arch>& ra, fbatch<Arch>& rb) {
        ra = va * c - vb * s;
        rb = vb * c + va * s;
      };
      for (; i + L <= n_rot; i += L) {
        fbatch<Arch> ra, rb;
        rot(fbatch<Arch>::load_unaligned(a + i), fbatch<Arch>::load_unaligned(b + i),
            fbatch<Arch>::load_unaligned(cs + i), fbatch<Arch>::load_unaligned(sn + i), ra, rb);
        ra.store_unaligned(a + i);
        rb.store_unaligned(b + i);
      }
      if (i < n_rot) {
        const std::size_t m = n_rot - i;
        alignas(64) float ta[L] = {}, tb[L] = {}, tc[L] = {}, ts[L] = {};
        std::memcpy(ta, a + i, m * sizeof(float));
        std::memcpy(tb, b + i, m * sizeof(float));
        std::memcpy(tc, cs + i, m * sizeof(float));
        std::memcpy(ts, sn + i, m * sizeof(float));
        fbatch<Arch> ra, rb;
        rot(fbatch<Arch>::load_aligned(ta), fbatch<Arch>::load_aligned(tb), fbatch<Arch>::load_aligned(tc),
            fbatch<Arch>::load_aligned(ts), ra, rb);
        ra.store_aligned(ta);
        rb.store_aligned(tb);
        std::memcpy(a + i, ta, m * sizeof(float));
        std::memcpy(b + i, tb, m * sizeof(float));
      }
    }
  }
};

/// x[i] = cap * tanh(x[i] / cap) in f32 with xsimd's tanh (within 3 ulp of the exact value).
struct softcap_kernel {
  template <class Arch>
  void operator()(Arch, float* x, std::size_t n, float cap) const noexcept {
    const fbatch<Arch> vcap(cap);
    map1<Arch>(x, n, x, [&](const fbatch<Arch>& v) { return vcap * xsimd::tanh(v / vcap); });
  }
};

}  // namespace simd::detail
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
