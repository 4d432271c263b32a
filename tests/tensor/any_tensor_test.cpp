#include "scalpel/tensor/any_tensor.hpp"

#include <string>

#include <doctest/doctest.h>

#include "scalpel/tensor/eigen_interop.hpp"

namespace ut_any_tensor_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

TEST_CASE("any_tensor: as<DType, Rank>() un-erases once and checks dtype, rank and byte size") {
  tensor<bf16, 2> t({2, 4});
  t.view()(1, 3) = to_bf16(1.5f);
  const any_tensor a = any_tensor::from("w", std::move(t));
  CHECK(a.dtype() == dtype_id::bf16);
  CHECK(a.shape() == make_shape({2, 4}));
  CHECK(a.size_bytes() == 16);
  auto v = a.as<bf16, 2>();
  CHECK(to_f32(v(1, 3)) == 1.5f);

  try {
    (void)a.as<f32, 2>();
    FAIL("expected dtype mismatch");
  } catch (const error& e) {
    CHECK(e.code() == errc::dtype_mismatch);
    const std::string w = e.what();
    CHECK(w.find("'w'") != std::string::npos);
    CHECK(w.find("expected dtype F32, found BF16") != std::string::npos);
  }
  try {
    (void)a.as<bf16, 3>();
    FAIL("expected rank mismatch");
  } catch (const error& e) {
    CHECK(e.code() == errc::shape_mismatch);
    CHECK(std::string(e.what()).find("[2, 4]") != std::string::npos);
  }
  // A record whose byte count disagrees with its shape is rejected, not read past its end.
  const any_tensor bad("bad", dtype_id::f32, make_shape({3}), a.data(), 8, a.keepalive());
  CHECK_THROWS_AS((void)(bad.as<f32, 1>()), error);
}

TEST_CASE("any_tensor: visit dispatches on the runtime dtype and rejects others") {
  const any_tensor a = any_tensor::from("x", tensor<f16, 1>({5}));
  const auto n = visit<1>(a, [](auto v) { return v.extent(0) * sizeof(*v.data_handle()); });
  CHECK(n == 10);
  std::byte bytes[8]{};
  const any_tensor i64("ids", dtype_id::i64, make_shape({1}), bytes, 8, nullptr);
  try {
    visit<1>(i64, [](auto) {});
    FAIL("expected unsupported");
  } catch (const error& e) {
    CHECK(e.code() == errc::unsupported);
    CHECK(std::string(e.what()).find("I64") != std::string::npos);
  }
}

TEST_CASE("any_tensor: the owned storage lives as long as any copy of the record") {
  any_tensor copy;
  {
    tensor<f32, 1> t({3});
    t.view()(2) = 42.0f;
    const any_tensor a = any_tensor::from("v", std::move(t));
    copy = a;
  }
  CHECK(copy.as<f32, 1>()(2) == 42.0f);
}

TEST_CASE("eigen interop maps views without copying, honouring strides") {
  tensor<f32, 2> t({3, 4});
  for (std::size_t i = 0; i < 12; ++i) t.data()[i] = static_cast<float>(i);
  auto m = as_eigen(t.cview());
  CHECK(m.rows() == 3);
  CHECK(m(2, 1) == 9.0f);
  auto blk = as_eigen(t.view().block(1, 1, 2, 2));
  blk(1, 1) = -7.0f;
  CHECK(t.view()(2, 2) == -7.0f);
  auto col = as_eigen(t.cview().col(3));
  CHECK(col.sum() == 3.0f + 7.0f + 11.0f);
}

}  // namespace ut_any_tensor_test
