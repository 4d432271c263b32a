// Q8_0 quantisation: hand-computed blocks for the edge cases (all-zero, negative maximum, rounding ties,
// f16 rounding of the scale), bit-equality with the scalar ggml-semantics reference on random rows, the
// bf16 overload, dequantisation, and the errors on bad input.

#include "scalpel/simd/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/core/error.hpp"
#include "simd_test_util.hpp"

namespace ut_quantize_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

namespace {

q8_0_block quantize_one(const std::vector<float>& x) {
  REQUIRE(x.size() == 32);
  q8_0_block b{};
  simd::quantize_q8_0(x.data(), 32, &b);
  return b;
}

bool same_block(const q8_0_block& a, const q8_0_block& b) {
  if (a.d.bits != b.d.bits) return false;
  for (int i = 0; i < 32; ++i)
    if (a.qs[i] != b.qs[i]) return false;
  return true;
}

errc error_code_of(const std::vector<float>& x) {
  std::vector<q8_0_block> out(x.size() / 32 + 1);
  try {
    simd::quantize_q8_0(x.data(), x.size(), out.data());
  } catch (const scalpel::error& e) {
    return e.code();
  }
  return errc{};
}

}  // namespace

TEST_CASE("quantize_q8_0: an all-zero block has scale 0 and zero quants") {
  const q8_0_block b = quantize_one(std::vector<float>(32, 0.0f));
  CHECK(b.d.bits == 0);
  for (int i = 0; i < 32; ++i) CHECK(b.qs[i] == 0);
  // -0.0 everywhere too: |x| = 0, d = +0.
  const q8_0_block nz = quantize_one(std::vector<float>(32, -0.0f));
  CHECK(nz.d.bits == 0);
}

TEST_CASE("quantize_q8_0: the largest magnitude maps to +-127 whatever its sign (negative maximum)") {
  std::vector<float> x(32, 0.0f);
  x[5] = -5.0f;
  x[6] = 2.5f;
  x[7] = -1.0f;
  const q8_0_block b = quantize_one(x);
  // d = 5 / 127 (f32), stored as binary16; q = roundf(x * (127 / 5)) with the f32 reciprocal.
  const float d = 5.0f / 127.0f;
  CHECK(b.d.bits == to_f16(d).bits);
  CHECK(b.qs[5] == -127);
  CHECK(b.qs[6] == static_cast<std::int8_t>(std::round(2.5f * (1.0f / d))));  // 63.5 -> 64 (away from 0)
  CHECK(b.qs[6] == 64);
  CHECK(b.qs[7] == -25);  // -25.4 -> -25
  CHECK(b.qs[0] == 0);
}

TEST_CASE("quantize_q8_0: halves round away from zero (roundf), as ggml does") {
  // amax = 127 gives d = 1 and id = 1 exactly, so x * id are the literal values below.
  std::vector<float> x(32, 0.0f);
  const float vals[] = {127.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, -126.5f, 0.49999997f, -3.5f};
  const int want[] = {127, 1, -1, 2, -2, 3, -3, 127, -127, 0, -4};
  for (std::size_t i = 0; i < std::size(vals); ++i) x[i] = vals[i];
  const q8_0_block b = quantize_one(x);
  CHECK(b.d.bits == to_f16(1.0f).bits);
  for (std::size_t i = 0; i < std::size(vals); ++i) {
    CAPTURE(i);
    CHECK(b.qs[i] == want[i]);
  }
}

TEST_CASE("quantize_q8_0: quants use 1/d of the unrounded f32 scale; the stored scale is f16(d), ties to even") {
  // amax = 1: d = 1/127 = 0.007874016 is not a binary16 value; f16 rounds it to nearest even.
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i - 16) / 16.0f;
  const q8_0_block b = quantize_one(x);
  const float d = 1.0f / 127.0f;
  CHECK(b.d.bits == to_f16(d).bits);
  CHECK(to_f32(b.d) != d);
  const float id = 1.0f / d;
  for (int i = 0; i < 32; ++i)
    CHECK(b.qs[i] == static_cast<std::int8_t>(std::round(x[static_cast<std::size_t>(i)] * id)));
  CHECK(b.qs[0] == -127);
  CHECK(b.qs[8] == -64);  // -0.5 * 127 = -63.5 -> -64
}

