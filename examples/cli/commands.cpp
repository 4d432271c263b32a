// The command table: each cmd_<name>.cpp registers itself through a static `registrar`.
#include <algorithm>

#include "cli.hpp"

namespace scalpel_cli {

namespace {
std::vector<command>& table() {
  static std::vector<command> t;
  return t;
}
}  // namespace

registrar::registrar(const command& c) { table().push_back(c); }

const std::vector<command>& commands() {
  static const bool sorted = [] {
    std::stable_sort(table().begin(), table().end(), [](const command& a, const command& b) {
      return a.order != b.order ? a.order < b.order : a.name < b.name;
    });
    return true;
  }();
  (void)sorted;
  return table();
}

}  // namespace scalpel_cli
