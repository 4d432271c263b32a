// scalpel bench: prefill and decode speed on a model, next to the machine's measured read bandwidth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "common.hpp"
#include "scalpel/model/footprint.hpp"
#include "scalpel/simd/bandwidth.hpp"
#include "scalpel/simd/threads.hpp"

namespace scalpel_cli {
namespace cmd_bench {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel bench --model PATH [--prompt-tokens N] [--gen-tokens N] [--repeats R] [--threads N] [--json]

Time prefill (a random prompt of N tokens from an empty cache) and decode (G tokens one at a time, greedy) and
report medians over R repeats, with the bytes of weights a decoded token touches, the achieved GB/s and the ratio
to the machine's read bandwidth measured in the same run (a streaming sum over 1 GiB with the same threads).

options:
  --prompt-tokens N   prefill length (default 128)
  --gen-tokens N      decoded tokens (default 64)
  --repeats R         repeats; medians are reported (default 3)
  --threads N         threads (default: all cores)
  --seed S            prompt seed (default 1)
  --no-bandwidth      skip the bandwidth measurement
  --json              {"prefill_tok_s", "decode_tok_s", "weights_bytes", "bytes_per_token", "decode_GBps",
                       "read_bw_GBps", "bw_fraction", ...})";

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

int run(args& a) {
  apply_threads(a);
  const bool json = a.flag("json"), no_bw = a.flag("no-bandwidth");
  const auto n_prompt = static_cast<std::size_t>(a.get_int("prompt-tokens", 128, 1, 1 << 20));
  const auto n_gen = static_cast<std::size_t>(a.get_int("gen-tokens", 64, 1, 1 << 20));
  const auto repeats = static_cast<std::size_t>(a.get_int("repeats", 3, 1, 1000));
  auto seed = static_cast<std::uint64_t>(a.get_int("seed", 1, 0));
  const auto m = load_model_arg(a);
  a.finish();
  const auto& c = m.config();
  std::vector<std::int32_t> prompt(n_prompt);
  for (auto& id : prompt) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<std::int32_t>(5 + (seed >> 33) % (c.vocab_size - 5));
  }
  prompt[0] = c.bos_token_id;
  std::vector<double> pre, dec;
  for (std::size_t r = 0; r < repeats; ++r) {
    auto cache = m.make_cache(n_prompt + n_gen + 1);
    std::vector<float> logits;
    const auto t0 = std::chrono::steady_clock::now();
    m.forward(prompt, cache, logits);
    const auto t1 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n_gen; ++i) {
      const auto next = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      m.forward(std::span<const std::int32_t>(&next, 1), cache, logits);
    }
    const auto t2 = std::chrono::steady_clock::now();
    pre.push_back(static_cast<double>(n_prompt) / std::chrono::duration<double>(t1 - t0).count());
    dec.push_back(static_cast<double>(n_gen) / std::chrono::duration<double>(t2 - t1).count());
    std::fprintf(stderr, "bench: repeat %zu: prefill %.1f tok/s, decode %.2f tok/s\n", r + 1, pre.back(), dec.back());
  }
  const auto fp = scalpel::model::decode_bytes_per_token(m);
  std::size_t weights = 0;
  for (const auto& t : m.tensors()) weights += t.size_bytes();
  const double bw = no_bw ? 0.0 : scalpel::simd::measure_read_bandwidth();
  const double dec_tok_s = median(dec), gbps = dec_tok_s * static_cast<double>(fp.weight_bytes) * 1e-9;
  const nlohmann::json out = {{"model", m.source()},
                              {"threads", scalpel::simd::num_threads()},
                              {"prompt_tokens", n_prompt},
                              {"gen_tokens", n_gen},
                              {"repeats", repeats},
                              {"prefill_tok_s", median(pre)},
                              {"decode_tok_s", dec_tok_s},
                              {"prefill_tok_s_all", pre},
                              {"decode_tok_s_all", dec},
                              {"weights_bytes", weights},
                              {"bytes_per_token", fp.weight_bytes},
                              {"output_head_bytes", fp.output_head_bytes},
                              {"decode_GBps", gbps},
                              {"read_bw_GBps", bw * 1e-9},
                              {"bw_fraction", bw > 0 ? gbps / (bw * 1e-9) : 0.0}};
  if (json) {
    print_json(out);
  } else {
    std::printf("prefill %.1f tok/s, decode %.2f tok/s (medians of %zu, %d threads)\n", median(pre), dec_tok_s, repeats,
                scalpel::simd::num_threads());
    std::printf("decode touches %.1f MB of weights per token: %.1f GB/s", static_cast<double>(fp.weight_bytes) * 1e-6,
                gbps);
    if (bw > 0)
      std::printf(" = %.0f%% of the measured read bandwidth (%.1f GB/s)", 100.0 * gbps / (bw * 1e-9), bw * 1e-9);
    std::printf("\n");
  }
  return 0;
}

const registrar reg{{"bench", "prefill / decode speed and bandwidth use on a model", usage, &run, 90}};
}  // namespace
}  // namespace cmd_bench
}  // namespace scalpel_cli
