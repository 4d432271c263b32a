#pragma once
/// @file
/// @brief The probe suite: enumeration prompts (with rewordings) that make Gemma 4 loop, easy closed-list
/// controls, and a gold list for each so answers are scored, not only checked for loops. Probe files are JSON
/// (schema `scalpel.probes/1`, docs/probes.md); the built-in suite is embedded (`probes_builtin.hpp`).
///
/// ```json
/// { "format": "scalpel.probes/1", "description": "optional",
///   "probes": [ { "id": "noble_gases", "category": "enumeration" | "control",
///                 "description": "optional", "wordings": ["List all of the noble gases.", "..."],
///                 "expected_count": 6,
///                 "gold": { "ordered": false,
///                           "items": ["Helium", {"name": "Neon", "aliases": ["Ne"], "max_occurrences": 1}],
///                           "extras": [{"name": "Oganesson", "aliases": ["Og"]}] },
///                 "notes": "optional" } ] }
/// ```
/// `expected_count` must equal the number of gold items (a guard against data-entry slips). Unknown fields,
/// wrong types, duplicate ids and ambiguous aliases are errors naming the file and the field.

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/list_score.hpp"
#include "scalpel/analysis/probes_builtin.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

inline constexpr std::string_view probes_format = "scalpel.probes/1";

enum class probe_category : std::uint8_t {
  enumeration,  ///< long factual enumeration (loop-prone)
  control,      ///< short closed list every model should get right
};

constexpr std::string_view probe_category_name(probe_category c) noexcept {
  return c == probe_category::control ? "control" : "enumeration";
}

/// One probe: a prompt in several wordings and the gold list its answer is scored against.
struct probe {
  std::string id;
  probe_category category = probe_category::enumeration;
  std::string description;
  std::vector<std::string> wordings;
  std::int64_t expected_count = 0;
  gold_list gold;
  std::string notes;
};

/// A parsed probe file.
struct probe_set {
  std::string source;  ///< file name (or "<built-in>")
  std::string description;
  std::vector<probe> probes;

  /// The probe with this id, or nullptr.
  [[nodiscard]] const probe* find(std::string_view id) const noexcept {
    for (const auto& p : probes) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }
  /// The probe with this id.
  /// @throws scalpel::error (invalid_argument) listing the known ids when there is none.
  [[nodiscard]] const probe& at(std::string_view id) const {
    if (const probe* p = find(id)) return *p;
    std::string known;
    for (const auto& p : probes) {
      if (!known.empty()) known += ", ";
      known += p.id;
    }
    fail(errc::invalid_argument, source + ": no probe '" + std::string(id) + "' (known: " + known + ")");
  }
};

namespace detail {

class probe_parser {
 public:
  explicit probe_parser(std::string source) : source_(std::move(source)) {}

  probe_set parse(std::string_view text) {
    nlohmann::json root;
    try {
      root = nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
      fail(errc::json, source_ + ": not valid JSON: " + e.what());
    }
    expect_object(root, "(root)", {"format", "description", "probes"});
    probe_set set;
    set.source = source_;
    const std::string format = get_string(root, "format", "(root)", true);
    if (format != probes_format)
      fail(errc::json, source_ + ": format: expected \"" + std::string(probes_format) + "\", got \"" + format + "\"");
    set.description = get_string(root, "description", "(root)", false);
    const auto it = root.find("probes");
    if (it == root.end()) fail(errc::json, source_ + ": probes: missing required field");
    if (!it->is_array() || it->empty()) fail(errc::json, source_ + ": probes: expected a non-empty array");
    std::unordered_set<std::string> ids;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string path = "probes[" + std::to_string(i) + "]";
      probe p = parse_probe((*it)[i], path);
      if (!ids.insert(p.id).second)
        fail(errc::invalid_argument, source_ + ": " + path + ".id: duplicate id '" + p.id + "'");
      set.probes.push_back(std::move(p));
    }
    return set;
  }

 private:
  static std::string prefix(const std::string& path) { return path == "(root)" ? std::string() : path + "."; }

