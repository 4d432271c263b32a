// scalpel make-tiny: write a random-weight Gemma 4 checkpoint of a given architecture.
#include <cstdio>
#include <filesystem>

#include "common.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/io/safetensors.hpp"
#include "scalpel/model/random_model.hpp"

namespace scalpel_cli {
namespace cmd_make_tiny {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel make-tiny --variant e2b|e4b|26b-a4b|31b --out DIR [--seed S] [--real-dims] [--vocab N] [--layers N]

Write a random-weight Hugging Face checkpoint (config.json, generation_config.json, model.safetensors in bf16,
tokenizer.json) with the architecture features of a released Gemma 4 variant: per-layer embeddings, KV
sharing, double-wide MLP (E2B), k_eq_v and separate global KV heads (26B/31B), MoE (26B-A4B). Deterministic
for a seed. Tiny by default (hidden 64, the real layer pattern); --real-dims uses the released layer sizes.

options:
  --variant V     e2b, e4b, 26b-a4b or 31b
  --out DIR       output directory (created; must not contain another checkpoint's files you want to keep)
  --seed S        random seed (default 1)
  --real-dims     the released layer sizes (big: E2B ~9 GB; use --vocab / --layers to shrink)
  --vocab N       vocabulary size (default 1024 tiny, 262144 real; >= 600)
  --layers N      number of layers (default: the variant's; the layer pattern and KV donors are kept))";

int run(args& a) {
  apply_threads(a);
  scalpel::model::tiny_options o;
  o.variant = scalpel::model::parse_tiny_variant(a.require("variant"));
  const std::string out = a.require("out");
  const auto seed = static_cast<std::uint64_t>(a.get_int("seed", 1, 0));
  o.real_dims = a.flag("real-dims");
  o.vocab_size = static_cast<std::size_t>(a.get_int("vocab", 0, 600, 1 << 22));
  o.num_layers = static_cast<std::size_t>(a.get_int("layers", 0, 2, 1024));
  a.finish();

  const auto cfg = scalpel::model::make_tiny_config(o);
  const double gb = static_cast<double>(scalpel::model::planned_bytes(cfg)) / 1e9;
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) scalpel::fail(scalpel::errc::io, "cannot create '" + out + "': " + ec.message());
  std::fprintf(stderr, "make-tiny: %s%s, %zu layers, hidden %zu, vocab %zu: %.3f GB of bf16 weights\n",
               std::string(scalpel::model::variant_name(cfg.detect_variant())).c_str(),
               o.real_dims ? " (real dims)" : "", cfg.num_layers, cfg.hidden_size, cfg.vocab_size, gb);
  const bool show = gb > 0.05;
  auto tensors =
      scalpel::model::random_weights(cfg, seed, "model.language_model.", [&](std::size_t done, std::size_t total) {
        if (show) std::fprintf(stderr, "\r  generating %zu/%zu tensors", done, total);
      });
  if (show) std::fprintf(stderr, "\n");
  scalpel::io::safetensors_write_options wo;
  wo.metadata = {{"format", "pt"}, {"scalpel.make_tiny", nlohmann::json({{"seed", seed}}).dump()}};
  scalpel::io::write_safetensors(out, tensors, wo);
  scalpel::write_file_atomic(out + "/config.json", scalpel::model::config_to_hf_json(cfg).dump(2) + "\n");
  scalpel::write_file_atomic(out + "/generation_config.json",
                             scalpel::model::generation_config_json(cfg).dump(2) + "\n");
  scalpel::write_file_atomic(out + "/tokenizer.json",
                             scalpel::model::tiny_tokenizer_json(cfg.vocab_size).dump() + "\n");
  const nlohmann::json tok_cfg = {{"add_bos_token", true},
                                  {"add_eos_token", false},
                                  {"bos_token", "<bos>"},
                                  {"eos_token", "<eos>"},
                                  {"unk_token", "<unk>"},
                                  {"pad_token", "<pad>"},
                                  {"tokenizer_class", "GemmaTokenizer"},
                                  {"padding_side", "left"}};
  scalpel::write_file_atomic(out + "/tokenizer_config.json", tok_cfg.dump(2) + "\n");
  std::printf("%s\n", out.c_str());
  return 0;
}

const registrar reg{{"make-tiny", "write a random-weight checkpoint of a Gemma 4 architecture", usage, &run, 80}};
}  // namespace
}  // namespace cmd_make_tiny
}  // namespace scalpel_cli
