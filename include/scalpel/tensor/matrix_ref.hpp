#pragma once
/// @file
/// @brief `matrix_ref`: a read-only weight matrix in whatever dtype the checkpoint stores it (F32, F16, BF16,
/// Q8_0), as a closed sum of typed views.
///
/// Why not a dtype scheme in the model type: real checkpoints are mixed (a Q8_0 GGUF keeps some matrices in
/// F16 when their rows are not whole blocks, routers in F32; a bf16 safetensors file has bf16 norms while the
/// GGUF of the same weights has F32 norms). The dtype is still a compile-time property where it matters:
/// kernels are instantiated per view type and dispatched once per matrix operation, never per element.

#include <cstddef>
#include <string>
#include <variant>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/tensor/any_tensor.hpp"
#include "scalpel/tensor/view.hpp"

SCALPEL_BEGIN_NAMESPACE

/// Row-major [rows, cols] read-only matrix in its stored dtype. Default-constructed = absent (0 x 0 f32).
class matrix_ref {
 public:
  using variant_type =
      std::variant<matrix_view<const f32>, matrix_view<const f16>, matrix_view<const bf16>, matrix_view<const q8_0>>;

  matrix_ref() = default;
  template <scalpel::dtype D>
  matrix_ref(matrix_view<const D> v) : v_(v) {}  // NOLINT(google-explicit-constructor)
  template <scalpel::dtype D>
  matrix_ref(matrix_view<D> v) : v_(matrix_view<const D>(v)) {}  // NOLINT(google-explicit-constructor)

  /// A 2-D record (or a 1-D record seen as one row) as a matrix. Throws on non-computable dtypes.
  static matrix_ref from(const any_tensor& t) {
    if (t.rank() == 1)
      return scalpel::visit<2>(t.reshaped(make_shape({1, t.shape()[0]})), [](auto v) { return matrix_ref(v); });
    return scalpel::visit<2>(t, [](auto v) { return matrix_ref(v); });
  }

  [[nodiscard]] std::size_t rows() const noexcept {
    return std::visit([](const auto& v) { return v.extent(0); }, v_);
  }
  [[nodiscard]] std::size_t cols() const noexcept {
    return std::visit([](const auto& v) { return v.extent(1); }, v_);
  }
  [[nodiscard]] bool empty() const noexcept { return rows() == 0 || cols() == 0; }
  [[nodiscard]] dtype_id dtype() const noexcept {
    return std::visit([](const auto& v) { return id_of<typename std::decay_t<decltype(v)>::value_dtype>(); }, v_);
  }
  /// Bytes of the matrix data (what a full pass over it reads).
  [[nodiscard]] std::size_t size_bytes() const noexcept {
    return std::visit([](const auto& v) { return v.size_bytes(); }, v_);
  }
  [[nodiscard]] const void* data() const noexcept {
    return std::visit([](const auto& v) { return static_cast<const void*>(v.data_handle()); }, v_);
  }
  /// Rows [first, first + count) (an expert's slice of a stacked tensor, a head's rows).
  [[nodiscard]] matrix_ref rows_slice(std::size_t first, std::size_t count) const {
    return std::visit([&](const auto& v) { return matrix_ref(v.slice(first, count)); }, v_);
  }
  /// Dispatch: `f(matrix_view<const D>)` with D the stored dtype.
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), v_);
  }
  template <scalpel::dtype D>
  [[nodiscard]] const matrix_view<const D>* get_if() const noexcept {
    return std::get_if<matrix_view<const D>>(&v_);
  }

  /// Row r decoded to f32 into out[0 .. cols).
  void decode_row(std::size_t r, float* out) const noexcept {
    std::visit(
        [&](const auto& v) {
          using D = typename std::decay_t<decltype(v)>::value_dtype;
          const auto row = v.row(r);
          if constexpr (std::is_same_v<D, q8_0>) {
            const std::size_t nb = v.extent(1) / 32;
            for (std::size_t b = 0; b < nb; ++b) {
              const q8_0_block& blk = row.data_handle()[b];
              const float d = to_f32(blk.d);
              for (std::size_t i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<float>(blk.qs[i]);
            }
          } else {
            for (std::size_t i = 0; i < v.extent(1); ++i) out[i] = to_f32(row.data_handle()[i]);
          }
        },
        v_);
  }

 private:
  variant_type v_{};
};

SCALPEL_END_NAMESPACE
