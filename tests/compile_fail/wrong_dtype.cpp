// Passing a bf16 matrix where an f32 matrix is required does not compile.
#include "scalpel/tensor/view.hpp"

template <class M>
requires scalpel::matrix_of<M, scalpel::f32>
float first(const M& m) { return m(0, 0); }

float g(scalpel::matrix_view<const scalpel::bf16> b, scalpel::matrix_view<const scalpel::f32> f) {
#ifdef SCALPEL_SHOULD_FAIL
  return first(b);
#else
  (void)b;
  return first(f);
#endif
}
