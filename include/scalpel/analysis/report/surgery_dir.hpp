#pragma once
/// @file
/// @brief Reading the output directory of `scalpel surgery` (docs/report.md, "The directory"): the manifest
/// `surgery.json` and the optional pieces it lists (base evaluation, layer sweep, attribution, expert attribution,
/// confirmation, capability guard, plan). Every piece but the manifest may be missing — a partial or failed run is
/// still reported, with a note saying what is missing and why. A piece that is present but malformed is an error
/// (`scalpel::error`, errc::json / errc::plan / errc::io) naming the file and the field. Unknown fields are ignored.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/confirm.hpp"
#include "scalpel/analysis/eval_record.hpp"
#include "scalpel/analysis/guard.hpp"
#include "scalpel/analysis/surgery_state.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/io/json.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

// surgery_format, confirm_format and guard_format come from the headers that write those files.

// ---- surgery.json -------------------------------------------------------------------------------------------------

struct surgery_model_file {
  std::string path;
  std::optional<std::uint64_t> bytes;
  std::string sha256;
};
struct surgery_model {
  std::string path, name, arch, format;
  std::vector<surgery_model_file> files;
};
struct surgery_stage {
  std::string name, status;
  std::optional<double> seconds;
  std::string note;
};
struct surgery_result {
  std::optional<double> loop_rate_before, loop_rate_after;
  std::optional<std::string> chosen;
  std::string summary;
};
/// `surgery.json` (`scalpel.surgery/1`).
struct surgery_manifest {
  std::string status;  ///< "done", "running" or "failed" (other values are shown as given)
  std::optional<std::string> error;
  std::optional<surgery_model> model;
  std::string scalpel_version;
  std::vector<std::string> commands;
  nlohmann::json config = nlohmann::json::object();  ///< free-form settings
  std::vector<surgery_stage> stages;
  std::map<std::string, std::string> files;  ///< piece -> path relative to the directory
  std::optional<surgery_result> result;
};

// ---- the pieces ---------------------------------------------------------------------------------------------------

struct sweep_layer_row {
  std::size_t layer = 0;
  double metric = 0.0, delta = 0.0;
  std::optional<double> kl;
};
/// `sweep.json` (`scalpel sweep-layers --json`).
struct sweep_data {
  double metric_base = 0.0;
  std::vector<sweep_layer_row> layers;
  std::string component, mode;
};

struct neuron_row {
  std::size_t layer = 0, neuron = 0;
  double score = 0.0;
  std::optional<double> score_norm, exact_delta;
};
/// `attribution.json` (`scalpel attribute --json`).
struct attribution_data {
  double metric_base = 0.0;
  std::vector<neuron_row> neurons;
};

struct expert_table_row {
  std::size_t layer = 0, expert = 0;
  double delta_route = 0.0, delta_silence = 0.0;
  std::optional<double> freq, freq_clean;
};
/// `experts.json` (`scalpel attribute-experts --json`).
struct experts_data {
  double metric_base = 0.0;
  std::vector<expert_table_row> experts;
};

/// A unit edited by a candidate: a neuron (`neuron` set) or an expert (`expert` set) of a layer.
struct confirm_unit {
  std::size_t layer = 0;
  std::optional<std::size_t> neuron, expert;
};
/// Loop counts of the base model or of one candidate in the confirmation.
struct confirm_counts {
  std::optional<std::uint64_t> loops, n;
  std::optional<double> rate;
  std::optional<std::pair<double, double>> ci;
  std::optional<std::uint64_t> control_loops, control_n;
};
struct confirm_candidate {
  std::string name, kind;
  std::vector<confirm_unit> units;
  std::optional<std::uint64_t> size;
  std::optional<double> strength;
  std::optional<nlohmann::json> plan;
  confirm_counts counts;
  std::optional<double> p_vs_base, kl, ppl_delta;
  std::string verdict;
  std::vector<std::string> reasons;
};
/// `confirm.json` (`scalpel.confirm/1`).
struct confirm_data {
  std::optional<confirm_counts> base;
  std::vector<double> strengths;
  std::vector<std::pair<std::string, nlohmann::json>> criteria;  ///< as given, sorted by key
  std::vector<confirm_candidate> candidates;
  std::optional<std::string> chosen;
};

