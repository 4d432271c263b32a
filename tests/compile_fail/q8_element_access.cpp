// Q8_0 views address blocks; element references into them do not exist.
#include "scalpel/tensor/view.hpp"

void f(scalpel::matrix_view<const scalpel::q8_0> q, scalpel::matrix_view<const scalpel::f16> h) {
#ifdef SCALPEL_SHOULD_FAIL
  (void)q(0, 0);
#else
  (void)q.row(0);
  (void)h(0, 0);
#endif
}
