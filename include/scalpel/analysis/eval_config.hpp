#pragma once
/// @file
/// @brief The configuration of a loop-rate evaluation (`scalpel.eval-config/1`, docs/eval.md): which models,
/// edit-plan variants, probes and wordings, thinking on/off, budgets, sampler configurations and seeds make up
/// the grid, plus chat and stop settings. Parsing is strict (unknown fields and wrong types are errors naming the
/// file and field); `to_json` writes the canonical, fully resolved form, which parses back to the same config.
///
/// ```json
/// { "format": "scalpel.eval-config/1",
///   "models": [{"name": "e2b", "path": "gemma-4-E2B-it"}],           // or "model": "PATH"
///   "variants": [{"name": "fix", "plan": "plan.json"}],             // plans (a path or an inline plan object)
///   "base": true,                                                   // also run the unedited model (default)
///   "probes": ["noble_gases", {"id": "iau_constellations", "wordings": [0, 2]}],   // or "all"/"enumeration"/"control"
///   "probe_file": "my-probes.json",                                 // ids looked up here first, then built-in
///   "wordings": "first",                                            // default for probes without their own
///   "thinking": [false, true],
///   "budgets": [{"name": "normal", "max_tokens": 1536}, {"name": "long", "max_tokens": 8192, "thinking_budget":
///   6144}], "samplers": [{"name": "google", "temperature": 1.0, "top-k": 64, "top-p": 0.95}, {"name": "t07",
///   "temperature": 0.7}], "seeds": 128,                                                   // or [3, 5, 8] or {"count":
///   128, "start": 1000} "chat": {"family": "auto", "system": ""}, "stop": {"stop_on_loop": false, "ignore_eos": false,
///   "on_thinking_budget": "close"} }
/// ```
/// Relative paths are relative to the config file's directory.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/probes.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/sha256.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/generate/sampler.hpp"
#include "scalpel/generate/stop.hpp"
#include "scalpel/io/json.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

inline constexpr std::string_view eval_config_format = "scalpel.eval-config/1";
/// Version of what a record means (prompt rendering, detector defaults, scoring); part of the config hash.
inline constexpr std::string_view eval_harness_version = "scalpel.eval/1";

/// One model of the grid.
struct eval_model_spec {
  std::string name;       ///< key component ([A-Za-z0-9_.+-], default: the path's file or directory name)
  std::string path;       ///< HF checkpoint directory or .gguf file
  std::string tokenizer;  ///< tokenizer.json override (empty: the model's own)
  std::string id;         ///< fixed identity for the config hash (empty: `model_fingerprint(path)`)
};

/// A variant of every model: the base (no plan) or an edit plan applied at run time.
struct eval_variant {
  std::string name;
  std::optional<edit::plan> plan;  ///< nullopt for the base
};

/// A probe and the wordings (indices into `p.wordings`) the grid uses.
struct eval_probe {
  probe p;
  std::vector<std::size_t> wordings;
};

/// A generation budget: max new tokens (thinking included) and the thinking budget (-1 = none).
struct eval_budget {
  std::string name;
  std::int64_t max_tokens = 1536;
  std::int64_t thinking_budget = -1;
};

/// A named sampler configuration (the seed is set per generation).
struct eval_sampler {
  std::string name;
  gen::sampler_config sampling;
};

/// The whole grid: models × variants × probes × wordings × thinking × budgets × samplers, each cell run once per
/// seed. Defaults: base only, wording 0, thinking off, one budget of 1536 tokens, Gemma 4 -it sampling
/// (T 1.0, top-k 64, top-p 0.95), seeds 0..7.
struct eval_config {
  std::string description;
  std::vector<eval_model_spec> models;
  std::vector<eval_variant> variants;  ///< the base first when present
  std::vector<eval_probe> probes;
  std::vector<bool> thinking = {false};
  std::vector<eval_budget> budgets = {{"1536", 1536, -1}};
  std::vector<eval_sampler> samplers = {{"default", {}}};
  std::vector<std::uint64_t> seeds = {0, 1, 2, 3, 4, 5, 6, 7};
  std::optional<gen::chat_family> family;  ///< nullopt: from the model (26B/31B large, others small)
  std::string system;                      ///< system prompt ("" = none)
  bool think_newline = false;              ///< `<|think|>\n` (later template revision)
  bool stop_on_loop = false;               ///< stop a generation when the loop detector fires
  bool ignore_eos = false;
  gen::thinking_overflow on_thinking_budget = gen::thinking_overflow::close_channel;
};

