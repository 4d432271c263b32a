#pragma once
/// @file
/// @brief `scalpel::error`, the one exception type for recoverable input errors (I/O, formats, configs,
/// plans), and `errc`, its stable codes. Messages start with `[scalpel.<code>]` and name the
/// file / field / tensor at fault with expected vs actual values; see docs/errors.md.

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE

/// Stable error codes. The names appear in messages as `[scalpel.<name>]`.
enum class errc : int {
  io = 1,            ///< a file could not be opened, read, written, mapped or renamed
  format,            ///< a file's bytes do not follow its format (truncated, bad header, bad offsets)
  json,              ///< malformed JSON or a JSON value of the wrong type
  config,            ///< a model config that is inconsistent or unsupported
  dtype_mismatch,    ///< a tensor has another dtype than required
  shape_mismatch,    ///< a tensor has another shape than required
  missing_tensor,    ///< a required tensor is absent from a checkpoint
  unsupported,       ///< a valid input that scalpel does not handle (e.g. a quantisation type)
  out_of_range,      ///< an index (token id, layer, neuron, expert, position) past its bound
  invalid_argument,  ///< a bad option or argument value
  plan,              ///< an edit plan that is malformed or impossible for the model
  ineffective_edit,  ///< an edit that would change nothing (e.g. k_proj of a KV-shared layer)
  context_overflow,  ///< a sequence longer than the context limit
  tokenizer,         ///< a tokenizer file that is inconsistent
  already_exists,    ///< an output path that exists / would overwrite an input
  numeric,           ///< NaN / Inf where finite values are required
};

/// The stable text id of a code, as it appears in messages.
constexpr std::string_view errc_name(errc c) noexcept {
  switch (c) {
    case errc::io:
      return "io";
    case errc::format:
      return "format";
    case errc::json:
      return "json";
    case errc::config:
      return "config";
    case errc::dtype_mismatch:
      return "dtype_mismatch";
    case errc::shape_mismatch:
      return "shape_mismatch";
    case errc::missing_tensor:
      return "missing_tensor";
    case errc::unsupported:
      return "unsupported";
    case errc::out_of_range:
      return "out_of_range";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::plan:
      return "plan";
    case errc::ineffective_edit:
      return "ineffective_edit";
    case errc::context_overflow:
      return "context_overflow";
    case errc::tokenizer:
      return "tokenizer";
    case errc::already_exists:
      return "already_exists";
    case errc::numeric:
      return "numeric";
  }
  return "unknown";
}

/// Recoverable input error. `what()` is the full one-line message including the `[scalpel.<code>]` id.
class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message)
      : std::runtime_error("[scalpel." + std::string(errc_name(code)) + "] " + message), code_(code) {}

  [[nodiscard]] errc code() const noexcept { return code_; }

 private:
  errc code_;
};

SCALPEL_END_NAMESPACE

#ifndef SCALPEL_THROW
#if SCALPEL_HAS_EXCEPTIONS
#define SCALPEL_THROW(e) throw(e)
#else
#define SCALPEL_THROW(e)                               \
  do {                                                 \
    std::fprintf(stderr, "scalpel: %s\n", (e).what()); \
    std::abort();                                      \
  } while (0)
#endif
#endif

SCALPEL_BEGIN_NAMESPACE
/// Raise a `scalpel::error` (through `SCALPEL_THROW`).
[[noreturn]] inline void fail(errc code, const std::string& message) {
  SCALPEL_THROW(error(code, message));
#if !SCALPEL_HAS_EXCEPTIONS
  std::abort();
#endif
}
SCALPEL_END_NAMESPACE
