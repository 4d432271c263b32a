// scalpel surgery: evaluate -> bank -> layer sweep -> attribution -> confirmation -> plan + edited model + report.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common.hpp"
#include "eval_flags.hpp"
#include "scalpel/analysis/surgery.hpp"

namespace scalpel_cli {
namespace cmd_surgery {  // named: unity builds put several commands in one TU
namespace {

namespace an = scalpel::analysis;

constexpr const char* usage = R"(usage: scalpel surgery --model PATH --out DIR [options]

The study's method in one command (docs/surgery.md): measure the base model's loop rate on the probes, bank the
looping generations as teacher-forced cases, sweep the layers (MLP ablation), attribute the neurons (and experts
for MoE models) of the layers that drive the loop, evaluate candidate edits (top-1..k sets x strengths) and pick
the smallest that removes the loop without regressions, then write plan.json, the edited checkpoint and
report.html / report.md into DIR. Re-running the same command resumes; --shard i/n splits the generations
across processes (run the same command with each shard, then once more without --shard, or with any shard, to
finish the stages that were waiting).

evaluation grid (as scalpel eval; default: every built-in probe, controls included, 8 seeds, 1536 tokens):
  --config FILE, --probes LIST, --probe-file FILE, --wordings W, --thinking T, --max-tokens LIST,
  --thinking-budget N, --seeds N, --seed-start S, --seed-list L, sampling flags (--temperature ...),
  --family, --system, --stop-on-loop, --ignore-eos          (scalpel eval --help describes them)
localization:
  --layers N            layers to attribute: the N with the most negative sweep deltas (default 2)
  --top K               neurons listed per attribution (default 20)
  --exact N             neurons re-scored exactly; candidates come from these (default 8)
  --max-bank-items N    cases banked from the looping generations (default 64)
confirmation:
  --strengths LIST      neuron gains tried (default 0,-0.5,-0.8,-1,2,3; 0 strip, -1 negate)
  --max-units N         largest top-k set tried (default 3)
  --max-loop-rate R     the loop counts as removed at or below this rate (default 0.05)
  --alpha A             significance of the drop from the base, Fisher exact (default 0.05)
  --max-kl X            mean KL(base || edited) on the reference text, nats (default 0.1)
  --max-ppl-delta X     relative perplexity increase on the reference text (default 0.05)
  --max-control-loops N looping control generations allowed beyond the base's (default 0)
  --guard-text FILE     reference text for KL / perplexity (default: a built-in English paragraph)
  --mc FILE|builtin|none  multiple-choice file for the final guard (default builtin)
run:
  --out DIR             output directory (created; a run there with other settings is an error)
  --restart             discard DIR's previous run (its surgery files) first
  --no-model            do not write the edited checkpoint (plan.json is enough for scalpel edit)
  --shard i/n           run only shard i of n of each evaluation
  --threads N           threads (default: all cores)
  --quiet               no progress on stderr
  --json                print surgery.json at the end

exit status: 0 done, 1 bad input, 2 usage error, 3 waiting for other shards, 130 interrupted (re-run to resume))";

std::vector<double> double_list(const std::string& s, const char* what) {
  std::vector<double> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto end = std::min(s.find(',', pos), s.size());
    const std::string item = s.substr(pos, end - pos);
    char* e = nullptr;
    const double v = std::strtod(item.c_str(), &e);
    if (item.empty() || e != item.c_str() + item.size())
      throw usage_error(std::string(what) + ": '" + item + "' is not a number");
    out.push_back(v);
    pos = end + 1;
  }
  return out;
}

/// Progress on stderr: one line per stage step, at most every 2 s, with an ETA for evaluations.
class surgery_progress {
 public:
  explicit surgery_progress(bool on) : on_(on) {}
  void operator()(std::string_view stage, std::size_t done, std::size_t total) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (stage != stage_) {
      stage_ = std::string(stage);
      t0_ = now;
      first_ = done;
      last_ = {};
    }
    if (done < total && now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    const double el = std::chrono::duration<double>(now - t0_).count();
    std::string eta = "--";
    if (done > first_ && done < total)
      eta = format_duration(el / static_cast<double>(done - first_) * static_cast<double>(total - done));
    std::fprintf(stderr, "[surgery] %s %zu/%zu%s\n", stage_.c_str(), done, total,
                 done < total ? (" ETA " + eta).c_str() : " done");
  }

