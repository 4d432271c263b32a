// scalpel eval: run a loop-rate evaluation grid, streaming one JSONL record per generation (resumable, shardable).
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"
#include "eval_flags.hpp"
#include "scalpel/analysis/eval_config.hpp"
#include "scalpel/analysis/eval_grid.hpp"
#include "scalpel/analysis/eval_record.hpp"
#include "scalpel/analysis/eval_report.hpp"
#include "scalpel/analysis/eval_runner.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/loader.hpp"
#include "scalpel/simd/threads.hpp"

namespace scalpel_cli {
namespace cmd_eval {  // named: unity builds put several commands in one TU
namespace {

namespace an = scalpel::analysis;
using nlohmann::json;

constexpr const char* usage =
    R"(usage: scalpel eval (--config FILE | --model PATH --probes LIST) --out RUN.jsonl [options]

Run a loop-rate evaluation: every cell of model x variant x probe x wording x thinking x budget x sampler, once per
seed. Each generation is rendered in the Gemma 4 chat format, watched by the loop detectors, scored against the
probe's gold list, and appended to RUN.jsonl as one record (docs/eval.md). Re-running the same command resumes:
records already in RUN.jsonl are skipped. Grid flags override the config file's fields.

grid:
  --config FILE            a scalpel.eval-config/1 file (docs/eval.md)
  --model [NAME=]PATH      model (repeatable); NAME defaults to the directory / file name
  --tokenizer FILE         tokenizer.json for the --model models (default: the model's own)
  --edit [NAME=]PLAN.json  an edit plan applied at run time: one more variant (repeatable; NAME: the file stem)
  --no-base                do not run the unedited model
  --probes LIST            probe ids (comma-separated), or all | enumeration | control  (scalpel probes lists them)
  --probe-file FILE        a scalpel.probes/1 file; ids are looked up there first, then in the built-in set
  --wordings W             all | first | 0,2  (default first)
  --thinking T             off | on | both  (default off)
  --max-tokens LIST        budgets: max new tokens, comma-separated (default 1536)
  --thinking-budget N      thinking-channel budget of those budgets (-1 = none)
  --seeds N                seeds 0..N-1 (default 8); --seed-start S shifts them; --seed-list 1,5,9 names them
  --sampler-name NAME      name of the sampler built from the sampling flags below (default "default")
  --family auto|small|large   chat template family (default: from the model)
  --system TEXT            system prompt
  --stop-on-loop           stop a generation when a loop detector fires (saves time; list scores then cover less)
  --ignore-eos             do not stop on end-of-generation tokens
  --on-thinking-budget close|stop
sampling (any of these replaces the config's samplers by one; defaults T 1.0, top-k 64, top-p 0.95):
  --temperature --top-k --top-p --min-p --typical-p --min-keep --repeat-penalty --repeat-last-n
  --presence-penalty --frequency-penalty --dry-multiplier --dry-base --dry-allowed-length --dry-penalty-last-n
  --samplers ORDER --logit-bias ID:BIAS (repeatable)
run:
  --out RUN.jsonl          results (appended; created if needed; locked while running)
  --shard i/n              run only shard i of n (tasks dealt round-robin; merge shards with scalpel eval-merge)
  --threads N              threads per generation (default: all cores; tiny models: 1)
  --summary                print a summary at the end (this shard's records)
  --summary-format F       md (default) | csv | json
  --progress P             auto (bar on a terminal, lines otherwise) | bar | lines | none;  --quiet = none
  --max-records N          stop after N new records (exit status 3; re-run to continue)
  --dry-run                print the plan (cells, tasks, already done) as JSON and exit
  --print-config           print the resolved config (canonical JSON, usable as --config) and exit

exit status: 0 done, 1 bad input, 2 usage error, 3 stopped by --max-records, 130 interrupted (Ctrl-C); in every
case the records written so far are complete and a re-run continues from them.)";

/// Progress on stderr: a redrawn bar with ETA on a terminal, one plain line per record otherwise.
class progress {
 public:
  enum class mode { bar, lines, none };
  progress(mode m, std::size_t total, std::size_t done) : mode_(m), total_(total), done_(done) {}

  void start(const an::eval_task& t) {
    label_ = t.key;
    tokens_ = 0;
    draw(true);
  }
  void token(std::size_t n) {
    tokens_ = n;
    draw(false);
  }
  void record(const json& rec) {
    ++done_;
    ++new_;
    if (mode_ == mode::lines) {
      std::fprintf(stderr, "[eval] %zu/%zu %s: %s, %llu tokens, %.1f tok/s, ETA %s\n", done_, total_,
                   rec["key"].get<std::string>().c_str(), rec["outcome"].get<std::string>().c_str(),
                   static_cast<unsigned long long>(rec["tokens"].get<std::uint64_t>()),
                   rec["timing"]["decode_tok_s"].get<double>(), format_duration(eta()).c_str());
      std::fflush(stderr);
    }
    draw(true);
  }
  void finish() {
    if (mode_ == mode::bar && drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  [[nodiscard]] double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  [[nodiscard]] double eta() const {
    if (new_ == 0) return -1;
    return elapsed() / static_cast<double>(new_) * static_cast<double>(total_ - done_);
  }
  void draw(bool force) {
    if (mode_ != mode::bar) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    winsize ws{};
    std::size_t width = 100;
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) width = ws.ws_col;
    const std::size_t bar = 24;
    const std::size_t fill = total_ ? done_ * bar / total_ : bar;
    std::string line = "[eval] [";
    line.append(fill, '#');
    line.append(bar - fill, '.');
    line += "] " + std::to_string(done_) + "/" + std::to_string(total_) + " " +
            std::to_string(total_ ? done_ * 100 / total_ : 100) + "%  ETA " + format_duration(eta()) + "  " + label_ +
            "  " + std::to_string(tokens_) + " tok";
    if (line.size() > width - 1) line.resize(width - 1);
    std::fprintf(stderr, "\r\033[2K%s", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  mode mode_;
  std::size_t total_, done_, new_ = 0, tokens_ = 0;
  std::string label_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now(), last_{};
};

/// A record without its bulky fields (what the summary needs).
json light(json rec) {
  for (const char* k : {"ids", "prompt_ids", "text", "prompt"}) rec.erase(k);
  rec["loop"].erase("detectors");
  rec["list_score"].erase("missing");
  rec["list_score"].erase("wrong");
  return rec;
}

void print_summary(const an::eval_summary& s, const std::string& format) {
  std::string text;
  if (format == "json")
    text = an::to_json(s).dump(2) + "\n";
  else if (format == "csv")
    text = an::to_csv(s, "cells");
  else
    text = an::to_markdown(s);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

int run(args& a) {
  std::string base_dir, source;
  const json cj = config_from_flags(a, base_dir, source);
  const auto out_path = a.get("out");
  const auto shard_arg = a.get("shard");
  const auto threads = a.get_int("threads", 0, 0, 1024);
  const bool summary = a.flag("summary");
  const std::string summary_format = a.get_or("summary-format", "md");
  const bool quiet = a.flag("quiet");
  const std::string progress_arg = a.get_or("progress", quiet ? "none" : "auto");
  const auto max_records = a.get_int_opt("max-records", 1);
  const bool dry_run = a.flag("dry-run");
  const bool print_config = a.flag("print-config");
  a.finish();
  if (summary_format != "md" && summary_format != "csv" && summary_format != "json")
    throw usage_error("--summary-format must be md, csv or json");
  if (progress_arg != "auto" && progress_arg != "bar" && progress_arg != "lines" && progress_arg != "none")
    throw usage_error("--progress must be auto, bar, lines or none");
  an::shard_spec shard;
  if (shard_arg) {
    try {
      shard = an::parse_shard(*shard_arg);
    } catch (const scalpel::error& e) {
      throw usage_error(std::string("--shard: ") + e.what());
    }
  }
  if (!cj.contains("probes")) throw usage_error("give --probes (or a --config with \"probes\")");
  if (!cj.contains("model") && !cj.contains("models")) throw usage_error("give --model (or a --config with \"model\")");

  const an::eval_config cfg = an::parse_eval_config(cj, source, base_dir);
  if (print_config) {
    print_json(an::to_json(cfg));
    return 0;
  }
  if (!out_path && !dry_run) throw usage_error("missing required option --out");
  if (threads > 0) scalpel::simd::set_num_threads(static_cast<int>(threads));

  const auto cells = an::enumerate_cells(cfg);
  const auto tasks = an::plan_tasks(cfg, cells, shard);
  std::vector<std::string> model_ids;
  for (const auto& m : cfg.models) model_ids.push_back(m.id.empty() ? an::model_fingerprint(m.path) : m.id);
  const std::string hash = an::eval_config_hash(cfg, model_ids);

  if (dry_run) {
    std::size_t done = 0;
    if (out_path && std::filesystem::exists(*out_path)) {
      std::set<std::string> keys;
      for (const auto& r : an::read_eval_jsonl(*out_path).records)
        if (r["config_hash"] == hash) keys.insert(r["key"].get<std::string>());
      for (const auto& t : tasks) done += keys.count(t.key);
    }
    print_json({{"config_hash", hash},
                {"cells", cells.size()},
                {"seeds", cfg.seeds.size()},
                {"tasks", tasks.size()},
                {"shard", std::to_string(shard.index) + "/" + std::to_string(shard.count)},
                {"done", done},
                {"to_run", tasks.size() - done}});
    return 0;
  }

  an::eval_output out(*out_path);
  if (out.repaired_bytes() > 0)
    std::fprintf(stderr, "eval: %s ended in an incomplete record (%llu bytes, from an interrupted run); removed it\n",
                 out_path->c_str(), static_cast<unsigned long long>(out.repaired_bytes()));
  std::set<std::string> done_keys;
  for (const auto& r : out.existing().records) {
    const auto h = r["config_hash"].get<std::string>();
    if (h != hash)
      scalpel::fail(scalpel::errc::invalid_argument,
                    *out_path + " holds records of another configuration (config hash " + h + ", this run " + hash +
                        "): write to another --out (scalpel eval-merge --allow-mixed combines runs)");
    done_keys.insert(r["key"].get<std::string>());
  }
  std::vector<an::eval_task> todo;
  std::vector<json> summary_records;
  std::set<std::string> planned;
  for (const auto& t : tasks) {
    planned.insert(t.key);
    if (!done_keys.count(t.key)) todo.push_back(t);
  }
  if (summary)
    for (const auto& r : out.existing().records)
      if (planned.count(r["key"].get<std::string>())) summary_records.push_back(light(r));

  const std::size_t already = tasks.size() - todo.size();
  progress::mode pm = progress::mode::none;
  if (progress_arg == "bar" || (progress_arg == "auto" && ::isatty(STDERR_FILENO)))
    pm = progress::mode::bar;
  else if (progress_arg == "lines" || progress_arg == "auto")
    pm = progress::mode::lines;
  if (pm != progress::mode::none)
    std::fprintf(stderr,
                 "eval: %zu cells x %zu seeds, config %s, shard %zu/%zu: %zu tasks, %zu already in %s, %zu to run\n",
                 cells.size(), cfg.seeds.size(), hash.c_str(), shard.index, shard.count, tasks.size(), already,
                 out_path->c_str(), todo.size());
  progress bar(pm, tasks.size(), already);

  interrupt::arm();
  std::size_t written = 0;
  bool stop_requested = false;
  an::eval_callbacks cb;
  cb.on_start = [&](const an::eval_task& t) { bar.start(t); };
  cb.on_token = [&](std::size_t n) {
    bar.token(n);
    return !stop_requested && !interrupt::requested();
  };
  cb.on_record = [&](const an::eval_task&, json rec) {
    out.append(rec);
    bar.record(rec);
    if (summary) summary_records.push_back(light(std::move(rec)));
    ++written;
    if (max_records && written >= static_cast<std::size_t>(*max_records)) stop_requested = true;
  };
  const auto t0 = std::chrono::steady_clock::now();
  bool cancelled = false;
  for (std::size_t mi = 0; mi < cfg.models.size() && !cancelled && !stop_requested; ++mi) {
    const bool any =
        std::any_of(todo.begin(), todo.end(), [&](const an::eval_task& t) { return cells[t.cell].model == mi; });
    if (!any) continue;
    const auto& spec = cfg.models[mi];
    scalpel::model::model_files files;
    const auto m = scalpel::model::load_model(spec.path, &files);
    const auto tok = scalpel::io::load_tokenizer(
        !spec.tokenizer.empty() ? spec.tokenizer : (files.tokenizer_path.empty() ? m.source() : files.tokenizer_path));
    const auto st = an::run_eval_tasks(cfg, cells, hash, mi, m, tok, todo, cb);
    cancelled = st.cancelled;
  }
  interrupt::disarm();
  bar.finish();
  out.sync();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool interrupted = interrupt::requested();
  if (summary) print_summary(an::summarize_eval(std::move(summary_records)), summary_format);
  if (interrupted) {
    std::fprintf(stderr, "eval: interrupted; %s holds every finished record, re-run the same command to resume\n",
                 out_path->c_str());
    return 130;
  }
  if (written < todo.size() && (stop_requested || cancelled)) {
    std::fprintf(stderr, "eval: stopped after %zu new records (--max-records); re-run to continue\n", written);
    return 3;
  }
  if (pm != progress::mode::none)
    std::fprintf(stderr, "eval: done in %s: %zu new records, %zu total in this shard -> %s\n",
                 format_duration(secs).c_str(), written, tasks.size(), out_path->c_str());
  return 0;
}

const registrar reg{{"eval", "loop-rate evaluation grid -> JSONL records (resumable, --shard i/n)", usage, &run, 220}};
}  // namespace
}  // namespace cmd_eval
}  // namespace scalpel_cli
