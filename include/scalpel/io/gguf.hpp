#pragma once
/// @file
/// @brief GGUF (v3, little-endian) files as llama.cpp writes them: a memory-mapped, zero-copy reader with
/// full validation, and a crash-safe writer that reproduces a file byte for byte from its content.
///
/// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count; metadata (string key, u32 type,
/// value; arrays are u32 element type + u64 count + elements, possibly nested); tensor infos (string name,
/// u32 n_dims, u64 ne[n_dims] fastest-first, u32 ggml type, u64 offset into the data section); zero padding
/// to `general.alignment` (default 32); the data section, each tensor at an aligned offset.
///
/// Shapes: records use the framework order = ggml `ne` reversed (`token_embd` ne {H, V} -> [V, H]); the
/// bytes are the same row-major layout. Q8_0 records have the element shape (last dim a multiple of 32).
///
/// Types: F32, F16, BF16, Q8_0 give computable records; I8/I16/I32/I64/F64 give records of those ids.
/// Any other quantisation (Q4_K, IQ2_XS, ...) is `errc::unsupported` naming the tensor and the type, unless
/// `gguf_read_options::allow_unsupported_types`, which loads them as `dtype_id::other` records (correct
/// byte ranges, `ggml_type` kept) so that metadata tools work and `as<>()` fails on use.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/mapped_file.hpp"
#include "scalpel/io/detail/bytes.hpp"
#include "scalpel/io/detail/gguf_types.hpp"
#include "scalpel/io/detail/sources.hpp"
#include "scalpel/io/gguf_metadata.hpp"
#include "scalpel/io/tensor_set.hpp"
#include "scalpel/tensor/any_tensor.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

inline constexpr std::uint32_t gguf_default_alignment = 32;
/// ggml's limits: tensor names shorter than 64 bytes, at most 4 dimensions.
inline constexpr std::size_t gguf_max_tensor_name = 63;
inline constexpr std::size_t gguf_max_dims = 4;
/// Metadata keys are at most 65535 bytes (spec); arrays nest at most this deep (scalpel's limit).
inline constexpr std::size_t gguf_max_key_bytes = 65535;
inline constexpr int gguf_max_array_depth = 8;

/// A parsed GGUF file.
struct gguf_file {
  std::string path;  ///< file read (or the name given to `parse_gguf`)
  std::uint32_t version = 3;
  std::size_t alignment = gguf_default_alignment;
  std::size_t data_offset = 0;  ///< absolute offset of the data section
  gguf_metadata metadata;       ///< in file order (tokenizer.ggml.* included)
  /// Tensors in file order; names as in the GGUF; framework-order shapes; zero-copy over the mapping.
  tensor_set tensors;
  /// Tensor name -> ggml type id as stored (0 F32, 1 F16, 8 Q8_0, 30 BF16, ...).
  std::map<std::string, std::uint32_t, std::less<>> ggml_type;
};

struct gguf_read_options {
  /// Load quantisation types other than Q8_0 as `dtype_id::other` records instead of failing.
  bool allow_unsupported_types = false;
};

namespace detail {

inline std::string read_gguf_string(byte_cursor& c, const std::string& context) {
  const auto n = c.read<std::uint64_t>(context + " (string length)");
  if (n > c.left()) {
    c.fail_at(c.pos() - 8, context + ": string length " + std::to_string(n) + " runs past the end of the file (" +
                               std::to_string(c.left()) + " bytes left)");
  }
  const auto s = c.take(n, context);
  return {reinterpret_cast<const char*>(s.data()), s.size()};  // NOLINT
}

/// Smallest encoded size of one array element of type t (bounds element counts before allocating).
constexpr std::uint64_t gguf_min_elem_bytes(gguf_type t) noexcept {
  switch (t) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::boolean:
      return 1;
    case gguf_type::u16:
    case gguf_type::i16:
      return 2;
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::f32:
      return 4;
    case gguf_type::string:
      return 8;
    case gguf_type::array:
      return 12;
    default:
      return 8;
  }
}

