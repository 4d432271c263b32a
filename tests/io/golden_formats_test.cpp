// The golden tiny models load from safetensors and from GGUF (f32, bf16, q8_0) with identical weights
// after the HF <-> GGUF name mapping, and both containers are written back byte for byte.

#include <cmath>
#include <cstring>
#include <string>

#include <doctest/doctest.h>

#include "io_test_util.hpp"
#include "scalpel/io/gguf.hpp"
#include "scalpel/io/gguf_names.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/io/safetensors.hpp"

namespace ut_golden_formats_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace io_test;

namespace {

/// Element i of a scalar-dtype record as f32.
float element_f32(const any_tensor& t, std::size_t i) {
  const std::byte* p = t.data();
  switch (t.dtype()) {
    case dtype_id::f32: {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      return v;
    }
    case dtype_id::bf16: {
      bf16_bits v;
      std::memcpy(&v, p + 2 * i, 2);
      return to_f32(v);
    }
    case dtype_id::f16: {
      f16_bits v;
      std::memcpy(&v, p + 2 * i, 2);
      return to_f32(v);
    }
    default:
      FAIL("not a scalar float dtype: " << dtype_name(t.dtype()));
      return 0;
  }
}

/// ggml's reference Q8_0 quantisation of 32 values (d = amax/127 stored as f16, q = roundf(x / d)).
q8_0_block quantize_block(const float* x) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  q8_0_block b{};
  b.d = to_f16(d);
  for (int i = 0; i < 32; ++i) b.qs[i] = static_cast<std::int8_t>(std::roundf(x[i] * id));
  return b;
}

}  // namespace

TEST_CASE("golden: every model loads from safetensors and from each GGUF with identical weights") {
  for (const char* variant : golden_variants) {
    const std::string dir = golden_dir + "/" + variant;
    INFO("variant " << variant);
    const auto hf = io::read_safetensors(dir);
    REQUIRE(hf.shards == std::vector<std::string>{"model.safetensors"});
    CHECK(hf.metadata.at("format") == "pt");
    CHECK(hf.index_file.empty());
    REQUIRE(hf.tensors.size() > 50);

    for (const char* type : {"f32", "bf16", "q8_0"}) {
      INFO("gguf " << type);
      const auto g = io::read_gguf(dir + "/model-" + type + ".gguf");
      CHECK(g.version == 3);
      CHECK(g.alignment == 32);
      CHECK(g.metadata.get_string("general.architecture") == "gemma4");
      // one extra GGUF tensor: rope_freqs
      CHECK(g.tensors.size() == hf.tensors.size() + 1);
      CHECK(g.tensors.contains(io::gguf_rope_freqs_name));
      CHECK_FALSE(io::gguf_to_hf_name(io::gguf_rope_freqs_name).has_value());
      std::size_t n_f16_fallback = 0;
      for (const auto& h : hf.tensors) {
        INFO("tensor " << h.name());
        REQUIRE(h.dtype() == dtype_id::bf16);
        const auto gname = io::hf_to_gguf_name(h.name());
        REQUIRE(gname.has_value());
        CHECK(io::gguf_to_hf_name(*gname) == h.name());
        const any_tensor* t = g.tensors.find(*gname);
        REQUIRE(t != nullptr);
        REQUIRE(t->shape() == h.shape());  // framework order on both sides
        CHECK(g.ggml_type.at(*gname) == static_cast<std::uint32_t>(io::detail::ggml_type_for(t->dtype())->id));
        const std::size_t n = h.numel();
        if (t->dtype() == dtype_id::bf16) {  // stored bits identical
          CHECK(std::memcmp(t->data(), h.data(), h.size_bytes()) == 0);
        } else if (t->dtype() == dtype_id::f32) {  // exact: bf16 -> f32 widening
          bool same = true;
          for (std::size_t i = 0; i < n; ++i) same = same && element_f32(*t, i) == element_f32(h, i);
          CHECK(same);
        } else if (t->dtype() == dtype_id::f16) {  // Q8_0 fallback: rows not whole blocks
          CHECK(std::string(type) == "q8_0");
          CHECK(h.shape()[h.rank() - 1] % 32 != 0);
          ++n_f16_fallback;
          bool same = true;
          for (std::size_t i = 0; i < n; ++i) same = same && element_f32(*t, i) == to_f32(to_f16(element_f32(h, i)));
          CHECK(same);
        } else {
          REQUIRE(t->dtype() == dtype_id::q8_0);
          CHECK(std::string(type) == "q8_0");
          REQUIRE(h.shape()[h.rank() - 1] % 32 == 0);
          const auto* blocks = reinterpret_cast<const q8_0_block*>(t->data());
          REQUIRE(t->size_bytes() == n / 32 * sizeof(q8_0_block));
          double worst = 0;  // |x - q*d| / d, must stay within rounding (1/2) plus the f16 rounding of d
          bool same_bytes = true;
          std::vector<float> x(32);
          for (std::size_t b = 0; b < n / 32; ++b) {
            for (std::size_t i = 0; i < 32; ++i) x[i] = element_f32(h, b * 32 + i);
            const float d = to_f32(blocks[b].d);
            for (std::size_t i = 0; i < 32; ++i) {
              const double err = std::fabs(static_cast<double>(x[i]) - static_cast<double>(blocks[b].qs[i] * d));
              if (d > 0) worst = std::max(worst, err / static_cast<double>(d));
            }
            const q8_0_block mine = quantize_block(x.data());
            same_bytes = same_bytes && std::memcmp(&mine, &blocks[b], sizeof(q8_0_block)) == 0;
          }
          CHECK(worst <= 0.5 + 127.0 / 2048.0);
          CHECK(same_bytes);  // ggml's reference quantiser reproduced exactly
        }
      }
      if (std::string(type) == "q8_0" && std::string(variant) == "e2b-like") {
        CHECK(n_f16_fallback == 10);  // blk.N.proj.weight, P = 16 per row
      }
      // every GGUF tensor but rope_freqs maps back to an HF tensor
      for (const auto& t : g.tensors) {
        if (t.name() == io::gguf_rope_freqs_name) continue;
        const auto hn = io::gguf_to_hf_name(t.name());
        REQUIRE_MESSAGE(hn.has_value(), t.name());
        CHECK(hf.tensors.contains(*hn));
      }
    }
  }
}

