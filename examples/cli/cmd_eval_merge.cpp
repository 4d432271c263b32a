// scalpel eval-merge: combine the JSONL files of eval shards (or resumed runs) into one run file.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"
#include "scalpel/analysis/eval_record.hpp"
#include "scalpel/core/atomic_file.hpp"

namespace scalpel_cli {
namespace cmd_eval_merge {  // named: unity builds put several commands in one TU
namespace {

namespace an = scalpel::analysis;
using nlohmann::json;

constexpr const char* usage = R"(usage: scalpel eval-merge A.jsonl B.jsonl ... --out RUN.jsonl [--allow-mixed] [--force]

Combine eval record files (shards of one run, or pieces of resumed runs) into one file: records are deduplicated by
key (the first copy is kept), sorted by key and written atomically. Every input must come from the same
configuration (the config hash in each record) unless --allow-mixed. An incomplete last line of an input (a shard
still running, or killed mid-write) is ignored with a warning.

options:
  --out FILE       the merged file; may be one of the inputs (merging into it); another existing file needs --force
  --allow-mixed    accept records of different configurations (e.g. base and edited runs made separately)
  --force          overwrite an existing --out that is not an input)";

/// A record without its timing (what must agree between two copies of one task).
json without_timing(json r) {
  r.erase("timing");
  return r;
}

int run(args& a) {
  const std::string out = a.require("out");
  const bool allow_mixed = a.flag("allow-mixed");
  const bool force = a.flag("force");
  const auto inputs = a.positional();
  a.finish();
  if (inputs.empty()) throw usage_error("give the JSONL files to merge");
  namespace fs = std::filesystem;
  std::error_code ec;
  bool out_is_input = false;
  for (const auto& in : inputs)
    if (fs::exists(out, ec) && fs::exists(in, ec) && fs::equivalent(in, out, ec)) out_is_input = true;
  if (fs::exists(out, ec) && !out_is_input && !force)
    scalpel::fail(scalpel::errc::already_exists,
                  "'" + out + "' exists and is not one of the inputs (use --force to overwrite it)");

  std::map<std::string, json> by_key;
  std::map<std::string, std::string> hash_source;  // config hash -> first file that has it
  std::size_t total = 0, duplicates = 0, conflicts = 0;
  for (const auto& in : inputs) {
    const auto f = an::read_eval_jsonl(in);
    if (f.truncated_tail)
      std::fprintf(stderr, "eval-merge: %s ends in an incomplete record (ignored): %s\n", in.c_str(),
                   f.tail_problem.c_str());
    for (const auto& r : f.records) {
      ++total;
      const auto h = r["config_hash"].get<std::string>();
      if (!hash_source.count(h)) hash_source[h] = in;
      if (!allow_mixed && hash_source.size() > 1) {
        std::string list;
        for (const auto& [hh, src] : hash_source) {
          if (!list.empty()) list += ", ";
          list += hh;
          list += " (";
          list += src;
          list += ')';
        }
        scalpel::fail(scalpel::errc::invalid_argument, "the inputs come from different configurations: " + list +
                                                           "; merge shards of one run, or pass --allow-mixed");
      }
      const auto key = r["key"].get<std::string>();
      auto [it, inserted] = by_key.emplace(key, r);
      if (!inserted) {
        ++duplicates;
        if (without_timing(it->second) != without_timing(r)) ++conflicts;
      }
    }
  }
  std::string text;
  for (const auto& [k, r] : by_key) text += r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  scalpel::write_file_atomic(out, text);
  std::fprintf(stderr, "eval-merge: %zu records from %zu files -> %zu in %s (%zu duplicates dropped", total,
               inputs.size(), by_key.size(), out.c_str(), duplicates);
  if (conflicts)
    std::fprintf(stderr,
                 "; %zu of them differed from the kept copy, e.g. a task run on machines with different "
                 "thread counts",
                 conflicts);
  std::fprintf(stderr, ")\n");
  return 0;
}

const registrar reg{{"eval-merge", "combine eval shards' JSONL files (dedupe, same-config check)", usage, &run, 221}};
}  // namespace
}  // namespace cmd_eval_merge
}  // namespace scalpel_cli
