#pragma once
/// @file
/// @brief safetensors checkpoints: a memory-mapped, zero-copy reader for single files and sharded
/// checkpoints (`model.safetensors.index.json`), and a crash-safe writer (same layout as an input, one
/// file, or shards of a maximum size). See docs/formats.md for the validation performed and the error ids.
///
/// Records: every tensor of the file(s) becomes an `any_tensor` over the mapping (the record's keepalive
/// holds it). F32, F16 and BF16 are computable; I8/U8/I16/I32/I64/F64/BOOL get their `dtype_id`; other
/// dtypes (U16/U32/U64, F8_*, F6_*, F4, C64) are `dtype_id::other` with their name kept in `raw_info`,
/// so unusual extras (vision/audio towers, index buffers) never stop a load — `as<>()` on them fails with
/// `errc::dtype_mismatch`. A tensor whose offset is not aligned for its dtype (legal, but rare) is copied
/// into an aligned private buffer instead of being viewed in place. Shapes of rank > 4 are folded into rank 4 (leading
/// dims multiplied) and their true shape is kept in `raw_info`.

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/mapped_file.hpp"
#include "scalpel/io/detail/bytes.hpp"
#include "scalpel/io/detail/safetensors_header.hpp"
#include "scalpel/io/detail/sources.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/io/tensor_set.hpp"
#include "scalpel/tensor/any_tensor.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

/// What an `any_tensor` record cannot say about a stored tensor: the exact safetensors dtype name (for
/// `dtype_id::other` records) and the full shape (for rank > 4). Used by the writer to reproduce it.
struct safetensors_raw_info {
  std::string dtype;                 ///< safetensors dtype name, e.g. "F8_E4M3"
  std::vector<std::uint64_t> shape;  ///< the shape as stored
  friend bool operator==(const safetensors_raw_info&, const safetensors_raw_info&) = default;
};

/// One checkpoint's tensors as stored.
struct safetensors_checkpoint {
  /// All tensors, names exactly as in the file(s); order: shards in `shards` order, within a shard by data
  /// offset (the physical order).
  tensor_set tensors;
  /// `__metadata__` (string -> string), merged across shards (the first shard's value wins on a conflict).
  std::map<std::string, std::string> metadata;
  /// Shard file names relative to `directory`, sorted (one entry for a single file).
  std::vector<std::string> shards;
  /// Tensor name -> shard file name.
  std::map<std::string, std::string, std::less<>> shard_of;
  /// Directory the files live in.
  std::string directory;
  /// The index file read (empty for a single file).
  std::string index_file;
  /// Extra facts for records of `dtype_id::other` or rank > 4 (only those tensors appear here).
  std::map<std::string, safetensors_raw_info, std::less<>> raw_info;
};

namespace detail {

/// Append the records of one parsed file to `out`.
inline void add_st_records(const st_header& h, std::span<const std::byte> bytes,
                           const std::shared_ptr<const void>& keepalive, const std::string& shard,
                           safetensors_checkpoint& out) {
  for (const auto& e : h.entries) {
    shape_t s;
    if (e.shape.size() <= 4) {
      s.rank = e.shape.size();
      for (std::size_t r = 0; r < s.rank; ++r) s.dims[r] = static_cast<std::size_t>(e.shape[r]);
    } else {  // fold leading dims so that numel and the contiguous last three dims are kept
      s.rank = 4;
      std::size_t lead = 1;
      const std::size_t k = e.shape.size() - 3;
      for (std::size_t r = 0; r < k; ++r) lead *= static_cast<std::size_t>(e.shape[r]);
      s.dims[0] = lead;
      for (std::size_t r = 0; r < 3; ++r) s.dims[r + 1] = static_cast<std::size_t>(e.shape[k + r]);
    }
    const std::byte* p = bytes.data() + h.data_start + e.begin;
    if (out.tensors.contains(e.name)) {
      fail(errc::format, "tensor '" + printable(e.name) + "' appears in shard '" + shard + "' and in shard '" +
                             out.shard_of.find(e.name)->second + "'");
    }
    const auto n = static_cast<std::size_t>(e.end - e.begin);
    auto rb = aligned_or_copy(p, n, e.dtype->id, keepalive);
    out.tensors.add(any_tensor(e.name, e.dtype->id, s, rb.data, n, std::move(rb.keepalive)));
    out.shard_of.emplace(e.name, shard);
    if (e.dtype->id == dtype_id::other || e.shape.size() > 4) {
      out.raw_info.emplace(e.name, safetensors_raw_info{std::string(e.dtype->name), e.shape});
    }
  }
  for (const auto& [k, v] : h.metadata) out.metadata.emplace(k, v);
}

/// Map and parse one file, appending its records.
inline void read_st_file(const std::string& dir, const std::string& shard, safetensors_checkpoint& out) {
  const std::string path = dir.empty() ? shard : dir + "/" + shard;
  auto m = mapped_file::open(path);
  register_source(m);
  const st_header h = parse_st_header(m->bytes(), path);
  add_st_records(h, m->bytes(), m, shard, out);
}

inline bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
inline bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
/// A shard name from an index must be a plain file name in the checkpoint directory.
inline void check_shard_name(const std::string& name, const std::string& where) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    fail(errc::format,
         where + ": shard file name \"" + printable(name) + "\" is not a plain file name in the checkpoint directory");
  }
}

