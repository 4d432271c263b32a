#pragma once
/// @file
/// @brief `edit::plan`: an edit plan built at run time (from `scalpel.edit-plan/1` JSON, see
/// shared/docs/contracts.md) or from a compile-time `policy_set` — the same plan either way — and its
/// validation against a model's geometry (out-of-range layers / neurons / experts, silent no-ops).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/edit/policies.hpp"
#include "scalpel/model/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace edit {

using any_edit = std::variant<scale, negate, strip, expert_mask, expert_silence>;

inline constexpr std::string_view plan_format = "scalpel.edit-plan/1";

/// A float as the double with the shortest decimal form that reads back as the same float (-0.8f -> -0.8),
/// so plans written from floats stay readable.
inline double shortest_double(float f) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), f);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

/// The op name of an edit as written in plans ("scale", "negate", "strip", "expert_mask").
inline std::string_view op_name(const any_edit& e) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::op; }, e);
}
inline std::size_t layer_of(const any_edit& e) {
  return std::visit([](const auto& x) { return x.layer; }, e);
}

struct plan {
  std::string base_model;                                ///< base.model (e.g. "google/gemma-4-E2B-it"); may be empty
  std::string base_revision;                             ///< base.revision (optional pin)
  nlohmann::json base_extra = nlohmann::json::object();  ///< other base fields scalpel writes (format, files, sha256)
  std::vector<any_edit> edits;

  template <edit_policy... Es>
  static plan from(const policy_set<Es...>& set) {
    plan p;
    set.for_each([&](const auto& e) { p.edits.emplace_back(e); });
    return p;
  }
  void add(any_edit e) { edits.push_back(std::move(e)); }
  [[nodiscard]] bool empty() const noexcept { return edits.empty(); }
  [[nodiscard]] bool has_runtime_only() const {
    return std::any_of(edits.begin(), edits.end(),
                       [](const any_edit& e) { return std::holds_alternative<expert_mask>(e); });
  }

