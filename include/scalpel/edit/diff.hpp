#pragma once
/// @file
/// @brief Recover an edit plan from two checkpoints of the same architecture: which MLP neurons were scaled
/// (by down_proj columns or up_proj rows) and by what factor, which experts were silenced (per-expert scale 0),
/// and every other difference. This is how users inspect a released edited model against its base.
///
/// A column j of down_proj is "scaled by s" when every element satisfies edited = round(base · s) in the stored
/// dtype (exact for F32 up to one f32 rounding; bf16/f16 round to nearest even). s is estimated by least squares
/// and snapped to the shortest decimal (≤ 4 significant digits) that reproduces every element; otherwise the
/// least-squares value is reported. Q8_0 rows are compared block by block: same quants, scaled d.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/io/gguf_names.hpp"
#include "scalpel/model/model.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace edit {

/// A difference that is not a recognised edit.
struct other_difference {
  std::string tensor;
  std::string what;
  std::size_t elements = 0;  ///< differing elements
  double max_abs = 0.0;      ///< largest absolute difference
};

struct diff_result {
  plan recovered;
  std::vector<other_difference> others;
  [[nodiscard]] bool identical() const noexcept { return recovered.empty() && others.empty(); }
  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json o = nlohmann::json::array();
    for (const auto& d : others)
      o.push_back({{"tensor", d.tensor}, {"what", d.what}, {"elements", d.elements}, {"max_abs_diff", d.max_abs}});
    return {{"plan", recovered.to_json()}, {"other_differences", o}, {"identical", identical()}};
  }
};

namespace detail {

/// Decode a whole record to f32 (rows × cols; Q8_0 dequantised).
inline std::vector<float> decode_all(const any_tensor& t) {
  const std::size_t cols = t.shape()[t.rank() - 1], rows = t.numel() / cols;
  const matrix_ref m = matrix_ref::from(t.reshaped(make_shape({rows, cols})));
  std::vector<float> out(t.numel());
  for (std::size_t r = 0; r < rows; ++r) m.decode_row(r, out.data() + r * cols);
  return out;
}

/// round(x) in the record's dtype.
inline float round_to(dtype_id dt, float x) {
  switch (dt) {
    case dtype_id::bf16:
      return to_f32(to_bf16(x));
    case dtype_id::f16:
      return to_f32(to_f16(x));
    default:
      return x;
  }
}

/// Does `edited == round(base · s)` hold for all pairs?
inline bool explains(dtype_id dt, const std::vector<float>& base, const std::vector<float>& edited, float s) {
  for (std::size_t i = 0; i < base.size(); ++i)
    if (round_to(dt, base[i] * s) != edited[i]) return false;
  return true;
}

/// The factor turning `base` into `edited`, or NaN when no single factor does.
inline float recover_factor(dtype_id dt, const std::vector<float>& base, const std::vector<float>& edited) {
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < base.size(); ++i) {
    num += static_cast<double>(base[i]) * static_cast<double>(edited[i]);
    den += static_cast<double>(base[i]) * static_cast<double>(base[i]);
  }
  if (den == 0.0) return std::numeric_limits<float>::quiet_NaN();
  const double ls = num / den;
  // Prefer the shortest decimal that explains every element (plans are written by people: -0.8, 3, 0.5).
  for (int digits = 1; digits <= 4; ++digits) {
    if (ls == 0.0) break;
    const double mag = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::abs(ls)))));
    const auto s = static_cast<float>(std::round(ls * mag) / mag);
    if (explains(dt, base, edited, s)) return s;
  }
  const auto s = static_cast<float>(ls);
  if (explains(dt, base, edited, s)) return s;
  // f32 rounding of w·s can differ by one ulp from the exact product; accept a tight relative fit.
  if (dt == dtype_id::f32) {
    for (std::size_t i = 0; i < base.size(); ++i)
      if (std::abs(edited[i] - base[i] * s) > 1e-6f * std::max(1e-30f, std::abs(base[i] * s)))
        return std::numeric_limits<float>::quiet_NaN();
    return s;
  }
  return std::numeric_limits<float>::quiet_NaN();
}

inline void add_other(std::vector<other_difference>& out, const std::string& name, const std::string& what,
                      const std::vector<float>& a, const std::vector<float>& b) {
  other_difference d{name, what, 0, 0.0};
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] != b[i]) {
      ++d.elements;
      d.max_abs = std::max(d.max_abs, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    }
  }
  out.push_back(d);
}

/// Group per-neuron factors of one layer into plan edits (same factor -> one edit; −1 negate, 0 strip).
inline void add_neuron_edits(plan& p, std::size_t layer, const std::map<float, std::vector<std::size_t>>& by_factor) {
  for (const auto& [s, neurons] : by_factor) {
    if (s == 0.0f)
      p.add(strip{layer, neurons});
    else if (s == -1.0f)
      p.add(negate{layer, neurons});
    else
      p.add(scale{layer, neurons, s});
  }
}

}  // namespace detail