inline void read_st_index(const std::string& index_path, safetensors_checkpoint& out) {
  const nlohmann::json j = read_json_file(index_path);
  const json_field root(j, index_path);
  if (!root.is_object()) root.fail_here("an index must be a JSON object, found " + json_describe(j));
  const json_field wm = root["weight_map"];
  if (!wm.is_object()) wm.fail_here("expected an object (tensor name -> shard file), found " + json_describe(wm.raw()));
  std::map<std::string, std::string, std::less<>> want;  // tensor -> shard
  std::map<std::string, std::size_t> shards;             // shard -> tensors listed
  for (auto it = wm.raw().begin(); it != wm.raw().end(); ++it) {
    if (!it.value().is_string()) {
      fail(errc::json, index_path + ": field 'weight_map." + printable(it.key()) +
                           "': expected a shard file name, found " + json_describe(it.value()));
    }
    const std::string& shard = it.value().get_ref<const std::string&>();
    check_shard_name(shard, index_path);
    want.emplace(it.key(), shard);
    ++shards[shard];
  }
  out.index_file = index_path;
  for (const auto& [shard, count] : shards) {
    (void)count;
    const std::string path = out.directory + "/" + shard;
    if (!is_file(path)) {
      fail(errc::io, index_path + ": shard '" + shard + "' (listed for " + std::to_string(count) +
                         " tensors) is missing: no file '" + path + "'");
    }
    read_st_file(out.directory, shard, out);
    out.shards.push_back(shard);
  }
  for (const auto& [name, shard] : want) {
    auto it = out.shard_of.find(name);
    if (it == out.shard_of.end()) {
      fail(errc::missing_tensor,
           index_path + ": maps tensor '" + printable(name) + "' to shard '" + shard + "', which does not contain it");
    }
    if (it->second != shard) {
      fail(errc::format, index_path + ": maps tensor '" + printable(name) + "' to shard '" + shard +
                             "', but it is stored in shard '" + it->second + "'");
    }
  }
  for (const auto& [name, shard] : out.shard_of) {
    if (want.find(name) == want.end()) {
      fail(errc::format, "shard '" + shard + "' holds tensor '" + printable(name) + "', which the index '" +
                             index_path + "' does not list");
    }
  }
}

}  // namespace detail

/// Read a checkpoint. `path` is a `.safetensors` file, a `model.safetensors.index.json`, or a directory
/// holding `model.safetensors.index.json` (preferred), `model.safetensors`, or exactly one `*.safetensors`.
/// Files are memory-mapped; records are zero-copy and keep their mapping alive.
/// @throws scalpel::error `errc::io` (missing file or shard), `errc::format` (a file breaks the format or
/// disagrees with the index), `errc::json` (malformed JSON), `errc::missing_tensor` (the index lists a
/// tensor its shard lacks), `errc::unsupported` (unknown dtype name). Messages name file and tensor.
inline safetensors_checkpoint read_safetensors(const std::string& path) {
  safetensors_checkpoint out;
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (detail::is_dir(p)) {
    out.directory = p;
    const std::string index = p + "/model.safetensors.index.json";
    const std::string single = p + "/model.safetensors";
    if (detail::is_file(index)) {
      detail::read_st_index(index, out);
      return out;
    }
    if (detail::is_file(single)) {
      detail::read_st_file(p, "model.safetensors", out);
      out.shards.push_back("model.safetensors");
      return out;
    }
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& de : std::filesystem::directory_iterator(p, ec)) {
      const std::string n = de.path().filename().string();
      if (detail::ends_with(n, ".safetensors") && de.is_regular_file(ec)) found.push_back(n);
    }
    if (found.size() != 1) {
      fail(errc::io,
           "'" + p + "' holds no model.safetensors.index.json or model.safetensors" +
               (found.empty() ? std::string(" and no .safetensors file")
                              : ", and " + std::to_string(found.size()) + " .safetensors files without an index"));
    }
    detail::read_st_file(p, found[0], out);
    out.shards.push_back(found[0]);
    return out;
  }
  if (!detail::is_file(p)) fail(errc::io, "cannot open '" + p + "': no such file or directory");
  out.directory = ::scalpel::detail::parent_dir(p);
  const std::string file = p.substr(p.find_last_of('/') == std::string::npos ? 0 : p.find_last_of('/') + 1);
  if (detail::ends_with(file, ".json")) {
    detail::read_st_index(p, out);
  } else {
    detail::read_st_file(out.directory, file, out);
    out.shards.push_back(file);
  }
  return out;
}

