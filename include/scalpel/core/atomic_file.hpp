#pragma once
/// @file
/// @brief Crash-safe output files: data goes to a temporary file in the destination directory, is
/// fsynced, and is renamed over the final name only on `commit()`; the directory is fsynced after the
/// rename. A writer destroyed without `commit()` removes its temporary file, so a failure never leaves
/// a partial file under the final name.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE

namespace detail {
inline std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
inline void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems do not allow opening directories
  ::fsync(fd);
  ::close(fd);
}
}  // namespace detail

class atomic_file_writer {
 public:
  /// Create a temporary file beside `final_path`. Throws `errc::io`.
  explicit atomic_file_writer(std::string final_path) : final_(std::move(final_path)) {
    std::string templ = final_ + ".tmp-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    fd_ = ::mkstemp(buf.data());
    if (fd_ < 0) fail(errc::io, "cannot create a temporary file beside '" + final_ + "': " + std::strerror(errno));
    tmp_.assign(buf.data());
    ::fchmod(fd_, 0644);
  }
  atomic_file_writer(const atomic_file_writer&) = delete;
  atomic_file_writer& operator=(const atomic_file_writer&) = delete;
  ~atomic_file_writer() { abandon(); }

  /// Append bytes. Throws `errc::io` (e.g. disk full) naming the final path.
  void write(std::span<const std::byte> bytes) {
    const std::byte* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      const ::ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        abandon();
        fail(errc::io, "cannot write '" + final_ + "': " + std::strerror(e));
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    written_ += bytes.size();
  }
  void write(std::string_view s) { write(std::as_bytes(std::span<const char>(s.data(), s.size()))); }
  /// Append `n` zero bytes (alignment padding).
  void write_zeros(std::size_t n) {
    static constexpr std::byte zeros[64]{};
    while (n > 0) {
      const std::size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
      write(std::span<const std::byte>(zeros, k));
      n -= k;
    }
  }
  [[nodiscard]] std::size_t bytes_written() const noexcept { return written_; }
  [[nodiscard]] const std::string& final_path() const noexcept { return final_; }
  [[nodiscard]] const std::string& temp_path() const noexcept { return tmp_; }

  /// fsync, close, rename over the final name, fsync the directory. Throws `errc::io`.
  void commit() {
    if (fd_ < 0) fail(errc::io, "atomic_file_writer: '" + final_ + "' already committed or abandoned");
    if (::fsync(fd_) != 0) {
      const int e = errno;
      abandon();
      fail(errc::io, "cannot fsync '" + tmp_ + "': " + std::strerror(e));
    }
    ::close(fd_);
    fd_ = -1;
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
      const int e = errno;
      const std::string tmp = tmp_;
      ::unlink(tmp_.c_str());
      tmp_.clear();
      fail(errc::io, "cannot rename '" + tmp + "' to '" + final_ + "': " + std::strerror(e));
    }
    tmp_.clear();
    detail::fsync_dir(detail::parent_dir(final_));
  }

 private:
  void abandon() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!tmp_.empty()) {
      ::unlink(tmp_.c_str());
      tmp_.clear();
    }
  }

  std::string final_;
  std::string tmp_;
  int fd_ = -1;
  std::size_t written_ = 0;
};

/// Write a whole file atomically.
inline void write_file_atomic(const std::string& path, std::string_view content) {
  atomic_file_writer w(path);
  w.write(content);
  w.commit();
}

SCALPEL_END_NAMESPACE
