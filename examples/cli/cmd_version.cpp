#include <cstdio>

#include "commands.hpp"
#include "scalpel/version.hpp"

namespace scalpel_cli {
int cmd_version(args& a) {
  a.finish();
  std::printf("scalpel %s\n", SCALPEL_VERSION_STRING);
  return 0;
}
}  // namespace scalpel_cli