TEST_CASE("golden: the name tables agree with the generator's manifest") {
  for (const char* variant : golden_variants) {
    const std::string path = golden_dir + "/" + variant + "/manifest.json";
    const auto j = io::read_json_file(path);
    const io::json_field root(j, path);
    std::size_t n = 0;
    for (const auto& t : root["tensors"].elements()) {
      const auto hf = t.value<std::string>("hf");
      const auto gg = t.value<std::string>("gguf");
      CHECK(io::hf_to_gguf_name(hf) == gg);
      CHECK(io::gguf_to_hf_name(gg) == hf);
      ++n;
    }
    CHECK(n > 50);
  }
}

TEST_CASE("gguf names: prefixes, layer numbers and non-text tensors") {
  CHECK(io::hf_to_gguf_name("model.layers.12.mlp.down_proj.weight") == "blk.12.ffn_down.weight");
  CHECK(io::hf_to_gguf_name("layers.3.experts.gate_up_proj") == "blk.3.ffn_gate_up_exps.weight");
  CHECK(io::hf_to_gguf_name("model.language_model.layers.0.layer_scalar") == "blk.0.layer_output_scale.weight");
  CHECK(io::hf_to_gguf_name("model.language_model.layers.7.router.scale") == "blk.7.ffn_gate_inp.scale");
  CHECK(io::hf_to_gguf_name("model.language_model.layers.7.router.per_expert_scale") == "blk.7.ffn_down_exps.scale");
  CHECK(io::gguf_to_hf_name("blk.34.attn_v.weight", io::hf_causal_lm_prefix) ==
        "model.layers.34.self_attn.v_proj.weight");
  CHECK_FALSE(io::hf_to_gguf_name("model.vision_tower.encoder.layers.0.mlp.fc1.weight").has_value());
  CHECK_FALSE(io::hf_to_gguf_name("lm_head.weight").has_value());
  CHECK_FALSE(io::hf_to_gguf_name("model.language_model.layers.x.mlp.down_proj.weight").has_value());
  CHECK_FALSE(io::hf_to_gguf_name("model.language_model.layers.01.mlp.down_proj.weight").has_value());
  CHECK_FALSE(io::hf_to_gguf_name("model.language_model.layers.1.mlp.down_proj").has_value());
  CHECK_FALSE(io::gguf_to_hf_name("blk.1.unknown.weight").has_value());
  CHECK_FALSE(io::gguf_to_hf_name("blk..attn_q.weight").has_value());
  // tables are one-to-one
  for (const auto& a : io::gguf_layer_names)
    for (const auto& b : io::gguf_layer_names)
      if (&a != &b) CHECK((a.hf != b.hf && a.gguf != b.gguf));
}

