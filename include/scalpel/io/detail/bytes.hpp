#pragma once
// IWYU pragma: private
/// @file
/// @brief Private helpers of the format readers: a bounds-checked little-endian cursor over untrusted bytes,
/// overflow-checked size arithmetic, UTF-8 validation and little-endian encoders for the writers. Every
/// read checks the bytes left first, so a forged length can never cause an out-of-bounds read or an
/// allocation larger than the input.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/tensor/dtype.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io::detail {

static_assert(std::endian::native == std::endian::little, "scalpel's file formats assume a little-endian host");

/// a * b, or nullopt on overflow.
constexpr std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) noexcept {
  if (a != 0 && b > UINT64_MAX / a) return std::nullopt;
  return a * b;
}
/// a + b, or nullopt on overflow.
constexpr std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) noexcept {
  if (b > UINT64_MAX - a) return std::nullopt;
  return a + b;
}
/// Round `n` up to a multiple of `a` (a > 0), or nullopt on overflow.
constexpr std::optional<std::uint64_t> align_up(std::uint64_t n, std::uint64_t a) noexcept {
  const std::uint64_t r = n % a;
  if (r == 0) return n;
  return checked_add(n, a - r);
}

/// Byte offset of the first byte that is not well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
/// nothing above U+10FFFF), or nullopt when the whole text is valid.
inline std::optional<std::size_t> utf8_error_offset(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());  // NOLINT
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80;
    unsigned hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // no overlong 3-byte forms
      if (c == 0xed) hi = 0x9f;  // no UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // no overlong 4-byte forms
      if (c == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (n - i < len) return i;
    const unsigned c1 = p[i + 1];
    if (c1 < lo || c1 > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xc0u) != 0x80u) return i;
    i += len;
  }
  return std::nullopt;
}

/// Printable form of an untrusted name for error messages: at most 80 bytes, control bytes escaped.
inline std::string printable(std::string_view s) {
  std::string out;
  const std::size_t n = s.size() < 80 ? s.size() : 80;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

/// Bounds-checked little-endian reader over an untrusted byte range. Errors are `errc::format` and name
/// `what_` (the file) and the byte offset.
class byte_cursor {
 public:
  byte_cursor(std::span<const std::byte> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] std::size_t left() const noexcept { return bytes_.size() - pos_; }
  [[nodiscard]] const std::string& what() const noexcept { return what_; }

  /// Fail with `errc::format` naming the file, the offset and `context`.
  [[noreturn]] void fail_at(std::size_t at, const std::string& message) const {
    fail(errc::format, what_ + ": " + message + " (at byte " + std::to_string(at) + ")");
  }

  /// Require `n` more bytes; `context` says what was being read.
  void need(std::uint64_t n, std::string_view context) const {
    if (n > left()) {
      fail_at(pos_, "truncated: " + std::string(context) + " needs " + std::to_string(n) + " bytes, only " +
                        std::to_string(left()) + " left in a file of " + std::to_string(bytes_.size()) + " bytes");
    }
  }

  template <class T>
  [[nodiscard]] T read(std::string_view context) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), context);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  /// `n` raw bytes as a view (no copy).
  [[nodiscard]] std::span<const std::byte> take(std::uint64_t n, std::string_view context) {
    need(n, context);
    auto s = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

  void skip(std::uint64_t n, std::string_view context) { (void)take(n, context); }

 private:
  std::span<const std::byte> bytes_;
  std::string what_;
  std::size_t pos_ = 0;
};

/// Alignment a record's data needs to be viewed as typed elements (1 for raw-byte dtypes).
constexpr std::size_t record_alignment(dtype_id d) noexcept {
  switch (d) {
    case dtype_id::f64:
    case dtype_id::i64:
      return 8;
    case dtype_id::f32:
    case dtype_id::i32:
      return 4;
    case dtype_id::f16:
    case dtype_id::bf16:
    case dtype_id::i16:
    case dtype_id::q8_0:
      return 2;
    default:
      return 1;
  }
}

/// Data for a record: `p` itself (zero-copy) when it is aligned for `d`, else an aligned private copy.
/// Files normally keep tensors aligned (safetensors pads its header to 8 bytes, GGUF aligns to 32), but
/// neither format forbids an odd layout, and a typed view of misaligned data would be undefined behaviour.
struct record_bytes {
  const std::byte* data;
  std::shared_ptr<const void> keepalive;
};
inline record_bytes aligned_or_copy(const std::byte* p, std::size_t n, dtype_id d,
                                    std::shared_ptr<const void> keepalive) {
  if (reinterpret_cast<std::uintptr_t>(p) % record_alignment(d) == 0) return {p, std::move(keepalive)};  // NOLINT
  // operator new aligns to at least 16 bytes, enough for every dtype
  auto copy = std::make_shared<std::vector<std::byte>>(p, p + n);
  const std::byte* q = copy->data();
  return {q, std::move(copy)};
}

// ---- little-endian encoders (writers) -------------------------------------------------------------

template <class T>
void put(std::string& out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

}  // namespace io::detail
SCALPEL_END_NAMESPACE
