#pragma once
// IWYU pragma: private
/// @file
/// @brief Parsing and validation of one safetensors file's header (private; see io/safetensors.hpp).
///
/// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON (an object; may end in spaces), then
/// the data section. Each JSON member other than `__metadata__` is a tensor
/// `{"dtype": "BF16", "shape": [a, b], "data_offsets": [begin, end]}` with offsets relative to the data
/// section. Checked here: the length against the cap and the file size, UTF-8 and JSON syntax, duplicate
/// names, every field's presence and type, known dtypes, shape × dtype size (overflow-checked) equal to
/// end - begin, and that the tensors tile the data section exactly (no overlap, no hole, no trailing
/// bytes), as the format requires.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/detail/bytes.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/tensor/dtype.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

/// Largest header accepted (the reference implementation's limit): a forged length cannot make the reader
/// allocate more than this.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

namespace detail {

/// A safetensors dtype: its name in the header, bits per element, and the runtime id scalpel gives it
/// (`dtype_id::other` where scalpel has no id; such records keep their name in `safetensors_raw_info`).
struct st_dtype {
  std::string_view name;
  unsigned bits;
  dtype_id id;
};
inline constexpr st_dtype st_dtypes[] = {
    {"F32", 32, dtype_id::f32},      {"F16", 16, dtype_id::f16},      {"BF16", 16, dtype_id::bf16},
    {"F64", 64, dtype_id::f64},      {"I8", 8, dtype_id::i8},         {"U8", 8, dtype_id::u8},
    {"I16", 16, dtype_id::i16},      {"I32", 32, dtype_id::i32},      {"I64", 64, dtype_id::i64},
    {"BOOL", 8, dtype_id::boolean},  {"U16", 16, dtype_id::other},    {"U32", 32, dtype_id::other},
    {"U64", 64, dtype_id::other},    {"F8_E5M2", 8, dtype_id::other}, {"F8_E4M3", 8, dtype_id::other},
    {"F8_E8M0", 8, dtype_id::other}, {"F6_E2M3", 6, dtype_id::other}, {"F6_E3M2", 6, dtype_id::other},
    {"F4", 4, dtype_id::other},      {"C64", 64, dtype_id::other},
};

inline const st_dtype* find_st_dtype(std::string_view name) noexcept {
  for (const auto& d : st_dtypes)
    if (d.name == name) return &d;
  return nullptr;
}
/// The safetensors name of a runtime dtype id, or nullptr (Q8_0 and `other` have none).
inline const st_dtype* st_dtype_of(dtype_id id) noexcept {
  if (id == dtype_id::other || id == dtype_id::q8_0) return nullptr;
  for (const auto& d : st_dtypes)
    if (d.id == id) return &d;
  return nullptr;
}

/// Bytes of `shape` in a dtype of `bits` bits, or nullopt on overflow / a partial final byte.
inline std::optional<std::uint64_t> st_nbytes(const std::vector<std::uint64_t>& shape, unsigned bits) {
  std::uint64_t n = 1;
  for (auto d : shape) {
    auto m = checked_mul(n, d);
    if (!m) return std::nullopt;
    n = *m;
  }
  auto total_bits = checked_mul(n, bits);
  if (!total_bits || *total_bits % 8 != 0) return std::nullopt;
  return *total_bits / 8;
}

inline std::string dims_str(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

/// One tensor entry of a header, validated.
struct st_entry {
  std::string name;
  const st_dtype* dtype = nullptr;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;  ///< offset in the data section
  std::uint64_t end = 0;
};

/// A validated header: metadata, entries sorted by offset, and where the data section starts.
struct st_header {
  std::map<std::string, std::string> metadata;
  std::vector<st_entry> entries;
  std::uint64_t data_start = 0;
};

/// Largest rank accepted in a header (records keep at most 4; see `safetensors_raw_info`).
inline constexpr std::size_t st_max_rank = 32;

/// Parse and validate the header of the safetensors file `bytes` (the whole file). `what` names it.
/// @throws scalpel::error `errc::format` (layout), `errc::json` (malformed JSON), `errc::unsupported`
/// (a dtype name scalpel does not know).
inline st_header parse_st_header(std::span<const std::byte> bytes, const std::string& what) {
  if (bytes.size() < 8) {
    fail(errc::format, what + ": file of " + std::to_string(bytes.size()) +
                           " bytes is too small for a safetensors file (8-byte header length missing)");
  }
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > safetensors_max_header_bytes) {
    fail(errc::format, what + ": header length " + std::to_string(n) + " exceeds the limit of " +
                           std::to_string(safetensors_max_header_bytes) + " bytes (corrupt or not a safetensors file)");
  }
  if (n > bytes.size() - 8) {
    fail(errc::format, what + ": header length " + std::to_string(n) + " runs past the end of the file (" +
                           std::to_string(bytes.size()) + " bytes, so at most " + std::to_string(bytes.size() - 8) +
                           " bytes of header)");
  }
  if (n < 2) fail(errc::format, what + ": header length " + std::to_string(n) + " is too small for a JSON object");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<std::size_t>(n));  // NOLINT
  const nlohmann::json j = parse_json(text, what + " (header)");
  if (!j.is_object()) {
    fail(errc::format, what + ": header must be a JSON object, found " + json_describe(j));
  }

