#pragma once
/// @file
/// @brief Loop detection, all of it: the six online detectors, the combined `loop_monitor`, the loop report and
/// outcome vocabulary, and the offline helpers (`detect_tokens`, `detect_text`, `detect_ids_and_text`).
/// See docs/detectors.md.

#include "scalpel/analysis/char_repeat.hpp"    // IWYU pragma: export
#include "scalpel/analysis/doom_loop.hpp"      // IWYU pragma: export
#include "scalpel/analysis/engine_bug.hpp"     // IWYU pragma: export
#include "scalpel/analysis/list_collapse.hpp"  // IWYU pragma: export
#include "scalpel/analysis/list_line.hpp"      // IWYU pragma: export
#include "scalpel/analysis/loop_monitor.hpp"   // IWYU pragma: export
#include "scalpel/analysis/loop_types.hpp"     // IWYU pragma: export
#include "scalpel/analysis/ngram_repeat.hpp"   // IWYU pragma: export
#include "scalpel/analysis/text_segment.hpp"   // IWYU pragma: export
#include "scalpel/analysis/token_period.hpp"   // IWYU pragma: export
