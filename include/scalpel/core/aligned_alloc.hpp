#pragma once
/// @file
/// @brief 64-byte aligned storage: `aligned_allocator<T>` for std::vector and `aligned_buffer<T>` (owning,
/// zero-initialised, move-only). 64 bytes = one cache line = one AVX-512 register.

#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE

inline constexpr std::size_t cache_line_bytes = 64;

template <class T>
struct aligned_allocator {
  using value_type = T;
  aligned_allocator() noexcept = default;
  template <class U>
  aligned_allocator(const aligned_allocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{cache_line_bytes}));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete (p, std::align_val_t{cache_line_bytes}); }
  template <class U>
  friend bool operator==(const aligned_allocator&, const aligned_allocator<U>&) noexcept {
    return true;
  }
};

/// A std::vector whose data is 64-byte aligned.
template <class T>
using aligned_vector = std::vector<T, aligned_allocator<T>>;

/// Owning, 64-byte aligned, zero-initialised array of trivially copyable T. Move-only; `clone()` copies.
template <class T>
class aligned_buffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  aligned_buffer() noexcept = default;
  explicit aligned_buffer(std::size_t n) : size_(n) {
    if (n == 0) return;
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
      fail(errc::invalid_argument, "aligned_buffer: " + std::to_string(n) + " elements overflow size_t");
    }
    data_.reset(static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{cache_line_bytes})));
    std::memset(static_cast<void*>(data_.get()), 0, n * sizeof(T));
  }
  aligned_buffer(aligned_buffer&&) noexcept = default;
  aligned_buffer& operator=(aligned_buffer&&) noexcept = default;
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;
  ~aligned_buffer() = default;

  [[nodiscard]] aligned_buffer clone() const {
    aligned_buffer out(size_);
    if (size_ != 0) std::memcpy(static_cast<void*>(out.data()), data_.get(), size_ * sizeof(T));
    return out;
  }
  [[nodiscard]] T* data() noexcept { return data_.get(); }
  [[nodiscard]] const T* data() const noexcept { return data_.get(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  struct deleter {
    void operator()(T* p) const noexcept { ::operator delete (p, std::align_val_t{cache_line_bytes}); }
  };
  std::unique_ptr<T, deleter> data_;
  std::size_t size_ = 0;
};

SCALPEL_END_NAMESPACE
