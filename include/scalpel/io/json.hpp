#pragma once
/// @file
/// @brief Strict JSON input for checkpoint files (config.json, generation_config.json, safetensors index
/// and headers) on top of nlohmann/json:
/// - `parse_json` / `read_json_file`: well-formed UTF-8 JSON only, duplicate object keys rejected (nlohmann
///   would silently keep the last), nesting depth capped; errors name the file, line, column and byte.
/// - `json_field`: typed access that names the field path on every error
///   (`config.json: field 'text_config.num_hidden_layers': expected an unsigned integer, found string "10"`).
///
/// All errors are `scalpel::error` with `errc::json` (or `errc::io` when the file cannot be read).

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/detail/bytes.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

/// Deepest object/array nesting accepted (checkpoint JSON files nest 3-4 levels).
inline constexpr int json_max_depth = 128;
/// Largest JSON file `read_json_file` reads (tokenizer.json of a 262k vocabulary is ~35 MB).
inline constexpr std::size_t json_max_file_bytes = std::size_t{1} << 30;

namespace detail {
/// "line L, column C (byte B)" of byte offset `at` in `text`.
inline std::string json_position(std::string_view text, std::size_t at) {
  if (at > text.size()) at = text.size();
  std::size_t line = 1;
  std::size_t col = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col) + " (byte " + std::to_string(at) + ")";
}

/// Short description of a JSON value's type and (for scalars) its value, for messages.
inline std::string json_describe(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      return "string \"" + printable(s) + "\"";
    }
    case nlohmann::json::value_t::boolean:
      return std::string("boolean ") + (j.get<bool>() ? "true" : "false");
    case nlohmann::json::value_t::number_integer:
      return "integer " + std::to_string(j.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return "integer " + std::to_string(j.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float:
      return "number " + j.dump();
    default:
      return "an unsupported value";
  }
}
}  // namespace detail

/// Parse JSON text strictly. `source` names the text in errors (a file path).
/// @throws scalpel::error `errc::json` on invalid UTF-8, a syntax error, a duplicate key in one object or
/// nesting deeper than `json_max_depth`; the message names `source` and the line/column/byte.
inline nlohmann::json parse_json(std::string_view text, const std::string& source) {
  if (auto bad = detail::utf8_error_offset(text)) {
    fail(errc::json, source + ": not valid UTF-8 at " + detail::json_position(text, *bad));
  }
  // One set of keys per open object, to reject duplicates (nlohmann would silently keep the last one).
  std::vector<std::set<std::string, std::less<>>> open_objects;
  std::string dup_key;
  int too_deep = 0;
  auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) -> bool {
    using ev_t = nlohmann::json::parse_event_t;
    if (depth > json_max_depth) {
      too_deep = depth;
      throw std::length_error("too deep");  // caught below; unwinds the parser cleanly
    }
    if (ev == ev_t::object_start) {
      open_objects.emplace_back();
    } else if (ev == ev_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (ev == ev_t::key && !open_objects.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(k).second) {
        dup_key = k;
        throw std::length_error("duplicate");
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending token.
    const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    std::string msg = e.what();
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);  // drop nlohmann's id
    fail(errc::json, source + ": malformed JSON at " + detail::json_position(text, at) + ": " + msg);
  } catch (const std::length_error&) {
    if (!dup_key.empty()) {
      fail(errc::json, source + ": duplicate key \"" + detail::printable(dup_key) + "\" in one object");
    }
    fail(errc::json, source + ": JSON nesting deeper than " + std::to_string(json_max_depth) + " levels");
  } catch (const nlohmann::json::exception& e) {
    fail(errc::json, source + ": invalid JSON: " + e.what());
  }
}

