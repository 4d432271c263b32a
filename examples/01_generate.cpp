// 01_generate: load a Gemma 4 model, tokenize a prompt, stream a completion, print timings.
//
//   usage: 01_generate MODEL [PROMPT] [MAX_NEW_TOKENS]
//     MODEL  a Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer.json) or a .gguf file
//
// The three objects an application holds:
//   model::gemma4_model  config + weights. Loading memory-maps the checkpoint and keeps every matrix in its
//                        stored dtype (bf16, f32, Q8_0): nothing is converted or copied up front, so loading
//                        a 4 GB checkpoint costs page-table entries, not 4 GB of RAM.
//   io::tokenizer        text <-> token ids; read from tokenizer.json or from the GGUF's own vocabulary.
//   gen::generator       the decoding loop: prefill, then sample -> stop check -> stream, token by token.
// Every recoverable problem (missing file, bad config, context overflow, bad sampler option) is thrown as one
// exception type, scalpel::error, whose what() names the file / field / value at fault.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "scalpel/core/error.hpp"
#include "scalpel/generate/generate.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/loader.hpp"

namespace {

// Model output on a random model is arbitrary bytes: show newlines and control bytes visibly.
std::string printable(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    if (ch == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += '?';
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace scalpel;
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s MODEL [PROMPT] [MAX_NEW_TOKENS]\n", argv[0]);
    return 2;
  }
  const std::string prompt = argc > 2 ? argv[2] : "The quick brown fox";
  const std::int64_t max_new = argc > 3 ? std::atoll(argv[3]) : 32;
  try {
    // ---- 1. Load. `files` reports what was found beside the weights (tokenizer.json,
    // generation_config.json, the input files), which the rest of the program uses.
    model::model_files files;
    const model::gemma4_model m = model::load_model(argv[1], &files);
    const model::gemma4_config& cfg = m.config();
    std::printf("model: %s (%s), %zu layers, hidden %zu, vocab %zu\n", m.source().c_str(),
                std::string(model::format_name(m.format())).c_str(), cfg.num_layers, cfg.hidden_size, cfg.vocab_size);

    // ---- 2. Tokenize. A GGUF carries its vocabulary; an HF directory has tokenizer.json. load_tokenizer
    // accepts either path. add_bos: Gemma expects exactly one <bos> at the start of a sequence.
    const io::tokenizer tok = io::load_tokenizer(files.tokenizer_path.empty() ? m.source() : files.tokenizer_path);
    const std::vector<std::int32_t> ids = tok.encode(prompt, {.add_bos = true});
    std::printf("prompt: %zu tokens:", ids.size());
    for (const auto id : ids) std::printf(" %d", id);
    std::printf("\n");

    // ---- 3. Options: the sampler chain (llama.cpp order and semantics, docs/sampling.md) and the stop
    // conditions. Start from the model's generation_config.json when it has one, as transformers does.
    gen::generate_options opt;
    if (files.generation) {
      const model::generation_defaults& g = *files.generation;
      if (g.temperature) opt.sampling.temperature = static_cast<float>(*g.temperature);
      if (g.top_k) opt.sampling.top_k = static_cast<std::int32_t>(*g.top_k);
      if (g.top_p) opt.sampling.top_p = static_cast<float>(*g.top_p);
      if (g.do_sample && !*g.do_sample) opt.sampling.temperature = 0.0f;  // do_sample false = greedy
    }
    opt.sampling.seed = 42;                // same seed + model + prompt + options = same tokens, any thread count
    opt.stop.eog_ids = cfg.eos_token_ids;  // Gemma 4: <eos>, <turn|>, <|tool_response>
    opt.stop.max_tokens = max_new;
    std::printf("sampling: temperature %g, top-k %d, top-p %g, seed %llu; stop after %lld tokens or on an end id\n",
                static_cast<double>(opt.sampling.temperature), opt.sampling.top_k,
                static_cast<double>(opt.sampling.top_p), static_cast<unsigned long long>(opt.sampling.seed),
                static_cast<long long>(max_new));

    // ---- 4. Generate, streaming. The callback sees every token as it is produced; `ev.text` is the text the
    // token releases (it may be empty: a partial UTF-8 character, or text held back because it might be the
    // start of a stop string). Returning false stops generation with stop reason "cancelled".
    const gen::generator generator(m, tok);
    std::printf("--- completion ---\n%s", prompt.c_str());
    const gen::stream_callback stream = [](const gen::token_event& ev) {
      std::fputs(printable(ev.text).c_str(), stdout);
      std::fflush(stdout);
      return true;
    };
    const gen::generation r = generator.generate(ids, opt, stream);
    std::printf("\n--- end ---\n");
    std::printf("generated %zu tokens, stop reason: %s\n", r.ids.size(),
                std::string(gen::stop_reason_name(r.reason)).c_str());
    std::printf("timing: prefill %zu tokens in %.2f ms (%.0f tok/s), decode %.0f tok/s\n", r.prompt_tokens,
                r.prefill_seconds * 1e3, r.prefill_tok_s(), r.decode_tok_s());

    // ---- 5. Several continuations of one prompt (an evaluation sweep): generate_batch prefills once and
    // continues from a copy of the prompt's KV cache per seed. Seed 1 appears twice to show determinism.
    gen::generate_options sampled = opt;
    sampled.sampling = gen::sampler_config{};  // Gemma 4 -it defaults: T 1.0, top-k 64, top-p 0.95
    sampled.stop.max_tokens = std::min<std::int64_t>(max_new, 12);
    const std::uint64_t seeds[] = {1, 2, 1};
    model::no_hooks no_hooks;  // the forward pass compiled without any hook code
    const std::vector<gen::generation> batch = generator.generate_batch(ids, sampled, seeds, no_hooks);
    for (std::size_t i = 0; i < batch.size(); ++i)
      std::printf("seed %llu: \"%s\"\n", static_cast<unsigned long long>(batch[i].seed),
                  printable(batch[i].text).c_str());
    const bool same = batch[0].ids == batch[2].ids;
    std::printf("same seed, same tokens: %s\n", same ? "yes" : "NO");
    return same ? 0 : 1;
  } catch (const error& e) {
    // One line, "[scalpel.<code>] message"; e.code() is the errc for programs that branch on it.
    std::fprintf(stderr, "01_generate: %s\n", e.what());
    return 1;
  }
}
