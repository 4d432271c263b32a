// libFuzzer target: one GGUF file through the validating parser (unsupported types allowed on odd first
// bytes, to reach the size computations of every ggml type); metadata and tensor bytes are then walked.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "scalpel/io/gguf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scalpel;
  io::gguf_read_options opt;
  opt.allow_unsupported_types = size > 5 && (data[size - 1] & 1) != 0;
  try {
    const auto g = io::parse_gguf(std::as_bytes(std::span(data, size)), nullptr, "fuzz.gguf", opt);
    std::uint32_t sum = 0;
    for (const auto& [k, v] : g.metadata)
      sum += static_cast<std::uint32_t>(k.size() + v.type_str().size() + v.value_str().size());
    for (const auto& t : g.tensors)
      for (std::size_t i = 0; i < t.size_bytes(); ++i) sum += static_cast<std::uint32_t>(t.data()[i]);
    (void)g.metadata.get_or<std::uint32_t>("general.alignment", 32u);
    return sum == 0xdeadbeefu ? 1 : 0;
  } catch (const error&) {
    return 0;
  }
}