template <class T>
std::vector<T> read_pod_array(byte_cursor& c, std::uint64_t n, const std::string& context) {
  const auto bytes = c.take(n * sizeof(T), context);  // n already bounded by the bytes left
  std::vector<T> v(static_cast<std::size_t>(n));
  if (n != 0) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

inline bool read_gguf_bool(byte_cursor& c, const std::string& context) {
  const auto b = c.read<std::uint8_t>(context);
  if (b > 1) c.fail_at(c.pos() - 1, context + ": bool value " + std::to_string(b) + " is neither 0 nor 1");
  return b == 1;
}

inline gguf_value read_gguf_value(byte_cursor& c, std::uint32_t type, const std::string& context, int depth);

inline gguf_array read_gguf_array(byte_cursor& c, const std::string& context, int depth) {
  if (depth > gguf_max_array_depth) {
    c.fail_at(c.pos(), context + ": arrays nested deeper than " + std::to_string(gguf_max_array_depth) + " levels");
  }
  const std::size_t at = c.pos();
  const auto et = c.read<std::uint32_t>(context + " (array element type)");
  if (et >= gguf_type_count) c.fail_at(at, context + ": unknown array element type " + std::to_string(et));
  const auto n = c.read<std::uint64_t>(context + " (array length)");
  const auto t = static_cast<gguf_type>(et);
  if (n > c.left() / gguf_min_elem_bytes(t)) {
    c.fail_at(at, context + ": array of " + std::to_string(n) + " " + std::string(gguf_type_name(t)) +
                      " elements cannot fit in the " + std::to_string(c.left()) + " bytes left");
  }
  // Reserve at most a bounded amount: memory then grows only with elements actually present.
  const auto cap = static_cast<std::size_t>(std::min<std::uint64_t>(n, 1u << 16));
  switch (t) {
    case gguf_type::u8:
      return gguf_array(read_pod_array<std::uint8_t>(c, n, context));
    case gguf_type::i8:
      return gguf_array(read_pod_array<std::int8_t>(c, n, context));
    case gguf_type::u16:
      return gguf_array(read_pod_array<std::uint16_t>(c, n, context));
    case gguf_type::i16:
      return gguf_array(read_pod_array<std::int16_t>(c, n, context));
    case gguf_type::u32:
      return gguf_array(read_pod_array<std::uint32_t>(c, n, context));
    case gguf_type::i32:
      return gguf_array(read_pod_array<std::int32_t>(c, n, context));
    case gguf_type::f32:
      return gguf_array(read_pod_array<float>(c, n, context));
    case gguf_type::u64:
      return gguf_array(read_pod_array<std::uint64_t>(c, n, context));
    case gguf_type::i64:
      return gguf_array(read_pod_array<std::int64_t>(c, n, context));
    case gguf_type::f64:
      return gguf_array(read_pod_array<double>(c, n, context));
    case gguf_type::boolean: {
      std::vector<bool> v;
      v.reserve(cap);
      for (std::uint64_t i = 0; i < n; ++i) v.push_back(read_gguf_bool(c, context));
      return gguf_array(std::move(v));
    }
    case gguf_type::string: {
      std::vector<std::string> v;
      v.reserve(cap);
      for (std::uint64_t i = 0; i < n; ++i) v.push_back(read_gguf_string(c, context + "[" + std::to_string(i) + "]"));
      return gguf_array(std::move(v));
    }
    case gguf_type::array: {
      std::vector<gguf_array> v;
      v.reserve(cap);
      for (std::uint64_t i = 0; i < n; ++i)
        v.push_back(read_gguf_array(c, context + "[" + std::to_string(i) + "]", depth + 1));
      return gguf_array(std::move(v));
    }
  }
  c.fail_at(at, context + ": unknown array element type " + std::to_string(et));
}

inline gguf_value read_gguf_value(byte_cursor& c, std::uint32_t type, const std::string& context, int depth) {
  switch (static_cast<gguf_type>(type)) {
    case gguf_type::u8:
      return c.read<std::uint8_t>(context);
    case gguf_type::i8:
      return c.read<std::int8_t>(context);
    case gguf_type::u16:
      return c.read<std::uint16_t>(context);
    case gguf_type::i16:
      return c.read<std::int16_t>(context);
    case gguf_type::u32:
      return c.read<std::uint32_t>(context);
    case gguf_type::i32:
      return c.read<std::int32_t>(context);
    case gguf_type::f32:
      return c.read<float>(context);
    case gguf_type::boolean:
      return read_gguf_bool(c, context);
    case gguf_type::string:
      return read_gguf_string(c, context);
    case gguf_type::array:
      return read_gguf_array(c, context, depth);
    case gguf_type::u64:
      return c.read<std::uint64_t>(context);
    case gguf_type::i64:
      return c.read<std::int64_t>(context);
    case gguf_type::f64:
      return c.read<double>(context);
  }
  c.fail_at(c.pos() - 4, context + ": unknown metadata value type " + std::to_string(type));
}

struct gguf_tensor_entry {
  std::string name;
  std::vector<std::uint64_t> ne;
  const ggml_type_info* type = nullptr;
  std::uint64_t offset = 0;
  std::uint64_t nbytes = 0;
};

}  // namespace detail

