#include "scalpel/tensor/view.hpp"

#include <numeric>
#include <type_traits>

#include <doctest/doctest.h>

#include "scalpel/tensor/tensor.hpp"

namespace ut_view_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

static_assert(std::is_trivially_copyable_v<matrix_view<f32>>);
static_assert(std::is_trivially_copyable_v<tensor_view<const bf16, 4, layout_stride>>);
static_assert(sizeof(matrix_view<const bf16>) <= 40);
static_assert(std::is_convertible_v<matrix_view<f32>, matrix_view<const f32>>);
static_assert(!std::is_convertible_v<matrix_view<const f32>, matrix_view<f32>>, "const must not drop");
static_assert(std::is_convertible_v<matrix_view<f32>, matrix_view<const f32, layout_stride>>);
static_assert(!std::is_convertible_v<matrix_view<f32, layout_stride>, matrix_view<f32>>, "strided is not contiguous");
static_assert(!std::is_convertible_v<matrix_view<f32>, matrix_view<bf16>>, "dtype is part of the type");
static_assert(matrix_of<matrix_view<const bf16>, bf16>);
static_assert(!matrix_of<matrix_view<const bf16>, f32>);
static_assert(vector_of<vector_view<f32, layout_stride>, f32>);
static_assert(tensor_like<matrix_view<q8_0>>);
static_assert(std::is_same_v<decltype(std::declval<matrix_view<const f32>>()(0, 0)), const float&>);

TEST_CASE("view: extents, strides, element access and rows") {
  tensor<f32, 3> t({2, 3, 4});
  std::iota(t.data(), t.data() + t.size(), 0.0f);
  auto v = t.view();
  CHECK(v.size() == 24);
  CHECK(v.stride(0) == 12);
  CHECK(v.stride(1) == 4);
  CHECK(v.stride(2) == 1);
  CHECK(v(1, 2, 3) == 23.0f);
  auto m = v[1];  // rank 2
  static_assert(decltype(m)::rank == 2);
  CHECK(m(0, 0) == 12.0f);
  CHECK(m.row(2)(1) == 21.0f);
  v(0, 0, 1) = -1.0f;
  CHECK(t.data()[1] == -1.0f);
}

TEST_CASE("view: slicing rows, columns and blocks") {
  tensor<f32, 2> t({4, 5});
  std::iota(t.data(), t.data() + t.size(), 0.0f);
  matrix_view<const f32> v = t.cview();
  auto s = v.slice(1, 2);
  CHECK(s.extent(0) == 2);
  CHECK(s(0, 0) == 5.0f);
  CHECK(s(1, 4) == 14.0f);
  auto c = v.col(3);
  CHECK(c.extent(0) == 4);
  CHECK(c.stride(0) == 5);
  CHECK(c(2) == 13.0f);
  auto b = v.block(1, 2, 3, 2);
  CHECK(b.extent(0) == 3);
  CHECK(b.extent(1) == 2);
  CHECK(b(0, 0) == 7.0f);
  CHECK(b(2, 1) == 18.0f);
  auto br = b.row(1);
  CHECK(br(1) == 13.0f);
  auto r = v.reshape<3>({2, 2, 5});
  CHECK(r(1, 1, 4) == 19.0f);
}

TEST_CASE("view: at() throws a descriptive out_of_range error") {
  tensor<bf16, 2> t({2, 3});
  auto v = t.cview();
  CHECK_NOTHROW((void)v.at(1, 2));
  try {
    (void)v.at(1, 3);
    FAIL("expected an error");
  } catch (const error& e) {
    CHECK(e.code() == errc::out_of_range);
    CHECK(std::string(e.what()).find("dimension 1") != std::string::npos);
    CHECK(std::string(e.what()).find("extent 3") != std::string::npos);
  }
}

TEST_CASE("view: Q8_0 views address blocks") {
  tensor<q8_0, 2> t({3, 64});
  auto v = t.view();
  CHECK(v.stride(0) == 2);
  CHECK(v.size_bytes() == 3 * 2 * 34);
  CHECK(v.row(2).data_handle() == t.data() + 4);
  CHECK_THROWS_AS((tensor<q8_0, 1>({33})), error);
}

TEST_CASE("tensor: zero-initialised, aligned, move-only with an explicit clone") {
  tensor<f32, 2> t({3, 7});
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  for (std::size_t i = 0; i < t.size(); ++i) CHECK(t.data()[i] == 0.0f);
  t.view()(2, 6) = 5.0f;
  auto c = t.clone();
  c.view()(2, 6) = 1.0f;
  CHECK(t.view()(2, 6) == 5.0f);
  auto moved = std::move(t);
  CHECK(moved.view()(2, 6) == 5.0f);
  static_assert(!std::is_copy_constructible_v<tensor<f32, 2>>);
}

}  // namespace ut_view_test
