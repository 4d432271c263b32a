// Precision / recall of the combined loop monitor on the labelled corpus in tests/data/loops/
// (handwritten.jsonl: written by hand; generated.jsonl: make_corpus.py). Floors: docs/detectors.md.
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "scalpel/analysis/loop_monitor.hpp"

namespace ut_loop_corpus_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel::analysis;

namespace {

struct corpus_item {
  std::string id;
  std::string label;     // token_loop | list_collapse | doom_loop | engine_bug | none
  std::string detector;  // optional: a detector that must fire
  std::string stop_reason;
  std::string text;
  std::vector<std::int32_t> ids;
  std::vector<std::string> pieces;
  std::string notes;
};

std::vector<corpus_item> load(const std::string& file) {
  std::ifstream f(std::string(SCALPEL_TEST_DATA_DIR) + "/loops/" + file);
  REQUIRE_MESSAGE(f.good(), "cannot open corpus file " << file);
  std::vector<corpus_item> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    corpus_item it;
    it.id = j.at("id").get<std::string>();
    it.label = j.at("label").get<std::string>();
    it.detector = j.value("detector", "");
    it.stop_reason = j.value("stop_reason", "");
    it.notes = j.value("notes", "");
    if (j.contains("pieces")) {
      it.pieces = j.at("pieces").get<std::vector<std::string>>();
      it.ids = j.at("ids").get<std::vector<std::int32_t>>();
      for (const auto& p : it.pieces) it.text += p;
    } else {
      it.text = j.at("text").get<std::string>();
    }
    out.push_back(std::move(it));
  }
  return out;
}

// The label a report maps to (the outcome family of its phenotype).
std::string predicted_label(const loop_report& r) {
  switch (r.kind) {
    case phenotype::token_period:
    case phenotype::ngram:
    case phenotype::char_repeat:
      return "token_loop";
    case phenotype::list_collapse:
      return "list_collapse";
    case phenotype::doom_loop:
      return "doom_loop";
    case phenotype::engine_bug:
      return "engine_bug";
    case phenotype::none:
      break;
  }
  return "none";
}

struct counts {
  int tp = 0, fp = 0, fn = 0;
  [[nodiscard]] double precision() const { return tp + fp > 0 ? static_cast<double>(tp) / (tp + fp) : 1.0; }
  [[nodiscard]] double recall() const { return tp + fn > 0 ? static_cast<double>(tp) / (tp + fn) : 1.0; }
};

}  // namespace

TEST_CASE("loop corpus: precision and recall per phenotype and overall meet the documented floors") {
  std::vector<corpus_item> items = load("handwritten.jsonl");
  const auto generated = load("generated.jsonl");
  items.insert(items.end(), generated.begin(), generated.end());
  REQUIRE(items.size() >= 150);

  std::map<std::string, counts> per_label;
  std::map<std::string, int> label_count;
  counts overall;  // looping vs not
  int exact = 0;   // predicted label == label
  int detector_checks = 0, detector_hits = 0;
  int with_tokens = 0;
  for (const auto& it : items) {
    const stop_kind stop = parse_stop_reason(it.stop_reason);
    const loop_report r = it.pieces.empty() ? detect_text(it.text, stop) : detect_tokens(it.ids, it.pieces, stop);
    with_tokens += it.pieces.empty() ? 0 : 1;
    const std::string got = predicted_label(r);
    ++label_count[it.label];
    const bool truth = it.label != "none";
    if (truth && r.looping) ++overall.tp;
    if (!truth && r.looping) ++overall.fp;
    if (truth && !r.looping) ++overall.fn;
    if (got == it.label) {
      ++exact;
      if (truth) ++per_label[it.label].tp;
    } else {
      if (got != "none") ++per_label[got].fp;
      if (truth) ++per_label[it.label].fn;
      MESSAGE(it.id << " (" << it.notes << "): label " << it.label << ", got " << got << " - " << r.detail);
    }
    if (!it.detector.empty()) {
      ++detector_checks;
      bool hit = false;
      for (const auto& d : r.fired) hit = hit || phenotype_name(d.detector) == it.detector;
      detector_hits += hit ? 1 : 0;
      if (!hit) MESSAGE(it.id << ": expected detector " << it.detector << " to fire");
    }
  }

  std::printf("\nloop corpus: %zu items (%d with ids + pieces, the rest text only)\n", items.size(), with_tokens);
  std::printf("  %-14s %5s %9s %7s\n", "label", "items", "precision", "recall");
  for (const auto& [label, n] : label_count) {
    if (label == "none") continue;
    const counts& c = per_label[label];
    std::printf("  %-14s %5d %9.3f %7.3f\n", label.c_str(), n, c.precision(), c.recall());
  }
  std::printf("  %-14s %5d\n", "none", label_count["none"]);
  std::printf("  overall looping: precision %.3f recall %.3f; exact label %d/%zu; targeted detectors %d/%d\n",
              overall.precision(), overall.recall(), exact, items.size(), detector_hits, detector_checks);

  // Floors (docs/detectors.md): set from the measured values, with margin for corpus growth.
  CHECK(overall.precision() >= 0.95);
  CHECK(overall.recall() >= 0.95);
  for (const auto& [label, c] : per_label) {
    INFO("label " << label);
    CHECK(c.precision() >= 0.90);
    CHECK(c.recall() >= 0.90);
  }
  CHECK(static_cast<double>(exact) / static_cast<double>(items.size()) >= 0.93);
  CHECK(detector_hits == detector_checks);
  // Balance: every phenotype is represented, negatives are at least a quarter.
  for (const char* l : {"token_loop", "list_collapse", "doom_loop", "engine_bug"}) CHECK(label_count[l] >= 15);
  CHECK(label_count["none"] * 4 >= static_cast<int>(items.size()));
}

TEST_CASE("loop corpus: every item also runs through the text-only path with the same verdict on looping") {
  // Items stored as ids + pieces are re-run from their text alone (pseudo-tokens): the looping verdict may not
  // depend on the segmentation.
  const auto items = load("generated.jsonl");
  int compared = 0, agree = 0;
  for (const auto& it : items) {
    if (it.pieces.empty()) continue;
    const stop_kind stop = parse_stop_reason(it.stop_reason);
    const bool a = detect_tokens(it.ids, it.pieces, stop).looping;
    const bool b = detect_text(it.text, stop).looping;
    ++compared;
    agree += a == b ? 1 : 0;
    if (a != b) MESSAGE(it.id << ": tokens say " << a << ", text says " << b);
  }
  REQUIRE(compared >= 30);
  CHECK(agree == compared);
}

}  // namespace ut_loop_corpus_test