/// Compare two models of the same architecture tensor by tensor. Throws errc::config if the architectures
/// differ (different geometry), errc::invalid_argument if a tensor's dtype or shape changed.
inline diff_result diff(const model::gemma4_model& base, const model::gemma4_model& edited) {
  const auto& c = base.config();
  const auto& ce = edited.config();
  if (c.num_layers != ce.num_layers || c.hidden_size != ce.hidden_size || c.vocab_size != ce.vocab_size)
    fail(errc::config, "diff: the models have different architectures (" + std::to_string(c.num_layers) + " vs " +
                           std::to_string(ce.num_layers) + " layers, hidden " + std::to_string(c.hidden_size) + " vs " +
                           std::to_string(ce.hidden_size) + ")");
  diff_result out;
  // Walk the base checkpoint's tensors by canonical name (HF prefixes stripped).
  auto canonical = [&](const std::string& record) -> std::string {
    if (base.format() == model::checkpoint_format::gguf) return io::gguf_to_hf_name(record, "").value_or(record);
    for (const char* pre : {"model.language_model.", "model."})
      if (record.rfind(pre, 0) == 0) return record.substr(std::string(pre).size());
    return record;
  };
  for (const auto& bt : base.tensors()) {
    const std::string can = canonical(bt.name());
    const any_tensor* et = edited.find(can);
    if (et == nullptr) et = edited.tensors().find(bt.name());
    if (et == nullptr) {
      out.others.push_back({bt.name(), "missing in the edited model", bt.numel(), 0.0});
      continue;
    }
    if (!(et->shape() == bt.shape())) {
      out.others.push_back({bt.name(), "shape " + bt.shape().str() + " became " + et->shape().str(), bt.numel(), 0.0});
      continue;
    }
    if (et->dtype() == bt.dtype() && et->size_bytes() == bt.size_bytes() &&
        std::memcmp(et->data(), bt.data(), bt.size_bytes()) == 0)
      continue;
    if (layout_of(bt.dtype()).block_bytes == 0 || layout_of(et->dtype()).block_bytes == 0 ||
        bt.dtype() == dtype_id::i8 || bt.dtype() == dtype_id::u8 || bt.dtype() == dtype_id::i32 ||
        bt.dtype() == dtype_id::i64 || bt.dtype() == dtype_id::f64 || bt.dtype() == dtype_id::boolean) {
      out.others.push_back({bt.name(), "bytes differ (dtype " + std::string(dtype_name(bt.dtype())) + ")", 0, 0.0});
      continue;
    }
    const auto a = detail::decode_all(bt);
    const auto b = detail::decode_all(*et);
    const dtype_id dt = et->dtype() == bt.dtype() ? bt.dtype() : dtype_id::other;
    if (dt == dtype_id::other) {
      detail::add_other(out.others, bt.name(), "dtype changed", a, b);
      continue;
    }
    // layers.N.<what>
    std::size_t layer = 0;
    std::string what;
    if (can.rfind("layers.", 0) == 0) {
      const auto dot = can.find('.', 7);
      layer = static_cast<std::size_t>(std::stoul(can.substr(7, dot - 7)));
      what = can.substr(dot + 1);
    }
    const std::size_t cols = bt.shape()[bt.rank() - 1], rows = bt.numel() / cols;
    if (what == "mlp.down_proj.weight" || what == "mlp.up_proj.weight") {
      const bool by_col = what == "mlp.down_proj.weight";
      const std::size_t n_units = by_col ? cols : rows, len = by_col ? rows : cols;
      std::map<float, std::vector<std::size_t>> by_factor;
      bool clean = true;
      for (std::size_t j = 0; j < n_units && clean; ++j) {
        std::vector<float> x(len), y(len);
        for (std::size_t i = 0; i < len; ++i) {
          const std::size_t k = by_col ? i * cols + j : j * cols + i;
          x[i] = a[k];
          y[i] = b[k];
        }
        if (x == y) continue;
        float s = std::numeric_limits<float>::quiet_NaN();
        if (dt == dtype_id::q8_0) {
          // Same quants, scaled block scales: compare raw bytes of the row.
          const auto* qa = reinterpret_cast<const q8_0_block*>(bt.data()) + j * (cols / 32);   // NOLINT
          const auto* qb = reinterpret_cast<const q8_0_block*>(et->data()) + j * (cols / 32);  // NOLINT
          bool same_q = !by_col;
          for (std::size_t k = 0; same_q && k < cols / 32; ++k) same_q = std::memcmp(qa[k].qs, qb[k].qs, 32) == 0;
          if (same_q) s = detail::recover_factor(dtype_id::f32, x, y);
        } else {
          s = detail::recover_factor(dt, x, y);
        }
        if (std::isnan(s))
          clean = false;
        else
          by_factor[s].push_back(j);
      }
      if (clean) {
        detail::add_neuron_edits(out.recovered, layer, by_factor);
        continue;
      }
    }
    if (what == "router.per_expert_scale") {
      std::vector<std::size_t> silenced;
      bool clean = true;
      for (std::size_t e = 0; e < a.size(); ++e) {
        if (a[e] == b[e]) continue;
        if (b[e] == 0.0f)
          silenced.push_back(e);
        else
          clean = false;
      }
      if (clean) {
        out.recovered.add(expert_silence{layer, silenced});
        continue;
      }
    }
    detail::add_other(out.others, bt.name(), "values differ", a, b);
  }
  return out;
}

}  // namespace edit
SCALPEL_END_NAMESPACE
