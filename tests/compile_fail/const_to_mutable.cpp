// A const view never converts back to a mutable one.
#include "scalpel/tensor/view.hpp"

void f(scalpel::matrix_view<const scalpel::f32> c) {
#ifdef SCALPEL_SHOULD_FAIL
  scalpel::matrix_view<scalpel::f32> m = c;
  (void)m;
#else
  scalpel::matrix_view<const scalpel::f32> m = c;
  (void)m;
#endif
}