/// Parse a GGUF file held in memory (`bytes` = the whole file). Records point into `bytes`, which
/// `keepalive` must keep alive; `name` is used in errors. `read_gguf` maps a file and calls this.
/// @throws scalpel::error `errc::format` (anything that breaks the format: magic, truncation, counts,
/// type ids, alignment, offsets, overlaps, names), `errc::unsupported` (v1 / big-endian files; quantisation
/// types other than Q8_0 unless allowed). Messages name the file, the key or tensor, and the byte offset.
inline gguf_file parse_gguf(std::span<const std::byte> bytes, const std::shared_ptr<const void>& keepalive,
                            const std::string& name, const gguf_read_options& opt = {}) {
  detail::byte_cursor c(bytes, name);
  gguf_file f;
  f.path = name;
  f.metadata.set_source(name);
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0) {
    std::string got;
    for (std::size_t i = 0; i < 4 && i < bytes.size(); ++i) {
      got += detail::printable(std::string_view(reinterpret_cast<const char*>(bytes.data() + i), 1));  // NOLINT
    }
    fail(errc::format, name + ": not a GGUF file (magic \"" + got + "\", expected \"GGUF\")");
  }
  c.skip(4, "magic");
  f.version = c.read<std::uint32_t>("version");
  if (f.version == 1) {
    fail(errc::unsupported, name + ": GGUF version 1 is not supported (version 3 is; re-convert the model)");
  }
  if (f.version != 2 && f.version != 3) {
    const std::uint32_t v = f.version;
    const std::uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    if (swapped >= 1 && swapped <= 3) {
      fail(errc::unsupported, name + ": big-endian GGUF (version " + std::to_string(swapped) +
                                  ") is not supported; scalpel reads little-endian files");
    }
    fail(errc::format, name + ": unknown GGUF version " + std::to_string(f.version) + " (expected 3)");
  }
  const auto n_tensors = c.read<std::uint64_t>("tensor count");
  const auto n_kv = c.read<std::uint64_t>("metadata count");
  // Each metadata entry takes >= 13 bytes, each tensor info >= 25: bound the counts by the file size.
  if (n_kv > c.left() / 13) {
    c.fail_at(16, "metadata count " + std::to_string(n_kv) + " cannot fit in the " + std::to_string(c.left()) +
                      " bytes left");
  }
  if (n_tensors > c.left() / 25) {
    c.fail_at(8, "tensor count " + std::to_string(n_tensors) + " cannot fit in the " + std::to_string(c.left()) +
                     " bytes left");
  }

  // ---- metadata
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::size_t at = c.pos();
    std::string key = detail::read_gguf_string(c, "metadata key #" + std::to_string(i));
    if (key.empty() || key.size() > gguf_max_key_bytes) {
      c.fail_at(at, "metadata key #" + std::to_string(i) + " has length " + std::to_string(key.size()) +
                        " (must be 1.." + std::to_string(gguf_max_key_bytes) + ")");
    }
    if (detail::utf8_error_offset(key)) c.fail_at(at, "metadata key #" + std::to_string(i) + " is not valid UTF-8");
    if (f.metadata.contains(key)) c.fail_at(at, "duplicate metadata key '" + detail::printable(key) + "'");
    const std::string ctx = "metadata '" + detail::printable(key) + "'";
    const std::size_t type_at = c.pos();
    const auto type = c.read<std::uint32_t>(ctx + " (value type)");
    if (type >= gguf_type_count) c.fail_at(type_at, ctx + ": unknown value type " + std::to_string(type));
    gguf_value v = detail::read_gguf_value(c, type, ctx, 0);
    f.metadata.set(std::move(key), std::move(v));
  }
  if (const gguf_value* a = f.metadata.find("general.alignment")) {
    const auto* u = a->get_if<std::uint32_t>();
    if (u == nullptr) {
      fail(errc::format, name + ": general.alignment must be u32, found " + a->type_str());
    }
    if (*u == 0 || !std::has_single_bit(*u)) {
      fail(errc::format, name + ": general.alignment " + std::to_string(*u) + " is not a power of two");
    }
    f.alignment = *u;
  }

  // ---- tensor infos
  std::vector<detail::gguf_tensor_entry> entries;
  entries.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n_tensors, 1u << 16)));
  std::map<std::string, std::size_t, std::less<>> seen;
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    const std::size_t at = c.pos();
    detail::gguf_tensor_entry e;
    e.name = detail::read_gguf_string(c, "tensor info #" + std::to_string(i) + " name");
    if (e.name.empty() || e.name.size() > gguf_max_tensor_name) {
      c.fail_at(at, "tensor #" + std::to_string(i) + " name '" + detail::printable(e.name) + "' has length " +
                        std::to_string(e.name.size()) + " (ggml allows 1.." + std::to_string(gguf_max_tensor_name) +
                        ")");
    }
    const std::string tn = "tensor '" + detail::printable(e.name) + "'";
    if (!seen.emplace(e.name, i).second) c.fail_at(at, "duplicate " + tn);
    const auto n_dims = c.read<std::uint32_t>(tn + " n_dims");
    if (n_dims > gguf_max_dims) {
      c.fail_at(c.pos() - 4, tn + ": n_dims " + std::to_string(n_dims) + " exceeds " + std::to_string(gguf_max_dims));
    }
    std::uint64_t numel = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const auto v = c.read<std::uint64_t>(tn + " ne");
      if (v > static_cast<std::uint64_t>(INT64_MAX))
        c.fail_at(c.pos() - 8, tn + ": absurd dimension " + std::to_string(v));
      e.ne.push_back(v);
      const auto m = detail::checked_mul(numel, v);
      if (!m) c.fail_at(c.pos() - 8, tn + ": element count overflows 64 bits");
      numel = *m;
    }
    const std::size_t type_at = c.pos();
    const auto tid = c.read<std::uint32_t>(tn + " type");
    e.type = detail::find_ggml_type(tid);
    if (e.type == nullptr) c.fail_at(type_at, tn + ": unknown ggml type id " + std::to_string(tid));
    if (e.type->dtype == dtype_id::other && !opt.allow_unsupported_types) {
      fail(errc::unsupported, name + ": " + tn + " has ggml type " + std::string(e.type->name) + " (" +
                                  std::to_string(tid) + "), which scalpel does not support (F32, F16, BF16, Q8_0 are)");
    }
    const std::uint64_t ne0 = e.ne.empty() ? 1 : e.ne[0];
    if (ne0 % e.type->block_elems != 0) {
      c.fail_at(type_at, tn + ": row length ne0 = " + std::to_string(ne0) + " is not a multiple of the " +
                             std::string(e.type->name) + " block size " + std::to_string(e.type->block_elems));
    }
    const auto nb = detail::checked_mul(numel / e.type->block_elems, e.type->block_bytes);
    if (!nb) c.fail_at(type_at, tn + ": byte size overflows 64 bits");
    e.nbytes = *nb;
    e.offset = c.read<std::uint64_t>(tn + " offset");
    if (e.offset % f.alignment != 0) {
      c.fail_at(c.pos() - 8, tn + ": data offset " + std::to_string(e.offset) + " is not a multiple of the alignment " +
                                 std::to_string(f.alignment));
    }
    entries.push_back(std::move(e));
  }

  // ---- data section
  const auto data_start = detail::align_up(c.pos(), f.alignment);
  if (!data_start || (n_tensors > 0 && *data_start > bytes.size())) {
    fail(errc::format, name + ": truncated: the data section would start at byte " +
                           (data_start ? std::to_string(*data_start) : std::string("(overflow)")) +
                           " but the file has " + std::to_string(bytes.size()) + " bytes");
  }
  f.data_offset = static_cast<std::size_t>(*data_start);
  const std::uint64_t data_size = n_tensors > 0 ? bytes.size() - *data_start : 0;
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (const auto& e : entries) {
    if (e.offset > data_size || e.nbytes > data_size - e.offset) {
      fail(errc::format, name + ": tensor '" + detail::printable(e.name) + "' data [" + std::to_string(e.offset) +
                             ", " + std::to_string(e.offset) + " + " + std::to_string(e.nbytes) +
                             ") runs past the end of the data section (" + std::to_string(data_size) +
                             " bytes; file truncated?)");
    }
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return entries[a].offset != entries[b].offset ? entries[a].offset < entries[b].offset
                                                  : entries[a].nbytes < entries[b].nbytes;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto& p = entries[order[k - 1]];
    const auto& e = entries[order[k]];
    if (e.offset < p.offset + p.nbytes) {
      fail(errc::format, name + ": tensor '" + detail::printable(e.name) + "' data at offset " +
                             std::to_string(e.offset) + " overlaps tensor '" + detail::printable(p.name) + "' [" +
                             std::to_string(p.offset) + ", " + std::to_string(p.offset + p.nbytes) + ")");
    }
  }
  for (auto& e : entries) {
    shape_t s;
    s.rank = e.ne.size();
    for (std::size_t r = 0; r < s.rank; ++r) s.dims[r] = static_cast<std::size_t>(e.ne[s.rank - 1 - r]);
    const std::byte* p = bytes.data() + *data_start + e.offset;
    f.ggml_type.emplace(e.name, e.type->id);
    const auto n = static_cast<std::size_t>(e.nbytes);
    auto rb = detail::aligned_or_copy(p, n, e.type->dtype, keepalive);  // only with general.alignment < 8
    f.tensors.add(any_tensor(e.name, e.type->dtype, s, rb.data, n, std::move(rb.keepalive)));
  }
  return f;
}