/// Read and strictly parse a JSON file. @throws scalpel::error `errc::io` if it cannot be read,
/// `errc::json` as `parse_json`.
inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(errc::io, "cannot open '" + path + "': " + std::strerror(errno));
  f.seekg(0, std::ios::end);
  const std::streamoff end = f.tellg();
  if (end < 0) fail(errc::io, "cannot read '" + path + "'");
  if (static_cast<std::uint64_t>(end) > json_max_file_bytes) {
    fail(errc::json, path + ": " + std::to_string(end) + " bytes is larger than the " +
                         std::to_string(json_max_file_bytes) + "-byte limit for JSON files");
  }
  f.seekg(0, std::ios::beg);
  std::string text(static_cast<std::size_t>(end), '\0');
  if (!f.read(text.data(), end)) fail(errc::io, "cannot read '" + path + "'");
  return parse_json(text, path);
}

/// A JSON value plus where it came from (file and field path), for typed access with precise errors.
/// Cheap to copy; refers to the `nlohmann::json` it was made from, which must outlive it.
class json_field {
 public:
  /// The root of a document read from `source` (a file name).
  json_field(const nlohmann::json& value, std::string source) : j_(&value), source_(std::move(source)) {}
  json_field(const nlohmann::json& value, std::string source, std::string path)
      : j_(&value), source_(std::move(source)), path_(std::move(path)) {}

  [[nodiscard]] const nlohmann::json& raw() const noexcept { return *j_; }
  /// Dotted path of this field ("text_config.layer_types[3]"); empty for the root.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

  [[nodiscard]] bool is_null() const noexcept { return j_->is_null(); }
  [[nodiscard]] bool is_object() const noexcept { return j_->is_object(); }
  [[nodiscard]] bool is_array() const noexcept { return j_->is_array(); }
  [[nodiscard]] bool is_string() const noexcept { return j_->is_string(); }
  [[nodiscard]] bool is_number() const noexcept { return j_->is_number(); }

  /// True if this is an object holding `key` with a non-null value.
  [[nodiscard]] bool has(std::string_view key) const {
    if (!j_->is_object()) return false;
    auto it = j_->find(key);
    return it != j_->end() && !it->is_null();
  }

