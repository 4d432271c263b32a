// Tokenizer benchmarks (include/scalpel/io/tokenizer.hpp) on the real 262k-piece Gemma tokenizer.json:
//   BM_load_tokenizer_json          tokenizer::from_json_file (scan 33 MB, index 262k pieces, 515k merges, patch)
//   BM_encode/<corpus>              encode, bytes/s = input text bytes, one core
//       english_paragraphs   English prose, a newline every paragraph (~600 bytes)
//       english_one_line     the same prose without newlines (one 1 MB BPE run before word splitting)
//       license              /usr/share/common-licenses/GPL-3 when present (short lines)
//       reference_cases      tests/data/tokenizer/reference_cases.json texts (multilingual, code, emoji, ...)
//   BM_decode/english_paragraphs    decode of those ids, bytes/s = output bytes
//   BM_stream_decode                the same through stream_decoder, one push per id
//   BM_encode_chat_prompt           a short rendered chat prompt (latency per call)
// The tokenizer.json: $SCALPEL_BENCH_TOKENIZER, else <source>/build/test-assets/gemma3-tokenizer.json (written by
// the test fixture, tests/data/tokenizer/fetch-gemma-tokenizer.sh).

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "scalpel/core/error.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/io/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;

fs::path source_dir() { return fs::path(__FILE__).parent_path().parent_path(); }

std::string tokenizer_path() {
  if (const char* p = std::getenv("SCALPEL_BENCH_TOKENIZER")) return p;
  return (source_dir() / "build" / "test-assets" / "gemma3-tokenizer.json").string();
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

const scalpel::io::tokenizer* shared_tokenizer(benchmark::State& state) {
  static const scalpel::io::tokenizer* tok = []() -> const scalpel::io::tokenizer* {
    try {
      return new scalpel::io::tokenizer(scalpel::io::tokenizer::from_json_file(tokenizer_path()));
    } catch (const scalpel::error&) {
      return nullptr;
    }
  }();
  if (tok == nullptr) {
    state.SkipWithError(("cannot load " + tokenizer_path() +
                         " (set SCALPEL_BENCH_TOKENIZER, or run tests/data/tokenizer/fetch-gemma-tokenizer.sh DIR)")
                            .c_str());
  }
  return tok;
}

// English prose written for this benchmark; repeated to ~1 MB.
const char* const paragraphs[] = {
    "Large language models read text as a sequence of tokens. A tokenizer turns each line into pieces by starting "
    "from single characters and repeatedly joining the pair of neighbours that the merge table ranks highest, until "
    "no listed pair is left. Common words end up as one piece, rare words as several, and characters outside the "
    "vocabulary fall back to their bytes.",
    "When a model starts to repeat itself, the same phrase comes back again and again, and each repetition makes "
    "the next one more likely. Researchers traced this behaviour to a small group of neurons in the later layers "
    "of the network. Scaling those neurons down, or removing them entirely, stops the loop while leaving the rest "
    "of the model's abilities intact, which is what makes the approach practical.",
    "The report describes the experiment in detail: the prompts that were used, the number of generations per "
    "prompt, the way loops were detected, and the statistics of the neurons that were edited. Every number in the "
    "tables can be reproduced from the published plan, the checkpoint and a fixed random seed, on an ordinary "
    "laptop, in a few minutes.",
    "It was a bright cold day in April, and the clocks were striking thirteen. The committee had met at nine, "
    "argued until noon, and agreed on nothing except that they would meet again on Thursday. By then, everyone "
    "hoped, the new figures would have arrived from the regional offices, and the budget could finally be settled.",
};

std::string english(bool newlines) {
  std::string s;
  for (std::size_t k = 0; s.size() < (std::size_t{1} << 20); ++k) {
    s += paragraphs[k % std::size(paragraphs)];
    s += newlines ? "\n\n" : " ";
  }
  return s;
}

std::string corpus(int which) {
  switch (which) {
    case 0:
      return english(true);
    case 1:
      return english(false);
    case 2: {
      const std::string lic = slurp("/usr/share/common-licenses/GPL-3");
      std::string s;
      while (!lic.empty() && s.size() < (std::size_t{1} << 20)) s += lic;
      return s;
    }
    default: {
      std::string s;
      const auto j = nlohmann::json::parse(slurp(source_dir() / "tests/data/tokenizer/reference_cases.json"));
      for (const auto& c : j.at("cases")) {
        s += c.at("text").get<std::string>();
        s += "\n";
      }
      std::string big;
      while (big.size() < (std::size_t{1} << 20)) big += s;
      return big;
    }
  }
}

const char* const corpus_names[] = {"english_paragraphs", "english_one_line", "license", "reference_cases"};

void BM_load_tokenizer_json(benchmark::State& state) {
  const std::string path = tokenizer_path();
  if (!fs::exists(path)) {
    state.SkipWithError(("missing " + path).c_str());
    return;
  }
  for (auto _ : state) {
    auto t = scalpel::io::tokenizer::from_json_file(path);
    benchmark::DoNotOptimize(t.vocab_size());
  }
  state.counters["file_MB"] = static_cast<double>(fs::file_size(path)) / 1e6;
}
BENCHMARK(BM_load_tokenizer_json)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_encode(benchmark::State& state) {
  const auto* tok = shared_tokenizer(state);
  if (tok == nullptr) return;
  const std::string text = corpus(static_cast<int>(state.range(0)));
  if (text.empty()) {
    state.SkipWithError("corpus not available on this machine");
    return;
  }
  state.SetLabel(corpus_names[state.range(0)]);
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tok->encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(tokens);
}
BENCHMARK(BM_encode)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

void BM_decode(benchmark::State& state) {
  const auto* tok = shared_tokenizer(state);
  if (tok == nullptr) return;
  const auto ids = tok->encode(english(true));
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string s = tok->decode(ids);
    bytes = s.size();
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_decode)->Unit(benchmark::kMillisecond);

void BM_stream_decode(benchmark::State& state) {
  const auto* tok = shared_tokenizer(state);
  if (tok == nullptr) return;
  const auto ids = tok->encode(english(true));
  std::size_t bytes = 0;
  for (auto _ : state) {
    scalpel::io::stream_decoder d(*tok);
    std::string out;
    for (const auto id : ids) d.push_into(id, out);
    out += d.flush();
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(ids.size()));
}
BENCHMARK(BM_stream_decode)->Unit(benchmark::kMillisecond);

void BM_encode_chat_prompt(benchmark::State& state) {
  const auto* tok = shared_tokenizer(state);
  if (tok == nullptr) return;
  const std::vector<scalpel::gen::chat_message> conv = {
      {scalpel::gen::chat_role::system, "You are a concise assistant."},
      {scalpel::gen::chat_role::user, "List all 151 original Pokemon, one per line."}};
  for (auto _ : state) {
    const auto ids = tok->encode(scalpel::gen::render_chat(conv, {}));
    benchmark::DoNotOptimize(ids.data());
  }
}
BENCHMARK(BM_encode_chat_prompt)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