  [[noreturn]] void type_error(const std::string& path, std::string_view expected, const nlohmann::json& got) const {
    fail(errc::json, source_ + ": " + path + ": expected " + std::string(expected) + ", got " + got.type_name());
  }

  void expect_object(const nlohmann::json& j, const std::string& path,
                     std::initializer_list<std::string_view> keys) const {
    if (!j.is_object()) type_error(path, "an object", j);
    for (const auto& [k, v] : j.items()) {
      bool known = false;
      for (const auto key : keys) known = known || k == key;
      if (!known) {
        std::string list;
        for (const auto key : keys) {
          if (!list.empty()) list += ", ";
          list += key;
        }
        fail(errc::json, source_ + ": " + prefix(path) + k + ": unknown field (expected one of " + list + ")");
      }
    }
  }

  std::string get_string(const nlohmann::json& obj, const std::string& key, const std::string& path,
                         bool required) const {
    const std::string field = prefix(path) + key;
    const auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) fail(errc::json, source_ + ": " + field + ": missing required field");
      return {};
    }
    if (!it->is_string()) type_error(field, "a string", *it);
    return it->get<std::string>();
  }

  gold_item parse_item(const nlohmann::json& j, const std::string& path) const {
    gold_item item;
    if (j.is_string()) {
      item.name = j.get<std::string>();
    } else {
      expect_object(j, path, {"name", "aliases", "max_occurrences"});
      item.name = get_string(j, "name", path, true);
      if (const auto a = j.find("aliases"); a != j.end()) {
        if (!a->is_array()) type_error(path + ".aliases", "an array of strings", *a);
        for (std::size_t k = 0; k < a->size(); ++k) {
          if (!(*a)[k].is_string()) type_error(path + ".aliases[" + std::to_string(k) + "]", "a string", (*a)[k]);
          item.aliases.push_back((*a)[k].get<std::string>());
        }
      }
      if (const auto m = j.find("max_occurrences"); m != j.end()) {
        if (!m->is_number_integer() || m->get<std::int64_t>() < 1 || m->get<std::int64_t>() > 1000)
          fail(errc::json, source_ + ": " + path + ".max_occurrences: expected an integer in [1, 1000]");
        item.max_occurrences = m->get<std::int32_t>();
      }
    }
    if (detail::normalise_key(item.name).empty())
      fail(errc::json,
           source_ + ": " + path + ".name: expected a name with letters or digits, got \"" + item.name + "\"");
    return item;
  }

  std::vector<gold_item> parse_items(const nlohmann::json& gold, const std::string& key, const std::string& path,
                                     bool required) const {
    std::vector<gold_item> out;
    const auto it = gold.find(key);
    if (it == gold.end()) {
      if (required) fail(errc::json, source_ + ": " + path + "." + key + ": missing required field");
      return out;
    }
    if (!it->is_array() || (required && it->empty()))
      type_error(path + "." + key, required ? "a non-empty array" : "an array", *it);
    for (std::size_t k = 0; k < it->size(); ++k) {
      out.push_back(parse_item((*it)[k], path + "." + key + "[" + std::to_string(k) + "]"));
    }
    return out;
  }

  probe parse_probe(const nlohmann::json& j, const std::string& path) const {
    expect_object(j, path, {"id", "category", "description", "wordings", "expected_count", "gold", "notes"});
    probe p;
    p.id = get_string(j, "id", path, true);
    if (p.id.empty() || p.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string::npos)
      fail(errc::json, source_ + ": " + path + ".id: expected [a-z0-9_.-]+, got \"" + p.id + "\"");
    const std::string where = path + " ('" + p.id + "')";
    const std::string cat = get_string(j, "category", path, true);
    if (cat == "enumeration") {
      p.category = probe_category::enumeration;
    } else if (cat == "control") {
      p.category = probe_category::control;
    } else {
      fail(errc::json,
           source_ + ": " + where + ".category: expected \"enumeration\" or \"control\", got \"" + cat + "\"");
    }
    p.description = get_string(j, "description", path, false);
    p.notes = get_string(j, "notes", path, false);
    const auto w = j.find("wordings");
    if (w == j.end()) fail(errc::json, source_ + ": " + where + ".wordings: missing required field");
    if (!w->is_array() || w->empty()) type_error(where + ".wordings", "a non-empty array of strings", *w);
    for (std::size_t k = 0; k < w->size(); ++k) {
      const auto& s = (*w)[k];
      if (!s.is_string() || detail::is_blank(s.get_ref<const std::string&>()))
        fail(errc::json, source_ + ": " + where + ".wordings[" + std::to_string(k) + "]: expected a non-empty string");
      p.wordings.push_back(s.get<std::string>());
    }
    const auto g = j.find("gold");
    if (g == j.end()) fail(errc::json, source_ + ": " + where + ".gold: missing required field");
    expect_object(*g, where + ".gold", {"ordered", "items", "extras"});
    if (const auto o = g->find("ordered"); o != g->end()) {
      if (!o->is_boolean()) type_error(where + ".gold.ordered", "a boolean", *o);
      p.gold.ordered = o->get<bool>();
    }
    p.gold.items = parse_items(*g, "items", where + ".gold", true);
    p.gold.extras = parse_items(*g, "extras", where + ".gold", false);
    const auto c = j.find("expected_count");
    if (c == j.end()) fail(errc::json, source_ + ": " + where + ".expected_count: missing required field");
    if (!c->is_number_integer()) type_error(where + ".expected_count", "an integer", *c);
    p.expected_count = c->get<std::int64_t>();
    if (p.expected_count != static_cast<std::int64_t>(p.gold.items.size()))
      fail(errc::invalid_argument, source_ + ": " + where + ".expected_count: " + std::to_string(p.expected_count) +
                                       " but gold.items has " + std::to_string(p.gold.items.size()) + " entries");
    try {
      const gold_index index(p.gold);  // rejects ambiguous names / aliases
      (void)index;
    } catch (const error& e) {
      fail(errc::invalid_argument, source_ + ": " + where + ".gold: " + e.what());
    }
    return p;
  }

  std::string source_;
};

}  // namespace detail

