#pragma once
// Shared by the localization commands (bank, sweep-layers, attribute, attribute-experts): --layers parsing,
// loading and checking a bank, and progress lines on stderr (only when stderr is a terminal).
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "scalpel/analysis/bank.hpp"

namespace scalpel_cli {

/// `--layers all|l1,l2,...` (absent or "all" = every layer: an empty list). Range-checked later against the
/// model (errc::out_of_range, exit 1); negative numbers are usage errors.
inline std::vector<std::size_t> layers_arg(args& a) {
  const std::string s = a.get_or("layers", "all");
  std::vector<std::size_t> out;
  if (s == "all") return out;
  for (const auto v : parse_int_list(s, "--layers")) {
    if (v < 0) throw usage_error("--layers: layer " + std::to_string(v) + " is negative");
    out.push_back(static_cast<std::size_t>(v));
  }
  if (out.empty()) throw usage_error("--layers: no layers given (use 'all' or a list such as 3,7)");
  return out;
}

/// Read `--bank FILE` and check it against the model's vocabulary (scalpel::error naming the file and item).
inline scalpel::analysis::loop_bank load_bank(const std::string& path, const scalpel::model::gemma4_model& m) {
  auto b = scalpel::analysis::loop_bank::read(path);
  scalpel::analysis::validate_bank(b, m.config());
  return b;
}

/// "\r<what> done/total" on stderr when it is a terminal (a final newline when done == total).
inline void progress_line(std::string_view what, std::size_t done, std::size_t total) {
  static const bool tty = ::isatty(2) != 0;
  if (!tty) return;
  std::fprintf(stderr, "\r%.*s %zu/%zu", static_cast<int>(what.size()), what.data(), done, total);
  if (done >= total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace scalpel_cli