TEST_CASE("golden: writing a GGUF's content back reproduces the file byte for byte") {
  temp_dir tmp("gguf-identical");
  for (const char* variant : golden_variants) {
    for (const char* type : {"f32", "bf16", "q8_0"}) {
      const std::string src = golden_dir + "/" + variant + "/model-" + type + ".gguf";
      INFO(src);
      const auto g = io::read_gguf(src);
      const std::string out = tmp / (std::string(variant) + "-" + type + ".gguf");
      io::write_gguf(out, g.metadata, g.tensors, io::gguf_write_options::like(g));
      CHECK(slurp(out) == slurp(src));
      // and reading it back gives identical metadata and tensors
      const auto r = io::read_gguf(out);
      CHECK(r.metadata == g.metadata);
      REQUIRE(r.tensors.size() == g.tensors.size());
      for (std::size_t i = 0; i < r.tensors.size(); ++i) {
        const auto& a = r.tensors.tensors()[i];
        const auto& b = g.tensors.tensors()[i];
        CHECK(a.name() == b.name());
        CHECK(a.shape() == b.shape());
        CHECK(a.dtype() == b.dtype());
        CHECK((a.size_bytes() == b.size_bytes() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0));
      }
    }
  }
}

TEST_CASE("golden: writing a safetensors checkpoint's content back reproduces the file byte for byte") {
  temp_dir tmp("st-identical");
  for (const char* variant : golden_variants) {
    const std::string src = golden_dir + "/" + variant;
    const auto c = io::read_safetensors(src + "/model.safetensors");
    const std::string out = tmp / variant;
    const auto res = io::write_safetensors(out, c.tensors, io::safetensors_write_options::like(c));
    CHECK(res.files == std::vector<std::string>{out + "/model.safetensors"});
    CHECK(list_dir(out) == std::vector<std::string>{"model.safetensors"});
    CHECK(slurp(out + "/model.safetensors") == slurp(src + "/model.safetensors"));
  }
}

TEST_CASE("golden: tokenizer metadata is kept and accessible") {
  const auto g = io::read_gguf(golden_dir + "/e2b-like/model-bf16.gguf");
  const auto& toks = g.metadata.get_array<std::string>("tokenizer.ggml.tokens");
  REQUIRE(toks.size() == 512);
  CHECK(toks[2] == "<bos>");
  CHECK(g.metadata.get_array<float>("tokenizer.ggml.scores").size() == 512);
  CHECK(g.metadata.get_array<std::int32_t>("tokenizer.ggml.token_type")[0] == 3);
  CHECK(g.metadata.get_array<std::string>("tokenizer.ggml.merges").size() == 68);
  CHECK(g.metadata.get<std::uint32_t>("tokenizer.ggml.bos_token_id") == 2);
  CHECK(g.metadata.get_bool("tokenizer.ggml.add_bos_token"));
  CHECK(g.metadata.get_integer<int>("gemma4.block_count") == 10);
  CHECK(g.metadata.get_integer_array<std::uint32_t>("gemma4.feed_forward_length").size() == 10);
  CHECK(g.metadata.get_array<bool>("gemma4.attention.sliding_window_pattern")[4] == false);
  CHECK(g.metadata.get_float("gemma4.final_logit_softcapping") == 30.0);
  // insertion order = file order
  CHECK(g.metadata.entries().front().first == "general.architecture");
}

}  // namespace ut_golden_formats_test
