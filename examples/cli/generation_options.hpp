#pragma once
// Sampling and stopping options shared by `generate`, `chat` and `eval` (llama.cpp names where they exist).
#include <string>

#include "cli.hpp"
#include "scalpel/generate/generate.hpp"
#include "scalpel/model/loader.hpp"

namespace scalpel_cli {

inline constexpr const char* sampling_help =
    R"(sampling (defaults: the model's generation_config.json, else Gemma 4 -it: T 1.0, top-k 64, top-p 0.95):
  --temperature T        0 = greedy
  --top-k K              0 = off
  --top-p P              1 = off
  --min-p M              0 = off
  --typical-p P          1 = off
  --repeat-penalty R     1 = off (llama.cpp semantics: divide positive logits, multiply negative ones)
  --repeat-last-n N      penalty window (default 64; -1 = whole history)
  --presence-penalty X   --frequency-penalty Y
  --dry-multiplier D     DRY (0 = off); --dry-base B (1.75) --dry-allowed-length N (2) --dry-penalty-last-n N (64)
  --samplers LIST        stage order, llama.cpp names (e.g. "penalties;dry;top_k;typ_p;top_p;min_p;temperature")
  --logit-bias ID:BIAS   repeatable
  --seed S               RNG seed (default 0)
stopping:
  --max-tokens N         new-token budget (default 256)
  --ignore-eos           do not stop on end-of-generation tokens
  --stop STRING          stop string (repeatable; not included in the output)
  --thinking-budget N    tokens allowed inside the thinking channel (-1 = unlimited)
  --on-thinking-budget close|stop   close the channel and let the model answer (default), or stop
  --stop-on-loop         stop when the loop detector fires)";

/// Read sampler and stop options, starting from the model's generation defaults.
inline scalpel::gen::generate_options generation_options_from(args& a, const scalpel::model::model_files& files,
                                                              const scalpel::model::gemma4_config& cfg,
                                                              std::int64_t default_max_tokens = 256) {
  scalpel::gen::generate_options o;
  auto& s = o.sampling;
  if (files.generation) {
    const auto& g = *files.generation;
    if (g.temperature) s.temperature = static_cast<float>(*g.temperature);
    if (g.top_k) s.top_k = static_cast<std::int32_t>(*g.top_k);
    if (g.top_p) s.top_p = static_cast<float>(*g.top_p);
    if (g.min_p) s.min_p = static_cast<float>(*g.min_p);
    if (g.do_sample && !*g.do_sample) s.temperature = 0.0f;
  }
  if (auto v = a.get_double_opt("temperature")) s.temperature = static_cast<float>(*v);
  s.top_k = static_cast<std::int32_t>(a.get_int("top-k", s.top_k, 0, INT32_MAX));
  if (auto v = a.get_double_opt("top-p")) s.top_p = static_cast<float>(*v);
  if (auto v = a.get_double_opt("min-p")) s.min_p = static_cast<float>(*v);
  if (auto v = a.get_double_opt("typical-p")) s.typical_p = static_cast<float>(*v);
  if (auto v = a.get_double_opt("repeat-penalty")) s.repeat_penalty = static_cast<float>(*v);
  s.repeat_last_n = static_cast<std::int32_t>(a.get_int("repeat-last-n", s.repeat_last_n, -1, INT32_MAX));
  if (auto v = a.get_double_opt("presence-penalty")) s.presence_penalty = static_cast<float>(*v);
  if (auto v = a.get_double_opt("frequency-penalty")) s.frequency_penalty = static_cast<float>(*v);
  if (auto v = a.get_double_opt("dry-multiplier")) s.dry_multiplier = static_cast<float>(*v);
  if (auto v = a.get_double_opt("dry-base")) s.dry_base = static_cast<float>(*v);
  s.dry_allowed_length = static_cast<std::int32_t>(a.get_int("dry-allowed-length", s.dry_allowed_length, 0, INT32_MAX));
  s.dry_penalty_last_n =
      static_cast<std::int32_t>(a.get_int("dry-penalty-last-n", s.dry_penalty_last_n, -1, INT32_MAX));
  if (auto v = a.get("samplers")) s.order = scalpel::gen::parse_stage_order(*v);
  for (const auto& lb : a.get_all("logit-bias")) {
    const auto colon = lb.find(':');
    if (colon == std::string::npos) throw usage_error("--logit-bias expects ID:BIAS, got '" + lb + "'");
    try {
      s.logit_bias.push_back({std::stoi(lb.substr(0, colon)), std::stof(lb.substr(colon + 1))});
    } catch (const std::exception&) {
      throw usage_error("--logit-bias expects ID:BIAS, got '" + lb + "'");
    }
  }
  s.seed = static_cast<std::uint64_t>(a.get_int("seed", 0, 0));
  auto& st = o.stop;
  st.eog_ids = cfg.eos_token_ids;
  st.max_tokens = static_cast<std::int32_t>(a.get_int("max-tokens", default_max_tokens, 0, INT32_MAX));
  st.ignore_eos = a.flag("ignore-eos");
  st.stop_strings = a.get_all("stop");
  st.thinking_budget = static_cast<std::int32_t>(a.get_int("thinking-budget", -1, -1, INT32_MAX));
  const std::string otb = a.get_or("on-thinking-budget", "close");
  if (otb == "close")
    st.on_thinking_budget = scalpel::gen::thinking_overflow::close_channel;
  else if (otb == "stop")
    st.on_thinking_budget = scalpel::gen::thinking_overflow::stop;
  else
    throw usage_error("--on-thinking-budget must be 'close' or 'stop'");
  st.stop_on_loop = a.flag("stop-on-loop");
  if (auto v = a.get_int_opt("ctx", 1, INT64_MAX)) o.max_context = static_cast<std::size_t>(*v);
  scalpel::gen::validate(s);
  return o;
}

}  // namespace scalpel_cli
