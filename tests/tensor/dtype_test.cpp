#include "scalpel/tensor/dtype.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <doctest/doctest.h>

namespace ut_dtype_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

namespace {
// Reference f32 -> bf16 / f16 rounding through double arithmetic (independent of the bit tricks).
bool is_nan_bits_f16(std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }
}  // namespace

TEST_CASE("dtype: bf16 -> f32 -> bf16 is the identity for all 65,536 bit patterns (NaN stays NaN)") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const bf16_bits h{static_cast<std::uint16_t>(b)};
    const float f = to_f32(h);
    const bf16_bits back = to_bf16(f);
    if (std::isnan(f)) {
      CHECK(std::isnan(to_f32(back)));
      CHECK((back.bits & 0x8000u) == (h.bits & 0x8000u));
    } else {
      REQUIRE(back.bits == h.bits);
    }
  }
}

TEST_CASE("dtype: f16 -> f32 -> f16 is the identity for all 65,536 bit patterns (NaN stays NaN)") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const f16_bits h{static_cast<std::uint16_t>(b)};
    const float f = to_f32(h);
    const f16_bits back = to_f16(f);
    if (is_nan_bits_f16(h.bits)) {
      CHECK(std::isnan(f));
      CHECK(is_nan_bits_f16(back.bits));
    } else {
      REQUIRE(back.bits == h.bits);
    }
  }
}

TEST_CASE("dtype: f16 decoding matches the IEEE formula for every finite pattern") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const std::uint32_t e = (b >> 10) & 0x1f, m = b & 0x3ff;
    if (e == 0x1f) continue;
    const double sign = (b & 0x8000) ? -1.0 : 1.0;
    const double v = e == 0 ? sign * std::ldexp(static_cast<double>(m), -24)
                            : sign * std::ldexp(1.0 + static_cast<double>(m) / 1024.0, static_cast<int>(e) - 15);
    REQUIRE(static_cast<double>(to_f32(f16_bits{static_cast<std::uint16_t>(b)})) == v);
  }
}

TEST_CASE("dtype: rounding to bf16 and f16 is to nearest, ties to even, for every midpoint") {
  // For every pair of adjacent finite values a < b, the midpoint rounds to the one with an even pattern,
  // and points just inside either side round to that side.
  SUBCASE("bf16") {
    for (std::uint32_t b = 0; b < 0x7f7f; ++b) {
      const float lo = to_f32(bf16_bits{static_cast<std::uint16_t>(b)});
      const float hi = to_f32(bf16_bits{static_cast<std::uint16_t>(b + 1)});
      const float mid = std::bit_cast<float>((std::bit_cast<std::uint32_t>(lo) + std::bit_cast<std::uint32_t>(hi)) / 2);
      const std::uint16_t even = (b % 2 == 0) ? static_cast<std::uint16_t>(b) : static_cast<std::uint16_t>(b + 1);
      REQUIRE(to_bf16(mid).bits == even);
      REQUIRE(to_bf16(std::nextafter(mid, 0.0f)).bits == b);
      REQUIRE(to_bf16(std::nextafter(mid, INFINITY)).bits == b + 1);
      REQUIRE(to_bf16(-mid).bits == (even | 0x8000u));
    }
  }
  SUBCASE("f16 (normals and subnormals)") {
    for (std::uint32_t b = 0; b < 0x7bff; ++b) {
      const double lo = static_cast<double>(to_f32(f16_bits{static_cast<std::uint16_t>(b)}));
      const double hi = static_cast<double>(to_f32(f16_bits{static_cast<std::uint16_t>(b + 1)}));
      const float mid = static_cast<float>((lo + hi) / 2);  // exact in f32
      REQUIRE(static_cast<double>(mid) == (lo + hi) / 2);
      const std::uint16_t even = (b % 2 == 0) ? static_cast<std::uint16_t>(b) : static_cast<std::uint16_t>(b + 1);
      REQUIRE(to_f16(mid).bits == even);
      REQUIRE(to_f16(std::nextafter(mid, 0.0f)).bits == b);
      REQUIRE(to_f16(std::nextafter(mid, INFINITY)).bits == b + 1);
    }
  }
}

TEST_CASE("dtype: overflow, infinities, zeros and tiny values") {
  CHECK(to_f16(65504.0f).bits == 0x7bff);
  CHECK(to_f16(65519.0f).bits == 0x7bff);
  CHECK(to_f16(65520.0f).bits == 0x7c00);
  CHECK(to_f16(-1e30f).bits == 0xfc00);
  CHECK(to_f16(std::numeric_limits<float>::infinity()).bits == 0x7c00);
  CHECK(to_f16(-0.0f).bits == 0x8000);
  CHECK(to_f16(std::ldexp(1.0f, -25)).bits == 0x0000);  // exactly half the smallest subnormal: tie to even (0)
  CHECK(to_f16(std::ldexp(1.5f, -25)).bits == 0x0001);  // above half: rounds up
  CHECK(to_f16(std::numeric_limits<float>::denorm_min()).bits == 0x0000);
  CHECK(to_bf16(std::numeric_limits<float>::max()).bits == 0x7f80);  // rounds past the largest bf16: Inf
  CHECK(to_bf16(-std::numeric_limits<float>::infinity()).bits == 0xff80);
  CHECK(std::isnan(to_f32(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isnan(to_f32(to_f16(std::numeric_limits<float>::signaling_NaN()))));
  CHECK(to_f32(to_bf16(1.0f)) == 1.0f);
  CHECK(to_f32(to_bf16(3.14159f)) == 3.140625f);
}

TEST_CASE("dtype: runtime ids and layouts") {
  CHECK(id_of<bf16>() == dtype_id::bf16);
  CHECK(id_of<const q8_0>() == dtype_id::q8_0);
  CHECK(layout_of(dtype_id::q8_0).block_bytes == 34);
  CHECK(layout_of(dtype_id::q8_0).block_elems == 32);
  CHECK(dtype_name(dtype_id::f16) == "F16");
  CHECK(layout_of(dtype_id::other).block_bytes == 0);
  CHECK(decode<bf16>(encode<bf16>(2.5f)) == 2.5f);
  CHECK(decode<f16>(encode<f16>(-0.125f)) == -0.125f);
}

}  // namespace ut_dtype_test
