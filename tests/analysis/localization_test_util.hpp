#pragma once
// Shared by the localization tests: loop banks for the planted-loop demo model, brute-force metrics (the
// whole forward pass re-run with an ablation hook: the ground truth every faster path is checked against), and
// small model edits.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "scalpel/analysis/bank.hpp"
#include "scalpel/analysis/planted_loop.hpp"
#include "scalpel/generate/chat.hpp"
#include "scalpel/io/tokenizer.hpp"
#include "scalpel/model/random_model.hpp"

namespace loc_test {

namespace an = scalpel::analysis;

/// The demo's chat prompt for the constellations question, tokenized with the demo tokenizer.
inline std::vector<std::int32_t> planted_prompt(const an::planted_loop_model& d) {
  const auto tok = scalpel::io::tokenizer::from_json(d.tokenizer_json.dump(), "demo tokenizer");
  const std::vector<scalpel::gen::chat_message> conv = {{scalpel::gen::chat_role::user, d.prompt}};
  return tok.encode(scalpel::gen::render_chat(conv, {}));
}

/// A loop bank for the planted model, cut where the list collapses: the prompt, the entries up to and including
/// the attractor, then `repeats` more copies of the attractor. Target: the attractor (the loop continues);
/// contrast: the next gold entry (the first one not yet listed).
inline an::loop_bank planted_bank(const an::planted_loop_model& d,
                                  std::initializer_list<std::size_t> repeats = {0, 1, 3}) {
  const auto prompt = planted_prompt(d);
  const std::size_t a = d.options.attractor;  // 1-based
  an::loop_bank b;
  b.source = "planted bank";
  for (const std::size_t r : repeats) {
    an::bank_item it;
    it.ids = prompt;
    for (std::size_t k = 0; k < a; ++k) it.ids.push_back(d.entry_ids[k]);
    for (std::size_t k = 0; k < r; ++k) it.ids.push_back(d.entry_ids[a - 1]);
    it.target = d.entry_ids[a - 1];
    it.contrast = d.entry_ids[a];
    b.items.push_back(std::move(it));
  }
  return b;
}

/// A small bank of random sequences for a random model: every item gets its own target / contrast.
inline an::loop_bank random_bank(const scalpel::model::gemma4_model& m, std::size_t n_items, std::size_t len,
                                 std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::size_t V = m.config().vocab_size;
  an::loop_bank b;
  b.source = "random bank";
  for (std::size_t i = 0; i < n_items; ++i) {
    an::bank_item it;
    it.ids.push_back(2);
    while (it.ids.size() < len + i) it.ids.push_back(static_cast<std::int32_t>(3 + rng() % (V - 3)));
    it.target = static_cast<std::int32_t>(3 + rng() % (V - 3));
    do {
      it.contrast = static_cast<std::int32_t>(3 + rng() % (V - 3));
    } while (it.contrast == it.target);
    b.items.push_back(std::move(it));
  }
  return b;
}

/// Brute force: M over the bank with `hooks`, one full forward pass per item (model::forward).
template <class Hooks>
double brute_metric(const scalpel::model::gemma4_model& m, const an::loop_bank& b, Hooks& hooks) {
  return an::bank_metric(m, b, hooks);
}

}  // namespace loc_test