/// Parse one safetensors file held in memory (tests, fuzzing). Records point into `bytes`, which
/// `keepalive` must keep alive; `name` is used as the shard name and in errors.
inline safetensors_checkpoint parse_safetensors(std::span<const std::byte> bytes,
                                                const std::shared_ptr<const void>& keepalive, const std::string& name) {
  safetensors_checkpoint out;
  const detail::st_header h = detail::parse_st_header(bytes, name);
  detail::add_st_records(h, bytes, keepalive, name, out);
  out.shards.push_back(name);
  return out;
}

// ---- writer -----------------------------------------------------------------------------------------

/// How `write_safetensors` lays out its files.
struct safetensors_write_options {
  /// Written as `__metadata__` in every file; `"format": "pt"` is added when absent (transformers needs it).
  std::map<std::string, std::string> metadata;
  /// Non-empty: put each tensor in this shard (plain file names; every tensor must be listed). One shard
  /// named anything gives a single file without index.
  std::map<std::string, std::string, std::less<>> shard_of;
  /// Used when `shard_of` is empty: 0 = one file `file_name`; otherwise shards of at most this many data
  /// bytes (a larger tensor gets a shard of its own), named `model-0000k-of-0000n.safetensors`.
  std::uint64_t max_shard_bytes = 0;
  /// Name of the single file.
  std::string file_name = "model.safetensors";
  /// Dtype names / full shapes for records that need them (see `safetensors_raw_info`).
  std::map<std::string, safetensors_raw_info, std::less<>> raw_info;
  /// Paths (files or directories) that must not be overwritten or written into, in addition to the files
  /// the tensors are mapped from (found automatically).
  std::vector<std::string> inputs;
  /// Replace existing output files (atomically) that are not inputs; when false an existing output file is
  /// `errc::already_exists`. A stale index or single file of the other layout is removed after success.
  bool overwrite = true;
  /// Called after each tensor's bytes are written to a temporary file (path = the final name, bytes so
  /// far); it may throw to abort the write (nothing is left under a final name for the unfinished file).
  std::function<void(const std::string& final_path, std::uint64_t bytes_written)> on_progress;

  /// Options that reproduce `c`'s layout: its metadata, shard assignment and raw info; `c.directory` is
  /// protected.
  [[nodiscard]] static safetensors_write_options like(const safetensors_checkpoint& c) {
    safetensors_write_options o;
    o.metadata = c.metadata;
    o.shard_of = c.shard_of;
    o.raw_info = c.raw_info;
    if (!c.directory.empty()) o.inputs.push_back(c.directory);
    return o;
  }
};

/// What `write_safetensors` wrote.
struct safetensors_write_result {
  std::vector<std::string> files;                            ///< paths written (shards, then the index)
  std::map<std::string, std::string, std::less<>> shard_of;  ///< tensor -> shard file name
  std::uint64_t total_size = 0;                              ///< sum of tensor data bytes
};

