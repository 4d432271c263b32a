// scalpel diff: recover the edit plan between a base and an edited checkpoint.
#include <cstdio>

#include "common.hpp"
#include "scalpel/edit/diff.hpp"

namespace scalpel_cli {
namespace cmd_diff {  // named: unity builds put several commands in one TU
namespace {

constexpr const char* usage = R"(usage: scalpel diff --base PATH --edited PATH [--json]

Compare two checkpoints of the same architecture tensor by tensor and recover the edit plan that turns the base
into the edited model: scaled / negated / stripped MLP neurons (down_proj columns or up_proj rows, with the
factor), silenced experts (per-expert scale 0); every other difference is listed.

options:
  --base PATH     the base checkpoint (HF directory or .gguf)
  --edited PATH   the edited checkpoint
  --json          {"plan": {scalpel.edit-plan/1}, "other_differences": [...], "identical": bool})";

int run(args& a) {
  const bool json = a.flag("json");
  const std::string base_path = a.require("base"), edited_path = a.require("edited");
  a.finish();
  const auto base = scalpel::model::load_model(base_path);
  const auto edited = scalpel::model::load_model(edited_path);
  auto r = scalpel::edit::diff(base, edited);
  r.recovered.base_model = base_path;
  if (json) {
    print_json(r.to_json());
    return 0;
  }
  if (r.identical()) {
    std::printf("identical weights\n");
    return 0;
  }
  std::printf("%s\n", r.recovered.to_json().dump(2).c_str());
  for (const auto& o : r.others)
    std::printf("other difference: %s: %s (%zu elements, max |diff| %g)\n", o.tensor.c_str(), o.what.c_str(),
                o.elements, o.max_abs);
  return 0;
}

const registrar reg{{"diff", "recover the edit plan between two checkpoints", usage, &run, 45}};
}  // namespace
}  // namespace cmd_diff
}  // namespace scalpel_cli
