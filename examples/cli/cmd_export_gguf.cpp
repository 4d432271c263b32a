// scalpel export-gguf: write a model (optionally with an edit plan baked in) as a GGUF that llama.cpp loads.
#include <cstdio>
#include <filesystem>

#include "common.hpp"
#include "scalpel/edit/apply.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/gguf_export.hpp"

namespace scalpel_cli {
namespace cmd_export_gguf {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel export-gguf --model PATH --out FILE.gguf [--type f32|f16|bf16|q8_0] [--edit PLAN.json] [--name NAME]

Write the model as a GGUF in the layout llama.cpp's converter (convert_hf_to_gguf.py) produces for Gemma 4:
the same metadata keys, tensor names, per-tensor types and the generated rope_freqs tensor, with the tokenizer
embedded. With --edit the plan is applied to the weights first (statically) and recorded under the GGUF key
scalpel.edit_plan; for a Q8_0 source only the touched blocks change.

options:
  --model PATH       HF checkpoint directory or .gguf
  --out FILE         output .gguf (never an input file; written atomically)
  --type T           f32, f16, bf16 (default) or q8_0 (rows that are not whole 32-blocks stay F16, as llama.cpp does)
  --edit PLAN.json   bake an edit plan into the weights
  --name NAME        general.name (default: the model directory's name))";

int run(args& a) {
  apply_threads(a);
  const std::string out = a.require("out");
  const std::string type_name = a.get_or("type", "bf16");
  const auto type = scalpel::model::parse_gguf_out_type(type_name);
  const auto plan_path = a.get("edit");
  const auto name = a.get("name");
  scalpel::model::model_files files;
  auto m = load_model_arg(a, &files);
  a.finish();
  const auto tok = scalpel::io::load_tokenizer(files.tokenizer_path.empty() ? m.source() : files.tokenizer_path);
  scalpel::model::gguf_export_options o;
  o.type = type;
  o.name = name ? *name : std::filesystem::path(files.weights_path).filename().string();
  if (m.format() == scalpel::model::checkpoint_format::gguf && files.gguf.contains("general.name"))
    o.name = name ? *name : files.gguf.get_string("general.name");
  const std::string tpl = files.weights_path + "/chat_template.jinja";
  if (m.format() == scalpel::model::checkpoint_format::safetensors && std::filesystem::exists(tpl))
    o.chat_template = read_text_file(tpl);
  if (plan_path) {
    auto p = scalpel::edit::plan::read(*plan_path);
    (void)scalpel::edit::apply(m, p);
    o.extra_strings.emplace_back("scalpel.edit_plan", p.to_json().dump());
  }
  std::fprintf(stderr, "export-gguf: writing %s (%s)\n", out.c_str(), type_name.c_str());
  scalpel::model::export_gguf(m, tok, out, o);
  std::printf("%s\n", out.c_str());
  return 0;
}

const registrar reg{
    {"export-gguf", "write a GGUF llama.cpp loads (optionally with an edit baked in)", usage, &run, 50}};
}  // namespace
}  // namespace cmd_export_gguf
}  // namespace scalpel_cli
