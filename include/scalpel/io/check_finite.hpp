#pragma once
/// @file
/// @brief NaN / Inf detection in loaded tensors. Readers never scan tensor data (a checkpoint is mapped,
/// not read); call these when finite weights are required (e.g. after loading, before an edit is saved).

#include <cmath>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tensor_set.hpp"
#include "scalpel/tensor/any_tensor.hpp"
#include "scalpel/tensor/dtype.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

/// Index (in elements, row-major) of the first NaN or Inf of `t`, or nullopt when all are finite. Q8_0:
/// a block whose scale is not finite reports its first element. Non-float dtypes are always finite.
inline std::optional<std::size_t> find_non_finite(const any_tensor& t) {
  const std::byte* p = t.data();
  const std::size_t nb = t.size_bytes();
  switch (t.dtype()) {
    case dtype_id::f32:
      for (std::size_t i = 0; i < nb / 4; ++i) {
        float v;
        std::memcpy(&v, p + 4 * i, 4);
        if (!std::isfinite(v)) return i;
      }
      return std::nullopt;
    case dtype_id::f64:
      for (std::size_t i = 0; i < nb / 8; ++i) {
        double v;
        std::memcpy(&v, p + 8 * i, 8);
        if (!std::isfinite(v)) return i;
      }
      return std::nullopt;
    case dtype_id::f16:
    case dtype_id::bf16: {
      // both: all-ones exponent means Inf/NaN
      const std::uint16_t mask = t.dtype() == dtype_id::f16 ? 0x7c00u : 0x7f80u;
      for (std::size_t i = 0; i < nb / 2; ++i) {
        std::uint16_t v;
        std::memcpy(&v, p + 2 * i, 2);
        if ((v & mask) == mask) return i;
      }
      return std::nullopt;
    }
    case dtype_id::q8_0:
      for (std::size_t b = 0; b < nb / sizeof(q8_0_block); ++b) {
        std::uint16_t d;
        std::memcpy(&d, p + b * sizeof(q8_0_block), 2);
        if ((d & 0x7c00u) == 0x7c00u) return b * 32;
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

/// @throws scalpel::error `errc::numeric` naming the tensor and the first non-finite element.
inline void require_finite(const any_tensor& t, const std::string& source = {}) {
  if (auto i = find_non_finite(t)) {
    fail(errc::numeric, (source.empty() ? std::string() : source + ": ") + "tensor '" + t.name() + "' " +
                            t.shape().str() + " has a NaN or Inf at element " + std::to_string(*i));
  }
}
/// `require_finite` on every tensor.
inline void require_finite(const tensor_set& ts, const std::string& source = {}) {
  for (const auto& t : ts) require_finite(t, source);
}

}  // namespace io
SCALPEL_END_NAMESPACE
