#pragma once
/// @file
/// @brief Eigen interop: `as_eigen(view)` maps an f32 view as an Eigen matrix / vector without copying.
/// The only header outside analysis/ that includes Eigen. For reference computations and analysis.

#include <Eigen/Core>

#include "scalpel/config.hpp"
#include "scalpel/tensor/view.hpp"

SCALPEL_BEGIN_NAMESPACE

template <class D>
concept f32_dtype = std::is_same_v<std::remove_const_t<D>, f32>;

/// Row-major f32 matrix view -> `Eigen::Map` with an outer stride (works for contiguous and sub-block views).
template <f32_dtype D, class L>
auto as_eigen(const tensor_view<D, 2, L>& v) {
  using mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using map_t = Eigen::Map<std::conditional_t<std::is_const_v<D>, const mat, mat>, 0,
                           Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
  return map_t(v.data_handle(), static_cast<Eigen::Index>(v.extent(0)), static_cast<Eigen::Index>(v.extent(1)),
               Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(static_cast<Eigen::Index>(v.stride(0)),
                                                             static_cast<Eigen::Index>(v.stride(1))));
}

/// f32 vector view -> `Eigen::Map` of a column vector with an inner stride.
template <f32_dtype D, class L>
auto as_eigen(const tensor_view<D, 1, L>& v) {
  using vec = Eigen::VectorXf;
  using map_t =
      Eigen::Map<std::conditional_t<std::is_const_v<D>, const vec, vec>, 0, Eigen::InnerStride<Eigen::Dynamic>>;
  return map_t(v.data_handle(), static_cast<Eigen::Index>(v.extent(0)),
               Eigen::InnerStride<Eigen::Dynamic>(static_cast<Eigen::Index>(v.stride(0))));
}

SCALPEL_END_NAMESPACE