/// Read a GGUF file (memory-mapped; records keep the mapping alive). See `parse_gguf` for errors; also
/// `errc::io` when the file cannot be opened.
inline gguf_file read_gguf(const std::string& path, const gguf_read_options& opt = {}) {
  auto m = mapped_file::open(path);
  detail::register_source(m);
  return parse_gguf(m->bytes(), m, path, opt);
}

// ---- writer -----------------------------------------------------------------------------------------

struct gguf_write_options {
  /// Data alignment: 0 = `general.alignment` from the metadata if present, else 32. A nonzero value that
  /// is not 32 is recorded as `general.alignment` (appended) when the metadata has none.
  std::size_t alignment = 0;
  /// ggml type ids for records whose dtype does not determine one (`dtype_id::other`), e.g. a
  /// `gguf_file::ggml_type` map. Entries for other records must agree with their dtype.
  std::map<std::string, std::uint32_t, std::less<>> ggml_type;
  /// Paths never to overwrite, in addition to the files the tensors are mapped from (found automatically).
  std::vector<std::string> inputs;
  /// Replace an existing output file (atomically) that is not an input.
  bool overwrite = true;
  /// Called after each tensor's bytes are written to the temporary file; may throw to abort.
  std::function<void(std::uint64_t bytes_written)> on_progress;

