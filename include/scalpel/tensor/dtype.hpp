#pragma once
/// @file
/// @brief Element types (dtype tags), their storage types, exact conversions, and the runtime `dtype_id`
/// used only at the I/O boundary.
///
/// A dtype tag is an empty type with traits: `storage_type` (what one stored unit is), `block_elems`
/// (logical elements per stored unit: 1 for scalars, 32 for Q8_0) and `name`. Kernels are templated on tags;
/// nothing below the I/O layer sees a `dtype_id`.

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE

/// IEEE binary16 bits. A distinct type so that a `uint16_t` is never silently read as a half.
struct f16_bits {
  std::uint16_t bits;
  friend constexpr bool operator==(f16_bits, f16_bits) = default;
};
/// bfloat16 bits (the upper half of an IEEE binary32).
struct bf16_bits {
  std::uint16_t bits;
  friend constexpr bool operator==(bf16_bits, bf16_bits) = default;
};
/// One Q8_0 block as GGUF stores it: scale `d` (binary16) then 32 signed quants; value_i = d * qs_i.
struct q8_0_block {
  f16_bits d;
  std::int8_t qs[32];
};
static_assert(sizeof(f16_bits) == 2 && sizeof(bf16_bits) == 2);
static_assert(sizeof(q8_0_block) == 34, "Q8_0 blocks are 34 bytes, as in GGUF");

/// dtype tags.
struct f32 {
  using storage_type = float;
  static constexpr std::size_t block_elems = 1;
  static constexpr std::string_view name = "F32";
};
struct f16 {
  using storage_type = f16_bits;
  static constexpr std::size_t block_elems = 1;
  static constexpr std::string_view name = "F16";
};
struct bf16 {
  using storage_type = bf16_bits;
  static constexpr std::size_t block_elems = 1;
  static constexpr std::string_view name = "BF16";
};
struct q8_0 {
  using storage_type = q8_0_block;
  static constexpr std::size_t block_elems = 32;
  static constexpr std::string_view name = "Q8_0";
};

/// A dtype tag, possibly const-qualified (const = read-only data).
template <class D>
concept dtype = requires {
  typename std::remove_const_t<D>::storage_type;
  { std::remove_const_t<D>::name } -> std::convertible_to<std::string_view>;
  { std::remove_const_t<D>::block_elems } -> std::convertible_to<std::size_t>;
};
/// A dtype whose stored unit is one element (views give element references).
template <class D>
concept scalar_dtype = dtype<D> &&(std::remove_const_t<D>::block_elems == 1);
/// A block-quantised dtype (views address whole blocks).
template <class D>
concept block_dtype = dtype<D> &&(std::remove_const_t<D>::block_elems > 1);

/// Storage type of a tag, keeping its constness (`const bf16` -> `const bf16_bits`).
template <dtype D>
using storage_t = std::conditional_t<std::is_const_v<D>, const typename std::remove_const_t<D>::storage_type,
                                     typename std::remove_const_t<D>::storage_type>;

// ---- exact scalar conversions ----------------------------------------------------------------------

/// bf16 -> f32 is exact (a shift).
constexpr float to_f32(bf16_bits h) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(h.bits) << 16); }

/// f32 -> bf16 with round-to-nearest-even. NaN stays NaN (quiet, sign kept); +-Inf stay Inf; values
/// that round past the largest finite bf16 become Inf, as IEEE rounding requires.
constexpr bf16_bits to_bf16(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep sign and top payload, force quiet bit
    return bf16_bits{static_cast<std::uint16_t>((u >> 16) | 0x0040u)};
  }
  const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return bf16_bits{static_cast<std::uint16_t>((u + rounding) >> 16)};
}

