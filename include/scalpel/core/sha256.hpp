#pragma once
/// @file
/// @brief SHA-256 (FIPS 180-4) of byte ranges and files — for the base-model identity recorded in edit
/// manifests and for checking downloaded test assets.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/mapped_file.hpp"

SCALPEL_BEGIN_NAMESPACE

class sha256 {
 public:
  sha256() noexcept { reset(); }
  void reset() noexcept {
    h_ = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    len_ = 0;
    buf_len_ = 0;
  }
  void update(std::span<const std::byte> data) noexcept {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());  // NOLINT
    std::size_t n = data.size();
    len_ += n;
    if (buf_len_ > 0) {
      while (n > 0 && buf_len_ < 64) {
        buf_[buf_len_++] = *p++;
        --n;
      }
      if (buf_len_ == 64) {
        block(buf_.data());
        buf_len_ = 0;
      }
    }
    while (n >= 64) {
      block(p);
      p += 64;
      n -= 64;
    }
    while (n > 0) {
      buf_[buf_len_++] = *p++;
      --n;
    }
  }
  void update(std::string_view s) noexcept { update(std::as_bytes(std::span<const char>(s.data(), s.size()))); }
  /// The digest as 64 lowercase hex characters (the object is reset afterwards).
  std::string hex_digest() {
    const std::uint64_t bits = len_ * 8;
    const std::uint8_t one = 0x80;
    update(std::as_bytes(std::span<const std::uint8_t>(&one, 1)));
    const std::uint8_t zero = 0;
    while (buf_len_ != 56) update(std::as_bytes(std::span<const std::uint8_t>(&zero, 1)));
    std::uint8_t lenb[8];
    for (int i = 0; i < 8; ++i) lenb[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
    update(std::as_bytes(std::span<const std::uint8_t>(lenb, 8)));
    static const char* hexd = "0123456789abcdef";
    std::string out;
    for (std::uint32_t w : h_)
      for (int i = 3; i >= 0; --i) {
        const auto b = static_cast<std::uint8_t>(w >> (8 * i));
        out += hexd[b >> 4];
        out += hexd[b & 15];
      }
    reset();
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) noexcept { return (x >> n) | (x << (32 - n)); }
  void block(const std::uint8_t* p) noexcept {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (std::size_t i = 0; i < 16; ++i)
      w[i] = (std::uint32_t{p[4 * i]} << 24) | (std::uint32_t{p[4 * i + 1]} << 16) |
             (std::uint32_t{p[4 * i + 2]} << 8) | std::uint32_t{p[4 * i + 3]};
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const std::uint32_t ch = (e & f) ^ (~e & g);
      const std::uint32_t t1 = h + s1 + ch + k[i] + w[i];
      const std::uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const std::uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
      const std::uint32_t t2 = s0 + mj;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
    h_[5] += f;
    h_[6] += g;
    h_[7] += h;
  }

  std::array<std::uint32_t, 8> h_{};
  std::array<std::uint8_t, 64> buf_{};
  std::uint64_t len_ = 0;
  std::size_t buf_len_ = 0;
};

/// SHA-256 of a byte string, as hex.
inline std::string sha256_hex(std::string_view s) {
  sha256 h;
  h.update(s);
  return h.hex_digest();
}
/// SHA-256 of a file's contents, as hex. Throws errc::io.
inline std::string sha256_file(const std::string& path) {
  const auto m = mapped_file::open(path);
  sha256 h;
  h.update(m->bytes());
  return h.hex_digest();
}

SCALPEL_END_NAMESPACE
