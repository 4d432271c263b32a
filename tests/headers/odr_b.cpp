#include <cstdio>

#include "scalpel/scalpel.hpp"

float odr_value_a();

int main() {
  scalpel::tensor<scalpel::f32, 1> t({4});
  t.view()(3) = 3.0f;
  const float b = scalpel::to_f32(scalpel::to_bf16(t.cview()(3)));
  const float a = odr_value_a();
  std::printf("odr: %g %g\n", static_cast<double>(a), static_cast<double>(b));
  return (a == 2.0f && b == 3.0f) ? 0 : 1;
}
