#pragma once
// IWYU pragma: private
/// @file
/// @brief The ggml tensor types a GGUF file may name: id, name, block size and block bytes (facts from
/// ggml's type table), and the `dtype_id` scalpel gives each.

#include <cstdint>
#include <string>
#include <string_view>

#include "scalpel/config.hpp"
#include "scalpel/tensor/dtype.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

/// ggml tensor type ids scalpel reads and writes.
enum class ggml_type : std::uint32_t { f32 = 0, f16 = 1, q8_0 = 8, bf16 = 30 };

namespace detail {

struct ggml_type_info {
  std::uint32_t id;
  std::string_view name;
  std::uint32_t block_elems;  ///< elements per block (1 for plain types)
  std::uint32_t block_bytes;  ///< bytes per block
  dtype_id dtype;             ///< `other` for quantisations scalpel cannot compute with
};

// Ids 4, 5 (Q4_2, Q4_3), 31-33 and 36-38 (repacked Q4_0/IQ4_NL variants) were removed from ggml and are
// not valid in files.
inline constexpr ggml_type_info ggml_type_table[] = {
    {0, "F32", 1, 4, dtype_id::f32},
    {1, "F16", 1, 2, dtype_id::f16},
    {2, "Q4_0", 32, 18, dtype_id::other},
    {3, "Q4_1", 32, 20, dtype_id::other},
    {6, "Q5_0", 32, 22, dtype_id::other},
    {7, "Q5_1", 32, 24, dtype_id::other},
    {8, "Q8_0", 32, 34, dtype_id::q8_0},
    {9, "Q8_1", 32, 36, dtype_id::other},
    {10, "Q2_K", 256, 84, dtype_id::other},
    {11, "Q3_K", 256, 110, dtype_id::other},
    {12, "Q4_K", 256, 144, dtype_id::other},
    {13, "Q5_K", 256, 176, dtype_id::other},
    {14, "Q6_K", 256, 210, dtype_id::other},
    {15, "Q8_K", 256, 292, dtype_id::other},
    {16, "IQ2_XXS", 256, 66, dtype_id::other},
    {17, "IQ2_XS", 256, 74, dtype_id::other},
    {18, "IQ3_XXS", 256, 98, dtype_id::other},
    {19, "IQ1_S", 256, 50, dtype_id::other},
    {20, "IQ4_NL", 32, 18, dtype_id::other},
    {21, "IQ3_S", 256, 110, dtype_id::other},
    {22, "IQ2_S", 256, 82, dtype_id::other},
    {23, "IQ4_XS", 256, 136, dtype_id::other},
    {24, "I8", 1, 1, dtype_id::i8},
    {25, "I16", 1, 2, dtype_id::i16},
    {26, "I32", 1, 4, dtype_id::i32},
    {27, "I64", 1, 8, dtype_id::i64},
    {28, "F64", 1, 8, dtype_id::f64},
    {29, "IQ1_M", 256, 56, dtype_id::other},
    {30, "BF16", 1, 2, dtype_id::bf16},
    {34, "TQ1_0", 256, 54, dtype_id::other},
    {35, "TQ2_0", 256, 66, dtype_id::other},
    {39, "MXFP4", 32, 17, dtype_id::other},
};

inline const ggml_type_info* find_ggml_type(std::uint32_t id) noexcept {
  for (const auto& t : ggml_type_table)
    if (t.id == id) return &t;
  return nullptr;
}

/// The ggml type that stores a runtime dtype, or nullptr (U8, BOOL and `other` have none).
inline const ggml_type_info* ggml_type_for(dtype_id d) noexcept {
  if (d == dtype_id::other) return nullptr;
  for (const auto& t : ggml_type_table)
    if (t.dtype == d) return &t;
  return nullptr;
}

}  // namespace detail

/// The ggml name of a type id ("Q4_K"), or "type <id>" when unknown.
inline std::string ggml_type_name(std::uint32_t id) {
  const auto* t = detail::find_ggml_type(id);
  return t != nullptr ? std::string(t->name) : "type " + std::to_string(id);
}

}  // namespace io
SCALPEL_END_NAMESPACE
