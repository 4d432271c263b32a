#pragma once
// Entry points of the CLI commands (one cmd_<name>.cpp each).
#include "cli.hpp"

namespace scalpel_cli {
int cmd_version(args& a);
}  // namespace scalpel_cli