/// `guard.json` (`scalpel.guard/1`): numeric fields by name, in file order of the documented ones first.
struct guard_section {
  std::string source;
  std::vector<std::pair<std::string, double>> values;
  [[nodiscard]] std::optional<double> get(std::string_view key) const {
    for (const auto& [k, v] : values)
      if (k == key) return v;
    return std::nullopt;
  }
};
struct guard_data {
  std::optional<guard_section> text, mc;
};

/// Why a piece is not in the report.
struct piece_note {
  std::string piece;  ///< key in `files` ("sweep", "attribution", ...)
  std::string file;   ///< the path that was looked for ("" if none)
  std::string why;    ///< one sentence
};

/// Everything read from a surgery directory.
struct surgery_dir_data {
  std::filesystem::path dir;
  surgery_manifest manifest;
  std::optional<std::vector<nlohmann::json>> base_records;     ///< eval-base.jsonl
  std::optional<std::vector<nlohmann::json>> confirm_records;  ///< confirm.jsonl
  std::optional<sweep_data> sweep;
  std::optional<attribution_data> attribution;
  std::optional<experts_data> experts;
  std::optional<confirm_data> confirm;
  std::optional<guard_data> guard;
  std::optional<nlohmann::json> plan;      ///< plan.json, validated as `scalpel.edit-plan/1`
  std::optional<std::size_t> bank_items;   ///< bank.json: number of items
  std::optional<double> bank_metric_base;  ///< bank.json: metric_base, when recorded
  bool edited_model_present = false;
  std::map<std::string, std::string> paths;  ///< piece -> file as resolved (for display)
  std::vector<piece_note> missing;           ///< pieces not available, in piece order
  std::vector<std::string> warnings;         ///< e.g. an interrupted last JSONL line that was ignored

  [[nodiscard]] const piece_note* missing_note(std::string_view piece) const {
    for (const auto& m : missing)
      if (m.piece == piece) return &m;
    return nullptr;
  }
};

/// The pieces of a surgery directory: key in `files`, default file name, and the stage that writes it.
struct surgery_piece {
  std::string_view key, default_name, stage;
};
inline constexpr surgery_piece surgery_pieces[] = {{"eval_base", "eval-base.jsonl", "eval_base"},
                                                   {"bank", "bank.json", "bank"},
                                                   {"sweep", "sweep.json", "sweep"},
                                                   {"attribution", "attribution.json", "attribute"},
                                                   {"experts", "experts.json", "attribute"},
                                                   {"confirm", "confirm.json", "confirm"},
                                                   {"confirm_records", "confirm.jsonl", "confirm"},
                                                   {"guard", "guard.json", "guard"},
                                                   {"plan", "plan.json", "write"},
                                                   {"edited_model", "model", "write"}};