  /// Options that reproduce `f`: its alignment and ggml types; `f.path` is protected.
  [[nodiscard]] static gguf_write_options like(const gguf_file& f) {
    gguf_write_options o;
    o.alignment = f.alignment;
    o.ggml_type = f.ggml_type;
    o.inputs.push_back(f.path);
    return o;
  }
};

namespace detail {

inline void put_gguf_string(std::string& out, std::string_view s) {
  put<std::uint64_t>(out, s.size());
  out.append(s.data(), s.size());
}

inline void put_gguf_array(std::string& out, const gguf_array& a) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(a.element_type()));
  put<std::uint64_t>(out, a.size());
  std::visit(
      [&](const auto& v) {
        using E = typename std::decay_t<decltype(v)>::value_type;
        if constexpr (std::is_same_v<E, std::string>) {
          for (const auto& s : v) put_gguf_string(out, s);
        } else if constexpr (std::is_same_v<E, gguf_array>) {
          for (const auto& x : v) put_gguf_array(out, x);
        } else if constexpr (std::is_same_v<E, bool>) {
          for (bool b : v) out.push_back(b ? '\1' : '\0');
        } else {
          if (!v.empty()) out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(E));  // NOLINT
        }
      },
      a.items());
}

inline void put_gguf_value(std::string& out, const gguf_value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          put_gguf_string(out, x);
        } else if constexpr (std::is_same_v<T, gguf_array>) {
          put_gguf_array(out, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.push_back(x ? '\1' : '\0');
        } else {
          put<T>(out, x);
        }
      },
      v.storage());
}

}  // namespace detail

