#pragma once
// IWYU pragma: private
/// @file
/// @brief Which input files tensors are mapped from, and the writers' refusal to overwrite them.
///
/// The readers register every mapping they create (`register_source`). A record's keepalive is that
/// mapping, so a writer can find, for the tensors it is given, the files they are read from and refuse
/// to replace them or (safetensors) to write into their directory. Identity is (st_dev, st_ino), so
/// symlinks, `..` and hard links do not get around the check.

#include <sys/stat.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/mapped_file.hpp"
#include "scalpel/io/tensor_set.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io::detail {

struct file_id {
  dev_t dev = 0;
  ino_t ino = 0;
  bool is_dir = false;
  friend bool operator==(const file_id& a, const file_id& b) noexcept { return a.dev == b.dev && a.ino == b.ino; }
};

/// Identity of an existing path (following symlinks), or nullopt if it does not exist.
inline std::optional<file_id> stat_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return file_id{st.st_dev, st.st_ino, S_ISDIR(st.st_mode)};
}

struct mapped_source {
  std::weak_ptr<const void> owner;
  std::string path;
};

/// Process-wide registry: mapping object address -> the file it maps. One instance across TUs (inline
/// function with a static local).
inline std::map<const void*, mapped_source>& source_registry(std::unique_lock<std::mutex>& lock) {
  static std::mutex m;
  static std::map<const void*, mapped_source> reg;
  lock = std::unique_lock<std::mutex>(m);
  return reg;
}

/// Record that `m` maps an input file. Called by the readers for every file they open.
inline void register_source(const std::shared_ptr<const mapped_file>& m) {
  std::unique_lock<std::mutex> lock;
  auto& reg = source_registry(lock);
  for (auto it = reg.begin(); it != reg.end();) {  // drop mappings that are gone
    if (it->second.owner.expired())
      it = reg.erase(it);
    else
      ++it;
  }
  reg[static_cast<const void*>(m.get())] = mapped_source{m, m->path()};
}

/// The input file a keepalive maps, if it is a mapping registered by a reader.
inline std::optional<std::string> source_of(const std::shared_ptr<const void>& keepalive) {
  if (!keepalive) return std::nullopt;
  std::unique_lock<std::mutex> lock;
  auto& reg = source_registry(lock);
  auto it = reg.find(keepalive.get());
  if (it == reg.end()) return std::nullopt;
  auto alive = it->second.owner.lock();
  if (!alive || alive.get() != keepalive.get()) return std::nullopt;
  return it->second.path;
}

}  // namespace io::detail

namespace io {

/// Paths of the files that the records of `tensors` are memory-mapped from (files opened by
/// `read_safetensors` / `read_gguf`), each once, in first-use order. Owned (edited) records have none.
inline std::vector<std::string> mapped_sources(const tensor_set& tensors) {
  std::vector<std::string> out;
  const void* last = nullptr;
  for (const auto& t : tensors) {
    if (t.keepalive().get() == last) continue;
    last = t.keepalive().get();
    if (auto p = detail::source_of(t.keepalive())) {
      bool seen = false;
      for (const auto& q : out) seen = seen || q == *p;
      if (!seen) out.push_back(*p);
    }
  }
  return out;
}

namespace detail {

/// @throws errc::already_exists if `out_file` is (the same file as) one of `inputs`.
inline void guard_output_file(const std::string& out_file, const std::vector<std::string>& inputs) {
  const auto out = stat_id(out_file);
  if (!out) return;
  for (const auto& in : inputs) {
    const auto id = stat_id(in);
    if (id && !id->is_dir && *id == *out) {
      fail(errc::already_exists,
           "refusing to write '" + out_file + "': it is the input file '" + in + "' that the tensors are read from");
    }
  }
}

/// @throws errc::already_exists if `out_dir` is one of the directory `inputs` or holds one of the file
/// `inputs` (a checkpoint is never rewritten in the directory it is read from).
inline void guard_output_dir(const std::string& out_dir, const std::vector<std::string>& inputs) {
  const auto out = stat_id(out_dir);
  if (!out) return;
  for (const auto& in : inputs) {
    const auto id = stat_id(in);
    if (!id) continue;
    if (id->is_dir) {
      if (*id == *out) {
        fail(errc::already_exists,
             "refusing to write into '" + out_dir + "': it is the input checkpoint directory '" + in + "'");
      }
    } else if (const auto dir = stat_id(::scalpel::detail::parent_dir(in)); dir && *dir == *out) {
      fail(errc::already_exists, "refusing to write into '" + out_dir + "': it holds the input file '" + in +
                                     "' that the tensors are read from; choose another output directory");
    }
  }
}

}  // namespace detail
}  // namespace io
SCALPEL_END_NAMESPACE
