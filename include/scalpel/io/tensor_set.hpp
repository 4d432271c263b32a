#pragma once
/// @file
/// @brief `io::tensor_set`: the tensors of one checkpoint as stored (original names, dtypes, shapes in
/// framework order, bytes that are memory-mapped or owned), in file order, with O(log n) lookup by name.
/// This is the currency between the format readers/writers (safetensors, GGUF) and model binding.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/tensor/any_tensor.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

class tensor_set {
 public:
  /// Append a tensor. Throws `errc::format` if the name is already present.
  void add(any_tensor t) {
    if (index_.count(t.name()) != 0) fail(errc::format, "duplicate tensor name '" + t.name() + "'");
    index_.emplace(t.name(), tensors_.size());
    tensors_.push_back(std::move(t));
  }
  /// Replace the tensor of the same name (an edited copy). Throws `errc::missing_tensor` if absent.
  void replace(any_tensor t) {
    auto it = index_.find(t.name());
    if (it == index_.end()) fail(errc::missing_tensor, "cannot replace tensor '" + t.name() + "': not present");
    tensors_[it->second] = std::move(t);
  }
  /// The tensor named `name`, or nullptr.
  [[nodiscard]] const any_tensor* find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  /// The tensor named `name`; throws `errc::missing_tensor` naming it.
  [[nodiscard]] const any_tensor& at(std::string_view name) const {
    const any_tensor* t = find(name);
    if (t == nullptr) fail(errc::missing_tensor, "tensor '" + std::string(name) + "' is missing");
    return *t;
  }
  [[nodiscard]] bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }
  [[nodiscard]] const std::vector<any_tensor>& tensors() const noexcept { return tensors_; }
  [[nodiscard]] std::size_t size() const noexcept { return tensors_.size(); }
  [[nodiscard]] bool empty() const noexcept { return tensors_.empty(); }
  [[nodiscard]] auto begin() const noexcept { return tensors_.begin(); }
  [[nodiscard]] auto end() const noexcept { return tensors_.end(); }

 private:
  std::vector<any_tensor> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace io
SCALPEL_END_NAMESPACE
