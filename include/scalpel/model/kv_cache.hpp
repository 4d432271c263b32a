#pragma once
/// @file
/// @brief `model::kv_cache`: per-layer key/value storage for the layers that own a cache (KV-shared layers
/// read their donor's). Full-attention layers keep every position; sliding layers keep a ring buffer of
/// `W + max_chunk − 1` positions — enough for the last W positions of every query in a chunk of up to
/// `max_chunk` tokens (spec §2.5 step 4, pitfall 11). f32 throughout.
///
/// A cache is a value: copying it forks the state (the sweeps run many seeds from one prompt prefix).

#include <cstddef>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/aligned_alloc.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/model/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace model {

class kv_cache {
 public:
  /// One owning layer's storage: K and V rows of [n_kv_heads * head_dim] floats, slot = position % capacity
  /// (capacity 0 = unbounded, grows with the sequence).
  struct layer_store {
    std::size_t row = 0;       ///< n_kv_heads * head_dim
    std::size_t capacity = 0;  ///< ring size for sliding layers; 0 for full layers
    aligned_vector<float> k, v;

    [[nodiscard]] std::size_t slot(std::size_t pos) const noexcept { return capacity ? pos % capacity : pos; }
    [[nodiscard]] float* k_row(std::size_t pos) noexcept { return k.data() + slot(pos) * row; }
    [[nodiscard]] float* v_row(std::size_t pos) noexcept { return v.data() + slot(pos) * row; }
    [[nodiscard]] const float* k_row(std::size_t pos) const noexcept { return k.data() + slot(pos) * row; }
    [[nodiscard]] const float* v_row(std::size_t pos) const noexcept { return v.data() + slot(pos) * row; }
  };

  kv_cache() = default;
  /// @param max_context  positions this cache may hold (≤ the model's max_position_embeddings)
  /// @param max_chunk    largest number of tokens a single forward call appends
  kv_cache(const gemma4_config& cfg, std::size_t max_context, std::size_t max_chunk)
      : max_context_(max_context), max_chunk_(max_chunk) {
    if (max_chunk == 0) fail(errc::invalid_argument, "kv_cache: max_chunk must be positive");
    layers_.resize(cfg.num_layers);
    for (const auto& g : cfg.layers) {
      if (!g.owns_kv) continue;
      auto& s = layers_[g.index];
      s.row = g.kv_dim();
      if (g.window > 0) {
        s.capacity = g.window + max_chunk - 1;
        if (s.capacity > max_context) s.capacity = 0;  // the ring would never wrap: keep it linear
      }
      if (s.capacity) {
        s.k.assign(s.capacity * s.row, 0.0f);
        s.v.assign(s.capacity * s.row, 0.0f);
      }
    }
  }

  /// Positions already in the cache (the next token's position).
  [[nodiscard]] std::size_t size() const noexcept { return n_pos_; }
  [[nodiscard]] std::size_t max_context() const noexcept { return max_context_; }
  [[nodiscard]] std::size_t max_chunk() const noexcept { return max_chunk_; }
  [[nodiscard]] bool empty() const noexcept { return n_pos_ == 0; }

  /// Make room for positions [size(), size() + n). Throws `errc::context_overflow`.
  void reserve_append(std::size_t n) {
    if (n > max_chunk_)
      fail(errc::invalid_argument,
           "kv_cache: a chunk of " + std::to_string(n) + " tokens exceeds max_chunk " + std::to_string(max_chunk_));
    if (n_pos_ + n > max_context_)
      fail(errc::context_overflow, "sequence of " + std::to_string(n_pos_ + n) +
                                       " tokens exceeds the context limit of " + std::to_string(max_context_));
    for (auto& s : layers_) {
      if (s.row == 0 || s.capacity != 0) continue;
      const std::size_t need = (n_pos_ + n) * s.row;
      if (s.k.size() < need) {
        std::size_t cap = s.k.size() / s.row;
        cap = cap ? cap : 64;
        while (cap < n_pos_ + n) cap *= 2;
        if (cap > max_context_) cap = max_context_;
        s.k.resize(cap * s.row);
        s.v.resize(cap * s.row);
      }
    }
  }
  /// Record that n positions were appended (after the forward pass wrote them).
  void commit_append(std::size_t n) noexcept { n_pos_ += n; }
  /// Forget positions ≥ n (e.g. to re-run from a shorter prefix). Sliding rings stay valid only if the dropped
  /// suffix is shorter than max_chunk; otherwise the cache must be rebuilt.
  void truncate(std::size_t n) {
    if (n > n_pos_)
      fail(errc::out_of_range, "kv_cache::truncate: " + std::to_string(n) + " > size " + std::to_string(n_pos_));
    for (const auto& s : layers_) {
      if (s.capacity != 0 && n_pos_ - n >= max_chunk_)
        fail(errc::invalid_argument, "kv_cache::truncate: cannot drop " + std::to_string(n_pos_ - n) +
                                         " positions from a sliding-window ring (at most " +
                                         std::to_string(max_chunk_ - 1) + ")");
    }
    n_pos_ = n;
  }
  void clear() noexcept { n_pos_ = 0; }

  [[nodiscard]] layer_store& layer(std::size_t l) noexcept { return layers_[l]; }
  [[nodiscard]] const layer_store& layer(std::size_t l) const noexcept { return layers_[l]; }

  /// Bytes held.
  [[nodiscard]] std::size_t size_bytes() const noexcept {
    std::size_t b = 0;
    for (const auto& s : layers_) b += (s.k.size() + s.v.size()) * sizeof(float);
    return b;
  }

 private:
  std::vector<layer_store> layers_;
  std::size_t n_pos_ = 0;
  std::size_t max_context_ = 0;
  std::size_t max_chunk_ = 0;
};

}  // namespace model
SCALPEL_END_NAMESPACE