namespace report_detail {

inline std::optional<double> opt_number(const io::json_field& f, std::string_view key) {
  auto v = f.find(key);
  if (!v) return std::nullopt;
  return v->get<double>();
}
inline std::optional<std::uint64_t> opt_count(const io::json_field& f, std::string_view key) {
  auto v = f.find(key);
  if (!v) return std::nullopt;
  return v->get<std::uint64_t>();
}
inline std::string opt_string(const io::json_field& f, std::string_view key) {
  auto v = f.find(key);
  return v ? v->get<std::string>() : std::string();
}
inline void require_format(const io::json_field& root, std::string_view expected) {
  if (!root.is_object()) root.fail_here("expected a JSON object");
  const auto fmt = root.value<std::string>("format");
  if (fmt != expected) root["format"].fail_here("expected \"" + std::string(expected) + "\", got \"" + fmt + "\"");
}

inline surgery_manifest parse_manifest(const nlohmann::json& j, const std::string& source) {
  const io::json_field r(j, source);
  require_format(r, surgery_format);
  surgery_manifest m;
  m.status = r.value<std::string>("status");
  if (auto e = r.find("error")) m.error = e->get<std::string>();
  if (auto mf = r.find("model")) {
    surgery_model sm;
    if (!mf->is_object()) mf->fail_here("expected an object");
    sm.path = opt_string(*mf, "path");
    sm.name = opt_string(*mf, "name");
    sm.arch = opt_string(*mf, "arch");
    sm.format = opt_string(*mf, "format");
    if (auto files = mf->find("files")) {
      for (const auto& f : files->elements()) {
        if (!f.is_object()) f.fail_here("expected an object");
        sm.files.push_back({f.value<std::string>("path"), opt_count(f, "bytes"), opt_string(f, "sha256")});
      }
    }
    m.model = std::move(sm);
  }
  m.scalpel_version = opt_string(r, "scalpel_version");
  if (auto c = r.find("commands")) m.commands = c->get<std::vector<std::string>>();
  if (auto c = r.find("config")) {
    if (!c->is_object()) c->fail_here("expected an object");
    m.config = c->raw();
  }
  if (auto st = r.find("stages")) {
    for (const auto& s : st->elements()) {
      if (!s.is_object()) s.fail_here("expected an object");
      m.stages.push_back({s.value<std::string>("name"), s.value<std::string>("status"), opt_number(s, "seconds"),
                          opt_string(s, "note")});
    }
  }
  if (auto fs = r.find("files")) {
    for (const auto& [k, v] : fs->members())
      if (!v.is_null()) m.files[k] = v.get<std::string>();
  }
  if (auto res = r.find("result")) {
    if (!res->is_object()) res->fail_here("expected an object");
    surgery_result sr;
    sr.loop_rate_before = opt_number(*res, "loop_rate_before");
    sr.loop_rate_after = opt_number(*res, "loop_rate_after");
    if (auto c = res->find("chosen")) sr.chosen = c->get<std::string>();
    sr.summary = opt_string(*res, "summary");
    m.result = std::move(sr);
  }
  return m;
}

inline sweep_data parse_sweep(const nlohmann::json& j, const std::string& source) {
  const io::json_field r(j, source);
  if (!r.is_object()) r.fail_here("expected a JSON object");
  sweep_data d;
  d.metric_base = r.value<double>("metric_base");
  for (const auto& l : r["layers"].elements())
    d.layers.push_back(
        {l.value<std::size_t>("layer"), l.value<double>("metric"), l.value<double>("delta"), opt_number(l, "kl")});
  d.component = opt_string(r, "component");
  d.mode = opt_string(r, "mode");
  return d;
}

inline attribution_data parse_attribution(const nlohmann::json& j, const std::string& source) {
  const io::json_field r(j, source);
  if (!r.is_object()) r.fail_here("expected a JSON object");
  attribution_data d;
  d.metric_base = r.value<double>("metric_base");
  for (const auto& n : r["neurons"].elements())
    d.neurons.push_back({n.value<std::size_t>("layer"), n.value<std::size_t>("neuron"), n.value<double>("score"),
                         opt_number(n, "score_norm"), opt_number(n, "exact_delta")});
  return d;
}

inline experts_data parse_experts(const nlohmann::json& j, const std::string& source) {
  const io::json_field r(j, source);
  if (!r.is_object()) r.fail_here("expected a JSON object");
  experts_data d;
  d.metric_base = r.value<double>("metric_base");
  for (const auto& e : r["experts"].elements())
    d.experts.push_back({e.value<std::size_t>("layer"), e.value<std::size_t>("expert"), e.value<double>("delta_route"),
                         e.value<double>("delta_silence"), opt_number(e, "freq"), opt_number(e, "freq_clean")});
  return d;
}

inline confirm_counts parse_counts(const io::json_field& f) {
  confirm_counts c;
  c.loops = opt_count(f, "loops");
  c.n = opt_count(f, "n");
  if (c.loops && c.n && *c.loops > *c.n) f["loops"].fail_here("more loops than generations (n)");
  c.rate = opt_number(f, "rate");
  if (auto ci = f.find("ci")) {
    const auto v = ci->get<std::vector<double>>();
    if (v.size() != 2) ci->fail_here("expected [lo, hi]");
    c.ci = std::make_pair(v[0], v[1]);
  }
  c.control_loops = opt_count(f, "control_loops");
  c.control_n = opt_count(f, "control_n");
  return c;
}

inline confirm_data parse_confirm(const nlohmann::json& j, const std::string& source) {
  const io::json_field r(j, source);
  require_format(r, confirm_format);
  confirm_data d;
  if (auto b = r.find("base")) {
    if (!b->is_object()) b->fail_here("expected an object");
    d.base = parse_counts(*b);
  }
  if (auto s = r.find("strengths")) d.strengths = s->get<std::vector<double>>();
  if (auto c = r.find("criteria")) {
    for (const auto& [k, v] : c->members()) d.criteria.emplace_back(k, v.raw());
  }
  for (const auto& c : r["candidates"].elements()) {
    if (!c.is_object()) c.fail_here("expected an object");
    confirm_candidate k;
    k.name = c.value<std::string>("name");
    k.kind = opt_string(c, "kind");
    if (auto units = c.find("units")) {
      for (const auto& u : units->elements()) {
        confirm_unit cu;
        cu.layer = u.value<std::size_t>("layer");
        if (auto n = u.find("neuron")) cu.neuron = n->get<std::size_t>();
        if (auto e = u.find("expert")) cu.expert = e->get<std::size_t>();
        if (!cu.neuron && !cu.expert) u.fail_here("expected a \"neuron\" or an \"expert\"");
        k.units.push_back(cu);
      }
    }
    k.size = opt_count(c, "size");
    k.strength = opt_number(c, "strength");
    if (auto p = c.find("plan")) {
      (void)edit::plan::from_json(p->raw(), source + ": field '" + p->path() + "'");
      k.plan = p->raw();
    }
    k.counts = parse_counts(c);
    k.p_vs_base = opt_number(c, "p_vs_base");
    k.kl = opt_number(c, "kl");
    k.ppl_delta = opt_number(c, "ppl_delta");
    k.verdict = opt_string(c, "verdict");
    if (auto rs = c.find("reasons")) k.reasons = rs->get<std::vector<std::string>>();
    d.candidates.push_back(std::move(k));
  }
  if (auto ch = r.find("chosen")) {
    d.chosen = ch->get<std::string>();
    const bool known = std::any_of(d.candidates.begin(), d.candidates.end(),
                                   [&](const confirm_candidate& k) { return k.name == *d.chosen; });
    if (!known) (*ch).fail_here("names no candidate (\"" + *d.chosen + "\")");
  }
  return d;
}

inline guard_data parse_guard(const nlohmann::json& j, const std::string& source) {
  const io::json_field r(j, source);
  require_format(r, guard_format);
  guard_data g;
  // The documented fields must be numbers; other numeric fields are shown too, anything else is ignored.
  auto section = [](const io::json_field& f, std::initializer_list<std::string_view> numeric) {
    if (!f.is_object()) f.fail_here("expected an object or null");
    guard_section s;
    for (const auto& [k, v] : f.members()) {
      if (v.is_null()) continue;
      const bool documented = std::find(numeric.begin(), numeric.end(), k) != numeric.end();
      if (k == "source")
        s.source = v.get<std::string>();
      else if (documented || v.is_number())
        s.values.emplace_back(k, v.get<double>());
    }
    return s;
  };
  if (auto t = r.find("text"))
    g.text = section(*t, {"tokens", "windows", "kl_mean", "kl_max", "nll_base", "nll_edited", "ppl_base", "ppl_edited",
                          "ppl_delta", "top1_agreement"});
  if (auto m = r.find("mc"))
    g.mc = section(
        *m, {"items", "acc_base", "acc_edited", "acc_norm_base", "acc_norm_edited", "flipped", "gold_logprob_delta"});
  return g;
}

}  // namespace report_detail

