#pragma once
/// @file
/// @brief GGUF metadata: `gguf_value` (a typed scalar, string or array, arrays possibly nested) and
/// `gguf_metadata`, an insertion-ordered key/value store with typed accessors whose errors name the key,
/// the expected and the actual type.
///
/// The C++ type of a value fixes its GGUF type: `std::uint8_t` u8, `std::int8_t` i8, `std::uint16_t` u16,
/// `std::int16_t` i16, `std::uint32_t` u32, `std::int32_t` i32, `float` f32, `bool` bool, `std::string`
/// string, `gguf_array` array, `std::uint64_t` u64, `std::int64_t` i64, `double` f64. The variant index is
/// the GGUF type id, so a value written back keeps its exact type.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

/// GGUF metadata value types (ids as stored in the file).
enum class gguf_type : std::uint32_t { u8, i8, u16, i16, u32, i32, f32, boolean, string, array, u64, i64, f64 };

inline constexpr std::uint32_t gguf_type_count = 13;

constexpr std::string_view gguf_type_name(gguf_type t) noexcept {
  constexpr std::string_view names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<std::uint32_t>(t);
  return i < gguf_type_count ? names[i] : std::string_view("unknown");
}

class gguf_array;

/// Storage of an array: one std::vector per element type; the variant index is the element's GGUF type.
using gguf_array_items =
    std::variant<std::vector<std::uint8_t>, std::vector<std::int8_t>, std::vector<std::uint16_t>,
                 std::vector<std::int16_t>, std::vector<std::uint32_t>, std::vector<std::int32_t>, std::vector<float>,
                 std::vector<bool>, std::vector<std::string>, std::vector<gguf_array>, std::vector<std::uint64_t>,
                 std::vector<std::int64_t>, std::vector<double>>;

/// A GGUF array: elements of one type (arrays may nest).
class gguf_array {
 public:
  gguf_array() = default;
  template <class T>
  explicit gguf_array(std::vector<T> v) : items_(std::move(v)) {}

  [[nodiscard]] gguf_type element_type() const noexcept { return static_cast<gguf_type>(items_.index()); }
  [[nodiscard]] std::size_t size() const noexcept {
    return std::visit([](const auto& v) { return v.size(); }, items_);
  }
  [[nodiscard]] const gguf_array_items& items() const noexcept { return items_; }
  [[nodiscard]] gguf_array_items& items() noexcept { return items_; }
  /// The elements as `std::vector<T>`; nullptr if the element type is not T.
  template <class T>
  [[nodiscard]] const std::vector<T>* get_if() const noexcept {
    return std::get_if<std::vector<T>>(&items_);
  }

  friend bool operator==(const gguf_array& a, const gguf_array& b) { return a.items_ == b.items_; }

 private:
  gguf_array_items items_;
};

/// Storage of a value; the variant index is the GGUF type id.
using gguf_value_storage =
    std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t, std::int32_t, float, bool,
                 std::string, gguf_array, std::uint64_t, std::int64_t, double>;

/// C++ types that are GGUF value types.
template <class T>
concept gguf_scalar = std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int8_t> ||
    std::is_same_v<T, std::uint16_t> || std::is_same_v<T, std::int16_t> || std::is_same_v<T, std::uint32_t> ||
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, float> || std::is_same_v<T, bool> ||
    std::is_same_v<T, std::uint64_t> || std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>;
template <class T>
concept gguf_element = gguf_scalar<T> || std::is_same_v<T, std::string> || std::is_same_v<T, gguf_array>;

namespace detail {
template <class T, class V>
struct variant_index_of;
template <class T, class... Ts>
struct variant_index_of<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
      if (same[i]) return i;
    return sizeof...(Ts);
  }();
};
}  // namespace detail

/// Integer types accepted by the converting accessors (`get_integer`, `get_integer_array`).
template <class T>
concept gguf_integer = std::is_integral_v<T> && !std::is_same_v<T, bool>;

/// The GGUF type of a C++ type.
template <gguf_element T>
constexpr gguf_type gguf_type_of() noexcept {
  return static_cast<gguf_type>(detail::variant_index_of<T, gguf_value_storage>::value);
}

