#pragma once
/// @file
/// @brief Save an edited checkpoint: the input's format, names, dtypes and sharding, with the plan embedded
/// (safetensors `__metadata__["scalpel.edit_plan"]`, GGUF key `scalpel.edit_plan`) and written beside it as
/// `scalpel-edit-plan.json` together with the base model's identity and file hashes. The output is verified by
/// re-loading it. The input is never written; a failure leaves nothing under the final name (the directory is
/// built under a temporary name and renamed at the end).

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/sha256.hpp"
#include "scalpel/edit/apply.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/io/gguf.hpp"
#include "scalpel/io/safetensors.hpp"
#include "scalpel/model/loader.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace edit {

struct save_options {
  bool verify = true;       ///< re-load the output and compare every tensor with what was meant to be written
  bool hash_inputs = true;  ///< record sha256 of the input files in the manifest
  bool overwrite = false;   ///< replace an existing output (never an input)
  std::function<void(const std::string&)> log;  ///< progress messages (may be empty)
};

namespace detail {
inline std::string canonical_path(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(std::filesystem::absolute(p), ec);
  return ec ? p : c.string();
}
inline bool inside(const std::string& child, const std::string& parent) {
  const std::string c = canonical_path(child), p = canonical_path(parent);
  return c == p || (c.size() > p.size() && c.compare(0, p.size(), p) == 0 && c[p.size()] == '/');
}
}  // namespace detail

/// Apply `p` statically to `m` (loaded from `files`) and write the result to `out` (a directory for HF input, a
/// .gguf path for GGUF input). Returns the manifest (the plan with base identity) that was written.
inline nlohmann::json save_edited(model::gemma4_model& m, const model::model_files& files, plan p,
                                  const std::string& out, const save_options& opt = {}) {
  namespace fs = std::filesystem;
  auto log = [&](const std::string& s) {
    if (opt.log) opt.log(s);
  };
  const bool gguf = m.format() == model::checkpoint_format::gguf;
  if (m.format() == model::checkpoint_format::memory)
    fail(errc::invalid_argument, "save_edited: the model has no files");
  // Never write into (or over) the input.
  for (const auto& in : files.input_files)
    if (detail::canonical_path(in) == detail::canonical_path(out) || detail::inside(in, out) ||
        (!gguf && detail::inside(out, files.weights_path)))
      fail(errc::already_exists,
           "refusing to write '" + out + "': it is (or contains, or lies inside) the input '" + in + "'");
  if (gguf && out.size() < 5)
    fail(errc::invalid_argument, "output for a GGUF model must be a .gguf path, got '" + out + "'");
  if (gguf && out.substr(out.size() - 5) != ".gguf")
    fail(errc::invalid_argument, "output for a GGUF model must be a .gguf path, got '" + out + "'");
  std::error_code ec;
  if (fs::exists(out, ec) && !opt.overwrite) {
    if (gguf || !fs::is_empty(out, ec))
      fail(errc::already_exists, "output '" + out + "' exists (pass --force to replace it)");
  }

  // Identity of the base.
  nlohmann::json hashes = nlohmann::json::object();
  if (opt.hash_inputs) {
    for (const auto& f : files.input_files) {
      log("hashing " + f);
      hashes[fs::path(f).filename().string()] = sha256_file(f);
    }
  }
  if (p.base_model.empty()) p.base_model = files.weights_path;
  p.base_extra["format"] = std::string(model::format_name(m.format()));
  if (!hashes.empty()) p.base_extra["sha256"] = hashes;
  nlohmann::json manifest = p.to_json();  // returned: not const, so it moves

  log("applying " + std::to_string(p.edits.size()) + " edit(s)");
  journal j = apply(m, p);  // m now holds the edited records (copies of the touched tensors only)

  if (gguf) {
    io::gguf_metadata md = files.gguf;
    md.set("scalpel.edit_plan", io::gguf_value(manifest.dump()));
    io::gguf_write_options wo;
    wo.inputs = files.input_files;
    wo.overwrite = opt.overwrite;
    log("writing " + out);
    io::write_gguf(out, md, m.tensors(), wo);
  } else {
    // Build the whole directory under a temporary name, then rename it into place.
    const std::string tmp = out + ".tmp-" + std::to_string(::getpid());
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) fail(errc::io, "cannot create '" + tmp + "': " + ec.message());
    try {
      io::safetensors_write_options wo =
          files.safetensors_layout ? *files.safetensors_layout : io::safetensors_write_options{};
      wo.metadata["scalpel.edit_plan"] = manifest.dump();
      wo.inputs = files.input_files;
      log("writing safetensors to " + out);
      io::write_safetensors(tmp, m.tensors(), wo);
      // Everything else in the checkpoint directory (config, tokenizer, templates) is copied unchanged.
      for (const auto& entry : fs::directory_iterator(files.weights_path)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name.ends_with(".safetensors") || name == "model.safetensors.index.json" ||
            name == "scalpel-edit-plan.json")
          continue;
        fs::copy_file(entry.path(), fs::path(tmp) / name, fs::copy_options::overwrite_existing, ec);
        if (ec) fail(errc::io, "cannot copy '" + entry.path().string() + "': " + ec.message());
      }
      write_file_atomic(tmp + "/scalpel-edit-plan.json", manifest.dump(2) + "\n");
      if (opt.verify) {
        log("verifying " + out);
        const auto back = model::load_model(tmp);
        for (const auto& t : m.tensors()) {
          const any_tensor* r = back.tensors().find(t.name());
          if (r == nullptr || r->dtype() != t.dtype() || r->size_bytes() != t.size_bytes() ||
              std::memcmp(r->data(), t.data(), t.size_bytes()) != 0)
            fail(errc::io, "verification failed: tensor '" + t.name() + "' does not read back as written");
        }
      }
      if (fs::exists(out, ec)) fs::remove_all(out, ec);
      fs::rename(tmp, out, ec);
      if (ec) fail(errc::io, "cannot rename '" + tmp + "' to '" + out + "': " + ec.message());
    } catch (...) {
      fs::remove_all(tmp, ec);
      j.revert(m);
      throw;
    }
    return manifest;
  }
  write_file_atomic(out + ".edit-plan.json", manifest.dump(2) + "\n");
  if (opt.verify) {
    log("verifying " + out);
    const auto back = model::load_model(out);
    for (const auto& t : m.tensors()) {
      const any_tensor* r = back.tensors().find(t.name());
      if (r == nullptr || r->size_bytes() != t.size_bytes() || std::memcmp(r->data(), t.data(), t.size_bytes()) != 0)
        fail(errc::io, "verification failed: tensor '" + t.name() + "' does not read back as written");
    }
  }
  return manifest;
}

}  // namespace edit
SCALPEL_END_NAMESPACE
