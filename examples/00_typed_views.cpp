// 00_typed_views: scalpel's vocabulary in one page.
//
// Weights arrive as read-only typed views (`tensor_view<const bf16, 2>`): dtype, rank and constness are
// in the type, extents are runtime values. Owning `tensor`s are the explicit copy-on-write step.
#include <cstdio>

#include "scalpel/scalpel.hpp"

int main() {
  using namespace scalpel;
  // An owning bf16 matrix (4 neurons x 3 inputs), 64-byte aligned and zero-initialised.
  tensor<bf16, 2> w({4, 3});
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) w.view()(i, j) = to_bf16(static_cast<float>(i) + 0.1f * static_cast<float>(j));

  // What a loader hands out: a const view. `cw(0, 0) = ...` would not compile.
  const matrix_view<const bf16> cw = w.cview();
  std::printf("w is %zu x %zu bf16, %zu bytes\n", cw.extent(0), cw.extent(1), cw.size_bytes());

  // Rows, columns and blocks are views too (no copies).
  auto neuron2 = cw.row(2);
  auto input1 = cw.col(1);
  std::printf("row 2 = [%g %g %g]\n", static_cast<double>(to_f32(neuron2(0))), static_cast<double>(to_f32(neuron2(1))),
              static_cast<double>(to_f32(neuron2(2))));
  std::printf("column 1 has %zu entries with stride %zu\n", input1.extent(0), input1.stride(0));

  // Type erasure happens only at the I/O boundary, and is undone once with a checked cast.
  const any_tensor rec = any_tensor::from("demo.weight", std::move(w));
  try {
    (void)rec.as<f32, 2>();
  } catch (const error& e) {
    std::printf("as<f32, 2>() on a bf16 tensor: %s\n", e.what());
  }
  return 0;
}