/// f16 -> f32 is exact (subnormals, Inf and NaN included).
constexpr float to_f32(f16_bits h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  const std::uint32_t exp = (h.bits >> 10) & 0x1fu;
  std::uint32_t mant = h.bits & 0x3ffu;
  std::uint32_t out = 0;
  if (exp == 0x1fu) {  // Inf / NaN
    out = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {  // normal
    out = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {  // +-0
    out = sign;
  } else {  // subnormal: normalise
    std::uint32_t e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    out = sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(out);
}

/// f32 -> f16 with round-to-nearest-even, gradual underflow, overflow to Inf, NaN kept quiet.
constexpr f16_bits to_f16(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t au = u & 0x7fffffffu;
  if (au > 0x7f800000u) {  // NaN
    return f16_bits{static_cast<std::uint16_t>(sign | 0x7e00u | ((au >> 13) & 0x3ffu))};
  }
  if (au >= 0x477ff000u) {  // >= 65520 rounds to Inf (65504 is the largest finite half)
    return f16_bits{static_cast<std::uint16_t>(sign | 0x7c00u)};
  }
  const std::uint32_t exp = au >> 23;
  if (exp >= 113) {  // normal half range: rebias 127 -> 15 and round the 13 dropped bits
    const std::uint32_t v = au - (112u << 23);
    const std::uint32_t rounded = v + 0xfffu + ((v >> 13) & 1u);
    return f16_bits{static_cast<std::uint16_t>(sign | (rounded >> 13))};
  }
  if (exp < 102) {  // below half the smallest subnormal: +-0 (including exact f32 subnormals)
    return f16_bits{sign};
  }
  // subnormal half: value = mant_full * 2^(exp-150); half subnormal unit is 2^-24
  const std::uint32_t mant_full = (au & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126u - exp;  // 14..24 bits dropped
  const std::uint32_t half = 1u << (shift - 1);
  const std::uint32_t rem = mant_full & ((1u << shift) - 1u);
  std::uint32_t q = mant_full >> shift;
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return f16_bits{static_cast<std::uint16_t>(sign | q)};
}

constexpr float to_f32(float f) noexcept { return f; }

/// Convert a stored scalar of any dtype to f32.
template <scalar_dtype D>
constexpr float decode(storage_t<const D> v) noexcept {
  return to_f32(v);
}
/// Convert f32 to the stored scalar of a dtype (rounding to nearest even).
template <scalar_dtype D>
constexpr typename std::remove_const_t<D>::storage_type encode(float f) noexcept {
  using S = std::remove_const_t<D>;
  if constexpr (std::is_same_v<S, f32>) {
    return f;
  } else if constexpr (std::is_same_v<S, bf16>) {
    return to_bf16(f);
  } else {
    return to_f16(f);
  }
}

// ---- runtime dtype ids (I/O boundary only) ----------------------------------------------------------

/// Runtime dtype id. The first four are computable; the rest exist so that loaders can name what they
/// found in a file before rejecting it.
enum class dtype_id : std::uint8_t { f32, f16, bf16, q8_0, f64, i8, u8, i16, i32, i64, boolean, other };

constexpr std::string_view dtype_name(dtype_id d) noexcept {
  switch (d) {
    case dtype_id::f32:
      return "F32";
    case dtype_id::f16:
      return "F16";
    case dtype_id::bf16:
      return "BF16";
    case dtype_id::q8_0:
      return "Q8_0";
    case dtype_id::f64:
      return "F64";
    case dtype_id::i8:
      return "I8";
    case dtype_id::u8:
      return "U8";
    case dtype_id::i16:
      return "I16";
    case dtype_id::i32:
      return "I32";
    case dtype_id::i64:
      return "I64";
    case dtype_id::boolean:
      return "BOOL";
    case dtype_id::other:
      return "OTHER";
  }
  return "OTHER";
}

/// Bytes per block and elements per block of a runtime dtype (0 bytes for ids scalpel cannot address).
struct dtype_layout {
  std::size_t block_bytes;
  std::size_t block_elems;
};
constexpr dtype_layout layout_of(dtype_id d) noexcept {
  switch (d) {
    case dtype_id::f32:
      return {4, 1};
    case dtype_id::f16:
      return {2, 1};
    case dtype_id::bf16:
      return {2, 1};
    case dtype_id::q8_0:
      return {34, 32};
    case dtype_id::f64:
      return {8, 1};
    case dtype_id::i8:
      return {1, 1};
    case dtype_id::u8:
      return {1, 1};
    case dtype_id::boolean:
      return {1, 1};
    case dtype_id::i16:
      return {2, 1};
    case dtype_id::i32:
      return {4, 1};
    case dtype_id::i64:
      return {8, 1};
    case dtype_id::other:
      return {0, 1};
  }
  return {0, 1};
}

/// The runtime id of a tag.
template <dtype D>
constexpr dtype_id id_of() noexcept {
  using S = std::remove_const_t<D>;
  if constexpr (std::is_same_v<S, f32>)
    return dtype_id::f32;
  else if constexpr (std::is_same_v<S, f16>)
    return dtype_id::f16;
  else if constexpr (std::is_same_v<S, bf16>)
    return dtype_id::bf16;
  else
    return dtype_id::q8_0;
}

/// The closed list of computable dtypes (bounds template instantiations).
template <class... Ds>
struct dtype_list {};
using computable_dtypes = dtype_list<f32, f16, bf16, q8_0>;

SCALPEL_END_NAMESPACE
