#pragma once
// Shared plumbing of the scalpel CLI: argument parsing, the command table, exit codes.
//
// Exit status (docs/cli.md, contracts.md): 0 success; 1 user error (bad input, missing file, invalid plan),
// reported as one line on stderr naming the file / field / tensor; 2 usage error.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace scalpel_cli {

/// A command-line usage error (exit status 2).
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Lazily parsed arguments: a command asks for the options it knows, then `finish()` rejects the rest.
/// Options are `--name value` or `--name=value`; flags are `--name`.
class args {
 public:
  explicit args(std::vector<std::string> tokens);

  /// Value of `--name`, if given (the last occurrence wins).
  std::optional<std::string> get(std::string_view name);
  /// Every value of a repeatable option, in order.
  std::vector<std::string> get_all(std::string_view name);
  std::string get_or(std::string_view name, std::string_view fallback);
  /// Value of a required option; usage error if absent.
  std::string require(std::string_view name);
  bool flag(std::string_view name);
  std::int64_t get_int(std::string_view name, std::int64_t fallback, std::int64_t lo = INT64_MIN,
                       std::int64_t hi = INT64_MAX);
  std::optional<std::int64_t> get_int_opt(std::string_view name, std::int64_t lo = INT64_MIN,
                                          std::int64_t hi = INT64_MAX);
  double get_double(std::string_view name, double fallback);
  std::optional<double> get_double_opt(std::string_view name);
  /// Remaining positional arguments (call after all options were queried).
  std::vector<std::string> positional();
  /// Usage error for anything not consumed.
  void finish();
  [[nodiscard]] bool help_requested() const { return help_; }
  /// The command's arguments as given (for recording how a result was produced).
  [[nodiscard]] const std::vector<std::string>& tokens() const { return tok_; }

 private:
  std::vector<std::string> tok_;
  std::vector<bool> used_;
  bool help_ = false;
};

/// Parse "1,2,3" (also spaces / brackets tolerated) into integers; usage error naming `what`.
std::vector<std::int64_t> parse_int_list(std::string_view s, std::string_view what);

struct command {
  std::string_view name;
  std::string_view summary;
  std::string_view usage;  // full help text (printed by --help)
  int (*run)(args&);
  int order;  // position in `scalpel --help` (ties: by name)
};

/// Adds a command to the table; each cmd_<name>.cpp registers itself with one static instance:
///   static const scalpel_cli::registrar reg{{"info", "summary", usage_text, &run_info, 10}};
struct registrar {
  explicit registrar(const command& c);
};

/// All registered commands, in help order.
const std::vector<command>& commands();

}  // namespace scalpel_cli