  /// Serialize to `scalpel.edit-plan/1` JSON.
  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json base = base_extra;
    if (!base_model.empty()) base["model"] = base_model;
    if (!base_revision.empty()) base["revision"] = base_revision;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : edits) {
      std::visit(
          [&](const auto& x) {
            using E = std::decay_t<decltype(x)>;
            nlohmann::json j = {{"layer", x.layer}};
            if constexpr (std::is_same_v<E, expert_mask> || std::is_same_v<E, expert_silence>) {
              j["op"] = "expert_mask";
              j["experts"] = x.experts;
              j["mode"] = std::is_same_v<E, expert_mask> ? "route" : "silence";
            } else {
              j["op"] = std::string(E::op);
              j["neurons"] = x.neurons;
              if constexpr (std::is_same_v<E, scale>) j["factor"] = shortest_double(x.factor);
            }
            list.push_back(std::move(j));
          },
          e);
    }
    return {{"format", plan_format}, {"base", base}, {"edits", list}};
  }

  /// Parse `scalpel.edit-plan/1` JSON. Unknown fields, wrong types and missing fields are errors that name
  /// the JSON path (`source: edits[2].factor: ...`).
  static plan from_json(const nlohmann::json& j, const std::string& source = "plan") {
    auto bad = [&](const std::string& path, const std::string& what) -> void {
      fail(errc::plan, source + ": " + path + ": " + what);
    };
    if (!j.is_object()) bad("(root)", "expected a JSON object");
    for (const auto& [k, v] : j.items())
      if (k != "format" && k != "base" && k != "edits") bad(k, "unknown field");
    if (!j.contains("format") || !j["format"].is_string() || j["format"].get<std::string>() != plan_format)
      bad("format", std::string("expected \"") + std::string(plan_format) + "\"" +
                        (j.contains("format") ? ", found " + j["format"].dump() : std::string(" (missing)")));
    plan p;
    if (j.contains("base")) {
      const auto& b = j["base"];
      if (!b.is_object()) bad("base", "expected an object");
      for (const auto& [k, v] : b.items()) {
        if (k == "model" || k == "revision") {
          if (!v.is_string()) bad("base." + k, "expected a string, found " + v.dump());
          (k == "model" ? p.base_model : p.base_revision) = v.get<std::string>();
        } else {
          p.base_extra[k] = v;
        }
      }
    }
    if (!j.contains("edits") || !j["edits"].is_array()) bad("edits", "expected an array of edits");
    const auto& list = j["edits"];
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = "edits[" + std::to_string(i) + "]";
      const auto& e = list[i];
      if (!e.is_object()) bad(at, "expected an object");
      if (!e.contains("op") || !e["op"].is_string()) bad(at + ".op", "missing or not a string");
      const std::string op = e["op"].get<std::string>();
      auto uint_field = [&](const char* key) -> std::size_t {
        if (!e.contains(key)) bad(at + "." + key, "missing");
        const auto& v = e[key];
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
          bad(at + "." + key, "expected a non-negative integer, found " + v.dump());
        return static_cast<std::size_t>(v.get<std::int64_t>());
      };
      auto uint_list = [&](const char* key) {
        std::vector<std::size_t> out;
        if (!e.contains(key)) bad(at + "." + key, "missing");
        const auto& v = e[key];
        if (!v.is_array()) bad(at + "." + key, "expected an array of non-negative integers, found " + v.dump());
        for (std::size_t k = 0; k < v.size(); ++k) {
          if (!v[k].is_number_integer() || v[k].get<std::int64_t>() < 0)
            bad(at + "." + key + "[" + std::to_string(k) + "]",
                "expected a non-negative integer, found " + v[k].dump());
          out.push_back(static_cast<std::size_t>(v[k].get<std::int64_t>()));
        }
        return out;
      };
      auto allow = [&](std::initializer_list<const char*> keys) {
        for (const auto& [k, v] : e.items()) {
          bool ok = false;
          for (const char* a : keys) ok = ok || k == a;
          if (!ok) bad(at + "." + k, "unknown field for op '" + op + "'");
        }
      };
      if (op == "scale") {
        allow({"op", "layer", "neurons", "factor"});
        if (!e.contains("factor") || !e["factor"].is_number()) bad(at + ".factor", "missing or not a number");
        const double f = e["factor"].get<double>();
        if (!std::isfinite(f)) bad(at + ".factor", "must be finite");
        p.edits.emplace_back(scale{uint_field("layer"), uint_list("neurons"), static_cast<float>(f)});
      } else if (op == "negate") {
        allow({"op", "layer", "neurons"});
        p.edits.emplace_back(negate{uint_field("layer"), uint_list("neurons")});
      } else if (op == "strip") {
        allow({"op", "layer", "neurons"});
        p.edits.emplace_back(strip{uint_field("layer"), uint_list("neurons")});
      } else if (op == "expert_mask") {
        allow({"op", "layer", "experts", "mode"});
        std::string mode = "route";
        if (e.contains("mode")) {
          if (!e["mode"].is_string()) bad(at + ".mode", "expected \"route\" or \"silence\"");
          mode = e["mode"].get<std::string>();
        }
        if (mode == "route") {
          p.edits.emplace_back(expert_mask{uint_field("layer"), uint_list("experts")});
        } else if (mode == "silence") {
          p.edits.emplace_back(expert_silence{uint_field("layer"), uint_list("experts")});
        } else {
          bad(at + ".mode", "expected \"route\" or \"silence\", found \"" + mode + "\"");
        }
      } else {
        bad(at + ".op", "unknown op '" + op + "' (expected scale, negate, strip or expert_mask)");
      }
    }
    return p;
  }

  static plan read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(errc::io, "cannot open plan '" + path + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
      fail(errc::json, "plan '" + path + "' is not valid JSON: " + e.what());
    }
    return from_json(j, path);
  }
};

