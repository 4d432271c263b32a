// libFuzzer target: JSON text as a config.json: strict parse, then the typed field access a config
// reader performs (nested objects, integers, floats, strings, arrays, optional and null fields).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "scalpel/io/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scalpel;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto j = io::parse_json(text, "config.json");
    const io::json_field root(j, "config.json");
    std::size_t sum = 0;
    const auto tc = root.has("text_config") ? root["text_config"] : root;
    for (const char* k : {"hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"}) {
      try {
        sum += tc.value_or<std::uint32_t>(k, 0);
      } catch (const error&) {
      }
    }
    try {
      sum += static_cast<std::size_t>(tc.value_or<double>("rms_norm_eps", 0.0) > 0);
      for (const auto& s : tc.value_or<std::vector<std::string>>("layer_types", {})) sum += s.size();
      for (const auto& [k, v] : tc.members()) sum += k.size() + (v.is_array() ? v.size() : 0);
    } catch (const error&) {
    }
    return sum == 0xdeadbeef ? 1 : 0;
  } catch (const error&) {
    return 0;
  }
}