/// Whether `s` may be used as a name in cell keys: 1–64 characters of [A-Za-z0-9_.+-].
inline bool is_eval_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '+' || c == '-';
  });
}

/// `s` made into a valid name: other characters become '_', cut to 64 characters ("model" if empty).
inline std::string sanitize_eval_name(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 64)) out += is_eval_name(std::string_view(&c, 1)) ? c : '_';
  return out.empty() ? std::string("model") : out;
}

/// The default name of a model path: its last path component, without a `.gguf` extension.
inline std::string default_model_name(std::string_view path) {
  std::string p(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::string base = std::filesystem::path(p).filename().string();
  if (base.size() > 5 && base.substr(base.size() - 5) == ".gguf") base.resize(base.size() - 5);
  return sanitize_eval_name(base);
}

/// A budget's default name: "1536", or "8192-t6144" with a thinking budget.
inline std::string default_budget_name(std::int64_t max_tokens, std::int64_t thinking_budget) {
  std::string n = std::to_string(max_tokens);
  if (thinking_budget >= 0) n += "-t" + std::to_string(thinking_budget);
  return n;
}

namespace eval_detail {

inline std::string join_names(std::initializer_list<std::string_view> names) {
  std::string s;
  for (const auto n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

/// Fail on any member of `f` not in `allowed`.
inline void check_keys(const io::json_field& f, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : f.members()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      v.fail_here("unknown field (expected one of " + join_names(allowed) + ")");
  }
}

inline std::string resolve_path(const std::string& p, const std::string& base_dir) {
  if (p.empty() || base_dir.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

inline std::string checked_name(const io::json_field& f) {
  auto s = f.get<std::string>();
  if (!is_eval_name(s)) f.fail_here("'" + s + "' is not a valid name (1-64 characters of A-Z a-z 0-9 _ . + -)");
  return s;
}

/// A float written as the shortest decimal that reads back as the same float.
inline double canon(float f) { return edit::shortest_double(f); }

inline std::string format_bias(const gen::logit_bias_entry& b) {
  if (std::isinf(b.bias)) return std::to_string(b.id) + (b.bias < 0 ? ":-inf" : ":inf");
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, b.bias);
  return std::to_string(b.id) + ":" + std::string(buf, r.ptr);
}

inline gen::logit_bias_entry parse_bias(const io::json_field& f) {
  if (f.is_array()) {
    if (f.size() != 2) f.fail_here("expected [ID, BIAS]");
    return {f.at(0).get<std::int32_t>(), f.at(1).get<float>()};
  }
  const auto s = f.get<std::string>();
  const auto colon = s.find(':');
  if (colon == std::string::npos) f.fail_here("expected \"ID:BIAS\", got '" + s + "'");
  gen::logit_bias_entry e{};
  const std::string id = s.substr(0, colon), bias = s.substr(colon + 1);
  const auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), e.id);
  if (ec != std::errc{} || p != id.data() + id.size() || e.id < 0) f.fail_here("bad token id in '" + s + "'");
  if (bias == "-inf") {
    e.bias = -std::numeric_limits<float>::infinity();
  } else {
    char* end = nullptr;
    const double v = std::strtod(bias.c_str(), &end);
    if (bias.empty() || end != bias.c_str() + bias.size() || !std::isfinite(v)) f.fail_here("bad bias in '" + s + "'");
    e.bias = static_cast<float>(v);
  }
  return e;
}

}  // namespace eval_detail

/// The sampler option names (those of `scalpel generate`; `_` may be written for `-`).
inline constexpr std::string_view sampler_option_names[] = {"temperature",
                                                            "top-k",
                                                            "top-p",
                                                            "min-p",
                                                            "typical-p",
                                                            "min-keep",
                                                            "repeat-penalty",
                                                            "repeat-last-n",
                                                            "presence-penalty",
                                                            "frequency-penalty",
                                                            "dry-multiplier",
                                                            "dry-base",
                                                            "dry-allowed-length",
                                                            "dry-penalty-last-n",
                                                            "dry-sequence-breakers",
                                                            "samplers",
                                                            "logit-bias"};

/// Parse one sampler object: `{"name"?, option: value, ...}` with `scalpel generate`'s option names. Options
/// left out keep Gemma 4 -it's defaults (`gen::gemma4_it_defaults()`), not the model's generation_config.json,
/// so a named sampler means the same thing for every model. `seed` is not an option here (seeds are the grid's).
/// @throws scalpel::error (json / invalid_argument) naming the field.
inline eval_sampler parse_eval_sampler(const io::json_field& f, std::string default_name = "default") {
  if (!f.is_object()) f.fail_here("expected a sampler object");
  eval_sampler s;
  s.name = std::move(default_name);
  auto& c = s.sampling;
  std::vector<std::string> seen;
  for (const auto& [raw_key, v] : f.members()) {
    if (raw_key == "name") {
      s.name = eval_detail::checked_name(v);
      continue;
    }
    std::string k = raw_key;
    std::replace(k.begin(), k.end(), '_', '-');
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) v.fail_here("option given twice ('_' and '-' forms)");
    seen.push_back(k);
    if (k == "temperature")
      c.temperature = v.get<float>();
    else if (k == "top-k")
      c.top_k = v.get<std::int32_t>();
    else if (k == "top-p")
      c.top_p = v.get<float>();
    else if (k == "min-p")
      c.min_p = v.get<float>();
    else if (k == "typical-p")
      c.typical_p = v.get<float>();
    else if (k == "min-keep")
      c.min_keep = v.get<std::int32_t>();
    else if (k == "repeat-penalty")
      c.repeat_penalty = v.get<float>();
    else if (k == "repeat-last-n")
      c.repeat_last_n = v.get<std::int32_t>();
    else if (k == "presence-penalty")
      c.presence_penalty = v.get<float>();
    else if (k == "frequency-penalty")
      c.frequency_penalty = v.get<float>();
    else if (k == "dry-multiplier")
      c.dry_multiplier = v.get<float>();
    else if (k == "dry-base")
      c.dry_base = v.get<float>();
    else if (k == "dry-allowed-length")
      c.dry_allowed_length = v.get<std::int32_t>();
    else if (k == "dry-penalty-last-n")
      c.dry_penalty_last_n = v.get<std::int32_t>();
    else if (k == "dry-sequence-breakers")
      c.dry_sequence_breakers = v.get<std::vector<std::string>>();
    else if (k == "samplers") {
      try {
        c.order = gen::parse_stage_order(v.get<std::string>());
      } catch (const error& e) {
        v.fail_here(e.what());
      }
    } else if (k == "logit-bias") {
      c.logit_bias.clear();
      for (const auto& e : v.elements()) c.logit_bias.push_back(eval_detail::parse_bias(e));
    } else {
      std::string known;
      for (const auto n : sampler_option_names) {
        if (!known.empty()) known += ", ";
        known += n;
      }
      v.fail_here("unknown sampler option (expected name, " + known + ")");
    }
  }
  try {
    gen::validate(c);
  } catch (const error& e) {
    f.fail_here(std::string("sampler '") + s.name + "': " + e.what());
  }
  return s;
}

