#pragma once
/// @file
/// @brief `any_tensor`: the type-erased tensor record produced at the I/O boundary (dtype id, shape,
/// bytes, and a keep-alive for the storage). `as<DType, Rank>()` un-erases it once, with a descriptive
/// error on mismatch; `visit` dispatches over the closed list of computable dtypes.

#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/tensor/dtype.hpp"
#include "scalpel/tensor/tensor.hpp"
#include "scalpel/tensor/view.hpp"

SCALPEL_BEGIN_NAMESPACE

/// Shape in the framework order (PyTorch / safetensors: outermost first, last dimension contiguous).
struct shape_t {
  std::array<std::size_t, 4> dims{};
  std::size_t rank = 0;

  [[nodiscard]] std::size_t numel() const noexcept {
    std::size_t n = 1;
    for (std::size_t r = 0; r < rank; ++r) n *= dims[r];
    return n;
  }
  [[nodiscard]] std::size_t operator[](std::size_t r) const noexcept { return dims[r]; }
  friend bool operator==(const shape_t& a, const shape_t& b) noexcept {
    if (a.rank != b.rank) return false;
    for (std::size_t r = 0; r < a.rank; ++r)
      if (a.dims[r] != b.dims[r]) return false;
    return true;
  }
  /// "[a, b, c]"
  [[nodiscard]] std::string str() const {
    std::string s = "[";
    for (std::size_t r = 0; r < rank; ++r) {
      if (r) s += ", ";
      s += std::to_string(dims[r]);
    }
    return s + "]";
  }
};

inline shape_t make_shape(std::initializer_list<std::size_t> d) {
  shape_t s;
  for (auto v : d) s.dims[s.rank++] = v;
  return s;
}

class any_tensor {
 public:
  any_tensor() = default;
  /// A record over bytes owned by `keepalive` (e.g. a mapping). @pre `bytes` covers the whole tensor.
  any_tensor(std::string name, dtype_id dt, shape_t shape, const std::byte* data, std::size_t nbytes,
             std::shared_ptr<const void> keepalive)
      : name_(std::move(name)),
        dtype_(dt),
        shape_(shape),
        data_(data),
        nbytes_(nbytes),
        keepalive_(std::move(keepalive)) {}

  /// Take ownership of an owning tensor.
  template <scalpel::dtype D, std::size_t R>
  static any_tensor from(std::string name, tensor<D, R>&& t) {
    auto owned = std::make_shared<tensor<D, R>>(std::move(t));
    shape_t s;
    s.rank = R;
    for (std::size_t r = 0; r < R; ++r) s.dims[r] = owned->extent(r);
    const auto* bytes = reinterpret_cast<const std::byte*>(owned->data());  // NOLINT
    const std::size_t n = owned->size_bytes();
    return any_tensor(std::move(name), id_of<D>(), s, bytes, n, std::move(owned));
  }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] dtype_id dtype() const noexcept { return dtype_; }
  [[nodiscard]] const shape_t& shape() const noexcept { return shape_; }
  [[nodiscard]] std::size_t rank() const noexcept { return shape_.rank; }
  [[nodiscard]] const std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size_bytes() const noexcept { return nbytes_; }
  [[nodiscard]] std::size_t numel() const noexcept { return shape_.numel(); }
  [[nodiscard]] const std::shared_ptr<const void>& keepalive() const noexcept { return keepalive_; }
  [[nodiscard]] bool empty() const noexcept { return data_ == nullptr && nbytes_ == 0 && shape_.rank == 0; }

  /// Bytes the shape needs in this dtype (0 if the dtype is not addressable or the last dim is not whole blocks).
  [[nodiscard]] static std::size_t expected_bytes(dtype_id dt, const shape_t& s) noexcept {
    const auto lay = layout_of(dt);
    if (lay.block_bytes == 0) return 0;
    if (s.rank > 0 && s.dims[s.rank - 1] % lay.block_elems != 0) return 0;
    return s.numel() / lay.block_elems * lay.block_bytes;
  }

  /// The typed read-only view. Throws `errc::dtype_mismatch` / `errc::shape_mismatch` naming the tensor.
  template <scalpel::dtype D, std::size_t Rank>
  [[nodiscard]] tensor_view<const D, Rank> as() const {
    using S = std::remove_const_t<D>;
    if (dtype_ != id_of<S>()) {
      fail(errc::dtype_mismatch, "tensor '" + name_ + "': expected dtype " + std::string(S::name) + ", found " +
                                     std::string(dtype_name(dtype_)));
    }
    if (shape_.rank != Rank) {
      fail(errc::shape_mismatch,
           "tensor '" + name_ + "': expected rank " + std::to_string(Rank) + ", found shape " + shape_.str());
    }
    if (expected_bytes(dtype_, shape_) != nbytes_) {
      fail(errc::shape_mismatch,
           "tensor '" + name_ + "': shape " + shape_.str() + " in " + std::string(dtype_name(dtype_)) + " needs " +
               std::to_string(expected_bytes(dtype_, shape_)) + " bytes, record has " + std::to_string(nbytes_));
    }
    extents_t<Rank> ext{};
    for (std::size_t r = 0; r < Rank; ++r) ext[r] = shape_.dims[r];
    return {reinterpret_cast<const storage_t<S>*>(data_), ext};  // NOLINT
  }

  /// Same bytes seen with another shape of equal element count (e.g. [1] -> [1, 1]).
  [[nodiscard]] any_tensor reshaped(const shape_t& s) const {
    if (s.numel() != shape_.numel()) {
      fail(errc::shape_mismatch, "tensor '" + name_ + "': cannot view shape " + shape_.str() + " as " + s.str());
    }
    any_tensor out = *this;
    out.shape_ = s;
    return out;
  }

 private:
  std::string name_;
  dtype_id dtype_ = dtype_id::f32;
  shape_t shape_{};
  const std::byte* data_ = nullptr;
  std::size_t nbytes_ = 0;
  std::shared_ptr<const void> keepalive_;
};

/// Call `f(tensor_view<const D, Rank>)` with D the tensor's dtype among the computable dtypes; throws
/// `errc::unsupported` naming the tensor for any other dtype.
template <std::size_t Rank, class F>
decltype(auto) visit(const any_tensor& t, F&& f) {
  switch (t.dtype()) {
    case dtype_id::f32:
      return std::forward<F>(f)(t.as<f32, Rank>());
    case dtype_id::f16:
      return std::forward<F>(f)(t.as<f16, Rank>());
    case dtype_id::bf16:
      return std::forward<F>(f)(t.as<bf16, Rank>());
    case dtype_id::q8_0:
      return std::forward<F>(f)(t.as<q8_0, Rank>());
    default:
      break;
  }
  fail(errc::unsupported, "tensor '" + t.name() + "': dtype " + std::string(dtype_name(t.dtype())) +
                              " is not supported (F32, F16, BF16, Q8_0 are)");
}

SCALPEL_END_NAMESPACE
