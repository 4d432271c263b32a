#pragma once
// Helpers shared by CLI commands: model loading, threads, id lists, JSON output.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "scalpel/model/loader.hpp"

namespace scalpel_cli {

/// `--threads N` (0 / absent = all cores).
void apply_threads(args& a);
/// Load `--model PATH` (required).
scalpel::model::gemma4_model load_model_arg(args& a, scalpel::model::model_files* files = nullptr);
/// `--ids 2,17,...` as token ids (usage error if malformed).
std::vector<std::int32_t> ids_arg(args& a, const char* name = "ids");
/// Print JSON on stdout (one document, newline-terminated).
void print_json(const nlohmann::json& j);
/// Ctrl-C handling for long work: while armed, SIGINT only sets a flag that the work polls.
namespace interrupt {
void arm();        ///< clear the flag and catch SIGINT
void disarm();     ///< restore the default SIGINT behaviour
bool requested();  ///< SIGINT arrived since arm()
}  // namespace interrupt

/// Read a whole file (scalpel::error errc::io naming it on failure).
std::string read_text_file(const std::string& path);

}  // namespace scalpel_cli
