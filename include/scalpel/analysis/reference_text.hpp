#pragma once
/// @file
/// @brief `default_kl_text`: the built-in reference text of the KL measurements (the layer sweep's KL column,
/// `ablation.hpp`) and of the capability guard's text guard (`guard.hpp`).

#include <string_view>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// A built-in reference paragraph for KL measurements (plain English prose, ~150 tokens with Gemma's tokenizer).
inline constexpr std::string_view default_kl_text =
    "The river rises in the hills north of the town and runs south through farmland before it reaches the sea. "
    "In spring the water is high and cold, and the old stone bridge is sometimes closed for a few days. Most "
    "people in the valley work on farms or in the small factories along the railway line, and the market on "
    "Saturday morning is where everyone meets. Children walk to school along the river path, and in the summer "
    "they swim near the mill, where the current is slow. The library, built in 1894, still keeps the records of "
    "every flood, and the librarian will tell you that the worst one came in the autumn of 1953.";

}  // namespace analysis
SCALPEL_END_NAMESPACE
