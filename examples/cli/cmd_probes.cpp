// scalpel probes: list, check or dump the probe suite (docs/probes.md).
#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "scalpel/analysis/probes.hpp"

namespace scalpel_cli {
namespace cmd_probes {  // named: unity builds put several commands in one TU
namespace {

namespace an = scalpel::analysis;

constexpr const char* usage_text =
    R"(usage: scalpel probes [--file F] [--dump] [--json]

Lists the probe suite: the built-in one (eight loop-prone enumeration prompts with rewordings, five closed-list
controls, each with a gold list), or the probe file F, which is validated (schema scalpel.probes/1 in
docs/probes.md; a malformed file is an error naming the field).

  --file F   a user probe file instead of the built-in suite
  --dump     print the whole probe file as JSON (a starting point for your own)
  --json     the listing as JSON: {"source", "probes": [{"id", "category", "expected_count", "wordings", ...}]})";

int run_probes(args& a) {
  const auto file = a.get("file");
  const bool dump = a.flag("dump");
  const bool json = a.flag("json");
  a.finish();
  std::optional<an::probe_set> loaded;
  if (file) loaded = an::load_probes(*file);
  const an::probe_set& set = loaded ? *loaded : an::builtin_probes();
  if (dump) {
    std::printf("%s\n", an::to_json(set).dump(2).c_str());
    return 0;
  }
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : set.probes) {
      list.push_back({{"id", p.id},
                      {"category", an::probe_category_name(p.category)},
                      {"description", p.description},
                      {"expected_count", p.expected_count},
                      {"extras", p.gold.extras.size()},
                      {"ordered", p.gold.ordered},
                      {"wordings", p.wordings}});
    }
    std::printf("%s\n", nlohmann::json{{"source", set.source}, {"probes", std::move(list)}}.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %zu probes\n", set.source.c_str(), set.probes.size());
  for (const auto& p : set.probes) {
    std::printf("  %-20s %-11s %4lld items  %zu wordings  \"%s\"\n", p.id.c_str(),
                std::string(an::probe_category_name(p.category)).c_str(), static_cast<long long>(p.expected_count),
                p.wordings.size(), p.wordings.front().c_str());
  }
  return 0;
}

const registrar reg{
    {"probes", "list, check or dump the probe suite (prompts + gold lists)", usage_text, &run_probes, 210}};

}  // namespace
}  // namespace cmd_probes
}  // namespace scalpel_cli