TEST_CASE("quantize_q8_0: tiny blocks keep quants even when the f16 scale underflows (ggml semantics)") {
  std::vector<float> x(32, 0.0f);
  x[0] = 1e-12f;
  const q8_0_block b = quantize_one(x);
  CHECK(b.d.bits == 0);  // 1e-12 / 127 is below half the smallest f16 subnormal
  CHECK(b.qs[0] == 127);
}

TEST_CASE("quantize_q8_0: bit-identical to the scalar reference on random rows; bf16 overload agrees") {
  for (std::uint32_t seed = 0; seed < 20; ++seed) {
    std::vector<float> x = simd_test::normals(32 * 64, seed, std::ldexp(1.0f, static_cast<int>(seed) - 10));
    std::vector<q8_0_block> got(64);
    simd::quantize_q8_0(x.data(), x.size(), got.data());
    bool ok = true;
    for (std::size_t b = 0; b < 64; ++b)
      ok = ok && same_block(got[b], simd::reference::quantize_q8_0_block(x.data() + b * 32));
    CHECK(ok);
    // bf16 input == f32 input of the widened values.
    std::vector<bf16_bits> xb(x.size());
    std::vector<float> xw(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      xb[i] = to_bf16(x[i]);
      xw[i] = to_f32(xb[i]);
    }
    std::vector<q8_0_block> gb(64), gw(64);
    simd::quantize_q8_0(xb.data(), xb.size(), gb.data());
    simd::quantize_q8_0(xw.data(), xw.size(), gw.data());
    for (std::size_t b = 0; b < 64; ++b) ok = ok && same_block(gb[b], gw[b]);
    CHECK(ok);
    // Round trip: |x - q f16(d)| <= |x - q d| + |q| |d - f16(d)| <= d / 2 + 127 |d - f16(d)| (+ f32 slack).
    std::vector<float> back(x.size());
    simd::dequantize_q8_0(got.data(), x.size(), back.data());
    for (std::size_t i = 0; i < x.size(); ++i) {
      double amax = 0.0;
      for (std::size_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j)
        amax = std::max(amax, std::fabs(static_cast<double>(x[j])));
      const double d32 = amax / 127.0, d16 = static_cast<double>(to_f32(got[i / 32].d));
      const double err = std::fabs(static_cast<double>(back[i]) - static_cast<double>(x[i]));
      ok = ok && err <= 0.5 * d32 * (1.0 + 1e-5) + 127.0 * std::fabs(d32 - d16) * (1.0 + 1e-5);
      ok = ok && back[i] == to_f32(got[i / 32].d) * static_cast<float>(got[i / 32].qs[i % 32]);
    }
    CHECK(ok);
  }
}

TEST_CASE("quantize_q8_0: bad input throws (length not whole blocks, non-finite values)") {
  CHECK(error_code_of(std::vector<float>(33, 1.0f)) == errc::invalid_argument);
  std::vector<float> x(64, 1.0f);
  x[40] = std::numeric_limits<float>::quiet_NaN();
  CHECK(error_code_of(x) == errc::numeric);
  x[40] = -std::numeric_limits<float>::infinity();
  CHECK(error_code_of(x) == errc::numeric);
  try {
    simd::quantize_q8_0(x.data(), x.size(), std::vector<q8_0_block>(2).data());
    CHECK(false);
  } catch (const scalpel::error& e) {
    CHECK(std::string(e.what()).find("block 1") != std::string::npos);
  }
  std::vector<float> empty;
  CHECK(error_code_of(empty) == errc{});  // zero blocks: nothing to do
}

}  // namespace ut_quantize_test
