#pragma once
// Helpers shared by the io tests: temporary directories, whole-file I/O, error matching and little
// builders for hand-made safetensors / GGUF bytes.

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/core/error.hpp"

namespace io_test {

namespace fs = std::filesystem;

inline const std::string golden_dir = SCALPEL_TEST_DATA_DIR "/golden";
inline const char* const golden_variants[] = {"e2b-like", "moe-like", "dense-like"};

/// A fresh, empty temporary directory removed at scope exit.
struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name) {
    path = fs::temp_directory_path() / ("scalpel-io-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] std::string str() const { return path.string(); }
  [[nodiscard]] std::string operator/(const std::string& f) const { return (path / f).string(); }
};

inline std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  return {std::istreambuf_iterator<char>(f), {}};
}
inline void spit(const std::string& p, std::string_view content) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  REQUIRE(f.good());
}
/// Names of the files in `dir`, sorted.
inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Bytes held in an exactly-sized heap buffer (so that ASan catches any read past the end).
inline std::vector<std::byte> as_bytes(std::string_view s) {
  std::vector<std::byte> v(s.size());
  if (!s.empty()) std::memcpy(v.data(), s.data(), s.size());
  return v;
}

/// Run `f`; require a scalpel::error whose code is `code` and whose message contains every `needles` item.
inline void expect_error(const std::function<void()>& f, scalpel::errc code,
                         std::initializer_list<std::string_view> needles, const std::string& case_name = {}) {
  INFO("case: " << case_name);
  try {
    f();
    FAIL_CHECK("expected a scalpel::error [" << scalpel::errc_name(code) << "]");
  } catch (const scalpel::error& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    CHECK(e.code() == code);
    for (auto n : needles) CHECK_MESSAGE(what.find(n) != std::string::npos, "missing '" << n << "'");
  }
}

// ---- hand-made safetensors -------------------------------------------------------------------------

template <class T>
void put_le(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

/// A safetensors file from a raw header text and data bytes; `pad` pads the header with spaces to a
/// multiple of 8 bytes (as writers do, keeping the data section aligned).
inline std::string make_st(std::string_view header, std::string_view data, bool pad = false) {
  std::string h(header);
  while (pad && h.size() % 8 != 0) h += ' ';
  std::string out;
  put_le<std::uint64_t>(out, h.size());
  out.append(h);
  out.append(data);
  return out;
}

// ---- hand-made GGUF --------------------------------------------------------------------------------

/// Appends GGUF fields and remembers where interesting ones are, for targeted corruption.
struct gguf_builder {
  std::string b;
  void u32(std::uint32_t v) { put_le(b, v); }
  void u64(std::uint64_t v) { put_le(b, v); }
  void str(std::string_view s) {
    u64(s.size());
    b.append(s);
  }
  void pad(std::size_t a = 32) {
    while (b.size() % a) b.push_back('\0');
  }
};

}  // namespace io_test
