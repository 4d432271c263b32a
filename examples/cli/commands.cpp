// The command table. Each command lives in its own cmd_<name>.cpp.
#include "commands.hpp"

#include "cli.hpp"

namespace scalpel_cli {

const std::vector<command>& commands() {
  static const std::vector<command> table = {
      {"version", "print the version", "usage: scalpel version", &cmd_version},
  };
  return table;
}

}  // namespace scalpel_cli