/// Check a plan against a model's geometry. Throws `errc::plan` (out of range, duplicates, expert edits on a
/// dense model, too many experts excluded) or `errc::ineffective_edit` (an edit that changes nothing), with the
/// edit's index and the bound in the message.
inline void validate(const plan& p, const model::gemma4_config& c) {
  std::vector<std::set<std::size_t>> excluded(c.num_layers);
  for (std::size_t i = 0; i < p.edits.size(); ++i) {
    const auto& e = p.edits[i];
    const std::string at = "edit " + std::to_string(i) + " (" + std::string(op_name(e)) + ")";
    const std::size_t layer = layer_of(e);
    if (layer >= c.num_layers)
      fail(errc::plan, at + ": layer " + std::to_string(layer) + " is out of range (the model has " +
                           std::to_string(c.num_layers) + " layers: 0.." + std::to_string(c.num_layers - 1) + ")");
    const auto& g = c.layers[layer];
    std::visit(
        [&](const auto& x) {
          using E = std::decay_t<decltype(x)>;
          if constexpr (neuron_edit<E>) {
            if (x.neurons.empty()) fail(errc::ineffective_edit, at + ": no neurons listed");
            std::set<std::size_t> seen;
            for (std::size_t n : x.neurons) {
              if (n >= g.ffn_dim)
                fail(errc::plan, at + ": neuron " + std::to_string(n) + " of layer " + std::to_string(layer) +
                                     " is out of range (layer " + std::to_string(layer) + " has " +
                                     std::to_string(g.ffn_dim) + " MLP neurons: 0.." + std::to_string(g.ffn_dim - 1) +
                                     ")");
              if (!seen.insert(n).second) fail(errc::plan, at + ": neuron " + std::to_string(n) + " is listed twice");
            }
            if (x.gain() == 1.0f) fail(errc::ineffective_edit, at + ": factor 1 changes nothing");
          } else {
            if (!g.moe)
              fail(errc::plan, at + ": layer " + std::to_string(layer) + " has no routed experts (dense model)");
            if (x.experts.empty()) fail(errc::ineffective_edit, at + ": no experts listed");
            std::set<std::size_t> seen;
            for (std::size_t n : x.experts) {
              if (n >= c.num_experts)
                fail(errc::plan, at + ": expert " + std::to_string(n) + " is out of range (the model has " +
                                     std::to_string(c.num_experts) + " experts per layer: 0.." +
                                     std::to_string(c.num_experts - 1) + ")");
              if (!seen.insert(n).second) fail(errc::plan, at + ": expert " + std::to_string(n) + " is listed twice");
              if constexpr (std::is_same_v<E, expert_mask>) excluded[layer].insert(n);
            }
          }
        },
        e);
  }
  for (std::size_t l = 0; l < c.num_layers; ++l) {
    if (!excluded[l].empty() && c.num_experts - excluded[l].size() < c.top_k_experts)
      fail(errc::plan, "layer " + std::to_string(l) + ": excluding " + std::to_string(excluded[l].size()) +
                           " experts from routing leaves fewer than top_k = " + std::to_string(c.top_k_experts) +
                           " of " + std::to_string(c.num_experts));
  }
}

/// Per-layer coalesced effect of a plan: neuron gains (product of all factors), routing exclusions, silencing.
struct coalesced {
  struct layer_effect {
    std::vector<float> gains;           ///< [ffn_dim] (empty = no neuron edit)
    std::vector<std::size_t> excluded;  ///< experts removed from routing
    std::vector<std::size_t> silenced;  ///< experts with scale 0
  };
  std::vector<layer_effect> layers;
};

/// Coalesce a validated plan: Scale(a)∘Scale(b) = Scale(a·b) per (layer, neuron).
inline coalesced coalesce(const plan& p, const model::gemma4_config& c) {
  coalesced out;
  out.layers.resize(c.num_layers);
  for (const auto& e : p.edits) {
    std::visit(
        [&](const auto& x) {
          using E = std::decay_t<decltype(x)>;
          auto& le = out.layers[x.layer];
          if constexpr (neuron_edit<E>) {
            if (le.gains.empty()) le.gains.assign(c.layers[x.layer].ffn_dim, 1.0f);
            for (std::size_t n : x.neurons) le.gains[n] *= x.gain();
          } else if constexpr (std::is_same_v<E, expert_mask>) {
            le.excluded.insert(le.excluded.end(), x.experts.begin(), x.experts.end());
          } else {
            le.silenced.insert(le.silenced.end(), x.experts.begin(), x.experts.end());
          }
        },
        e);
  }
  for (auto& le : out.layers) {
    std::sort(le.excluded.begin(), le.excluded.end());
    le.excluded.erase(std::unique(le.excluded.begin(), le.excluded.end()), le.excluded.end());
    std::sort(le.silenced.begin(), le.silenced.end());
    le.silenced.erase(std::unique(le.silenced.begin(), le.silenced.end()), le.silenced.end());
  }
  return out;
}

}  // namespace edit
SCALPEL_END_NAMESPACE