/// Parses a probe file's text; `source` names it in error messages.
/// @throws scalpel::error (json / invalid_argument) naming the file and field at fault.
inline probe_set parse_probes(std::string_view json_text, std::string_view source = "<probes>") {
  return detail::probe_parser(std::string(source)).parse(json_text);
}

/// Reads and parses a probe file.
/// @throws scalpel::error (io) when the file cannot be read; see `parse_probes`.
inline probe_set load_probes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(errc::io, path + ": cannot open probe file");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(errc::io, path + ": read error");
  return parse_probes(ss.str(), path);
}

/// The built-in suite (parsed once).
inline const probe_set& builtin_probes() {
  static const probe_set set = parse_probes(builtin_probes_json(), "<built-in>");
  return set;
}

/// JSON of one probe (the file schema).
inline nlohmann::json to_json(const probe& p) {
  auto items = [](const std::vector<gold_item>& list) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& it : list) {
      if (it.aliases.empty() && it.max_occurrences == 1) {
        a.push_back(it.name);
      } else {
        nlohmann::json o{{"name", it.name}};
        if (!it.aliases.empty()) o["aliases"] = it.aliases;
        if (it.max_occurrences != 1) o["max_occurrences"] = it.max_occurrences;
        a.push_back(std::move(o));
      }
    }
    return a;
  };
  nlohmann::json gold{{"ordered", p.gold.ordered}, {"items", items(p.gold.items)}};
  if (!p.gold.extras.empty()) gold["extras"] = items(p.gold.extras);
  nlohmann::json j{{"id", p.id},
                   {"category", probe_category_name(p.category)},
                   {"wordings", p.wordings},
                   {"expected_count", p.expected_count},
                   {"gold", std::move(gold)}};
  if (!p.description.empty()) j["description"] = p.description;
  if (!p.notes.empty()) j["notes"] = p.notes;
  return j;
}

/// JSON of a probe set (the file schema).
inline nlohmann::json to_json(const probe_set& s) {
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& p : s.probes) probes.push_back(to_json(p));
  nlohmann::json j{{"format", probes_format}, {"probes", std::move(probes)}};
  if (!s.description.empty()) j["description"] = s.description;
  return j;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
