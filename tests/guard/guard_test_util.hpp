#pragma once
// Shared by the guard tests: the ground truth by brute force. Each text window / multiple-choice sequence runs
// through the whole forward pass from an empty cache (gemma4_model::forward, every position's logits), with the
// edit plan's run-time hooks or on an edited copy of the weights, and the statistics are computed here directly
// from the logits — independently of analysis/logprob.hpp and of the guard's windowing and cache reuse.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/analysis/guard.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/model/model.hpp"

namespace guard_test {

using scalpel::model::gemma4_model;
using scalpel::model::logits_mode;

/// Every position's logits of `ids` from an empty cache, with `hooks`.
template <class Hooks>
std::vector<float> all_logits(const gemma4_model& m, const std::vector<std::int32_t>& ids, Hooks& hooks) {
  auto cache = m.make_cache(ids.size());
  std::vector<float> z;
  m.forward(ids, cache, z, logits_mode::all, hooks);
  return z;
}

/// log p(v) of one row, written plainly (long double accumulation).
inline std::vector<double> logp_row(const float* z, std::size_t V) {
  const float mx = *std::max_element(z, z + V);
  long double s = 0.0L;
  for (std::size_t v = 0; v < V; ++v) s += std::exp(static_cast<long double>(z[v]) - static_cast<long double>(mx));
  const long double lse = static_cast<long double>(mx) + std::log(s);
  std::vector<double> out(V);
  for (std::size_t v = 0; v < V; ++v) out[v] = static_cast<double>(static_cast<long double>(z[v]) - lse);
  return out;
}

struct text_truth {
  std::size_t tokens = 0, windows = 0, agree = 0;
  double kl_sum = 0.0, kl_max = 0.0, nll_base = 0.0, nll_edited = 0.0;
  [[nodiscard]] double kl_mean() const { return kl_sum / static_cast<double>(tokens); }
  [[nodiscard]] double nb() const { return nll_base / static_cast<double>(tokens); }
  [[nodiscard]] double ne() const { return nll_edited / static_cast<double>(tokens); }
  [[nodiscard]] double ppl_delta() const { return std::exp(ne()) / std::exp(nb()) - 1.0; }
  [[nodiscard]] double top1() const { return static_cast<double>(agree) / static_cast<double>(tokens); }
};

/// Brute-force text guard: text tokens ids[1..] in groups of context − 1, each group a window `<bos>` + group;
/// the window minus its last token is fed, each group token is the target of the position before it.
template <class HooksB, class HooksE>
text_truth brute_text(const gemma4_model& base, HooksB& hb, const gemma4_model& edited, HooksE& he,
                      const std::vector<std::int32_t>& ids, std::size_t context) {
  const std::size_t V = base.config().vocab_size;
  text_truth t;
  for (std::size_t g = 1; g < ids.size(); g += context - 1) {
    std::vector<std::int32_t> window = {ids[0]};
    for (std::size_t j = g; j < std::min(ids.size(), g + context - 1); ++j) window.push_back(ids[j]);
    const std::vector<std::int32_t> fed(window.begin(), window.end() - 1);
    const auto zb = all_logits(base, fed, hb);
    const auto ze = all_logits(edited, fed, he);
    for (std::size_t i = 0; i < fed.size(); ++i) {
      const auto lb = logp_row(zb.data() + i * V, V);
      const auto le = logp_row(ze.data() + i * V, V);
      double kl = 0.0;
      for (std::size_t v = 0; v < V; ++v) kl += std::exp(lb[v]) * (lb[v] - le[v]);
      const auto target = static_cast<std::size_t>(window[i + 1]);
      t.kl_sum += kl;
      t.kl_max = std::max(t.kl_max, kl);
      t.nll_base -= lb[target];
      t.nll_edited -= le[target];
      const auto ab = std::max_element(zb.begin() + static_cast<std::ptrdiff_t>(i * V),
                                       zb.begin() + static_cast<std::ptrdiff_t>((i + 1) * V)) -
                      zb.begin();
      const auto ae = std::max_element(ze.begin() + static_cast<std::ptrdiff_t>(i * V),
                                       ze.begin() + static_cast<std::ptrdiff_t>((i + 1) * V)) -
                      ze.begin();
      t.agree += ab == ae;
      ++t.tokens;
    }
    ++t.windows;
  }
  return t;
}

/// Brute-force score of one choice: the whole sequence prompt + choice from an empty cache, Σ log p of the choice
/// tokens.
template <class Hooks>
double brute_choice(const gemma4_model& m, Hooks& h, const std::vector<std::int32_t>& prompt,
                    const std::vector<std::int32_t>& choice) {
  const std::size_t V = m.config().vocab_size;
  std::vector<std::int32_t> seq = prompt;
  seq.insert(seq.end(), choice.begin(), choice.end());
  const auto z = all_logits(m, seq, h);
  double lp = 0.0;
  for (std::size_t j = 0; j < choice.size(); ++j) {
    const std::size_t pos = prompt.size() - 1 + j;  // the position that predicts choice[j]
    lp += logp_row(z.data() + pos * V, V)[static_cast<std::size_t>(choice[j])];
  }
  return lp;
}

/// A golden model's tokenizer.json with the ids of the byte tokens <0x41> and <0x42> swapped: a tokenizer with the
/// same vocabulary size whose pieces differ (at id 70).
inline std::string swapped_tokenizer_json(const std::string& model_dir) {
  std::ifstream f(model_dir + "/tokenizer.json", std::ios::binary);
  auto j = nlohmann::json::parse(std::string((std::istreambuf_iterator<char>(f)), {}));
  auto& vocab = j["model"]["vocab"];
  const auto a = vocab["<0x41>"], b = vocab["<0x42>"];
  vocab["<0x41>"] = b;
  vocab["<0x42>"] = a;
  return j.dump();
}

/// Relative closeness for sums of log-probs / KLs.
inline bool close(double a, double b, double tol) { return std::fabs(a - b) <= tol * (1.0 + std::fabs(b)); }

}  // namespace guard_test
