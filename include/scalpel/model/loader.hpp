#pragma once
/// @file
/// @brief `model::load_model(path)`: load a Gemma 4 text model from a Hugging Face checkpoint directory
/// (config.json + model.safetensors or sharded model-*.safetensors + index) or from a GGUF file.
/// Weights stay memory-mapped in their file dtype; only norm vectors are converted to f32.

#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/gguf.hpp"
#include "scalpel/io/gguf_names.hpp"
#include "scalpel/io/safetensors.hpp"
#include "scalpel/model/gguf_config.hpp"
#include "scalpel/model/hf_config.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

/// What was found beside the weights.
struct model_files {
  std::string weights_path;                       ///< the .gguf file or the checkpoint directory
  std::string config_path;                        ///< config.json (empty for GGUF)
  std::string tokenizer_path;                     ///< tokenizer.json if present (empty otherwise / GGUF)
  std::optional<generation_defaults> generation;  ///< generation_config.json if present
  std::string hf_prefix;                          ///< "model.language_model." / "model." / "" (safetensors)
  io::gguf_metadata gguf;                         ///< GGUF metadata (tokenizer, …) when loaded from GGUF
  /// The safetensors layout (metadata, sharding) to reproduce when writing an edited copy.
  std::optional<io::safetensors_write_options> safetensors_layout;
  /// Every file the model was read from (for hashes in edit manifests).
  std::vector<std::string> input_files;
};

namespace detail {
inline bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
inline bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
inline bool has_gguf_magic(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  char m[4] = {};
  return f.read(m, 4) && std::memcmp(m, "GGUF", 4) == 0;
}
inline std::string dir_of(const std::string& p) {
  if (is_dir(p)) return p;
  const auto slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}
}  // namespace detail

/// Load a model. `path` is a checkpoint directory, a .safetensors / index.json file inside one, or a .gguf file.
/// `files`, when given, receives where config/tokenizer/generation_config were found.
inline gemma4_model load_model(const std::string& path, model_files* files = nullptr) {
  model_files local;
  model_files& mf = files ? *files : local;
  mf = {};
  if (!detail::is_dir(path) && !detail::is_file(path)) fail(errc::io, "model path '" + path + "' does not exist");

  if (detail::is_file(path) && (detail::ends_with(path, ".gguf") || detail::has_gguf_magic(path))) {
    io::gguf_file g = io::read_gguf(path);
    gemma4_config cfg = config_from_gguf(g, path);
    mf.weights_path = path;
    mf.gguf = g.metadata;
    mf.input_files = {path};
    return gemma4_model(
        std::move(cfg), std::move(g.tensors),
        [](std::string_view canonical) { return io::hf_to_gguf_name(canonical).value_or(""); }, checkpoint_format::gguf,
        path);
  }

  const std::string dir = detail::dir_of(path);
  mf.weights_path = dir;
  mf.config_path = dir + "/config.json";
  if (!detail::is_file(mf.config_path))
    fail(errc::io, "'" + dir + "' has no config.json (expected a Hugging Face checkpoint directory or a .gguf file)");
  gemma4_config cfg = read_hf_config(mf.config_path);
  if (detail::is_file(dir + "/generation_config.json")) {
    mf.generation = read_generation_config(dir + "/generation_config.json");
    if (!mf.generation->eos_token_ids.empty()) cfg.eos_token_ids = mf.generation->eos_token_ids;
  }
  if (detail::is_file(dir + "/tokenizer.json")) mf.tokenizer_path = dir + "/tokenizer.json";

  io::safetensors_checkpoint ck = io::read_safetensors(detail::is_dir(path) ? dir : path);
  std::string prefix;
  for (const char* p : {"model.language_model.", "model.", ""}) {
    if (ck.tensors.contains(std::string(p) + "embed_tokens.weight")) {
      prefix = p;
      break;
    }
  }
  mf.hf_prefix = prefix;
  mf.safetensors_layout = io::safetensors_write_options::like(ck);
  mf.input_files.push_back(mf.config_path);
  for (const auto& shard : ck.shards) mf.input_files.push_back(ck.directory + "/" + shard);
  if (!ck.index_file.empty()) mf.input_files.push_back(ck.index_file);
  return gemma4_model(
      std::move(cfg), std::move(ck.tensors),
      [prefix](std::string_view canonical) { return prefix + std::string(canonical); }, checkpoint_format::safetensors,
      dir);
}

}  // namespace model
SCALPEL_END_NAMESPACE
