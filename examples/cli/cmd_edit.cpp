// scalpel edit: apply an edit plan statically and save the edited checkpoint.
#include <cstdio>

#include "common.hpp"
#include "scalpel/edit/save.hpp"

namespace scalpel_cli {
namespace cmd_edit {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage =
    R"(usage: scalpel edit --model PATH --plan PLAN.json --out OUT [--force] [--no-verify] [--no-hash]

Apply an edit plan (scalpel.edit-plan/1) to the weights and write the edited checkpoint in the input's format,
tensor names, dtypes and sharding. bf16/f16 weights are edited in f32 and rounded to nearest even; on Q8_0
GGUFs a neuron's up_proj row is scaled (block scales only). The plan, with the base model's identity and file
hashes, is embedded (safetensors __metadata__ / GGUF key scalpel.edit_plan) and written beside the output
(OUT/scalpel-edit-plan.json, or OUT.edit-plan.json for a GGUF). The output is verified by re-loading it.
The input is never modified; a failure leaves nothing under OUT.

options:
  --model PATH     the base checkpoint (HF directory or .gguf)
  --plan FILE      the edit plan (expert_mask mode "route" is run-time only and is rejected here)
  --out OUT        output directory (HF input) or .gguf file (GGUF input)
  --force          replace an existing OUT
  --no-verify      skip the read-back verification
  --no-hash        do not hash the input files (faster on large checkpoints))";

int run(args& a) {
  apply_threads(a);
  scalpel::edit::save_options so;
  so.overwrite = a.flag("force");
  so.verify = !a.flag("no-verify");
  so.hash_inputs = !a.flag("no-hash");
  const std::string plan_path = a.require("plan");
  const std::string out = a.require("out");
  scalpel::model::model_files files;
  auto m = load_model_arg(a, &files);
  a.finish();
  const auto p = scalpel::edit::plan::read(plan_path);
  so.log = [](const std::string& s) { std::fprintf(stderr, "edit: %s\n", s.c_str()); };
  const auto manifest = scalpel::edit::save_edited(m, files, p, out, so);
  std::fprintf(stderr, "edit: wrote %s (%zu edit(s))\n", out.c_str(), manifest["edits"].size());
  std::printf("%s\n", out.c_str());
  return 0;
}

const registrar reg{{"edit", "apply an edit plan to the weights and save the checkpoint", usage, &run, 40}};
}  // namespace
}  // namespace cmd_edit
}  // namespace scalpel_cli
