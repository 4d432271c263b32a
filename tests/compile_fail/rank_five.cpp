// Views have rank 1 to 4.
#include "scalpel/tensor/view.hpp"

#ifdef SCALPEL_SHOULD_FAIL
scalpel::tensor_view<scalpel::f32, 5> v;
#else
scalpel::tensor_view<scalpel::f32, 4> v;
#endif
