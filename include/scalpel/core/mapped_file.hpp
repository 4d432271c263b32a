#pragma once
/// @file
/// @brief Read-only memory-mapped files (POSIX mmap). A mapping is shared through
/// `std::shared_ptr<const mapped_file>`: every object that hands out views into it (an `any_tensor`, a
/// loaded model) holds a reference, so the mapping outlives its views.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE

class mapped_file {
  struct private_tag {};

 public:
  /// Map `path` read-only. Throws `errc::io` naming the path and the OS error.
  [[nodiscard]] static std::shared_ptr<const mapped_file> open(const std::string& path) {
    return std::make_shared<const mapped_file>(private_tag{}, path);
  }

  mapped_file(private_tag, const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(errc::io, "cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      fail(errc::io, "cannot stat '" + path + "': " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(errc::io, "'" + path + "' is not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        fail(errc::io, "cannot map '" + path + "': " + std::strerror(e));
      }
      data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() {
    if (data_ != nullptr)
      ::munmap(const_cast<std::byte*>(data_), size_);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  }

  [[nodiscard]] const std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  /// Hint that [offset, offset+len) will be read soon / sequentially (no-op on failure).
  void advise_willneed(std::size_t offset, std::size_t len) const noexcept {
    if (data_ == nullptr || offset >= size_) return;
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t start = offset / page * page;
    const std::size_t end = std::min(size_, offset + len);
    ::madvise(const_cast<std::byte*>(data_) + start, end - start, MADV_WILLNEED);  // NOLINT
  }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

SCALPEL_END_NAMESPACE
