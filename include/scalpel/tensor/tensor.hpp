#pragma once
/// @file
/// @brief `tensor<DType, Rank>`: owning, 64-byte aligned, zero-initialised, row-major storage with typed
/// views. Move-only; `clone()` is the explicit deep copy (copy-on-write steps are visible in code).

#include <cstddef>
#include <string>

#include "scalpel/config.hpp"
#include "scalpel/core/aligned_alloc.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/tensor/view.hpp"

SCALPEL_BEGIN_NAMESPACE

template <dtype DType, std::size_t Rank>
class tensor {
  static_assert(!std::is_const_v<DType>, "an owning tensor's dtype is not const; use cview() for read-only access");

 public:
  using dtype_type = DType;
  using element_type = typename DType::storage_type;
  static constexpr std::size_t rank = Rank;

  tensor() = default;
  /// Zero-initialised tensor. Throws `errc::invalid_argument` if the last extent is not a whole number of
  /// blocks (Q8_0) or the element count overflows.
  explicit tensor(const extents_t<Rank>& ext) : extents_(ext), storage_(storage_units(ext)) {}

  [[nodiscard]] tensor clone() const {
    tensor out;
    out.extents_ = extents_;
    out.storage_ = storage_.clone();
    return out;
  }

  [[nodiscard]] tensor_view<DType, Rank> view() noexcept { return {storage_.data(), extents_}; }
  [[nodiscard]] tensor_view<const DType, Rank> view() const noexcept { return {storage_.data(), extents_}; }
  [[nodiscard]] tensor_view<const DType, Rank> cview() const noexcept { return {storage_.data(), extents_}; }

  [[nodiscard]] element_type* data() noexcept { return storage_.data(); }
  [[nodiscard]] const element_type* data() const noexcept { return storage_.data(); }
  [[nodiscard]] const extents_t<Rank>& extents() const noexcept { return extents_; }
  [[nodiscard]] std::size_t extent(std::size_t r) const noexcept { return extents_[r]; }
  [[nodiscard]] std::size_t size() const noexcept { return view().size(); }
  [[nodiscard]] std::size_t size_bytes() const noexcept { return storage_.size() * sizeof(element_type); }

 private:
  static std::size_t storage_units(const extents_t<Rank>& ext) {
    constexpr std::size_t be = DType::block_elems;
    if (ext[Rank - 1] % be != 0) {
      fail(errc::invalid_argument, "tensor<" + std::string(DType::name) + ">: last extent " +
                                       std::to_string(ext[Rank - 1]) + " is not a multiple of the block size " +
                                       std::to_string(be));
    }
    std::size_t n = 1;
    for (std::size_t r = 0; r < Rank; ++r) {
      const std::size_t e = r == Rank - 1 ? ext[r] / be : ext[r];
      if (e != 0 && n > static_cast<std::size_t>(-1) / e) {
        fail(errc::invalid_argument, "tensor: element count overflows size_t");
      }
      n *= e;
    }
    return n;
  }

  extents_t<Rank> extents_{};
  aligned_buffer<element_type> storage_;
};

SCALPEL_END_NAMESPACE
