#pragma once
/// @file
/// @brief Forward declarations of scalpel's public vocabulary (cheap to include).

#include <cstddef>

#include "scalpel/config.hpp"
#include "scalpel/tensor/dtype.hpp"  // the dtype concept: redeclarations must repeat the constraint

SCALPEL_BEGIN_NAMESPACE
struct layout_right;
struct layout_stride;
template <dtype DType, std::size_t Rank, class Layout>
class tensor_view;
template <dtype DType, std::size_t Rank>
class tensor;
class any_tensor;
class mapped_file;
class error;
SCALPEL_END_NAMESPACE
