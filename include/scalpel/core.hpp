#pragma once
/// @file
/// @brief Module header: errors, assertions, aligned storage, memory-mapped and atomic files.
#include "scalpel/core/aligned_alloc.hpp"
#include "scalpel/core/assert.hpp"
#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/mapped_file.hpp"
