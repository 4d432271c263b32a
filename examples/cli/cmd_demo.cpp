// scalpel demo: the end-to-end story on a built-in model with a planted loop circuit.
#include <cstdio>
#include <filesystem>
#include <string>

#include "common.hpp"
#include "scalpel/analysis/list_score.hpp"
#include "scalpel/analysis/loop_monitor.hpp"
#include "scalpel/analysis/planted_loop.hpp"
#include "scalpel/edit.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/generate/generate.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/simd/threads.hpp"

namespace scalpel_cli {
namespace {

constexpr const char* usage = R"(usage: scalpel demo [--out DIR] [--seeds N] [--json]

The whole story in seconds, on a built-in model (no download, no files needed):
  1. build a tiny Gemma-4-architecture model with a planted loop circuit (docs/demo.md explains the weights),
  2. ask it for the 88 IAU constellations and watch the list collapse onto one repeated entry,
  3. measure the loop rate over sampled generations (Gemma 4 defaults: T 1.0, top-k 64, top-p 0.95),
  4. apply the edit plan that sign-inverts the loop neuron, statically (weights) and at run time (hooks),
  5. show the repaired list and the loop rate after the edit,
  6. save the base model, the edited model and the plan to DIR.

options:
  --out DIR     where to save (default: scalpel-demo)
  --seeds N     sampled generations per measurement (default 8)
  --json        end with {"loop_rate_before", "loop_rate_after", "plan", ...}
  --threads N   threads (default 1: the model is tiny))";

/// One generation with the loop monitor attached (and run-time edit hooks when given).
scalpel::gen::generation generate_once(const scalpel::model::gemma4_model& m, const scalpel::io::tokenizer& tok,
                                       const std::vector<std::int32_t>& prompt, const scalpel::gen::generate_options& o,
                                       const scalpel::edit::plan_hooks* hooks, scalpel::analysis::loop_report& rep) {
  const scalpel::gen::generator g(m, tok);
  scalpel::analysis::loop_monitor mon{scalpel::analysis::loop_monitor_config{}};
  const scalpel::gen::loop_check lc = [&](std::int32_t id, std::string_view piece) { return mon.push(id, piece); };
  scalpel::gen::generation r;
  if (hooks != nullptr) {
    scalpel::edit::plan_hooks h = *hooks;
    r = g.generate(prompt, o, h, {}, lc);
  } else {
    scalpel::model::no_hooks h;
    r = g.generate(prompt, o, h, {}, lc);
  }
  rep = mon.finish(scalpel::analysis::parse_stop_reason(scalpel::gen::stop_reason_name(r.reason)));
  return r;
}

struct run_stats {
  std::size_t looping = 0, total = 0;
  double coverage = 0.0;
};

int run(args& a) {
  // The demo model is tiny: one thread is fastest (fork/join would cost more than the work).
  scalpel::simd::set_num_threads(static_cast<int>(a.get_int("threads", 1, 1, 1024)));
  const bool json = a.flag("json");
  const std::string out = a.get_or("out", "scalpel-demo");
  const auto n_seeds = static_cast<std::size_t>(a.get_int("seeds", 8, 1, 1000));
  a.finish();
  // Narration goes to stdout normally, to stderr with --json (stdout then carries only the JSON).
  std::FILE* say = json ? stderr : stdout;

  std::fprintf(say, "== 1. A tiny Gemma 4 model with a planted loop circuit\n");
  auto demo = scalpel::analysis::build_planted_loop();
  const auto& cfg = demo.model.config();
  std::fprintf(say,
               "   %zu layers (%s), hidden size %zu, %zu MLP neurons per layer, vocabulary %zu.\n"
               "   Layer 1 holds a successor circuit: one neuron per constellation that predicts the next one.\n"
               "   Layer %zu, neuron %zu is the planted loop neuron: once the list reaches entry %zu (%s) it keeps\n"
               "   predicting that entry. Everything else has small random weights.\n",
               cfg.num_layers, "sliding, sliding, sliding, full", cfg.hidden_size, cfg.intermediate_size,
               cfg.vocab_size, demo.options.loop_layer, demo.options.loop_neuron, demo.options.attractor,
               demo.entries[demo.options.attractor - 1].c_str());
  const auto tok = scalpel::io::tokenizer::from_json(demo.tokenizer_json.dump(), "demo tokenizer");
  const auto& probe = scalpel::analysis::builtin_probes().at("iau_constellations");
  const std::vector<scalpel::gen::chat_message> conv = {{scalpel::gen::chat_role::user, demo.prompt}};
  const auto prompt = tok.encode(scalpel::gen::render_chat(conv, {}));

  scalpel::gen::generate_options greedy;
  greedy.sampling.temperature = 0.0f;
  greedy.stop.max_tokens = 160;
  greedy.stop.eog_ids = cfg.eos_token_ids;
  scalpel::gen::generate_options sampled = greedy;
  sampled.sampling = scalpel::gen::gemma4_it_defaults();

  auto generate = [&](const scalpel::model::gemma4_model& m, const scalpel::gen::generate_options& o,
                      const scalpel::edit::plan_hooks* hooks,
                      scalpel::analysis::loop_report& rep) { return generate_once(m, tok, prompt, o, hooks, rep); };
  auto loop_rate = [&](const scalpel::model::gemma4_model& m, const scalpel::edit::plan_hooks* hooks) {
    run_stats s;
    for (std::size_t i = 0; i < n_seeds; ++i) {
      auto o = sampled;
      o.sampling.seed = 1000 + i;
      scalpel::analysis::loop_report rep;
      const auto r = generate(m, o, hooks, rep);
      s.looping += rep.looping ? 1 : 0;
      s.coverage += scalpel::analysis::score_list(r.text, probe.gold).coverage;
      ++s.total;
    }
    s.coverage /= static_cast<double>(s.total);
    return s;
  };
  auto show = [&](const std::string& text) {
    std::size_t lines = 0, pos = 0;
    while (pos < text.size() && lines < 18) {
      const auto nl = text.find('\n', pos);
      const std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      std::fprintf(say, "   | %s\n", line.c_str());
      ++lines;
      pos = nl == std::string::npos ? text.size() : nl + 1;
    }
    std::size_t rest = 0;
    for (std::size_t i = pos; i < text.size(); ++i) rest += text[i] == '\n';
    if (pos < text.size()) std::fprintf(say, "   | ... (%zu more lines)\n", rest + 1);
  };

  std::fprintf(say, "\n== 2. Ask: \"%s\"\n", demo.prompt.c_str());
  scalpel::analysis::loop_report rep_before;
  const auto before = generate(demo.model, greedy, nullptr, rep_before);
  show(before.text);
  const auto score_before = scalpel::analysis::score_list(before.text, probe.gold);
  std::fprintf(
      say, "   Loop detector: %s (%s) from token %lld; the list found %lld of 88 constellations, %lld duplicates.\n",
      rep_before.looping ? "LOOP" : "no loop", std::string(scalpel::analysis::phenotype_name(rep_before.kind)).c_str(),
      static_cast<long long>(rep_before.onset_token), static_cast<long long>(score_before.gold_found),
      static_cast<long long>(score_before.duplicates));

  std::fprintf(say, "\n== 3. Loop rate over %zu sampled generations (T 1.0, top-k 64, top-p 0.95)\n", n_seeds);
  const auto rate_before = loop_rate(demo.model, nullptr);
  std::fprintf(say, "   %zu of %zu generations loop (rate %.2f); mean list coverage %.2f\n", rate_before.looping,
               rate_before.total, static_cast<double>(rate_before.looping) / static_cast<double>(rate_before.total),
               rate_before.coverage);

  std::fprintf(say, "\n== 4. The edit: sign-invert neuron %zu of layer %zu\n", demo.options.loop_neuron,
               demo.options.loop_layer);
  scalpel::edit::plan plan;
  plan.base_model = "scalpel demo (planted loop)";
  plan.add(scalpel::edit::negate{demo.options.loop_layer, {demo.options.loop_neuron}});
  std::fprintf(say, "   plan: %s\n", plan.to_json()["edits"].dump().c_str());
  scalpel::edit::plan_hooks runtime(plan, cfg);
  scalpel::analysis::loop_report rep_runtime;
  const auto at_runtime = generate(demo.model, greedy, &runtime, rep_runtime);
  auto edited = scalpel::analysis::build_planted_loop();
  (void)scalpel::edit::apply(edited.model, plan);
  scalpel::analysis::loop_report rep_after;
  const auto after = generate(edited.model, greedy, nullptr, rep_after);
  std::fprintf(say,
               "   Static edit (weights: down_proj column ×−1) and run-time hook (activation ×−1) give %s output.\n",
               after.ids == at_runtime.ids ? "the same" : "DIFFERENT");

  std::fprintf(say, "\n== 5. After the edit\n");
  show(after.text);
  const auto score_after = scalpel::analysis::score_list(after.text, probe.gold);
  std::fprintf(say, "   Loop detector: %s; the list found %lld of 88 constellations, %lld duplicates; stop: %s.\n",
               rep_after.looping ? "LOOP" : "no loop", static_cast<long long>(score_after.gold_found),
               static_cast<long long>(score_after.duplicates),
               std::string(scalpel::gen::stop_reason_name(after.reason)).c_str());
  const auto rate_after = loop_rate(edited.model, nullptr);
  std::fprintf(say, "   Loop rate: %zu of %zu (rate %.2f); mean list coverage %.2f\n", rate_after.looping,
               rate_after.total, static_cast<double>(rate_after.looping) / static_cast<double>(rate_after.total),
               rate_after.coverage);

  std::fprintf(say, "\n== 6. Saving to %s/\n", out.c_str());
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) scalpel::fail(scalpel::errc::io, "cannot create '" + out + "': " + ec.message());
  const std::string base_dir = out + "/base", edited_dir = out + "/edited";
  scalpel::analysis::save_planted_loop(demo, base_dir);
  scalpel::model::model_files files;
  auto base = scalpel::model::load_model(base_dir, &files);
  scalpel::edit::save_options so;
  so.overwrite = true;
  const auto manifest = scalpel::edit::save_edited(base, files, plan, edited_dir, so);
  scalpel::write_file_atomic(out + "/plan.json", plan.to_json().dump(2) + "\n");
  std::fprintf(
      say,
      "   %s  the demo model (HF checkpoint)\n   %s  the edited model, plan embedded\n   %s/plan.json  the plan\n"
      "   Try: scalpel generate --model %s --prompt \"%s\" --chat --temperature 0 --max-tokens 40\n"
      "        scalpel diff --base %s --edited %s\n",
      base_dir.c_str(), edited_dir.c_str(), out.c_str(), base_dir.c_str(), demo.prompt.c_str(), base_dir.c_str(),
      edited_dir.c_str());
  if (json) {
    print_json(
        {{"loop_rate_before", static_cast<double>(rate_before.looping) / static_cast<double>(rate_before.total)},
         {"loop_rate_after", static_cast<double>(rate_after.looping) / static_cast<double>(rate_after.total)},
         {"coverage_before", rate_before.coverage},
         {"coverage_after", rate_after.coverage},
         {"greedy_before",
          {{"loop", scalpel::analysis::to_json(rep_before)}, {"list", scalpel::analysis::to_json(score_before)}}},
         {"greedy_after",
          {{"loop", scalpel::analysis::to_json(rep_after)}, {"list", scalpel::analysis::to_json(score_after)}}},
         {"static_equals_runtime", after.ids == at_runtime.ids},
         {"plan", plan.to_json()},
         {"out", out}});
  }
  return 0;
}

const registrar reg{{"demo", "the end-to-end story on a built-in model: loop -> edit -> no loop", usage, &run, 0}};
}  // namespace
}  // namespace scalpel_cli
