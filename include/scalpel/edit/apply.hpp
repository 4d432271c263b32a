#pragma once
/// @file
/// @brief Static weight edits: apply a plan to a model's weights, coalescing all gains per (layer, tensor) into
/// one pass over the touched columns / rows. Memory-mapped weights are never written: each touched tensor is
/// copied into owned memory first (copy-on-write, only those tensors), and an undo `journal` keeps the original
/// records so `revert` restores bit-identical weights.
///
/// Where a neuron gain s lands:
/// - F32 / F16 / BF16 `down_proj`: column j ×= s, computed in f32 and rounded to nearest even in the stored dtype
///   (so a bf16 edit differs from the exact run-time hook by at most half a bf16 ulp per touched weight);
/// - Q8_0 `down_proj` (a GGUF): column j would cut through every row's blocks, so the equivalent row j of
///   `up_proj` is scaled instead: each Q8_0 block keeps its quants and gets d ×= s (d rounded to f16).
/// Silencing an expert sets `router.per_expert_scale[e]` to 0. Routing exclusion has no static form.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/tensor/any_tensor.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace edit {

/// Undo information for a static edit: the records that were replaced.
class journal {
 public:
  journal() = default;
  explicit journal(std::vector<any_tensor> originals) : originals_(std::move(originals)) {}
  /// Restore the original records (bit-identical: the originals were never modified).
  void revert(model::gemma4_model& m) {
    m.replace_tensors(originals_);
    originals_.clear();
  }
  [[nodiscard]] bool empty() const noexcept { return originals_.empty(); }
  [[nodiscard]] const std::vector<any_tensor>& originals() const noexcept { return originals_; }
  /// Names of the tensors the edit touched.
  [[nodiscard]] std::vector<std::string> touched() const {
    std::vector<std::string> out;
    for (const auto& t : originals_) out.push_back(t.name());
    return out;
  }

 private:
  std::vector<any_tensor> originals_;
};

namespace detail {

/// An owned byte copy of a record (same name, dtype, shape).
inline std::pair<any_tensor, std::byte*> owned_copy(const any_tensor& src) {
  auto buf = std::make_shared<std::vector<std::byte>>(src.size_bytes());
  if (src.size_bytes()) std::memcpy(buf->data(), src.data(), src.size_bytes());
  std::byte* p = buf->data();
  return {any_tensor(src.name(), src.dtype(), src.shape(), p, src.size_bytes(), std::move(buf)), p};
}

template <class S>
inline void scale_scalar(S& v, float s) noexcept {
  if constexpr (std::is_same_v<S, float>) {
    v *= s;
  } else if constexpr (std::is_same_v<S, bf16_bits>) {
    v = to_bf16(to_f32(v) * s);
  } else {
    v = to_f16(to_f32(v) * s);
  }
}

/// Copy of a [rows, cols] record (rank ≥ 2: leading dims folded into rows) with columns j scaled by gains[j].
inline any_tensor scale_columns(const any_tensor& rec, const std::vector<float>& gains) {
  auto [out, bytes] = owned_copy(rec);
  const std::size_t cols = rec.shape()[rec.rank() - 1], rows = rec.numel() / cols;
  if (cols != gains.size())
    fail(errc::shape_mismatch, "tensor '" + rec.name() + "': " + std::to_string(cols) + " columns, plan gains for " +
                                   std::to_string(gains.size()));
  std::vector<std::size_t> touched;
  for (std::size_t j = 0; j < cols; ++j)
    if (gains[j] != 1.0f) touched.push_back(j);
  auto run = [&](auto* data) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j : touched) scale_scalar(data[r * cols + j], gains[j]);
  };
  switch (rec.dtype()) {
    case dtype_id::f32:
      run(reinterpret_cast<float*>(bytes));
      break;  // NOLINT
    case dtype_id::bf16:
      run(reinterpret_cast<bf16_bits*>(bytes));
      break;  // NOLINT
    case dtype_id::f16:
      run(reinterpret_cast<f16_bits*>(bytes));
      break;  // NOLINT
    default:
      fail(errc::unsupported, "tensor '" + rec.name() + "': column edits on " + std::string(dtype_name(rec.dtype())) +
                                  " are not supported");
  }
  return out;
}

