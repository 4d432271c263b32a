#pragma once
// Helpers shared by the simd tests: the architectures this TU can run, seeded random data, and buffers
// whose data starts at a chosen misalignment.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "scalpel/core/aligned_alloc.hpp"
#include "scalpel/tensor/dtype.hpp"

namespace simd_test {

/// Calls f(Arch{}, "name") for each kernel family the compile flags of this TU support, widest first: the
/// AVX-512 intrinsics (avx512bw), the AVX2 intrinsics (fma3<avx2>) and the generic lane-buffer path with
/// emulated FMA (sse2). (avx2 without fma3 and sse4.x run the same code as those; leaving them out keeps
/// this TU quick to compile, under ASan too.)
template <class F>
void for_each_arch(F&& f) {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  if constexpr (xsimd::avx512bw::supported()) f(xsimd::avx512bw{}, std::string("avx512bw"));
  if constexpr (xsimd::fma3<xsimd::avx2>::supported()) f(xsimd::fma3<xsimd::avx2>{}, std::string("fma3<avx2>"));
  if constexpr (xsimd::sse2::supported()) f(xsimd::sse2{}, std::string("sse2"));
#else
  if constexpr (!std::is_same_v<xsimd::default_arch, xsimd::unavailable>)
    f(xsimd::default_arch{}, std::string(xsimd::default_arch::name()));
#endif
}

/// Deterministic normal floats.
inline std::vector<float> normals(std::size_t n, std::uint32_t seed, float sigma = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

/// A 64-byte aligned buffer of n T whose `data()` starts `offset` elements past an aligned address.
template <class T>
class offset_buffer {
 public:
  offset_buffer(std::size_t n, std::size_t offset) : buf_(n + offset + 1), offset_(offset), n_(n) {}
  T* data() noexcept { return buf_.data() + offset_; }
  const T* data() const noexcept { return buf_.data() + offset_; }
  std::size_t size() const noexcept { return n_; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }

 private:
  scalpel::aligned_vector<T> buf_;
  std::size_t offset_;
  std::size_t n_;
};

/// Bit pattern of a float (NaN-safe equality in tests).
inline std::uint32_t bits(float f) {
  std::uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

}  // namespace simd_test