/// Write a GGUF v3 file: `md` in insertion order, then the tensor infos (ne = framework shape reversed),
/// zero padding to the alignment, and each tensor's bytes padded to the alignment (llama.cpp's layout, so
/// writing a file's content back reproduces it byte for byte). Atomic (temporary file, fsync, rename).
/// @throws scalpel::error `errc::invalid_argument` (a tensor GGUF cannot hold: rank > 4, name too long,
/// U8/BOOL, a size that disagrees with its shape, a bad alignment), `errc::already_exists` (the output is an
/// input, or exists and `!opt.overwrite`), `errc::io`.
inline void write_gguf(const std::string& path, const gguf_metadata& md, const tensor_set& tensors,
                       const gguf_write_options& opt = {}) {
  // ---- alignment
  std::uint64_t align = gguf_default_alignment;
  const gguf_value* ma = md.find("general.alignment");
  if (ma != nullptr) {
    const auto* u = ma->get_if<std::uint32_t>();
    if (u == nullptr || *u == 0 || !std::has_single_bit(*u)) {
      fail(errc::invalid_argument, "write_gguf('" + path + "'): general.alignment must be a u32 power of two, found " +
                                       ma->type_str() + " " + ma->value_str());
    }
    align = *u;
    if (opt.alignment != 0 && opt.alignment != align) {
      fail(errc::invalid_argument, "write_gguf('" + path + "'): alignment " + std::to_string(opt.alignment) +
                                       " disagrees with general.alignment " + std::to_string(align));
    }
  } else if (opt.alignment != 0) {
    if (!std::has_single_bit(opt.alignment) || opt.alignment > UINT32_MAX) {
      fail(errc::invalid_argument,
           "write_gguf('" + path + "'): alignment " + std::to_string(opt.alignment) + " is not a power of two");
    }
    align = opt.alignment;
  }

  // ---- header
  std::string h = "GGUF";
  detail::put<std::uint32_t>(h, 3);
  detail::put<std::uint64_t>(h, tensors.size());
  const bool add_alignment = ma == nullptr && align != gguf_default_alignment;
  detail::put<std::uint64_t>(h, md.size() + (add_alignment ? 1 : 0));
  for (const auto& [key, value] : md) {
    if (key.empty() || key.size() > gguf_max_key_bytes) {
      fail(errc::invalid_argument, "write_gguf('" + path + "'): metadata key of length " + std::to_string(key.size()));
    }
    detail::put_gguf_string(h, key);
    detail::put<std::uint32_t>(h, static_cast<std::uint32_t>(value.type()));
    detail::put_gguf_value(h, value);
  }
  if (add_alignment) {
    detail::put_gguf_string(h, "general.alignment");
    detail::put<std::uint32_t>(h, static_cast<std::uint32_t>(gguf_type::u32));
    detail::put<std::uint32_t>(h, static_cast<std::uint32_t>(align));
  }
  std::uint64_t off = 0;
  for (const auto& t : tensors) {
    const std::string tn = "write_gguf('" + path + "'): tensor '" + t.name() + "'";
    if (t.name().empty() || t.name().size() > gguf_max_tensor_name) {
      fail(errc::invalid_argument, tn + ": name length " + std::to_string(t.name().size()) + " (ggml allows 1.." +
                                       std::to_string(gguf_max_tensor_name) + ")");
    }
    if (t.rank() > gguf_max_dims) fail(errc::invalid_argument, tn + ": rank " + std::to_string(t.rank()) + " > 4");
    const detail::ggml_type_info* gt = detail::ggml_type_for(t.dtype());
    auto given = opt.ggml_type.find(t.name());
    if (given != opt.ggml_type.end()) {
      const auto* g = detail::find_ggml_type(given->second);
      if (g == nullptr) fail(errc::invalid_argument, tn + ": unknown ggml type id " + std::to_string(given->second));
      if (gt != nullptr && g != gt) {
        fail(errc::invalid_argument, tn + ": dtype " + std::string(dtype_name(t.dtype())) +
                                         " cannot be stored as ggml type " + std::string(g->name));
      }
      if (gt == nullptr && g->dtype != t.dtype()) {
        fail(errc::invalid_argument, tn + ": dtype " + std::string(dtype_name(t.dtype())) +
                                         " cannot be stored as ggml type " + std::string(g->name));
      }
      gt = g;
    }
    if (gt == nullptr) {
      fail(errc::invalid_argument, tn + ": dtype " + std::string(dtype_name(t.dtype())) +
                                       " has no ggml type (give one in gguf_write_options::ggml_type)");
    }
    const std::uint64_t ne0 = t.rank() == 0 ? 1 : t.shape()[t.rank() - 1];
    const std::uint64_t numel = t.numel();
    if (ne0 % gt->block_elems != 0 || numel / gt->block_elems * gt->block_bytes != t.size_bytes()) {
      fail(errc::invalid_argument, tn + ": shape " + t.shape().str() + " as " + std::string(gt->name) + " needs " +
                                       std::to_string(numel / gt->block_elems * gt->block_bytes) +
                                       " bytes (row length a multiple of " + std::to_string(gt->block_elems) +
                                       "), the record has " + std::to_string(t.size_bytes()));
    }
    if (t.size_bytes() > 0 && t.data() == nullptr) fail(errc::invalid_argument, tn + ": no data");
    detail::put_gguf_string(h, t.name());
    detail::put<std::uint32_t>(h, static_cast<std::uint32_t>(t.rank()));
    for (std::size_t r = t.rank(); r-- > 0;) detail::put<std::uint64_t>(h, t.shape()[r]);
    detail::put<std::uint32_t>(h, gt->id);
    detail::put<std::uint64_t>(h, off);
    off = *detail::align_up(off + t.size_bytes(), align);
  }
  h.append(static_cast<std::size_t>(*detail::align_up(h.size(), align) - h.size()), '\0');

  // ---- protect inputs, then write
  std::vector<std::string> inputs = mapped_sources(tensors);
  inputs.insert(inputs.end(), opt.inputs.begin(), opt.inputs.end());
  detail::guard_output_file(path, inputs);
  if (!opt.overwrite && detail::stat_id(path)) {
    fail(errc::already_exists, "output file '" + path + "' exists (overwrite not allowed)");
  }
  atomic_file_writer w(path);
  w.write(h);
  std::uint64_t done = 0;
  for (const auto& t : tensors) {
    w.write(std::span<const std::byte>(t.data(), t.size_bytes()));
    w.write_zeros(static_cast<std::size_t>(*detail::align_up(t.size_bytes(), align) - t.size_bytes()));
    done += t.size_bytes();
    if (opt.on_progress) opt.on_progress(done);
  }
  w.commit();
}

}  // namespace io
SCALPEL_END_NAMESPACE