/// Copy of a [rows, cols] record with rows i scaled by gains[i] (Q8_0: the block scales d).
inline any_tensor scale_rows(const any_tensor& rec, const std::vector<float>& gains) {
  auto [out, bytes] = owned_copy(rec);
  const std::size_t cols = rec.shape()[rec.rank() - 1], rows = rec.numel() / cols;
  if (rows != gains.size())
    fail(errc::shape_mismatch, "tensor '" + rec.name() + "': " + std::to_string(rows) + " rows, plan gains for " +
                                   std::to_string(gains.size()));
  for (std::size_t i = 0; i < rows; ++i) {
    const float s = gains[i];
    if (s == 1.0f) continue;
    switch (rec.dtype()) {
      case dtype_id::q8_0: {
        auto* blk = reinterpret_cast<q8_0_block*>(bytes) + i * (cols / 32);  // NOLINT
        for (std::size_t b = 0; b < cols / 32; ++b) blk[b].d = to_f16(to_f32(blk[b].d) * s);
        break;
      }
      case dtype_id::f32: {
        auto* r = reinterpret_cast<float*>(bytes) + i * cols;  // NOLINT
        for (std::size_t k = 0; k < cols; ++k) r[k] *= s;
        break;
      }
      case dtype_id::bf16: {
        auto* r = reinterpret_cast<bf16_bits*>(bytes) + i * cols;  // NOLINT
        for (std::size_t k = 0; k < cols; ++k) scale_scalar(r[k], s);
        break;
      }
      case dtype_id::f16: {
        auto* r = reinterpret_cast<f16_bits*>(bytes) + i * cols;  // NOLINT
        for (std::size_t k = 0; k < cols; ++k) scale_scalar(r[k], s);
        break;
      }
      default:
        fail(errc::unsupported, "tensor '" + rec.name() + "': row edits on " + std::string(dtype_name(rec.dtype())) +
                                    " are not supported");
    }
  }
  return out;
}

/// Copy of a vector record with entries `idx` set to 0.
inline any_tensor zero_entries(const any_tensor& rec, const std::vector<std::size_t>& idx) {
  std::vector<float> gains(rec.numel(), 1.0f);
  for (std::size_t i : idx) gains[i] = 0.0f;
  return scale_columns(rec.reshaped(make_shape({1, rec.numel()})), gains).reshaped(rec.shape());
}

}  // namespace detail

/// The edited records a plan produces for a model (not yet installed). Validates the plan; throws errc::plan
/// if it contains a run-time-only edit (expert_mask with mode "route").
inline std::vector<any_tensor> edited_tensors(const model::gemma4_model& m, const plan& p) {
  const auto& c = m.config();
  validate(p, c);
  if (p.has_runtime_only())
    fail(errc::plan,
         "the plan excludes experts from routing (expert_mask mode \"route\"), which is run-time only: "
         "apply it with --edit at run time, or use mode \"silence\" for a static edit");
  const coalesced eff = coalesce(p, c);
  std::vector<any_tensor> out;
  for (std::size_t l = 0; l < c.num_layers; ++l) {
    const auto& le = eff.layers[l];
    const std::string pre = "layers." + std::to_string(l) + ".";
    if (!le.gains.empty()) {
      const any_tensor* down = m.find(pre + "mlp.down_proj.weight");
      const any_tensor* up = m.find(pre + "mlp.up_proj.weight");
      if (down == nullptr || up == nullptr)
        fail(errc::missing_tensor, "layer " + std::to_string(l) + ": MLP weights not found");
      if (down->dtype() == dtype_id::q8_0)
        out.push_back(detail::scale_rows(*up, le.gains));
      else
        out.push_back(detail::scale_columns(*down, le.gains));
    }
    if (!le.silenced.empty()) {
      const any_tensor* s = m.find(pre + "router.per_expert_scale");
      if (s == nullptr)
        fail(errc::missing_tensor, "layer " + std::to_string(l) + ": router.per_expert_scale not found");
      out.push_back(detail::zero_entries(*s, le.silenced));
    }
  }
  return out;
}

/// Apply a plan to the model's weights (copy-on-write); returns the journal that undoes it.
inline journal apply(model::gemma4_model& m, const plan& p) {
  auto changed = edited_tensors(m, p);
  std::vector<any_tensor> originals;
  originals.reserve(changed.size());
  for (const auto& t : changed) originals.push_back(*m.tensors().find(t.name()));
  m.replace_tensors(changed);
  return journal(std::move(originals));
}

/// Apply a compile-time policy set to the weights. Every member must be a `weight_edit` (an `expert_mask`
/// here does not compile: routing exclusion is run-time only).
template <weight_edit... Es>
journal apply(model::gemma4_model& m, const policy_set<Es...>& set) {
  return apply(m, plan::from(set));
}
template <weight_edit E>
journal apply(model::gemma4_model& m, const E& e) {
  plan p;
  p.add(e);
  return apply(m, p);
}

}  // namespace edit
SCALPEL_END_NAMESPACE
