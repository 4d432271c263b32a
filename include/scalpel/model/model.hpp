#pragma once
/// @file
/// @brief `model::gemma4_model`: a loaded Gemma 4 text decoder — config, the checkpoint's tensors (memory-mapped
/// or owned), the typed weights bound to them, and the forward pass. Loading from files lives in
/// `model/loader.hpp`; this header needs no file I/O.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/tensor_set.hpp"
#include "scalpel/model/config.hpp"
#include "scalpel/model/forward.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/kv_cache.hpp"
#include "scalpel/model/weights.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

enum class checkpoint_format : std::uint8_t { safetensors, gguf, memory };
constexpr std::string_view format_name(checkpoint_format f) noexcept {
  return f == checkpoint_format::safetensors ? "safetensors" : f == checkpoint_format::gguf ? "gguf" : "memory";
}

/// Maps a canonical tensor name (HF name without prefix, e.g. "layers.3.mlp.down_proj.weight") to the
/// record name used by the checkpoint ("model.language_model.layers.3..." or "blk.3.ffn_down.weight").
using name_mapper = std::function<std::string(std::string_view canonical)>;

/// Default chunk size for prefill (tokens per forward call).
inline constexpr std::size_t default_max_chunk = 256;

class gemma4_model {
 public:
  gemma4_model(gemma4_config cfg, io::tensor_set tensors, name_mapper to_record, checkpoint_format format,
               std::string source)
      : cfg_(std::move(cfg)),
        tensors_(std::move(tensors)),
        to_record_(std::move(to_record)),
        format_(format),
        source_(std::move(source)),
        tables_(std::make_shared<forward_tables>(cfg_)) {
    rebind();
  }

  [[nodiscard]] const gemma4_config& config() const noexcept { return cfg_; }
  [[nodiscard]] const model_weights& weights() const noexcept { return weights_; }
  [[nodiscard]] const io::tensor_set& tensors() const noexcept { return tensors_; }
  [[nodiscard]] checkpoint_format format() const noexcept { return format_; }
  /// Path the model was loaded from (or a description).
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  [[nodiscard]] std::string record_name(std::string_view canonical) const { return to_record_(canonical); }
  [[nodiscard]] const any_tensor* find(std::string_view canonical) const {
    return tensors_.find(to_record_(canonical));
  }

  /// Replace checkpoint records (edited copies, same names) and rebind the weights. The previous records stay
  /// alive as long as someone holds them (an undo journal does).
  void replace_tensors(std::span<const any_tensor> changed) {
    for (const auto& t : changed) tensors_.replace(t);
    rebind();
  }

  /// A KV cache for this model. max_context 0 = the config's max_position_embeddings.
  [[nodiscard]] kv_cache make_cache(std::size_t max_context = 0, std::size_t max_chunk = default_max_chunk) const {
    if (max_context == 0 || max_context > cfg_.max_position_embeddings) {
      if (max_context > cfg_.max_position_embeddings)
        fail(errc::context_overflow, "context limit " + std::to_string(max_context) + " exceeds the model's maximum " +
                                         std::to_string(cfg_.max_position_embeddings));
      max_context = cfg_.max_position_embeddings;
    }
    return kv_cache(cfg_, max_context, max_chunk);
  }

  /// Append `ids` to `cache` (in chunks of cache.max_chunk()), producing logits [n, V] in `logits` for the last
  /// position (mode last) or for every position of `ids` (mode all).
  template <hook_set Hooks>
  void forward(std::span<const std::int32_t> ids, kv_cache& cache, std::vector<float>& logits, logits_mode mode,
               Hooks& hooks) const {
    logits.clear();
    std::vector<float> chunk_logits;
    const std::size_t step = cache.max_chunk();
    for (std::size_t i = 0; i < ids.size(); i += step) {
      const std::size_t n = std::min(step, ids.size() - i);
      const bool last_chunk = i + n == ids.size();
      const logits_mode m = mode == logits_mode::all ? logits_mode::all : (last_chunk ? mode : logits_mode::none);
      forward_chunk(cfg_, weights_, *tables_, ids.subspan(i, n), cache, hooks, m, chunk_logits);
      logits.insert(logits.end(), chunk_logits.begin(), chunk_logits.end());
    }
  }
  void forward(std::span<const std::int32_t> ids, kv_cache& cache, std::vector<float>& logits,
               logits_mode mode = logits_mode::last) const {
    no_hooks h;
    forward(ids, cache, logits, mode, h);
  }

  /// Logits of a whole sequence from an empty cache (convenience; ids fed verbatim, no BOS added).
  [[nodiscard]] std::vector<float> logits(std::span<const std::int32_t> ids,
                                          logits_mode mode = logits_mode::last) const {
    kv_cache cache = make_cache(std::max<std::size_t>(ids.size(), 1));
    std::vector<float> out;
    forward(ids, cache, out, mode);
    return out;
  }

 private:
  void rebind() {
    weights_ = bind_weights(
        cfg_, [this](std::string_view canonical) { return tensors_.find(to_record_(canonical)); }, source_);
  }

  gemma4_config cfg_;
  io::tensor_set tensors_;
  name_mapper to_record_;
  checkpoint_format format_;
  std::string source_;
  std::shared_ptr<const forward_tables> tables_;
  model_weights weights_;
};

}  // namespace model
SCALPEL_END_NAMESPACE
