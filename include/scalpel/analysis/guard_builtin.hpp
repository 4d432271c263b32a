#pragma once
/// @file
/// @brief The built-in multiple-choice sample for the capability guard (docs/guard.md): 40 general-knowledge
/// and commonsense questions with 3–4 choices each, written for scalpel (not taken from a dataset). The same
/// bytes ship as `examples/data/mc-sample.jsonl` (a test checks they are identical); `scalpel guard
/// --dump-mc-sample` prints them. Parse with `parse_mc_jsonl(builtin_mc_sample, "builtin")` (see guard_mc.hpp).
///
/// A sample this small measures gross damage (an edit that breaks the model's knowledge or grammar), not fine
/// differences: one item is 2.5 points of accuracy.

#include <string_view>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// The sample file's bytes (JSONL, one question per line, newline-terminated).
inline constexpr std::string_view builtin_mc_sample =
    R"jsonl({"id": "mc-01", "prompt": "The capital city of France is", "choices": [" Madrid", " Paris", " Rome", " Berlin"], "answer": 1}
{"id": "mc-02", "prompt": "Water freezes at a temperature of", "choices": [" 0 degrees Celsius", " 50 degrees Celsius", " 100 degrees Celsius"], "answer": 0}
{"id": "mc-03", "prompt": "The largest planet in our solar system is", "choices": [" Mars", " Venus", " Jupiter", " Mercury"], "answer": 2}
{"id": "mc-04", "prompt": "A week has", "choices": [" five days", " seven days", " ten days"], "answer": 1}
{"id": "mc-05", "prompt": "The chemical symbol for gold is", "choices": [" Ag", " Fe", " Au", " Pb"], "answer": 2}
{"id": "mc-06", "prompt": "If you drop a glass on a stone floor, it will most likely", "choices": [" float up to the ceiling", " break", " turn into water", " start to sing"], "answer": 1}
{"id": "mc-07", "prompt": "Bees are kept by farmers because they make", "choices": [" milk", " honey", " silk", " wool"], "answer": 1}
{"id": "mc-08", "prompt": "The opposite of hot is", "choices": [" cold", " tall", " loud"], "answer": 0}
{"id": "mc-09", "prompt": "To see in a dark room, you can switch on", "choices": [" the radio", " a light", " the tap", " the kettle"], "answer": 1}
{"id": "mc-10", "prompt": "The Pacific is the largest", "choices": [" desert", " ocean", " mountain range", " city"], "answer": 1}
{"id": "mc-11", "prompt": "Plants take in carbon dioxide and give off", "choices": [" oxygen", " helium", " neon", " chlorine"], "answer": 0}
{"id": "mc-12", "prompt": "A triangle has", "choices": [" two sides", " three sides", " four sides", " six sides"], "answer": 1}
{"id": "mc-13", "prompt": "The play Romeo and Juliet was written by", "choices": [" Charles Dickens", " William Shakespeare", " Jane Austen", " Mark Twain"], "answer": 1}
{"id": "mc-14", "prompt": "When it rains, people often carry", "choices": [" an umbrella", " a shovel", " a candle"], "answer": 0}
{"id": "mc-15", "prompt": "The Earth travels once a year around", "choices": [" the Moon", " the Sun", " Mars"], "answer": 1}
{"id": "mc-16", "prompt": "The fastest land animal is the", "choices": [" tortoise", " cow", " sloth", " cheetah"], "answer": 3}
{"id": "mc-17", "prompt": "Ice cream left out in the hot sun will", "choices": [" melt", " freeze harder", " grow larger"], "answer": 0}
{"id": "mc-18", "prompt": "The number of continents on Earth is usually given as", "choices": [" three", " five", " seven", " twelve"], "answer": 2}
{"id": "mc-19", "prompt": "Sound travels fastest through", "choices": [" a vacuum", " air", " steel"], "answer": 2}
{"id": "mc-20", "prompt": "The main language spoken in Brazil is", "choices": [" Spanish", " Portuguese", " French", " Italian"], "answer": 1}
{"id": "mc-21", "prompt": "A person whose job is to look after teeth is called a", "choices": [" dentist", " plumber", " pilot", " baker"], "answer": 0}
{"id": "mc-22", "prompt": "The chemical formula of water is", "choices": [" CO2", " NaCl", " O3", " H2O"], "answer": 3}
{"id": "mc-23", "prompt": "Before posting a letter, you stick on the envelope a", "choices": [" stamp", " feather", " magnet"], "answer": 0}
{"id": "mc-24", "prompt": "The smallest prime number is", "choices": [" 0", " 1", " 2", " 3"], "answer": 2}
{"id": "mc-25", "prompt": "Most of a plant's photosynthesis takes place in its", "choices": [" roots", " leaves", " seeds"], "answer": 1}
{"id": "mc-26", "prompt": "The Great Wall is a famous landmark in", "choices": [" China", " Egypt", " Mexico", " Australia"], "answer": 0}
{"id": "mc-27", "prompt": "A young cat is called a", "choices": [" puppy", " kitten", " calf", " foal"], "answer": 1}
{"id": "mc-28", "prompt": "If a shop is closed, you cannot", "choices": [" buy anything there", " see the sky", " breathe"], "answer": 0}
{"id": "mc-29", "prompt": "The human heart has", "choices": [" two chambers", " three chambers", " four chambers", " six chambers"], "answer": 2}
{"id": "mc-30", "prompt": "Mount Everest is part of the mountain range called the", "choices": [" Andes", " Alps", " Himalayas", " Rockies"], "answer": 2}
{"id": "mc-31", "prompt": "The currency of Japan is the", "choices": [" yuan", " won", " rupee", " yen"], "answer": 3}
{"id": "mc-32", "prompt": "Someone who is very tired will most likely want to", "choices": [" sleep", " run a marathon", " climb a tree"], "answer": 0}
{"id": "mc-33", "prompt": "The needle of a compass points toward magnetic", "choices": [" north", " east", " west"], "answer": 0}
{"id": "mc-34", "prompt": "The planet often called the Red Planet is", "choices": [" Mars", " Neptune", " Saturn", " Uranus"], "answer": 0}
{"id": "mc-35", "prompt": "A dozen eggs is", "choices": [" six eggs", " ten eggs", " twelve eggs", " twenty eggs"], "answer": 2}
{"id": "mc-36", "prompt": "The telephone is usually credited to the inventor", "choices": [" Isaac Newton", " Albert Einstein", " Galileo Galilei", " Alexander Graham Bell"], "answer": 3}
{"id": "mc-37", "prompt": "To keep milk fresh for longer, people store it in", "choices": [" the refrigerator", " the oven", " the garden"], "answer": 0}
{"id": "mc-38", "prompt": "The longest river in South America is the", "choices": [" Nile", " Amazon", " Danube", " Thames"], "answer": 1}
{"id": "mc-39", "prompt": "All four sides of a square have", "choices": [" the same length", " different lengths", " no length"], "answer": 0}
{"id": "mc-40", "prompt": "Light from the Sun reaches the Earth in about", "choices": [" eight minutes", " eight days", " eight years"], "answer": 0}
)jsonl";

}  // namespace analysis
SCALPEL_END_NAMESPACE