/// The canonical JSON of a sampler: every option, resolved.
inline nlohmann::json to_json(const eval_sampler& s) {
  const auto& c = s.sampling;
  nlohmann::json bias = nlohmann::json::array();
  for (const auto& b : c.logit_bias) bias.push_back(eval_detail::format_bias(b));
  return {{"name", s.name},
          {"temperature", eval_detail::canon(c.temperature)},
          {"top-k", c.top_k},
          {"top-p", eval_detail::canon(c.top_p)},
          {"min-p", eval_detail::canon(c.min_p)},
          {"typical-p", eval_detail::canon(c.typical_p)},
          {"min-keep", c.min_keep},
          {"repeat-penalty", eval_detail::canon(c.repeat_penalty)},
          {"repeat-last-n", c.repeat_last_n},
          {"presence-penalty", eval_detail::canon(c.presence_penalty)},
          {"frequency-penalty", eval_detail::canon(c.frequency_penalty)},
          {"dry-multiplier", eval_detail::canon(c.dry_multiplier)},
          {"dry-base", eval_detail::canon(c.dry_base)},
          {"dry-allowed-length", c.dry_allowed_length},
          {"dry-penalty-last-n", c.dry_penalty_last_n},
          {"dry-sequence-breakers", c.dry_sequence_breakers},
          {"samplers", gen::format_stage_order(c.order)},
          {"logit-bias", bias}};
}

