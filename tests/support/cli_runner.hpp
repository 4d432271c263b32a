#pragma once
// Test support: run the scalpel CLI (build/bin/scalpel) and capture its exit status, stdout and stderr.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <doctest/doctest.h>

namespace scalpel_test {

struct cli_result {
  int status = -1;  ///< exit status (-1: killed by a signal)
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// `s` quoted for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// A fresh directory under the system temp dir, unique per process and name.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("scalpel-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

inline std::string scalpel_binary() { return std::string(SCALPEL_BINARY_DIR) + "/bin/scalpel"; }

/// Run `scalpel <args>` (args already shell-quoted where needed), feeding `input` on stdin.
inline cli_result run_scalpel(const std::string& args, const std::string& input = "") {
  REQUIRE_MESSAGE(std::filesystem::exists(scalpel_binary()), "the CLI is not built: " << scalpel_binary());
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("scalpel-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  const auto in = dir / "stdin", err = dir / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  const std::string cmd =
      shell_quote(scalpel_binary()) + " " + args + " <" + shell_quote(in.string()) + " 2>" + shell_quote(err.string());
  cli_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream f(err, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(f), {});
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace scalpel_test