namespace detail {

struct st_out_tensor {
  const any_tensor* t;
  std::string dtype;
  std::vector<std::uint64_t> shape;
};

inline st_out_tensor describe_for_write(const any_tensor& t, const safetensors_write_options& opt) {
  st_out_tensor o{&t, {}, {}};
  auto raw = opt.raw_info.find(t.name());
  const st_dtype* d = st_dtype_of(t.dtype());
  if (d != nullptr) {
    o.dtype = std::string(d->name);
  } else if (t.dtype() == dtype_id::q8_0) {
    fail(errc::invalid_argument, "tensor '" + t.name() + "': Q8_0 cannot be stored in safetensors; dequantize first");
  } else if (raw != opt.raw_info.end()) {
    o.dtype = raw->second.dtype;
  } else {
    fail(errc::invalid_argument, "tensor '" + t.name() + "': dtype " + std::string(dtype_name(t.dtype())) +
                                     " needs its safetensors name in safetensors_write_options::raw_info");
  }
  const st_dtype* sd = find_st_dtype(o.dtype);
  if (sd == nullptr) {
    fail(errc::invalid_argument, "tensor '" + t.name() + "': unknown safetensors dtype \"" + o.dtype + "\"");
  }
  std::uint64_t numel = 1;
  for (std::size_t r = 0; r < t.rank(); ++r) numel *= t.shape()[r];
  if (raw != opt.raw_info.end() && !raw->second.shape.empty()) {
    const auto n = st_nbytes(raw->second.shape, 8);
    if (!n || *n != numel) {
      fail(errc::invalid_argument, "tensor '" + t.name() + "': raw shape " + dims_str(raw->second.shape) +
                                       " does not have the record's " + std::to_string(numel) + " elements");
    }
    o.shape = raw->second.shape;
  } else {
    for (std::size_t r = 0; r < t.rank(); ++r) o.shape.push_back(t.shape()[r]);
  }
  const auto need = st_nbytes(o.shape, sd->bits);
  if (!need || *need != t.size_bytes()) {
    fail(errc::invalid_argument, "tensor '" + t.name() + "': shape " + dims_str(o.shape) + " in " + o.dtype +
                                     " needs " + (need ? std::to_string(*need) : std::string("an absurd number of")) +
                                     " bytes, the record has " + std::to_string(t.size_bytes()));
  }
  if (t.size_bytes() > 0 && t.data() == nullptr) {
    fail(errc::invalid_argument, "tensor '" + t.name() + "' has no data");
  }
  return o;
}

/// The header bytes (JSON padded with spaces to a multiple of 8) for `ts`, data offsets in order.
inline std::string st_header_bytes(const std::vector<st_out_tensor>& ts, const std::map<std::string, std::string>& md) {
  std::string h = "{";
  bool first = true;
  if (!md.empty()) {
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [k, v] : md) m[k] = v;
    h += "\"__metadata__\":" + m.dump();
    first = false;
  }
  std::uint64_t off = 0;
  for (const auto& o : ts) {
    if (!first) h += ',';
    first = false;
    h += nlohmann::json(o.t->name()).dump();
    h += ":{\"dtype\":\"" + o.dtype + "\",\"shape\":[";
    for (std::size_t i = 0; i < o.shape.size(); ++i) {
      if (i) h += ',';
      h += std::to_string(o.shape[i]);
    }
    h += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + o.t->size_bytes()) + "]}";
    off += o.t->size_bytes();
  }
  h += '}';
  while (h.size() % 8 != 0) h += ' ';
  return h;
}

inline void write_st_file(const std::string& path, const std::vector<st_out_tensor>& ts,
                          const std::map<std::string, std::string>& md, const safetensors_write_options& opt) {
  const std::string header = st_header_bytes(ts, md);
  atomic_file_writer w(path);
  std::string len;
  put<std::uint64_t>(len, header.size());
  w.write(len);
  w.write(header);
  std::uint64_t done = 0;
  for (const auto& o : ts) {
    w.write(std::span<const std::byte>(o.t->data(), o.t->size_bytes()));
    done += o.t->size_bytes();
    if (opt.on_progress) opt.on_progress(path, done);
  }
  w.commit();
}

}  // namespace detail