 private:
  bool on_;
  std::string stage_;
  std::size_t first_ = 0;
  std::chrono::steady_clock::time_point t0_{}, last_{};
};

int run(args& a) {
  std::vector<std::string> command{"scalpel", "surgery"};
  for (const auto& t : a.tokens())
    command.push_back(t.find_first_of(" \t\"'$") == std::string::npos ? t : "'" + t + "'");
  an::surgery_options o;
  o.model_path = std::filesystem::absolute(a.require("model")).lexically_normal().string();
  o.out_dir = a.require("out");
  std::string base_dir, source;
  nlohmann::json cfg = config_from_flags(a, base_dir, source);
  if (cfg.contains("variants") || cfg.contains("base"))
    throw usage_error("surgery evaluates its own candidates: --edit / --no-base (or config variants) do not apply");
  cfg.erase("models");
  cfg.erase("model");
  if (!cfg.contains("probes")) cfg["probes"] = "all";
  o.eval = cfg;
  o.eval_base_dir = base_dir;
  o.sweep_layers = static_cast<std::size_t>(a.get_int("layers", 2, 1, 1 << 20));
  o.attribute_top = static_cast<std::size_t>(a.get_int("top", 20, 1, 1 << 20));
  o.attribute_exact = static_cast<std::size_t>(a.get_int("exact", 8, 1, 1 << 20));
  o.max_bank_items = static_cast<std::size_t>(a.get_int("max-bank-items", 64, 1, 1 << 20));
  if (auto s = a.get("strengths")) o.confirm.strengths = double_list(*s, "--strengths");
  o.confirm.max_units = static_cast<std::size_t>(a.get_int("max-units", 3, 1, 64));
  auto& c = o.confirm.criteria;
  c.max_loop_rate = a.get_double("max-loop-rate", c.max_loop_rate);
  c.alpha = a.get_double("alpha", c.alpha);
  c.max_kl = a.get_double("max-kl", c.max_kl);
  c.max_ppl_delta = a.get_double("max-ppl-delta", c.max_ppl_delta);
  c.max_control_loops = static_cast<std::size_t>(a.get_int("max-control-loops", 0, 0, 1 << 30));
  if (auto f = a.get("guard-text")) o.guard_text = read_text_file(*f);
  const std::string mc = a.get_or("mc", "builtin");
  o.mc = mc == "none" ? "" : mc == "builtin" ? "builtin" : std::filesystem::absolute(mc).string();
  o.write_model = !a.flag("no-model");
  const bool restart = a.flag("restart");
  if (auto s = a.get("shard")) {
    try {
      o.shard = an::parse_shard(*s);
    } catch (const scalpel::error& e) {
      throw usage_error(std::string("--shard: ") + e.what());
    }
  }
  apply_threads(a);
  const bool quiet = a.flag("quiet");
  const bool json = a.flag("json");
  a.finish();
  if (c.max_loop_rate < 0 || c.max_loop_rate > 1) throw usage_error("--max-loop-rate must be in [0, 1]");
  if (!(c.alpha > 0 && c.alpha <= 1)) throw usage_error("--alpha must be in (0, 1]");

  if (restart) {
    std::error_code ec;
    for (const char* f :
         {"surgery.json", "eval-base.jsonl", "bank.json", "sweep.json", "attribution.json", "experts.json",
          "confirm.json", "confirm.jsonl", "guard.json", "plan.json", "report.html", "report.md", "model.gguf"})
      std::filesystem::remove(o.out_dir / f, ec);
    std::filesystem::remove_all(o.out_dir / "model", ec);
    if (std::filesystem::exists(o.out_dir, ec))
      for (const auto& e : std::filesystem::directory_iterator(o.out_dir, ec))
        if (e.path().filename().string().find(".shard-") != std::string::npos) std::filesystem::remove(e.path(), ec);
  }
  o.command = std::move(command);
  surgery_progress prog(!quiet);
  o.progress = [&](std::string_view s, std::size_t d, std::size_t n) { prog(s, d, n); };
  if (!quiet) o.log = [](const std::string& s) { std::fprintf(stderr, "[surgery] %s\n", s.c_str()); };
  o.keep_going = [] { return !interrupt::requested(); };

  interrupt::arm();
  const auto out = an::run_surgery(o);
  interrupt::disarm();
  if (json) print_json(out.summary);
  if (out.status == an::surgery_status::interrupted) {
    std::fprintf(stderr, "surgery: interrupted; re-run the same command to resume\n");
    return 130;
  }
  if (out.status == an::surgery_status::waiting_for_shards) {
    std::fprintf(stderr,
                 "surgery: this shard's generations are done; waiting for the other shards (re-run to continue)\n");
    return 3;
  }
  if (!json) {
    const auto& r = out.summary["result"];
    std::printf("%s\n", r.value("summary", std::string()).c_str());
    std::printf("report: %s\n", (o.out_dir / "report.html").string().c_str());
  }
  return 0;
}

const registrar reg{{"surgery",
                     "the whole pipeline: evaluate, bank, sweep, attribute, confirm, write plan + model + report",
                     usage, &run, 240}};

}  // namespace
}  // namespace cmd_surgery
}  // namespace scalpel_cli
