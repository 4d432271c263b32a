#pragma once
/// @file
/// @brief `tensor_view<DType, Rank, Layout>`: a non-owning, trivially copyable typed view with mdspan
/// vocabulary (extents, strides, layout). dtype, rank, layout and constness are in the type; extents are
/// runtime values because Gemma 4 layers differ in width.
///
/// - `tensor_view<const bf16, 2>` is a read-only matrix (memory-mapped weights); writing through it does
///   not compile. A mutable view converts implicitly to a const one, never the other way.
/// - Strides are counted in stored units: elements for scalar dtypes, 32-element blocks along the last
///   dimension for Q8_0 (whose views are `layout_right` only and address blocks, not elements).
/// - Element access `v(i, j)` is bounds-checked when `SCALPEL_CHECKED` is on; `v.at(i, j)` always is and
///   throws `scalpel::error` (errc::out_of_range).
/// Hot kernels do not call per-element accessors: they take `data_handle()` + extents once.

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>

#include "scalpel/config.hpp"
#include "scalpel/core/assert.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/tensor/dtype.hpp"

SCALPEL_BEGIN_NAMESPACE

/// Row-major contiguous layout (C order): the last index is fastest.
struct layout_right {};
/// Arbitrary strides (in stored units), e.g. a column or a sub-block of a row-major matrix.
struct layout_stride {};

template <std::size_t Rank>
using extents_t = std::array<std::size_t, Rank>;

template <dtype DType, std::size_t Rank, class Layout = layout_right>
class tensor_view;

namespace detail {
template <class Layout, std::size_t Rank>
struct stride_storage {
  extents_t<Rank> strides_{};
};
template <std::size_t Rank>
struct stride_storage<layout_right, Rank> {};
}  // namespace detail

template <dtype DType, std::size_t Rank, class Layout>
class tensor_view : private detail::stride_storage<Layout, Rank> {
  static_assert(Rank >= 1 && Rank <= 4, "tensor_view supports ranks 1 to 4");
  static_assert(std::is_same_v<Layout, layout_right> || std::is_same_v<Layout, layout_stride>,
                "tensor_view layouts are layout_right and layout_stride");
  static_assert(!block_dtype<DType> || std::is_same_v<Layout, layout_right>,
                "block-quantised views (Q8_0) must be layout_right");

 public:
  using dtype_type = DType;
  using value_dtype = std::remove_const_t<DType>;
  using element_type = storage_t<DType>;
  using layout_type = Layout;
  using index_type = std::size_t;
  static constexpr std::size_t rank = Rank;
  static constexpr bool is_const = std::is_const_v<DType>;
  static constexpr std::size_t block_elems = value_dtype::block_elems;

  constexpr tensor_view() noexcept = default;

  /// Contiguous row-major view. @pre for Q8_0 the last extent is a multiple of 32.
  constexpr tensor_view(element_type* data, const extents_t<Rank>& ext) requires std::is_same_v<Layout, layout_right>
      : data_(data), extents_(ext) {
    SCALPEL_ASSERT(ext[Rank - 1] % block_elems == 0, "last extent must be a whole number of blocks");
  }

  /// Strided view; `strides` are in stored units.
  constexpr tensor_view(element_type* data, const extents_t<Rank>& ext,
                        const extents_t<Rank>& strides) noexcept requires std::is_same_v<Layout, layout_stride>
      : detail::stride_storage<Layout, Rank>{strides}, data_(data), extents_(ext) {}

  /// mutable -> const, and layout_right -> layout_stride.
  template <dtype D2, class L2>
  requires(
      std::is_same_v<std::remove_const_t<D2>, value_dtype> &&
      (is_const || !std::is_const_v<D2>)&&(std::is_same_v<L2, Layout> || std::is_same_v<Layout, layout_stride>)&&!(
          std::is_same_v<D2, DType> &&
          std::is_same_v<L2, Layout>)) constexpr tensor_view(const tensor_view<D2, Rank, L2>&
                                                                 other) noexcept  // NOLINT(google-explicit-constructor)
      : data_(other.data_handle()), extents_(other.extents()) {
    if constexpr (std::is_same_v<Layout, layout_stride>) {
      for (std::size_t r = 0; r < Rank; ++r) this->strides_[r] = other.stride(r);
    }
  }