/// Write `tensors` as a safetensors checkpoint into `out_dir` (created if needed). Every file goes to a
/// temporary name, is fsynced and renamed, shards first and the index last, so an interrupted write never
/// leaves a partial file under a final name.
/// @throws scalpel::error `errc::already_exists` if `out_dir` holds (or is) an input the tensors are read
/// from or listed in `opt.inputs`, or an output exists and `!opt.overwrite`; `errc::invalid_argument` for a
/// tensor the format cannot hold or a bad layout; `errc::io` on write failure.
inline safetensors_write_result write_safetensors(const std::string& out_dir, const tensor_set& tensors,
                                                  const safetensors_write_options& opt = {}) {
  // ---- refuse to write into an input's directory; validate everything before touching the disk
  std::vector<std::string> inputs = mapped_sources(tensors);
  inputs.insert(inputs.end(), opt.inputs.begin(), opt.inputs.end());
  detail::guard_output_dir(out_dir, inputs);
  std::vector<detail::st_out_tensor> all;
  all.reserve(tensors.size());
  for (const auto& t : tensors) {
    if (t.name().empty() || t.name() == "__metadata__") {
      fail(errc::invalid_argument, "tensor name \"" + t.name() + "\" cannot be stored in safetensors");
    }
    all.push_back(detail::describe_for_write(t, opt));
  }
  std::map<std::string, std::string> md = opt.metadata;
  md.emplace("format", "pt");

  // shard plan: ordered shard names, each with its tensors in tensor_set order
  std::vector<std::string> shard_names;
  std::map<std::string, std::vector<detail::st_out_tensor>> plan;
  safetensors_write_result res;
  if (!opt.shard_of.empty()) {
    for (const auto& o : all) {
      auto it = opt.shard_of.find(o.t->name());
      if (it == opt.shard_of.end()) {
        fail(errc::invalid_argument,
             "tensor '" + o.t->name() + "' has no shard in safetensors_write_options::shard_of");
      }
      detail::check_shard_name(it->second, "safetensors_write_options::shard_of");
      if (!detail::ends_with(it->second, ".safetensors")) {
        fail(errc::invalid_argument, "shard name '" + it->second + "' does not end in .safetensors");
      }
      if (plan.find(it->second) == plan.end()) shard_names.push_back(it->second);
      plan[it->second].push_back(o);
    }
    std::sort(shard_names.begin(), shard_names.end());
  } else if (opt.max_shard_bytes == 0) {
    detail::check_shard_name(opt.file_name, "safetensors_write_options::file_name");
    shard_names.push_back(opt.file_name);
    plan[opt.file_name] = all;
  } else {
    std::vector<std::vector<detail::st_out_tensor>> groups(1);
    std::uint64_t cur = 0;
    for (const auto& o : all) {
      if (!groups.back().empty() && cur + o.t->size_bytes() > opt.max_shard_bytes) {
        groups.emplace_back();
        cur = 0;
      }
      groups.back().push_back(o);
      cur += o.t->size_bytes();
    }
    if (groups.size() == 1) {
      shard_names.push_back(opt.file_name);
      plan[opt.file_name] = std::move(groups[0]);
    } else {
      char buf[64];
      for (std::size_t i = 0; i < groups.size(); ++i) {
        std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", i + 1, groups.size());
        shard_names.emplace_back(buf);
        plan[buf] = std::move(groups[i]);
      }
    }
  }
  if (shard_names.empty()) {  // no tensors at all: one empty file
    shard_names.push_back(opt.file_name);
    plan[opt.file_name] = {};
  }
  const bool sharded = shard_names.size() > 1;
  const std::string index_name = "model.safetensors.index.json";

  // ---- create the directory; refuse to replace inputs (hard links) or, without overwrite, any file
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (!detail::is_dir(out_dir)) {
    fail(errc::io, "cannot create output directory '" + out_dir + "'" + (ec ? ": " + ec.message() : std::string()));
  }
  std::vector<std::string> finals;
  finals.reserve(shard_names.size() + 1);
  for (const auto& s : shard_names) finals.push_back(out_dir + "/" + s);
  if (sharded) finals.push_back(out_dir + "/" + index_name);
  for (const auto& f : finals) {
    detail::guard_output_file(f, inputs);
    if (!opt.overwrite && detail::stat_id(f)) {
      fail(errc::already_exists, "output file '" + f + "' exists (overwrite not allowed)");
    }
  }
  // The other layout's entry file would shadow or confuse what we write: it goes after success.
  const std::string stale = out_dir + "/" + (sharded ? std::string("model.safetensors") : index_name);
  const bool stale_is_ours =
      sharded ? std::find(shard_names.begin(), shard_names.end(), "model.safetensors") != shard_names.end() : false;
  if (!stale_is_ours && detail::stat_id(stale)) {
    detail::guard_output_file(stale, inputs);
    if (!opt.overwrite) fail(errc::already_exists, "output directory holds '" + stale + "' (overwrite not allowed)");
  }

  // ---- write shards, then the index
  for (const auto& s : shard_names) {
    const std::string path = out_dir + "/" + s;
    detail::write_st_file(path, plan[s], md, opt);
    res.files.push_back(path);
    for (const auto& o : plan[s]) {
      res.shard_of.emplace(o.t->name(), s);
      res.total_size += o.t->size_bytes();
    }
  }
  if (sharded) {
    nlohmann::json idx;
    idx["metadata"]["total_size"] = res.total_size;
    idx["weight_map"] = nlohmann::json::object();
    for (const auto& [name, shard] : res.shard_of) idx["weight_map"][name] = shard;
    const std::string path = out_dir + "/" + index_name;
    write_file_atomic(path, idx.dump(2) + "\n");
    res.files.push_back(path);
  }
  if (!stale_is_ours && detail::stat_id(stale)) {
    if (::unlink(stale.c_str()) != 0) {
      fail(errc::io, "cannot remove stale '" + stale + "': " + std::strerror(errno));
    }
  }
  return res;
}

}  // namespace io
SCALPEL_END_NAMESPACE
