#pragma once
/// @file
/// @brief Library version. CMake parses the three macros below; this header is the single source of truth.

#define SCALPEL_VERSION_MAJOR 0
#define SCALPEL_VERSION_MINOR 1
#define SCALPEL_VERSION_PATCH 0

#define SCALPEL_VERSION_STRING_IMPL2(a, b, c) #a "." #b "." #c
#define SCALPEL_VERSION_STRING_IMPL(a, b, c) SCALPEL_VERSION_STRING_IMPL2(a, b, c)
/// "MAJOR.MINOR.PATCH"
#define SCALPEL_VERSION_STRING \
  SCALPEL_VERSION_STRING_IMPL(SCALPEL_VERSION_MAJOR, SCALPEL_VERSION_MINOR, SCALPEL_VERSION_PATCH)