/// One metadata value.
class gguf_value {
 public:
  gguf_value() = default;
  template <gguf_element T>
  gguf_value(T v) : v_(std::move(v)) {}                   // NOLINT(google-explicit-constructor): values read naturally
  gguf_value(const char* s) : v_(std::string(s)) {}       // NOLINT(google-explicit-constructor)
  gguf_value(std::string_view s) : v_(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  template <gguf_element T>
  gguf_value(std::vector<T> v) : v_(gguf_array(std::move(v))) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] gguf_type type() const noexcept { return static_cast<gguf_type>(v_.index()); }
  [[nodiscard]] const gguf_value_storage& storage() const noexcept { return v_; }
  /// Pointer to the value as T, or nullptr when it has another type.
  template <gguf_element T>
  [[nodiscard]] const T* get_if() const noexcept {
    return std::get_if<T>(&v_);
  }
  /// "u32", "array[i32; 35]", "array[array[u8; 2]; 3]".
  [[nodiscard]] std::string type_str() const {
    if (const auto* a = get_if<gguf_array>()) return array_type_str(*a);
    return std::string(gguf_type_name(type()));
  }
  /// A short rendering of the value for messages.
  [[nodiscard]] std::string value_str() const {
    return std::visit(
        [](const auto& x) -> std::string {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            return "\"" + (x.size() > 60 ? x.substr(0, 60) + "..." : x) + "\"";
          } else if constexpr (std::is_same_v<T, gguf_array>) {
            return array_type_str(x);
          } else if constexpr (std::is_same_v<T, bool>) {
            return x ? "true" : "false";
          } else {
            return std::to_string(x);
          }
        },
        v_);
  }

  friend bool operator==(const gguf_value& a, const gguf_value& b) { return a.v_ == b.v_; }

 private:
  static std::string array_type_str(const gguf_array& a) {
    std::string inner;
    if (const auto* n = a.get_if<gguf_array>(); n != nullptr && !n->empty()) {
      inner = array_type_str((*n)[0]);
    } else {
      inner = std::string(gguf_type_name(a.element_type()));
    }
    return "array[" + inner + "; " + std::to_string(a.size()) + "]";
  }

  gguf_value_storage v_;
};

/// Insertion-ordered GGUF metadata with typed access. Errors are `errc::format` and name `source()` (the
/// file), the key, the expected and the actual type.
class gguf_metadata {
 public:
  gguf_metadata() = default;
  explicit gguf_metadata(std::string source) : source_(std::move(source)) {}

  /// Name used in error messages (the file path).
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  /// Entries in insertion (file) order.
  [[nodiscard]] const std::vector<std::pair<std::string, gguf_value>>& entries() const noexcept { return entries_; }
  [[nodiscard]] auto begin() const noexcept { return entries_.begin(); }
  [[nodiscard]] auto end() const noexcept { return entries_.end(); }