  st_header h;
  h.data_start = 8 + n;
  const std::uint64_t data_size = bytes.size() - h.data_start;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) fail(errc::format, what + ": __metadata__ must be an object, found " + json_describe(v));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          fail(errc::format, what + ": __metadata__ value of \"" + printable(m.key()) + "\" must be a string, found " +
                                 json_describe(m.value()));
        }
        h.metadata.emplace(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    const std::string tn = "tensor '" + printable(key) + "'";
    if (key.empty()) fail(errc::format, what + ": a tensor has an empty name");
    if (!v.is_object()) fail(errc::format, what + ": " + tn + ": entry must be an object, found " + json_describe(v));
    st_entry e;
    e.name = key;
    // dtype
    auto dt = v.find("dtype");
    if (dt == v.end()) fail(errc::format, what + ": " + tn + ": missing \"dtype\"");
    if (!dt->is_string())
      fail(errc::format, what + ": " + tn + ": \"dtype\" must be a string, found " + json_describe(*dt));
    e.dtype = find_st_dtype(dt->get_ref<const std::string&>());
    if (e.dtype == nullptr) {
      fail(errc::unsupported, what + ": " + tn + ": unknown dtype \"" + printable(dt->get_ref<const std::string&>()) +
                                  "\" (known: F32, F16, BF16, F64, I8..I64, U8..U64, BOOL, F8_*, F6_*, F4, C64)");
    }
    // shape
    auto sh = v.find("shape");
    if (sh == v.end()) fail(errc::format, what + ": " + tn + ": missing \"shape\"");
    if (!sh->is_array())
      fail(errc::format, what + ": " + tn + ": \"shape\" must be an array, found " + json_describe(*sh));
    if (sh->size() > st_max_rank) {
      fail(errc::format,
           what + ": " + tn + ": rank " + std::to_string(sh->size()) + " exceeds " + std::to_string(st_max_rank));
    }
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) {
        fail(errc::format,
             what + ": " + tn + ": shape entries must be non-negative integers, found " + json_describe(d));
      }
      e.shape.push_back(d.get<std::uint64_t>());
    }
    // data_offsets
    auto off = v.find("data_offsets");
    if (off == v.end()) fail(errc::format, what + ": " + tn + ": missing \"data_offsets\"");
    if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned()) {
      fail(errc::format,
           what + ": " + tn + ": \"data_offsets\" must be [begin, end] (non-negative integers), found " + off->dump());
    }
    e.begin = (*off)[0].get<std::uint64_t>();
    e.end = (*off)[1].get<std::uint64_t>();
    if (e.end < e.begin) {
      fail(errc::format, what + ": " + tn + ": data_offsets [" + std::to_string(e.begin) + ", " +
                             std::to_string(e.end) + "] end before begin");
    }
    if (e.end > data_size) {
      fail(errc::format, what + ": " + tn + ": data_offsets [" + std::to_string(e.begin) + ", " +
                             std::to_string(e.end) + "] run past the data section (" + std::to_string(data_size) +
                             " bytes; file truncated?)");
    }
    const auto need = st_nbytes(e.shape, e.dtype->bits);
    if (!need) {
      fail(errc::format, what + ": " + tn + ": shape " + dims_str(e.shape) + " in " + std::string(e.dtype->name) +
                             " has an absurd size (overflows 64 bits or is not a whole number of bytes)");
    }
    if (*need != e.end - e.begin) {
      fail(errc::format, what + ": " + tn + ": shape " + dims_str(e.shape) + " in " + std::string(e.dtype->name) +
                             " needs " + std::to_string(*need) + " bytes, data_offsets give " +
                             std::to_string(e.end - e.begin));
    }
    h.entries.push_back(std::move(e));
  }
  // The tensors must tile the data section: sorted by offset, each starts where the previous ended.
  std::stable_sort(h.entries.begin(), h.entries.end(), [](const st_entry& a, const st_entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  const st_entry* prev = nullptr;
  for (const auto& e : h.entries) {
    if (e.begin < at) {
      fail(errc::format, what + ": tensor '" + printable(e.name) + "' [" + std::to_string(e.begin) + ", " +
                             std::to_string(e.end) + ") overlaps tensor '" + printable(prev->name) + "' [" +
                             std::to_string(prev->begin) + ", " + std::to_string(prev->end) + ")");
    }
    if (e.begin > at) {
      fail(errc::format, what + ": " + std::to_string(e.begin - at) + " unindexed bytes before tensor '" +
                             printable(e.name) + "' at data offset " + std::to_string(at) +
                             " (the format requires the data section to be fully indexed)");
    }
    at = e.end;
    prev = &e;
  }
  if (at != data_size) {
    fail(errc::format, what + ": " + std::to_string(data_size - at) +
                           " trailing bytes after the last tensor (data section is " + std::to_string(data_size) +
                           " bytes, tensors cover " + std::to_string(at) + ")");
  }
  return h;
}

}  // namespace detail
}  // namespace io
SCALPEL_END_NAMESPACE
