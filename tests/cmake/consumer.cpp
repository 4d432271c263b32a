// The program every consumer project builds: it uses scalpel's typed views and conversions.
#include <cstdio>

#include "scalpel/scalpel.hpp"

int main() {
  scalpel::tensor<scalpel::bf16, 2> w({2, 3});
  w.view()(1, 2) = scalpel::to_bf16(0.75f);
  const scalpel::matrix_view<const scalpel::bf16> cw = w.cview();
  const float v = scalpel::to_f32(cw.row(1)(2));
  std::printf("scalpel %s consumer: w[1,2] = %g\n", SCALPEL_VERSION_STRING, static_cast<double>(v));
  return v == 0.75f ? 0 : 1;
}