namespace eval_detail {

inline std::vector<std::size_t> parse_wordings(const io::json_field& f, const probe& p) {
  std::vector<std::size_t> out;
  if (f.is_string()) {
    const auto s = f.get<std::string>();
    if (s == "all") {
      for (std::size_t i = 0; i < p.wordings.size(); ++i) out.push_back(i);
    } else if (s == "first") {
      out.push_back(0);
    } else {
      f.fail_here("expected \"all\", \"first\" or an array of wording indices, got \"" + s + "\"");
    }
    return out;
  }
  for (const auto& e : f.elements()) {
    const auto w = e.get<std::size_t>();
    if (w >= p.wordings.size())
      e.fail_here("probe '" + p.id + "' has " + std::to_string(p.wordings.size()) + " wordings (indices 0.." +
                  std::to_string(p.wordings.size() - 1) + "), got " + std::to_string(w));
    if (std::find(out.begin(), out.end(), w) != out.end())
      e.fail_here("wording " + std::to_string(w) + " listed twice");
    out.push_back(w);
  }
  if (out.empty()) f.fail_here("no wordings selected");
  return out;
}

inline const probe& find_probe(const io::json_field& where, const std::string& id, const probe_set* user) {
  if (user != nullptr) {
    if (const probe* p = user->find(id)) return *p;
  }
  if (const probe* p = builtin_probes().find(id)) return *p;
  std::string known;
  auto add = [&](const probe_set& set) {
    for (const auto& p : set.probes) {
      if (!known.empty()) known += ", ";
      known += p.id;
    }
  };
  if (user != nullptr) add(*user);
  add(builtin_probes());
  where.fail_here("no probe '" + id + "' (known: " + known + ")");
}

template <class T, class Name>
void check_unique(const std::vector<T>& v, Name name, const io::json_field& where, std::string_view what) {
  for (std::size_t i = 0; i < v.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (name(v[i]) == name(v[j])) where.fail_here(std::string(what) + " '" + name(v[i]) + "' appears twice");
}

}  // namespace eval_detail

/// Parse a `scalpel.eval-config/1` object. `source` names it in errors; relative paths (models, plans, probe
/// files) are resolved against `base_dir`. Plans are read and parsed here (validated against each model at run
/// time). @throws scalpel::error naming the file and field.
inline eval_config parse_eval_config(const nlohmann::json& j, const std::string& source,
                                     const std::string& base_dir = "") {
  const io::json_field root(j, source);
  if (!root.is_object()) root.fail_here("expected a JSON object");
  eval_detail::check_keys(
      root, {"format", "description", "model", "models", "variants", "base", "probe_file", "probe_set", "probes",
             "wordings", "thinking", "budgets", "samplers", "seeds", "chat", "stop"});
  const auto fmt = root["format"].get<std::string>();
  if (fmt != eval_config_format)
    root["format"].fail_here("expected \"" + std::string(eval_config_format) + "\", got \"" + fmt + "\"");
  eval_config c;
  c.description = root.value_or<std::string>("description", "");

  // models
  if (root.has("model") && root.has("models")) root["models"].fail_here("give \"model\" or \"models\", not both");
  auto parse_model = [&](const io::json_field& f) {
    eval_model_spec m;
    if (f.is_string()) {
      m.path = f.get<std::string>();
    } else {
      eval_detail::check_keys(f, {"name", "path", "tokenizer", "id"});
      m.path = f["path"].get<std::string>();
      if (auto n = f.find("name")) m.name = eval_detail::checked_name(*n);
      m.tokenizer = eval_detail::resolve_path(f.value_or<std::string>("tokenizer", ""), base_dir);
      m.id = f.value_or<std::string>("id", "");
    }
    if (m.path.empty()) f.fail_here("empty model path");
    if (m.name.empty()) m.name = default_model_name(m.path);
    m.path = eval_detail::resolve_path(m.path, base_dir);
    return m;
  };
  if (auto f = root.find("model")) c.models.push_back(parse_model(*f));
  if (auto f = root.find("models")) {
    for (const auto& e : f->elements()) c.models.push_back(parse_model(e));
    eval_detail::check_unique(
        c.models, [](const eval_model_spec& m) { return m.name; }, *f, "model name");
  }

  // variants
  if (root.value_or<bool>("base", true)) c.variants.push_back({"base", std::nullopt});
  if (auto f = root.find("variants")) {
    for (const auto& e : f->elements()) {
      eval_detail::check_keys(e, {"name", "plan"});
      eval_variant v;
      const auto pf = e["plan"];
      if (pf.is_string()) {
        const std::string path = eval_detail::resolve_path(pf.get<std::string>(), base_dir);
        v.plan = edit::plan::read(path);
        v.name = sanitize_eval_name(std::filesystem::path(path).stem().string());
      } else {
        v.plan = edit::plan::from_json(pf.raw(), source + ": " + pf.path());
      }
      if (auto n = e.find("name")) v.name = eval_detail::checked_name(*n);
      if (v.name.empty()) e.fail_here("an inline plan needs a \"name\"");
      if (v.name == "base") e.fail_here("the name 'base' is reserved for the unedited model");
      c.variants.push_back(std::move(v));
    }
    eval_detail::check_unique(
        c.variants, [](const eval_variant& v) { return v.name; }, *f, "variant name");
  }
  if (c.variants.empty()) root.fail_here("no variants: \"base\" is false and no \"variants\" are given");

  // probes
  std::optional<probe_set> user;
  if (root.has("probe_file") && root.has("probe_set"))
    root["probe_set"].fail_here("give probe_file or probe_set, not both");
  if (auto f = root.find("probe_file")) user = load_probes(eval_detail::resolve_path(f->get<std::string>(), base_dir));
  if (auto f = root.find("probe_set")) user = parse_probes(f->raw().dump(), source + ": probe_set");
  const std::optional<io::json_field> default_wordings = root.find("wordings");
  auto add_probe = [&](const io::json_field& where, const probe& p, const std::optional<io::json_field>& w) {
    eval_probe ep{p, {0}};
    if (w)
      ep.wordings = eval_detail::parse_wordings(*w, p);
    else if (default_wordings)
      ep.wordings = eval_detail::parse_wordings(*default_wordings, p);
    for (const auto& q : c.probes)
      if (q.p.id == p.id) where.fail_here("probe '" + p.id + "' listed twice");
    c.probes.push_back(std::move(ep));
  };
  if (auto f = root.find("probes")) {
    if (f->is_string()) {
      const auto s = f->get<std::string>();
      if (s != "all" && s != "enumeration" && s != "control")
        f->fail_here("expected \"all\", \"enumeration\", \"control\" or an array of probe ids, got \"" + s + "\"");
      const probe_set& set = user ? *user : builtin_probes();
      for (const auto& p : set.probes)
        if (s == "all" || probe_category_name(p.category) == s) add_probe(*f, p, std::nullopt);
    } else {
      for (const auto& e : f->elements()) {
        if (e.is_string()) {
          add_probe(e, eval_detail::find_probe(e, e.get<std::string>(), user ? &*user : nullptr), std::nullopt);
        } else {
          eval_detail::check_keys(e, {"id", "wordings"});
          add_probe(e, eval_detail::find_probe(e["id"], e.value<std::string>("id"), user ? &*user : nullptr),
                    e.find("wordings"));
        }
      }
    }
  }
  if (c.probes.empty()) root.fail_here("no probes (give \"probes\")");

  // thinking
  if (auto f = root.find("thinking")) {
    c.thinking.clear();
    if (f->is_string()) {
      const auto s = f->get<std::string>();
      if (s == "off")
        c.thinking = {false};
      else if (s == "on")
        c.thinking = {true};
      else if (s == "both")
        c.thinking = {false, true};
      else
        f->fail_here("expected \"off\", \"on\", \"both\", a boolean or an array of booleans");
    } else if (f->is_array()) {
      for (const auto& e : f->elements()) {
        const bool t = e.get<bool>();
        if (std::find(c.thinking.begin(), c.thinking.end(), t) != c.thinking.end()) e.fail_here("listed twice");
        c.thinking.push_back(t);
      }
    } else {
      c.thinking = {f->get<bool>()};
    }
    if (c.thinking.empty()) f->fail_here("empty");
  }

  // budgets
  if (auto f = root.find("budgets")) {
    c.budgets.clear();
    for (const auto& e : f->elements()) {
      eval_budget b;
      if (e.is_number()) {
        b.max_tokens = e.get<std::int64_t>();
      } else {
        eval_detail::check_keys(e, {"name", "max_tokens", "thinking_budget"});
        b.max_tokens = e.value<std::int64_t>("max_tokens");
        b.thinking_budget = e.value_or<std::int64_t>("thinking_budget", -1);
        if (auto n = e.find("name")) b.name = eval_detail::checked_name(*n);
      }
      if (b.max_tokens < 1 || b.max_tokens > (std::int64_t{1} << 30))
        e.fail_here("max_tokens must be in [1, 2^30], got " + std::to_string(b.max_tokens));
      if (b.thinking_budget < -1)
        e.fail_here("thinking_budget must be >= -1, got " + std::to_string(b.thinking_budget));
      if (b.name.empty()) b.name = default_budget_name(b.max_tokens, b.thinking_budget);
      c.budgets.push_back(std::move(b));
    }
    if (c.budgets.empty()) f->fail_here("empty");
    eval_detail::check_unique(
        c.budgets, [](const eval_budget& b) { return b.name; }, *f, "budget name");
  }

  // samplers
  if (auto f = root.find("samplers")) {
    c.samplers.clear();
    if (f->is_array()) {
      for (const auto& e : f->elements()) c.samplers.push_back(parse_eval_sampler(e, f->size() == 1 ? "default" : ""));
      for (std::size_t i = 0; i < c.samplers.size(); ++i)
        if (c.samplers[i].name.empty()) f->at(i).fail_here("a sampler needs a \"name\" when there are several");
    } else {
      for (const auto& [name, e] : f->members()) {
        if (e.has("name")) e["name"].fail_here("the name is the key here");
        if (!is_eval_name(name)) e.fail_here("'" + name + "' is not a valid name");
        c.samplers.push_back(parse_eval_sampler(e, name));
      }
    }
    if (c.samplers.empty()) f->fail_here("empty");
    eval_detail::check_unique(
        c.samplers, [](const eval_sampler& s) { return s.name; }, *f, "sampler name");
  }

  // seeds
  if (auto f = root.find("seeds")) {
    c.seeds.clear();
    auto count_from = [&](const io::json_field& e, std::uint64_t start) {
      const auto n = e.get<std::uint64_t>();
      if (n < 1 || n > (std::uint64_t{1} << 24)) e.fail_here("seed count must be in [1, 2^24]");
      for (std::uint64_t i = 0; i < n; ++i) c.seeds.push_back(start + i);
    };
    if (f->is_number()) {
      count_from(*f, 0);
    } else if (f->is_object()) {
      eval_detail::check_keys(*f, {"count", "start"});
      count_from((*f)["count"], f->value_or<std::uint64_t>("start", 0));
    } else {
      for (const auto& e : f->elements()) {
        const auto s = e.get<std::uint64_t>();
        if (std::find(c.seeds.begin(), c.seeds.end(), s) != c.seeds.end()) e.fail_here("seed listed twice");
        c.seeds.push_back(s);
      }
      if (c.seeds.empty()) f->fail_here("empty");
    }
  }

  // chat
  if (auto f = root.find("chat")) {
    eval_detail::check_keys(*f, {"family", "system", "think_newline"});
    const auto fam = f->value_or<std::string>("family", "auto");
    if (fam == "small")
      c.family = gen::chat_family::small;
    else if (fam == "large")
      c.family = gen::chat_family::large;
    else if (fam != "auto")
      (*f)["family"].fail_here("expected \"auto\", \"small\" or \"large\"");
    c.system = f->value_or<std::string>("system", "");
    c.think_newline = f->value_or<bool>("think_newline", false);
  }

  // stop
  if (auto f = root.find("stop")) {
    eval_detail::check_keys(*f, {"stop_on_loop", "ignore_eos", "on_thinking_budget"});
    c.stop_on_loop = f->value_or<bool>("stop_on_loop", false);
    c.ignore_eos = f->value_or<bool>("ignore_eos", false);
    const auto otb = f->value_or<std::string>("on_thinking_budget", "close");
    if (otb == "close")
      c.on_thinking_budget = gen::thinking_overflow::close_channel;
    else if (otb == "stop")
      c.on_thinking_budget = gen::thinking_overflow::stop;
    else
      (*f)["on_thinking_budget"].fail_here("expected \"close\" or \"stop\"");
  }
  return c;
}

/// Read and parse a config file (relative paths inside it are relative to its directory).
inline eval_config load_eval_config(const std::string& path) {
  const auto j = io::read_json_file(path);
  return parse_eval_config(j, path, std::filesystem::path(path).parent_path().string());
}

/// The canonical, fully resolved JSON of a config (every default written out, plans and probes inline), which
/// `parse_eval_config` reads back to the same config.
inline nlohmann::json to_json(const eval_config& c) {
  using nlohmann::json;
  json models = json::array();
  for (const auto& m : c.models) {
    json e = {{"name", m.name}, {"path", m.path}};
    if (!m.tokenizer.empty()) e["tokenizer"] = m.tokenizer;
    if (!m.id.empty()) e["id"] = m.id;
    models.push_back(std::move(e));
  }
  bool base = false;
  json variants = json::array();
  for (const auto& v : c.variants) {
    if (!v.plan) {
      base = true;
      continue;
    }
    variants.push_back({{"name", v.name}, {"plan", v.plan->to_json()}});
  }
  probe_set used;
  used.source = "<eval config>";
  json probes = json::array();
  for (const auto& p : c.probes) {
    used.probes.push_back(p.p);
    probes.push_back({{"id", p.p.id}, {"wordings", p.wordings}});
  }
  json budgets = json::array();
  for (const auto& b : c.budgets)
    budgets.push_back({{"name", b.name}, {"max_tokens", b.max_tokens}, {"thinking_budget", b.thinking_budget}});
  json samplers = json::array();
  for (const auto& s : c.samplers) samplers.push_back(to_json(s));
  json thinking = json::array();
  for (const bool t : c.thinking) thinking.push_back(t);
  json out = {{"format", std::string(eval_config_format)},
              {"models", models},
              {"base", base},
              {"variants", variants},
              {"probe_set", to_json(used)},
              {"probes", probes},
              {"thinking", thinking},
              {"budgets", budgets},
              {"samplers", samplers},
              {"seeds", c.seeds},
              {"chat",
               {{"family", c.family ? (*c.family == gen::chat_family::large ? "large" : "small") : "auto"},
                {"system", c.system},
                {"think_newline", c.think_newline}}},
              {"stop",
               {{"stop_on_loop", c.stop_on_loop},
                {"ignore_eos", c.ignore_eos},
                {"on_thinking_budget", c.on_thinking_budget == gen::thinking_overflow::stop ? "stop" : "close"}}}};
  if (!c.description.empty()) out["description"] = c.description;
  return out;
}

/// The config hash recorded in every record: SHA-256 (first 16 hex digits) of everything that decides what a
/// record means — model identities (`model_ids[i]`, or `models[i].id` when set), variant plans, probe
/// contents and wordings, thinking, budgets, resolved samplers, chat and stop settings and
/// `eval_harness_version` — but not the seed list, paths, descriptions, shards or threads. So a run can be
/// resumed with more seeds, and shards run from other directories merge.
inline std::string eval_config_hash(const eval_config& c, std::span<const std::string> model_ids) {
  if (model_ids.size() != c.models.size())
    fail(errc::invalid_argument, "eval_config_hash: " + std::to_string(model_ids.size()) + " model ids for " +
                                     std::to_string(c.models.size()) + " models");
  nlohmann::json j = to_json(c);
  j.erase("seeds");
  j.erase("description");
  for (std::size_t i = 0; i < c.models.size(); ++i)
    j["models"][i] = {{"name", c.models[i].name}, {"id", c.models[i].id.empty() ? model_ids[i] : c.models[i].id}};
  j["harness"] = std::string(eval_harness_version);
  return sha256_hex(j.dump()).substr(0, 16);
}

/// A cheap identity of a model on disk that does not depend on where it lives: SHA-256 over the names and sizes of
/// its files (`*.json`, `*.safetensors`, `*.gguf`, `tokenizer.model`; or the one .gguf file) and their bytes —
/// whole for files up to 4 MiB, otherwise the first and last MiB plus 64 evenly spaced 4 KiB samples. It tells
/// different checkpoints apart (configs, headers, edit manifests, sampled weights) but can miss an edit that
/// touches no sampled byte: name the model with an explicit `id` when that matters.
/// @throws scalpel::error (io) when the path cannot be read.
inline std::string model_fingerprint(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (!e.is_regular_file()) continue;
      const std::string name = e.path().filename().string();
      const auto ends = [&](std::string_view suf) {
        return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
      };
      if (ends(".json") || ends(".safetensors") || ends(".gguf") || name == "tokenizer.model")
        files.push_back(e.path());
    }
    if (ec) fail(errc::io, "cannot list model directory '" + path + "': " + ec.message());
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(path, ec)) {
    files.emplace_back(path);
  } else {
    fail(errc::io, "model path '" + path + "' does not exist");
  }
  sha256 h;
  std::string buf;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) fail(errc::io, "cannot open '" + f.string() + "'");
    const auto size = static_cast<std::uint64_t>(fs::file_size(f, ec));
    if (ec) fail(errc::io, "cannot stat '" + f.string() + "': " + ec.message());
    h.update(f.filename().string() + "\n" + std::to_string(size) + "\n");
    auto take = [&](std::uint64_t off, std::uint64_t n) {
      buf.resize(static_cast<std::size_t>(n));
      in.seekg(static_cast<std::streamoff>(off));
      if (!in.read(buf.data(), static_cast<std::streamsize>(n))) fail(errc::io, "cannot read '" + f.string() + "'");
      h.update(buf);
    };
    constexpr std::uint64_t small = std::uint64_t{4} << 20, mib = std::uint64_t{1} << 20, chunk = 4096;
    if (size <= small) {
      take(0, size);
    } else {
      take(0, mib);
      for (std::uint64_t i = 0; i < 64; ++i) take(mib + (size - 2 * mib - chunk) / 63 * i, chunk);
      take(size - mib, mib);
    }
  }
  return "sha256:" + h.hex_digest().substr(0, 32);
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
