#pragma once
// The evaluation grid from command-line flags (scalpel eval, scalpel surgery): the --config file, if any, with
// the grid flags applied, as scalpel.eval-config/1 JSON for analysis::parse_eval_config. Usage text: cmd_eval.cpp.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "scalpel/analysis/eval_config.hpp"
#include "scalpel/io/json.hpp"

namespace scalpel_cli {

/// "NAME=VALUE" with a valid name, else {"", s}.
inline std::pair<std::string, std::string> split_named(const std::string& s) {
  const auto eq = s.find('=');
  if (eq != std::string::npos && scalpel::analysis::is_eval_name(s.substr(0, eq)))
    return {s.substr(0, eq), s.substr(eq + 1)};
  return {"", s};
}

inline std::string absolute(const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); }

/// A flag value as a JSON number (integer when it is one).
inline nlohmann::json number_arg(const std::string& name, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(v.c_str(), &end, 10);
  if (!v.empty() && end == v.c_str() + v.size() && errno == 0) return i;
  end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (!v.empty() && end == v.c_str() + v.size()) return d;
  throw usage_error("--" + name + " expects a number, got '" + v + "'");
}

inline nlohmann::json comma_list(const std::string& s) {
  nlohmann::json a = nlohmann::json::array();
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto end = std::min(s.find(',', pos), s.size());
    std::string item = s.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) a.push_back(item);
    pos = end + 1;
  }
  return a;
}

/// The config as JSON: the --config file (or an empty config) with the grid flags applied.
inline nlohmann::json config_from_flags(args& a, std::string& base_dir, std::string& source) {
  nlohmann::json c = {{"format", std::string(scalpel::analysis::eval_config_format)}};
  source = "<flags>";
  base_dir = std::filesystem::current_path().string();
  if (auto path = a.get("config")) {
    c = scalpel::io::read_json_file(*path);
    if (!c.is_object()) scalpel::fail(scalpel::errc::json, *path + ": expected a JSON object");
    source = *path;
    base_dir = std::filesystem::absolute(*path).parent_path().string();
  }
  const auto models = a.get_all("model");
  const auto tokenizer = a.get("tokenizer");
  if (!models.empty()) {
    c.erase("model");
    c["models"] = nlohmann::json::array();
    for (const auto& m : models) {
      const auto [name, path] = split_named(m);
      nlohmann::json e = {{"path", absolute(path)}};
      if (!name.empty()) e["name"] = name;
      if (tokenizer) e["tokenizer"] = absolute(*tokenizer);
      c["models"].push_back(e);
    }
  } else if (tokenizer) {
    throw usage_error("--tokenizer applies to --model models; put \"tokenizer\" into the config's models instead");
  }
  const auto edits = a.get_all("edit");
  if (!edits.empty()) {
    c["variants"] = nlohmann::json::array();
    for (const auto& e : edits) {
      const auto [name, path] = split_named(e);
      nlohmann::json v = {{"plan", absolute(path)}};
      if (!name.empty()) v["name"] = name;
      c["variants"].push_back(v);
    }
  }
  if (a.flag("no-base")) c["base"] = false;
  if (auto p = a.get("probes")) {
    if (*p == "all" || *p == "enumeration" || *p == "control")
      c["probes"] = *p;
    else
      c["probes"] = comma_list(*p);
  }
  if (auto p = a.get("probe-file")) {
    c.erase("probe_set");
    c["probe_file"] = absolute(*p);
  }
  if (auto w = a.get("wordings")) {
    if (*w == "all" || *w == "first") {
      c["wordings"] = *w;
    } else {
      nlohmann::json idx = nlohmann::json::array();
      for (auto v : parse_int_list(*w, "--wordings")) idx.push_back(v);
      c["wordings"] = idx;
    }
  }
  if (auto t = a.get("thinking")) {
    if (*t != "off" && *t != "on" && *t != "both") throw usage_error("--thinking must be off, on or both");
    c["thinking"] = *t;
  }
  const auto max_tokens = a.get("max-tokens");
  const auto thinking_budget = a.get_int_opt("thinking-budget", -1, INT32_MAX);
  if (max_tokens || thinking_budget) {
    c["budgets"] = nlohmann::json::array();
    for (auto v : parse_int_list(max_tokens ? *max_tokens : "1536", "--max-tokens"))
      c["budgets"].push_back({{"max_tokens", v}, {"thinking_budget", thinking_budget.value_or(-1)}});
  }
  const auto seeds = a.get_int_opt("seeds", 1, 1 << 24);
  const auto seed_start = a.get_int_opt("seed-start", 0);
  const auto seed_list = a.get("seed-list");
  if (seed_list && (seeds || seed_start)) throw usage_error("give --seed-list, or --seeds [--seed-start]");
  if (seed_list) {
    nlohmann::json s = nlohmann::json::array();
    for (auto v : parse_int_list(*seed_list, "--seed-list")) {
      if (v < 0) throw usage_error("--seed-list: seeds are non-negative");
      s.push_back(v);
    }
    c["seeds"] = s;
  } else if (seeds || seed_start) {
    c["seeds"] = {{"count", seeds.value_or(8)}, {"start", seed_start.value_or(0)}};
  }
  // Sampler flags: one sampler replaces the config's.
  nlohmann::json sampler = nlohmann::json::object();
  for (const auto name_view : scalpel::analysis::sampler_option_names) {
    const std::string name(name_view);
    if (name == "dry-sequence-breakers") continue;
    if (name == "logit-bias") {
      const auto all = a.get_all(name);
      if (!all.empty()) sampler[name] = all;
    } else if (auto v = a.get(name)) {
      sampler[name] = name == "samplers" ? nlohmann::json(*v) : number_arg(name, *v);
    }
  }
  const auto sampler_name = a.get("sampler-name");
  if (!sampler.empty() || sampler_name) {
    sampler["name"] = sampler_name.value_or("default");
    c["samplers"] = nlohmann::json::array({sampler});
  }
  auto& chat = c["chat"];
  if (chat.is_null()) chat = nlohmann::json::object();
  if (auto f = a.get("family")) chat["family"] = *f;
  if (auto s = a.get("system")) chat["system"] = *s;
  if (chat.empty()) c.erase("chat");
  auto& stop = c["stop"];
  if (stop.is_null()) stop = nlohmann::json::object();
  if (a.flag("stop-on-loop")) stop["stop_on_loop"] = true;
  if (a.flag("ignore-eos")) stop["ignore_eos"] = true;
  if (auto o = a.get("on-thinking-budget")) stop["on_thinking_budget"] = *o;
  if (stop.empty()) c.erase("stop");
  return c;
}

inline std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "--";
  const long long t = std::llround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%llds", t);
  return buf;
}

}  // namespace scalpel_cli
