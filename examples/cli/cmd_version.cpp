#include <cstdio>

#include "cli.hpp"
#include "scalpel/version.hpp"

namespace scalpel_cli {
namespace cmd_version {  // named: unity builds put several commands in one TU
namespace {
int run_version(args& a) {
  a.finish();
  std::printf("scalpel %s\n", SCALPEL_VERSION_STRING);
  return 0;
}
const registrar reg{{"version", "print the version", "usage: scalpel version", &run_version, 1000}};
}  // namespace
}  // namespace cmd_version
}  // namespace scalpel_cli
