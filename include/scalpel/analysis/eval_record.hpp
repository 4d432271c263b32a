#pragma once
/// @file
/// @brief Evaluation records (`scalpel.eval-record/1`, one JSON object per line of a run's JSONL file) and the
/// file itself: building a record, checking one that was read back, reading a run tolerantly (a run killed while
/// writing leaves at most an incomplete last line, which is detected and ignored), and `eval_output`, the
/// append-only, exclusively locked writer that repairs such a tail before appending. See docs/eval.md.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/eval_config.hpp"
#include "scalpel/analysis/eval_grid.hpp"
#include "scalpel/analysis/list_score.hpp"
#include "scalpel/analysis/loop_types.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/generate/generate.hpp"
#include "scalpel/io/json.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

inline constexpr std::string_view eval_record_format = "scalpel.eval-record/1";

/// Build the record of one generation. Field order is fixed (nlohmann keeps keys sorted on output).
///
/// Fields: `format`, `key`, `cell`, `config_hash`, the cell's parts (`model`, `variant`, `probe`, `category`,
/// `wording`, `prompt` (the wording's text), `thinking`, `budget`, `max_tokens`, `thinking_budget`, `sampler`),
/// `seed`, `prompt_ids`, `ids` (generated), `tokens`, `text`, `stop_reason`, `looping`, `outcome`, `loop`
/// (`analysis::to_json(loop_report)`), `list_score` (`analysis::to_json(list_score)`) and `timing`
/// (`prefill_s` of the shared prompt prefill, `decode_s`, `decode_tok_s`). Only `timing` differs between two runs
/// of the same task on the same machine and thread count.
inline nlohmann::json make_eval_record(const eval_config& c, const eval_cell& cell, std::string_view config_hash,
                                       std::uint64_t seed, std::span<const std::int32_t> prompt_ids,
                                       const gen::generation& g, const loop_report& loop, const list_score& score) {
  const std::string ck = cell_key(c, cell);
  const auto& p = c.probes.at(cell.probe).p;
  const auto& b = c.budgets.at(cell.budget);
  return {{"format", std::string(eval_record_format)},
          {"key", record_key(ck, seed)},
          {"cell", ck},
          {"config_hash", std::string(config_hash)},
          {"model", c.models.at(cell.model).name},
          {"variant", c.variants.at(cell.variant).name},
          {"probe", p.id},
          {"category", std::string(probe_category_name(p.category))},
          {"wording", cell.wording},
          {"prompt", p.wordings.at(cell.wording)},
          {"thinking", cell.thinking},
          {"budget", b.name},
          {"max_tokens", b.max_tokens},
          {"thinking_budget", b.thinking_budget},
          {"sampler", c.samplers.at(cell.sampler).name},
          {"seed", seed},
          {"prompt_ids", std::vector<std::int32_t>(prompt_ids.begin(), prompt_ids.end())},
          {"ids", g.ids},
          {"tokens", g.ids.size()},
          {"text", g.text},
          {"stop_reason", std::string(gen::stop_reason_name(g.reason))},
          {"looping", loop.looping},
          {"outcome", std::string(outcome_name(loop.result))},
          {"loop", to_json(loop)},
          {"list_score", to_json(score)},
          {"timing",
           {{"prefill_s", g.prefill_seconds}, {"decode_s", g.decode_seconds}, {"decode_tok_s", g.decode_tok_s()}}}};
}

/// Check the fields the harness relies on (types, and `key` = `cell` + "|seed=" + `seed`).
/// @throws scalpel::error (json) "<where>: field 'x': ...".
inline void check_eval_record(const nlohmann::json& j, const std::string& where) {
  const io::json_field r(j, where);
  if (!r.is_object()) r.fail_here("expected an eval record (a JSON object)");
  const auto fmt = r.value<std::string>("format");
  if (fmt != eval_record_format)
    r["format"].fail_here("expected \"" + std::string(eval_record_format) + "\", got \"" + fmt + "\"");
  for (const char* k : {"key", "cell", "config_hash", "model", "variant", "probe", "budget", "sampler", "outcome"})
    (void)r.value<std::string>(k);
  (void)r.value<std::uint64_t>("wording");
  (void)r.value<bool>("thinking");
  (void)r.value<bool>("looping");
  (void)r.value<std::uint64_t>("tokens");
  const auto seed = r.value<std::uint64_t>("seed");
  (void)r["loop"].value<bool>("looping");
  (void)r["loop"].value<std::string>("outcome");
  for (const char* k : {"coverage", "correctness"}) (void)r["list_score"].value<double>(k);
  (void)r["list_score"].value<std::int64_t>("duplicates");
  if (r.value<std::string>("key") != record_key(r.value<std::string>("cell"), seed))
    r["key"].fail_here("does not match cell + \"|seed=\" + seed");
}

/// A run's records as read from JSONL.
struct eval_jsonl {
  std::vector<nlohmann::json> records;
  std::uint64_t valid_bytes = 0;  ///< bytes through the last complete record line (what a repair keeps)
  bool truncated_tail = false;    ///< the file ended in an incomplete line, which was ignored
  bool missing_newline = false;   ///< the last record was complete but lacked its final newline
  std::string tail_problem;       ///< why the tail was ignored (for messages)
};

