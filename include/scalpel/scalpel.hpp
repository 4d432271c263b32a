#pragma once
/// @file
/// @brief Umbrella header for examples and quick starts. Library code includes module headers instead.
#include "scalpel/core.hpp"
#include "scalpel/tensor.hpp"
#include "scalpel/version.hpp"