  [[nodiscard]] const gguf_value* find(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  [[nodiscard]] bool contains(std::string_view key) const { return index_.find(key) != index_.end(); }
  /// The value of `key`. @throws errc::format naming the key when absent.
  [[nodiscard]] const gguf_value& at(std::string_view key) const {
    const gguf_value* v = find(key);
    if (v == nullptr) fail(errc::format, where() + "metadata key '" + std::string(key) + "' is missing");
    return *v;
  }

  /// The value of `key` as exactly T (no conversion). @throws errc::format (missing, other type).
  template <gguf_element T>
  [[nodiscard]] const T& get(std::string_view key) const {
    const gguf_value& v = at(key);
    const T* p = v.get_if<T>();
    if (p == nullptr) type_error(key, std::string(gguf_type_name(gguf_type_of<T>())), v);
    return *p;
  }
  /// The value of `key` as T if present (exact type), else `fallback`.
  template <gguf_element T>
  [[nodiscard]] T get_or(std::string_view key, T fallback) const {
    return contains(key) ? get<T>(key) : fallback;
  }
  [[nodiscard]] const std::string& get_string(std::string_view key) const { return get<std::string>(key); }
  [[nodiscard]] bool get_bool(std::string_view key) const { return get<bool>(key); }

  /// An integer value of any GGUF integer type converted to T, range-checked.
  template <gguf_integer T>
  [[nodiscard]] T get_integer(std::string_view key) const {
    const gguf_value& v = at(key);
    T out{};
    if (!integer_to(v.storage(), out)) type_error(key, "an integer that fits " + type_label<T>(), v);
    return out;
  }
  /// A f32 or f64 value as double.
  [[nodiscard]] double get_float(std::string_view key) const {
    const gguf_value& v = at(key);
    if (const auto* f = v.get_if<float>()) return static_cast<double>(*f);
    if (const auto* d = v.get_if<double>()) return *d;
    type_error(key, "f32 or f64", v);
  }

  /// The elements of an array value whose element type is exactly T.
  template <gguf_element T>
  [[nodiscard]] const std::vector<T>& get_array(std::string_view key) const {
    const gguf_value& v = at(key);
    const gguf_array* a = v.get_if<gguf_array>();
    const std::vector<T>* p = a != nullptr ? a->get_if<T>() : nullptr;
    if (p == nullptr) type_error(key, "array[" + std::string(gguf_type_name(gguf_type_of<T>())) + "]", v);
    return *p;
  }
  /// An array of any integer element type converted to T (range-checked).
  template <gguf_integer T>
  [[nodiscard]] std::vector<T> get_integer_array(std::string_view key) const {
    const gguf_value& v = at(key);
    const gguf_array* a = v.get_if<gguf_array>();
    std::vector<T> out;
    const bool ok = a != nullptr && std::visit(
                                        [&](const auto& vec) {
                                          using E = typename std::decay_t<decltype(vec)>::value_type;
                                          if constexpr (std::is_integral_v<E> && !std::is_same_v<E, bool>) {
                                            out.reserve(vec.size());
                                            for (E e : vec) {
                                              T t{};
                                              if (!fits(e, t)) return false;
                                              out.push_back(t);
                                            }
                                            return true;
                                          } else {
                                            return false;
                                          }
                                        },
                                        a->items());
    if (!ok) type_error(key, "an integer array whose values fit " + type_label<T>(), v);
    return out;
  }

  /// Set `key` (kept at its position when it exists, appended otherwise).
  void set(std::string key, gguf_value value) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      entries_[it->second].second = std::move(value);
      return;
    }
    index_.emplace(key, entries_.size());
    entries_.emplace_back(std::move(key), std::move(value));
  }
  /// Remove `key`; returns whether it was present.
  bool erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
    index_.clear();
    for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
    return true;
  }

  /// Same keys, order and values (the source name is not compared).
  friend bool operator==(const gguf_metadata& a, const gguf_metadata& b) { return a.entries_ == b.entries_; }

 private:
  [[nodiscard]] std::string where() const { return source_.empty() ? std::string() : source_ + ": "; }
  [[noreturn]] void type_error(std::string_view key, const std::string& expected, const gguf_value& v) const {
    fail(errc::format, where() + "metadata key '" + std::string(key) + "': expected " + expected + ", found " +
                           v.type_str() + " (" + v.value_str() + ")");
  }
  template <class T>
  static std::string type_label() {
    return (std::is_signed_v<T> ? "int" : "uint") + std::to_string(8 * sizeof(T));
  }
  // E may be int8_t: converting it to a wider integer is the point (range checked), not a char misuse.
  // NOLINTBEGIN(bugprone-signed-char-misuse)
  template <class E, class T>
  static bool fits(E e, T& out) {
    if constexpr (std::is_signed_v<E>) {
      if (e < 0) {
        if constexpr (!std::is_signed_v<T>) {
          return false;
        } else {
          if (static_cast<std::int64_t>(e) < static_cast<std::int64_t>(std::numeric_limits<T>::min())) return false;
          out = static_cast<T>(e);
          return true;
        }
      }
    }
    if (static_cast<std::uint64_t>(e) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(e);
    return true;
  }
  // NOLINTEND(bugprone-signed-char-misuse)
  template <class T>
  static bool integer_to(const gguf_value_storage& s, T& out) {
    return std::visit(
        [&](const auto& x) {
          using E = std::decay_t<decltype(x)>;
          if constexpr (std::is_integral_v<E> && !std::is_same_v<E, bool>) {
            return fits(x, out);
          } else {
            return false;
          }
        },
        s);
  }

  std::string source_;
  std::vector<std::pair<std::string, gguf_value>> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace io
SCALPEL_END_NAMESPACE