  [[nodiscard]] constexpr element_type* data_handle() const noexcept { return data_; }
  [[nodiscard]] constexpr const extents_t<Rank>& extents() const noexcept { return extents_; }
  [[nodiscard]] constexpr std::size_t extent(std::size_t r) const noexcept { return extents_[r]; }

  /// Stride of dimension r in stored units.
  [[nodiscard]] constexpr std::size_t stride(std::size_t r) const noexcept {
    if constexpr (std::is_same_v<Layout, layout_stride>) {
      return this->strides_[r];
    } else {
      std::size_t s = 1;
      for (std::size_t i = Rank; i-- > r + 1;) s *= storage_extent(i);
      return s;
    }
  }

  /// Number of logical elements.
  [[nodiscard]] constexpr std::size_t size() const noexcept {
    std::size_t n = 1;
    for (auto e : extents_) n *= e;
    return n;
  }
  [[nodiscard]] constexpr bool empty() const noexcept { return size() == 0; }
  /// Bytes spanned by a contiguous view's data.
  [[nodiscard]] constexpr std::size_t size_bytes() const noexcept requires std::is_same_v<Layout, layout_right> {
    return size() / block_elems * sizeof(element_type);
  }
  [[nodiscard]] static constexpr bool is_contiguous() noexcept { return std::is_same_v<Layout, layout_right>; }

  /// Element access (scalar dtypes). Bounds-checked in checked builds.
  template <std::integral... I>
  requires(sizeof...(I) == Rank && scalar_dtype<DType>) [[nodiscard]] constexpr element_type& operator()(
      I... idx) const {
    const std::array<std::size_t, Rank> ix{static_cast<std::size_t>(idx)...};
    for (std::size_t r = 0; r < Rank; ++r) SCALPEL_ASSERT(ix[r] < extents_[r], "tensor_view index out of range");
    return data_[offset(ix)];
  }

  /// Always-checked element access; throws `scalpel::error` (out_of_range) naming the index and extent.
  template <std::integral... I>
  requires(sizeof...(I) == Rank && scalar_dtype<DType>) [[nodiscard]] element_type& at(I... idx) const {
    const std::array<std::size_t, Rank> ix{static_cast<std::size_t>(idx)...};
    for (std::size_t r = 0; r < Rank; ++r) {
      if (ix[r] >= extents_[r]) {
        fail(errc::out_of_range, "tensor_view::at: index " + std::to_string(ix[r]) + " of dimension " +
                                     std::to_string(r) + " is out of range (extent " + std::to_string(extents_[r]) +
                                     ")");
      }
    }
    return data_[offset(ix)];
  }

  /// Sub-view of `count` consecutive indices of the first dimension starting at `first`.
  [[nodiscard]] constexpr tensor_view slice(std::size_t first, std::size_t count) const {
    SCALPEL_ASSERT(first + count <= extents_[0], "slice out of range");
    tensor_view out = *this;
    out.data_ = data_ + first * stride(0);
    out.extents_[0] = count;
    return out;
  }

  /// The (Rank-1)-dimensional view at index i of the first dimension (a row of a matrix).
  [[nodiscard]] constexpr auto operator[](std::size_t i) const requires(Rank >= 2) {
    SCALPEL_ASSERT(i < extents_[0], "row index out of range");
    extents_t<Rank - 1> ext{};
    for (std::size_t r = 1; r < Rank; ++r) ext[r - 1] = extents_[r];
    if constexpr (std::is_same_v<Layout, layout_right>) {
      return tensor_view<DType, Rank - 1, layout_right>(data_ + i * stride(0), ext);
    } else {
      extents_t<Rank - 1> st{};
      for (std::size_t r = 1; r < Rank; ++r) st[r - 1] = stride(r);
      return tensor_view<DType, Rank - 1, layout_stride>(data_ + i * stride(0), ext, st);
    }
  }
  /// Row i of a matrix (same as `operator[]`).
  [[nodiscard]] constexpr auto row(std::size_t i) const requires(Rank == 2) { return (*this)[i]; }

