#include <charconv>
#include <cmath>
#include <string>

#include "cli.hpp"

namespace scalpel_cli {

args::args(std::vector<std::string> tokens) : tok_(std::move(tokens)), used_(tok_.size(), false) {
  for (std::size_t i = 0; i < tok_.size(); ++i) {
    if (tok_[i] == "--help" || tok_[i] == "-h") {
      help_ = true;
      used_[i] = true;
    }
  }
}

std::optional<std::string> args::get(std::string_view name) {
  std::optional<std::string> out;
  const std::string key = "--" + std::string(name);
  for (std::size_t i = 0; i < tok_.size(); ++i) {
    if (used_[i]) continue;
    if (tok_[i] == key) {
      if (i + 1 >= tok_.size()) throw usage_error("option " + key + " needs a value");
      used_[i] = used_[i + 1] = true;
      out = tok_[i + 1];
      ++i;
    } else if (tok_[i].rfind(key + "=", 0) == 0) {
      used_[i] = true;
      out = tok_[i].substr(key.size() + 1);
    }
  }
  return out;
}

std::vector<std::string> args::get_all(std::string_view name) {
  std::vector<std::string> out;
  const std::string key = "--" + std::string(name);
  for (std::size_t i = 0; i < tok_.size(); ++i) {
    if (used_[i]) continue;
    if (tok_[i] == key) {
      if (i + 1 >= tok_.size()) throw usage_error("option " + key + " needs a value");
      used_[i] = used_[i + 1] = true;
      out.push_back(tok_[i + 1]);
      ++i;
    } else if (tok_[i].rfind(key + "=", 0) == 0) {
      used_[i] = true;
      out.push_back(tok_[i].substr(key.size() + 1));
    }
  }
  return out;
}

std::string args::get_or(std::string_view name, std::string_view fallback) {
  auto v = get(name);
  return v ? *v : std::string(fallback);
}

std::string args::require(std::string_view name) {
  auto v = get(name);
  if (!v) throw usage_error("missing required option --" + std::string(name));
  return *v;
}

bool args::flag(std::string_view name) {
  const std::string key = "--" + std::string(name);
  bool found = false;
  for (std::size_t i = 0; i < tok_.size(); ++i) {
    if (!used_[i] && tok_[i] == key) {
      used_[i] = true;
      found = true;
    }
  }
  return found;
}

std::optional<std::int64_t> args::get_int_opt(std::string_view name, std::int64_t lo, std::int64_t hi) {
  auto v = get(name);
  if (!v) return std::nullopt;
  std::int64_t x = 0;
  const char* b = v->data();
  const char* e = b + v->size();
  auto [p, ec] = std::from_chars(b, e, x);
  if (ec != std::errc() || p != e)
    throw usage_error("option --" + std::string(name) + ": '" + *v + "' is not an integer");
  if (x < lo || x > hi) {
    throw usage_error("option --" + std::string(name) + ": " + *v + " is outside [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
  }
  return x;
}

std::int64_t args::get_int(std::string_view name, std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
  auto v = get_int_opt(name, lo, hi);
  return v ? *v : fallback;
}

std::optional<double> args::get_double_opt(std::string_view name) {
  auto v = get(name);
  if (!v) return std::nullopt;
  try {
    std::size_t pos = 0;
    const double x = std::stod(*v, &pos);
    if (pos != v->size() || !std::isfinite(x)) throw std::invalid_argument("x");
    return x;
  } catch (const std::exception&) {
    throw usage_error("option --" + std::string(name) + ": '" + *v + "' is not a finite number");
  }
}

double args::get_double(std::string_view name, double fallback) {
  auto v = get_double_opt(name);
  return v ? *v : fallback;
}

std::vector<std::string> args::positional() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < tok_.size(); ++i) {
    if (!used_[i] && (tok_[i].empty() || tok_[i][0] != '-' || tok_[i] == "-")) {
      used_[i] = true;
      out.push_back(tok_[i]);
    }
  }
  return out;
}

void args::finish() {
  for (std::size_t i = 0; i < tok_.size(); ++i) {
    if (used_[i]) continue;
    if (tok_[i].rfind("--", 0) == 0) throw usage_error("unknown option '" + tok_[i] + "'");
    throw usage_error("unexpected argument '" + tok_[i] + "'");
  }
}

std::vector<std::int64_t> parse_int_list(std::string_view s, std::string_view what) {
  std::vector<std::int64_t> out;
  std::size_t i = 0;
  auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '[' || c == ']'; };
  while (i < s.size()) {
    while (i < s.size() && is_sep(s[i])) ++i;
    if (i >= s.size()) break;
    std::size_t j = i;
    while (j < s.size() && !is_sep(s[j])) ++j;
    std::int64_t x = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + j, x);
    if (ec != std::errc() || p != s.data() + j) {
      throw usage_error(std::string(what) + ": '" + std::string(s.substr(i, j - i)) + "' is not an integer");
    }
    out.push_back(x);
    i = j;
  }
  return out;
}

}  // namespace scalpel_cli
