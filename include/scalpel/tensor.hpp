#pragma once
/// @file
/// @brief Module header: dtypes, typed views, owning tensors, type-erased tensors (Eigen interop is
/// separate: include "scalpel/tensor/eigen_interop.hpp").
#include "scalpel/tensor/any_tensor.hpp"
#include "scalpel/tensor/dtype.hpp"
#include "scalpel/tensor/tensor.hpp"
#include "scalpel/tensor/view.hpp"
