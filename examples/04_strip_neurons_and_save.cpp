// 04_strip_neurons_and_save: compose an edit at compile time, apply it to the weights, save the edited
// checkpoint, reload it, and recover the plan from the two checkpoints with edit::diff.
//
//   usage: 04_strip_neurons_and_save MODEL OUT [--force]
//     MODEL  HF checkpoint directory or .gguf (with at least 4 layers of at least 32 MLP neurons)
//     OUT    a new directory for HF input, a .gguf path for GGUF input; --force replaces an existing OUT
//
// An edit policy is a small value type: *where* (layer, neurons) and *what* (a gain). `a | b | c` builds a
// `policy_set` whose type records every member, so misuse is a compile error: `edit::apply` accepts only
// `weight_edit`s, and routing exclusion (`edit::expert_mask`) is not one (no weight edit keeps the router from
// picking an expert; see 06). A static neuron edit multiplies column j of down_proj by the gain, which is
// exactly the same as multiplying activation j (Gemma's post-MLP norm comes after down_proj).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/core/error.hpp"
#include "scalpel/edit/apply.hpp"
#include "scalpel/edit/diff.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/edit/policies.hpp"
#include "scalpel/edit/save.hpp"
#include "scalpel/model/loader.hpp"

namespace {
using namespace scalpel;

// A plan's edits as sorted one-line JSON strings: the order of edits does not change what a plan does.
std::vector<std::string> canonical_edits(const edit::plan& p) {
  const nlohmann::json j = p.to_json();  // keep the document alive while iterating over a part of it
  std::vector<std::string> out;
  for (const auto& e : j["edits"]) out.push_back(e.dump());
  std::sort(out.begin(), out.end());
  return out;
}

void print_edits(const char* title, const edit::plan& p) {
  std::printf("%s:\n", title);
  for (const auto& e : canonical_edits(p)) std::printf("  %s\n", e.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const bool force = argc == 4 && std::string(argv[3]) == "--force";
  if (argc != 3 && !force) {
    std::fprintf(stderr, "usage: %s MODEL OUT [--force]\n", argv[0]);
    return 2;
  }
  const std::string in = argv[1], out = argv[2];
  try {
    model::model_files files;
    model::gemma4_model m = model::load_model(in, &files);  // non-const: the edit replaces tensors in place
    std::printf("base: %s (%s, %zu layers)\n", in.c_str(), std::string(model::format_name(m.format())).c_str(),
                m.config().num_layers);

    // ---- 1. The edit, composed at compile time. Strip = gain 0 (the neuron's weights stay, shapes do not
    // change), scale = any gain (2 amplifies, 0.5 suppresses, negative sign-inverts), negate = gain −1.
    const auto edits = edit::strip{1, {3, 17}} | edit::scale{2, {5, 6}, 2.0f} | edit::negate{3, {8}};
    static_assert(decltype(edits)::all_weight_edits, "every member can be applied to the weights");
    static_assert(!edit::weight_edit<edit::expert_mask>, "routing exclusion is run-time only");
    // edit::apply(m, edits | edit::expert_mask{1, {0}});  // would not compile: expert_mask is not a weight_edit

    // The same edit as a run-time plan (what `scalpel edit --plan P.json` reads): scalpel.edit-plan/1 JSON.
    const edit::plan plan = edit::plan::from(edits);
    print_edits("applied plan", plan);

    // ---- 2. Validation against the model's geometry happens before anything is written. A bad plan is a
    // scalpel::error naming the edit and the bound, e.g. a neuron index past the layer's width:
    try {
      edit::validate(edit::plan::from(edit::strip{1, {100000}} | edit::negate{2, {1}}), m.config());
    } catch (const error& e) {
      std::printf("a bad plan is rejected: %s\n", e.what());
    }

    // ---- 3. Apply and save. save_edited applies the plan statically (copy-on-write: only the touched tensors
    // are copied out of the memory-mapped file, the input is never written), writes the checkpoint in the input's
    // format, names and sharding, embeds the plan with the base model's file hashes, and re-loads the output to
    // verify it. The directory is built under a temporary name and renamed, so a failure leaves no partial OUT.
    edit::save_options so;
    so.overwrite = force;
    so.log = [](const std::string& msg) { std::printf("  save: %s\n", msg.c_str()); };
    const auto manifest = edit::save_edited(m, files, plan, out, so);
    std::printf("saved %s (the plan is embedded and written beside it, with %zu input file hashes)\n", out.c_str(),
                manifest["base"].contains("sha256") ? manifest["base"]["sha256"].size() : std::size_t{0});
    if (std::filesystem::is_directory(out))
      for (const auto& entry : std::filesystem::directory_iterator(out))
        std::printf("  %s\n", entry.path().filename().string().c_str());

    // ---- 4. Reload both checkpoints and diff them tensor by tensor: diff recovers which neurons were scaled
    // and by what factor (down_proj columns, or up_proj rows for Q8_0), silenced experts, and lists any other
    // difference. This is how a user inspects a released edited model against its base.
    const model::gemma4_model base = model::load_model(in);
    const model::gemma4_model edited = model::load_model(out);
    const edit::diff_result d = edit::diff(base, edited);
    print_edits("recovered plan", d.recovered);
    for (const auto& o : d.others)
      std::printf("  other difference: %s: %s (%zu elements)\n", o.tensor.c_str(), o.what.c_str(), o.elements);
    const bool same = !d.recovered.empty() && canonical_edits(d.recovered) == canonical_edits(plan);
    std::printf("recovered plan equals the applied plan: %s\n", same ? "yes" : "NO");
    std::printf("other differences: %zu\n", d.others.size());
    return same && d.others.empty() ? 0 : 1;
  } catch (const error& e) {
    std::fprintf(stderr, "04_strip_neurons_and_save: %s\n", e.what());
    return 1;
  }
}
