// scalpel: the command-line tool. See `scalpel --help` and docs/cli.md.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/version.hpp"

namespace {
void print_main_help() {
  std::printf(
      "scalpel %s - Gemma 4 CPU inference and neuron-level surgery\n\n"
      "usage: scalpel <command> [options]     (scalpel <command> --help for a command's options)\n\n"
      "commands:\n",
      SCALPEL_VERSION_STRING);
  for (const auto& c : scalpel_cli::commands()) {
    std::printf("  %-16s %.*s\n", std::string(c.name).c_str(), static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::printf("\nexit status: 0 success, 1 bad input (message names the file/field), 2 usage error\n");
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> tokens(argv + 1, argv + argc);
  if (tokens.empty() || tokens[0] == "--help" || tokens[0] == "-h" || tokens[0] == "help") {
    print_main_help();
    return tokens.empty() ? 2 : 0;
  }
  if (tokens[0] == "--version") {
    std::printf("scalpel %s\n", SCALPEL_VERSION_STRING);
    return 0;
  }
  const std::string name = tokens[0];
  tokens.erase(tokens.begin());
  for (const auto& c : scalpel_cli::commands()) {
    if (c.name != name) continue;
    try {
      scalpel_cli::args a(std::move(tokens));
      if (a.help_requested()) {
        std::printf("%.*s\n", static_cast<int>(c.usage.size()), c.usage.data());
        return 0;
      }
      return c.run(a);
    } catch (const scalpel_cli::usage_error& e) {
      std::fprintf(stderr, "scalpel %s: %s (see scalpel %s --help)\n", name.c_str(), e.what(), name.c_str());
      return 2;
    } catch (const scalpel::error& e) {
      std::fprintf(stderr, "scalpel %s: %s\n", name.c_str(), e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "scalpel %s: out of memory\n", name.c_str());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "scalpel %s: %s\n", name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "scalpel: unknown command '%s' (see scalpel --help)\n", name.c_str());
  return 2;
}