/// Parse JSONL text. Blank lines are skipped; a malformed line that ends with a newline is an error naming
/// `source:line` (records are written whole, so such a line is corruption, not an interrupted write); a last line
/// without a newline that is not a valid record is an interrupted write: it is ignored (`truncated_tail`).
inline eval_jsonl parse_eval_jsonl(std::string_view text, const std::string& source) {
  eval_jsonl out;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    const std::size_t nl = text.find('\n', pos);
    const bool complete = nl != std::string_view::npos;
    const std::string_view line = text.substr(pos, (complete ? nl : text.size()) - pos);
    const std::size_t next = complete ? nl + 1 : text.size();
    const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    const std::string where = source + ":" + std::to_string(line_no);
    if (blank) {
      if (complete) out.valid_bytes = next;
      pos = next;
      continue;
    }
    try {
      auto j = io::parse_json(line, where);
      check_eval_record(j, where);
      out.records.push_back(std::move(j));
      out.valid_bytes = next;
      out.missing_newline = !complete;
    } catch (const error& e) {
      if (complete) throw;
      out.truncated_tail = true;
      out.tail_problem = e.what();
    }
    pos = next;
  }
  return out;
}

namespace eval_detail {
inline std::string read_fd(int fd, const std::string& path) {
  std::string s;
  char buf[1 << 16];
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errc::io, "cannot read '" + path + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    s.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
  return s;
}
inline void write_all(int fd, std::string_view s, const std::string& path) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errc::io, "cannot write '" + path + "': " + std::strerror(errno));
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}
}  // namespace eval_detail

/// Read a run's JSONL file (no lock; a run still being written may show an incomplete last line, ignored).
/// @throws scalpel::error (io) if unreadable, (json) for a corrupt complete line.
inline eval_jsonl read_eval_jsonl(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(errc::io, "cannot open '" + path + "': " + std::strerror(errno));
  std::string text;
  try {
    text = eval_detail::read_fd(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return parse_eval_jsonl(text, path);
}

/// The output file of a run, open for appending. Construction creates the file if needed, takes an exclusive
/// `flock` (a second process writing the same file fails at once instead of interleaving lines), reads the
/// records already there and repairs an interrupted last line (cut off; or, when only its newline is missing,
/// completed). Each `append` is one `write(2)` of the record and its newline — nothing is buffered in the
/// process, so a killed run loses at most the record being written.
class eval_output {
 public:
  explicit eval_output(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(errc::io, "cannot open '" + path_ + "' for writing: " + std::strerror(errno));
    try {
      if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
          fail(errc::io, "'" + path_ + "' is locked by another process (is another scalpel eval writing it?)");
        fail(errc::io, "cannot lock '" + path_ + "': " + std::strerror(errno));
      }
      const std::string text = eval_detail::read_fd(fd_, path_);
      existing_ = parse_eval_jsonl(text, path_);
      if (existing_.truncated_tail || existing_.valid_bytes < text.size()) {
        cut_ = text.size() - existing_.valid_bytes;
        if (::ftruncate(fd_, static_cast<off_t>(existing_.valid_bytes)) != 0)
          fail(errc::io, "cannot repair '" + path_ + "': " + std::strerror(errno));
      }
      if (existing_.missing_newline) eval_detail::write_all(fd_, "\n", path_);
    } catch (...) {
      ::close(fd_);
      fd_ = -1;
      throw;
    }
  }
  eval_output(const eval_output&) = delete;
  eval_output& operator=(const eval_output&) = delete;
  eval_output(eval_output&& o) noexcept
      : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)), existing_(std::move(o.existing_)), cut_(o.cut_) {}
  eval_output& operator=(eval_output&& o) noexcept {
    if (this != &o) {
      close();
      path_ = std::move(o.path_);
      fd_ = std::exchange(o.fd_, -1);
      existing_ = std::move(o.existing_);
      cut_ = o.cut_;
    }
    return *this;
  }
  ~eval_output() { close(); }

  /// The records the file held when opened.
  [[nodiscard]] const eval_jsonl& existing() const noexcept { return existing_; }
  /// Bytes cut from an interrupted last line when opened (0 if none).
  [[nodiscard]] std::uint64_t repaired_bytes() const noexcept { return cut_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  /// Append one record (a compact JSON line). @throws scalpel::error (io).
  void append(const nlohmann::json& record) {
    if (fd_ < 0) fail(errc::io, "eval_output: '" + path_ + "' is closed");
    std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    eval_detail::write_all(fd_, line, path_);
  }
  /// fdatasync the file (records are already in the kernel after each append; this survives power loss).
  void sync() {
    if (fd_ >= 0 && ::fdatasync(fd_) != 0) fail(errc::io, "cannot sync '" + path_ + "': " + std::strerror(errno));
  }
  /// Release the lock and close (also done by the destructor).
  void close() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  eval_jsonl existing_;
  std::uint64_t cut_ = 0;
};

}  // namespace analysis
SCALPEL_END_NAMESPACE