  /// The member `key`, or nullopt when absent or null. @throws errc::json if this is not an object.
  [[nodiscard]] std::optional<json_field> find(std::string_view key) const {
    require_object();
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null()) return std::nullopt;
    return json_field(*it, source_, child_path(key));
  }

  /// The member `key`. @throws errc::json naming the path if this is not an object or `key` is missing
  /// (or null).
  [[nodiscard]] json_field operator[](std::string_view key) const {
    auto f = find(key);
    if (!f) fail(errc::json, where(child_path(key)) + "missing required field");
    return *f;
  }

  /// Number of elements (array) or members (object). @throws errc::json otherwise.
  [[nodiscard]] std::size_t size() const {
    if (!j_->is_array() && !j_->is_object()) type_error("an array or object");
    return j_->size();
  }
  /// Element `i` of an array. @throws errc::json if not an array or `i` is out of range.
  [[nodiscard]] json_field at(std::size_t i) const {
    if (!j_->is_array()) type_error("an array");
    if (i >= j_->size()) {
      fail(errc::json, where(path_) + "index " + std::to_string(i) + " is out of range (array of " +
                           std::to_string(j_->size()) + ")");
    }
    return json_field((*j_)[i], source_, path_ + "[" + std::to_string(i) + "]");
  }
  /// Elements of an array, each with its path.
  [[nodiscard]] std::vector<json_field> elements() const {
    if (!j_->is_array()) type_error("an array");
    std::vector<json_field> out;
    out.reserve(j_->size());
    for (std::size_t i = 0; i < j_->size(); ++i) out.push_back(at(i));
    return out;
  }
  /// Members of an object as (key, field), in sorted key order (nlohmann::json keeps keys sorted).
  [[nodiscard]] std::vector<std::pair<std::string, json_field>> members() const {
    require_object();
    std::vector<std::pair<std::string, json_field>> out;
    for (auto it = j_->begin(); it != j_->end(); ++it)
      out.emplace_back(it.key(), json_field(*it, source_, child_path(it.key())));
    return out;
  }

  /// The value as `T`: `bool`, an integer type (range-checked; floats only if exactly integral),
  /// `float`/`double` (any number), `std::string`, or `std::vector<U>` of those.
  /// @throws errc::json naming the path, the expected type and the value found.
  template <class T>
  [[nodiscard]] T get() const {
    if constexpr (std::is_same_v<T, bool>) {
      if (!j_->is_boolean()) type_error("a boolean");
      return j_->get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      return get_integer<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!j_->is_number()) type_error("a number");
      const double d = j_->get<double>();
      if constexpr (std::is_same_v<T, float>) {
        if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
          fail(errc::json, where(path_) + "value " + j_->dump() + " does not fit a 32-bit float");
        }
      }
      return static_cast<T>(d);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!j_->is_string()) type_error("a string");
      return j_->get<std::string>();
    } else {
      static_assert(is_vector<T>::value, "json_field::get<T>: unsupported T");
      using U = typename T::value_type;
      if (!j_->is_array()) type_error("an array");
      T out;
      out.reserve(j_->size());
      for (std::size_t i = 0; i < j_->size(); ++i) out.push_back(at(i).template get<U>());
      return out;
    }
  }

  /// `(*this)[key].get<T>()`.
  template <class T>
  [[nodiscard]] T value(std::string_view key) const {
    return (*this)[key].template get<T>();
  }
  /// The member `key` as `T`, or `fallback` when absent or null (a present value of the wrong type is
  /// still an error).
  template <class T>
  [[nodiscard]] T value_or(std::string_view key, T fallback) const {
    auto f = find(key);
    return f ? f->template get<T>() : fallback;
  }

  /// Fail with `errc::json` naming this field: "<source>: field '<path>': <message>".
  [[noreturn]] void fail_here(const std::string& message) const { fail(errc::json, where(path_) + message); }

 private:
  template <class T>
  struct is_vector : std::false_type {};
  template <class U, class A>
  struct is_vector<std::vector<U, A>> : std::true_type {};

  [[nodiscard]] std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  [[nodiscard]] std::string where(const std::string& path) const {
    return path.empty() ? source_ + ": " : source_ + ": field '" + path + "': ";
  }
  void require_object() const {
    if (!j_->is_object()) type_error("an object");
  }
  [[noreturn]] void type_error(const char* expected) const {
    fail(errc::json, where(path_) + "expected " + expected + ", found " + detail::json_describe(*j_));
  }

  template <class T>
  [[nodiscard]] T get_integer() const {
    constexpr bool is_signed = std::is_signed_v<T>;
    const char* expected = is_signed ? "an integer" : "a non-negative integer";
    if (j_->is_number_unsigned()) {
      const auto v = j_->get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) range_error();
      return static_cast<T>(v);
    }
    if (j_->is_number_integer()) {
      const auto v = j_->get<std::int64_t>();
      if constexpr (!is_signed) {
        if (v < 0) type_error(expected);
        if (static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) range_error();
      } else {
        if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
            v > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
          range_error();
      }
      return static_cast<T>(v);
    }
    if (j_->is_number_float()) {
      const double d = j_->get<double>();
      // Python writes some integer fields as 1000000.0; accept exactly integral values only.
      if (!std::isfinite(d) || std::trunc(d) != d) type_error(expected);
      if (d < static_cast<double>(std::numeric_limits<T>::min()) ||
          d >= std::ldexp(1.0, std::numeric_limits<T>::digits))
        range_error();
      return static_cast<T>(d);
    }
    type_error(expected);
  }
  [[noreturn]] void range_error() const { fail(errc::json, where(path_) + "value " + j_->dump() + " is out of range"); }

  const nlohmann::json* j_;
  std::string source_;
  std::string path_;
};

}  // namespace io
SCALPEL_END_NAMESPACE
