// Checked builds: out-of-range element access hits SCALPEL_ASSERT. The handler is overridable (as Eigen's
// eigen_assert); here it throws so the test can observe it.
#include <stdexcept>
struct assertion_failed : std::logic_error {
  using std::logic_error::logic_error;
};
#define SCALPEL_CHECKED 1
#define SCALPEL_ASSERT(cond, msg)             \
  do {                                        \
    if (!(cond)) throw assertion_failed(msg); \
  } while (0)

#include <doctest/doctest.h>

#include "scalpel/tensor/tensor.hpp"

using namespace scalpel;

TEST_CASE("view (checked build): element access, slices and columns are bounds-checked") {
  tensor<f32, 2> t({2, 3});
  auto v = t.view();
  CHECK_NOTHROW((void)v(1, 2));
  CHECK_THROWS_AS((void)v(2, 0), assertion_failed);
  CHECK_THROWS_AS((void)v(0, 3), assertion_failed);
  CHECK_THROWS_AS((void)v.slice(1, 2), assertion_failed);
  CHECK_THROWS_AS((void)v.col(3), assertion_failed);
  CHECK_THROWS_AS((void)v[2], assertion_failed);
  CHECK_THROWS_AS((void)v.block(1, 1, 2, 1), assertion_failed);
  CHECK_THROWS_AS((void)v.reshape<1>({5}), assertion_failed);
}
