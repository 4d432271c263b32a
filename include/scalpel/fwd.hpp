#pragma once
/// @file
/// @brief Forward declarations of scalpel's public vocabulary (cheap to include).

#include <cstddef>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
struct f32;
struct f16;
struct bf16;
struct q8_0;
struct layout_right;
struct layout_stride;
template <class DType, std::size_t Rank, class Layout>
class tensor_view;
template <class DType, std::size_t Rank>
class tensor;
class any_tensor;
class mapped_file;
class error;
SCALPEL_END_NAMESPACE