/// Read a surgery directory (docs/report.md). Only `surgery.json` is required.
/// @throws scalpel::error (io) when `surgery.json` cannot be read; (json / plan) naming the file and field when a
/// file that is present is malformed.
inline surgery_dir_data read_surgery_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  using namespace report_detail;
  surgery_dir_data d;
  d.dir = dir;
  const fs::path manifest = dir / "surgery.json";
  std::error_code ec;
  if (!fs::is_regular_file(manifest, ec))
    fail(errc::io, "'" + manifest.string() + "' not found: not the output directory of scalpel surgery");
  d.manifest = parse_manifest(io::read_json_file(manifest.string()), manifest.string());

  auto stage_status = [&](std::string_view stage) -> const surgery_stage* {
    for (const auto& s : d.manifest.stages)
      if (s.name == stage) return &s;
    return nullptr;
  };
  // Resolve each piece: the path `files` gives, else the default name when that file exists.
  for (const auto& p : surgery_pieces) {
    const std::string key(p.key);
    const auto listed = d.manifest.files.find(key);
    const fs::path path = listed != d.manifest.files.end() ? dir / listed->second : dir / p.default_name;
    const bool exists = fs::exists(path, ec);
    d.paths[key] = path.string();
    if (exists) continue;
    std::string why;
    if (listed != d.manifest.files.end()) {
      why = "listed in surgery.json (files." + key + ") but not found";
    } else {
      why = "not produced";
      if (const auto* st = stage_status(p.stage)) {
        why += " (stage " + st->name + ": " + st->status + (st->note.empty() ? "" : ", " + st->note) + ")";
      } else {
        why += " (no stage " + std::string(p.stage) + " recorded)";
      }
    }
    d.missing.push_back({key, path.string(), why});
  }
  const auto have = [&](std::string_view key) { return d.missing_note(key) == nullptr; };
  const auto json_of = [&](std::string_view key) { return io::read_json_file(d.paths[std::string(key)]); };
  const auto records_of = [&](std::string_view key) {
    const std::string& path = d.paths[std::string(key)];
    auto run = read_eval_jsonl(path);
    if (run.truncated_tail) d.warnings.push_back(path + ": an incomplete last record was ignored");
    for (auto& rec : run.records)
      for (const char* k : {"ids", "prompt_ids", "text", "prompt"}) rec.erase(k);
    return std::move(run.records);
  };
  if (have("eval_base")) d.base_records = records_of("eval_base");
  if (have("confirm_records")) d.confirm_records = records_of("confirm_records");
  if (have("sweep")) d.sweep = parse_sweep(json_of("sweep"), d.paths["sweep"]);
  if (have("attribution")) d.attribution = parse_attribution(json_of("attribution"), d.paths["attribution"]);
  if (have("experts")) d.experts = parse_experts(json_of("experts"), d.paths["experts"]);
  if (have("confirm")) d.confirm = parse_confirm(json_of("confirm"), d.paths["confirm"]);
  if (have("guard")) d.guard = parse_guard(json_of("guard"), d.paths["guard"]);
  if (have("plan")) {
    auto plan = json_of("plan");
    (void)edit::plan::from_json(plan, d.paths["plan"]);
    d.plan = std::move(plan);
  }
  if (have("bank")) {
    const auto bank = json_of("bank");
    const io::json_field r(bank, d.paths["bank"]);
    if (!r.is_object()) r.fail_here("expected a JSON object");
    d.bank_items = r["items"].size();
    d.bank_metric_base = opt_number(r, "metric_base");
  }
  d.edited_model_present = have("edited_model");
  return d;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
