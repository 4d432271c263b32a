#pragma once
/// @file
/// @brief The surgery directory's `surgery.json`: settings (and their hash, which a resumed run must match),
/// the status of every stage, the files, the model's identity and the result (docs/surgery.md). Written
/// atomically after every stage, so an interrupted run leaves a consistent directory that a re-run continues.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/sha256.hpp"
#include "scalpel/io/json.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

inline constexpr std::string_view surgery_format = "scalpel.surgery/1";

/// The stages in order.
inline constexpr std::string_view surgery_stages[] = {"eval_base", "bank",  "sweep", "attribute",
                                                      "confirm",   "guard", "write"};

class surgery_state {
 public:
  /// Open DIR/surgery.json, or start a new one. A resumed run must have the same settings hash.
  /// @throws errc::already_exists when the directory holds a run with other settings; errc::json when
  /// surgery.json is malformed.
  surgery_state(std::filesystem::path dir, nlohmann::json settings) : dir_(std::move(dir)) {
    const std::string hash = sha256_hex(settings.dump());
    const auto path = dir_ / "surgery.json";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      j_ = io::read_json_file(path.string());
      if (!j_.is_object() || j_.value("format", std::string()) != surgery_format)
        fail(errc::json, path.string() + ": not a " + std::string(surgery_format) + " file");
      const auto old = j_.value("settings_hash", std::string());
      if (old != hash)
        fail(errc::already_exists,
             dir_.string() + " holds a surgery run with other settings (settings hash " + old.substr(0, 12) +
                 ", this run " + hash.substr(0, 12) +
                 "): use another --out, or --restart to discard it (see settings in its surgery.json)");
      resumed_ = true;
    } else {
      j_ = {{"format", std::string(surgery_format)}, {"status", "running"}, {"error", nullptr}};
      j_["settings_hash"] = hash;
      j_["config"] = std::move(settings);
      nlohmann::json stages = nlohmann::json::array();
      for (const auto s : surgery_stages) stages.push_back({{"name", std::string(s)}, {"status", "pending"}});
      j_["stages"] = std::move(stages);
      j_["files"] = nlohmann::json::object();
      j_["result"] = nlohmann::json::object();
    }
  }

  [[nodiscard]] bool resumed() const noexcept { return resumed_; }
  [[nodiscard]] nlohmann::json& json() noexcept { return j_; }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] std::filesystem::path file(const std::string& key) const {
    return dir_ / j_["files"].at(key).get<std::string>();
  }

  [[nodiscard]] nlohmann::json& stage(std::string_view name) {
    for (auto& s : j_["stages"])
      if (s["name"] == name) return s;
    fail(errc::invalid_argument, "surgery: unknown stage '" + std::string(name) + "'");
  }
  /// Done (or skipped) and its output files still present.
  [[nodiscard]] bool finished(std::string_view name) {
    const auto& s = stage(name);
    const auto st = s.value("status", std::string());
    if (st == "skipped") return true;
    if (st != "done") return false;
    std::error_code ec;
    for (const auto& f : s.value("outputs", std::vector<std::string>{}))
      if (!std::filesystem::exists(dir_ / f, ec)) return false;
    return true;
  }
  void set_stage(std::string_view name, std::string_view status, double seconds,
                 const std::vector<std::string>& outputs = {}, const std::string& note = "") {
    auto& s = stage(name);
    s["status"] = std::string(status);
    s["seconds"] = seconds;
    if (!outputs.empty()) s["outputs"] = outputs;
    if (!note.empty()) s["note"] = note;
    save();
  }
  void add_file(const std::string& key, const std::string& name) { j_["files"][key] = name; }

  void save() const { write_file_atomic((dir_ / "surgery.json").string(), j_.dump(2) + "\n"); }

 private:
  std::filesystem::path dir_;
  nlohmann::json j_;
  bool resumed_ = false;
};

/// Seconds since `t0`.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
