// Writing through a read-only (memory-mapped) view must not compile.
#include "scalpel/tensor/view.hpp"

void f(scalpel::matrix_view<const scalpel::bf16> w, scalpel::matrix_view<scalpel::bf16> m) {
  m(0, 0) = scalpel::bf16_bits{1};
#ifdef SCALPEL_SHOULD_FAIL
  w(0, 0) = scalpel::bf16_bits{1};
#else
  (void)w;
#endif
}