  /// Column j of a matrix, as a strided vector (scalar dtypes).
  [[nodiscard]] constexpr tensor_view<DType, 1, layout_stride> col(std::size_t j) const
      requires(Rank == 2 && scalar_dtype<DType>) {
    SCALPEL_ASSERT(j < extents_[1], "column index out of range");
    return {data_ + j * stride(1), {extents_[0]}, {stride(0)}};
  }

  /// Sub-block [r0, r0+nr) x [c0, c0+nc) of a matrix, as a strided view (scalar dtypes).
  [[nodiscard]] constexpr tensor_view<DType, 2, layout_stride> block(std::size_t r0, std::size_t c0, std::size_t nr,
                                                                     std::size_t nc) const
      requires(Rank == 2 && scalar_dtype<DType>) {
    SCALPEL_ASSERT(r0 + nr <= extents_[0] && c0 + nc <= extents_[1], "block out of range");
    return {data_ + r0 * stride(0) + c0 * stride(1), {nr, nc}, {stride(0), stride(1)}};
  }

  /// Same data with other extents (contiguous views only). @pre the element count is unchanged.
  template <std::size_t NewRank>
  [[nodiscard]] constexpr tensor_view<DType, NewRank, layout_right> reshape(
      const extents_t<NewRank>& ext) const requires std::is_same_v<Layout, layout_right> {
    SCALPEL_ASSERT(
        [&] {
          std::size_t n = 1;
          for (auto e : ext) n *= e;
          return n == size();
        }(),
        "reshape must keep the element count");
    return {data_, ext};
  }

 private:
  [[nodiscard]] constexpr std::size_t storage_extent(std::size_t r) const noexcept {
    return r == Rank - 1 ? extents_[r] / block_elems : extents_[r];
  }
  [[nodiscard]] constexpr std::size_t offset(const std::array<std::size_t, Rank>& ix) const noexcept {
    std::size_t off = 0;
    for (std::size_t r = 0; r < Rank; ++r) off += ix[r] * stride(r);
    return off;
  }

  element_type* data_ = nullptr;
  extents_t<Rank> extents_{};
};

template <dtype D, class L = layout_right>
using vector_view = tensor_view<D, 1, L>;
template <dtype D, class L = layout_right>
using matrix_view = tensor_view<D, 2, L>;

// ---- concepts -------------------------------------------------------------------------------------

namespace detail {
template <class T>
struct is_tensor_view : std::false_type {};
template <dtype D, std::size_t R, class L>
struct is_tensor_view<tensor_view<D, R, L>> : std::true_type {};
}  // namespace detail

/// Anything with a rank, extents and a data handle.
template <class T>
concept tensor_like = requires(const T& t) {
  { T::rank } -> std::convertible_to<std::size_t>;
  { t.extent(0) } -> std::convertible_to<std::size_t>;
  t.data_handle();
};
/// A rank-2 view whose element dtype is D (const or not).
template <class T, class D>
concept matrix_of = detail::is_tensor_view<std::remove_cvref_t<T>>::value &&(std::remove_cvref_t<T>::rank == 2) &&
                    std::is_same_v<typename std::remove_cvref_t<T>::value_dtype, std::remove_const_t<D>>;
/// A rank-1 view whose element dtype is D (const or not).
template <class T, class D>
concept vector_of = detail::is_tensor_view<std::remove_cvref_t<T>>::value &&(std::remove_cvref_t<T>::rank == 1) &&
                    std::is_same_v<typename std::remove_cvref_t<T>::value_dtype, std::remove_const_t<D>>;

// Properties the rest of the library relies on.
static_assert(std::is_trivially_copyable_v<matrix_view<const bf16>>);
static_assert(std::is_trivially_copyable_v<tensor_view<f32, 3, layout_stride>>);
static_assert(sizeof(matrix_view<const bf16>) <= 40);
static_assert(sizeof(matrix_view<const bf16, layout_stride>) <= 40);
static_assert(!std::is_polymorphic_v<matrix_view<bf16>>);

SCALPEL_END_NAMESPACE
