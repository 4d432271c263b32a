#include "scalpel/scalpel.hpp"

float odr_value_a() {
  scalpel::tensor<scalpel::f32, 1> t({4});
  t.view()(3) = 2.0f;
  return scalpel::to_f32(scalpel::to_bf16(t.cview()(3)));
}
