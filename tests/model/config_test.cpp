#include <string>

#include <doctest/doctest.h>

#include "scalpel/model/hf_config.hpp"

namespace ut_config_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace scalpel::model;

namespace {
const std::string cfg_dir = std::string(SCALPEL_TEST_DATA_DIR) + "/configs/";
gemma4_config load(const std::string& name) { return read_hf_config(cfg_dir + name + ".json"); }

std::size_t count_kind(const gemma4_config& c, layer_kind k) {
  std::size_t n = 0;
  for (const auto& g : c.layers) n += g.kind == k;
  return n;
}
}  // namespace

TEST_CASE("config: E2B geometry matches the spec (§1.2)") {
  const auto c = load("e2b");
  CHECK(c.detect_variant() == variant::e2b);
  REQUIRE(c.layers.size() == 35);
  CHECK(count_kind(c, layer_kind::full) == 7);
  for (std::size_t l : {4u, 9u, 14u, 19u, 24u, 29u, 34u}) CHECK(c.layers[l].kind == layer_kind::full);
  const auto& s = c.layers[0];
  CHECK(s.q_dim() == 2048);
  CHECK(s.kv_dim() == 256);
  CHECK(s.group() == 8);
  CHECK(s.window == 512);
  CHECK(s.rope_pairs == 128);
  const auto& f = c.layers[4];
  CHECK(f.q_dim() == 4096);
  CHECK(f.kv_dim() == 512);
  CHECK(f.has_v_proj);
  CHECK(f.group() == 8);
  CHECK(f.window == 0);
  CHECK(f.rope_pairs == 64);  // proportional: floor(0.25 * 512 / 2)
  CHECK(c.first_kv_shared_layer() == 15);
  CHECK(c.num_kv_owning_layers() == 15);
  for (std::size_t l = 0; l < 35; ++l) {
    const auto& g = c.layers[l];
    CHECK(g.ffn_dim == (l < 15 ? 6144u : 12288u));  // double-wide MLP on layers 15–34
    if (l < 15) {
      CHECK(g.owns_kv);
      CHECK(g.kv_source == l);
    } else {
      CHECK(!g.owns_kv);
      CHECK(g.kv_source == (g.kind == layer_kind::full ? 14u : 13u));  // donors 13 (sliding) / 14 (full)
    }
  }
  CHECK(c.ple_dim == 256);
  CHECK(c.eos_token_ids == std::vector<std::int32_t>{1, 106});
}

TEST_CASE("config: E4B geometry") {
  const auto c = load("e4b");
  CHECK(c.detect_variant() == variant::e4b);
  CHECK(c.layers[0].kv_dim() == 512);
  CHECK(c.layers[0].group() == 4);
  CHECK(c.layers[5].kind == layer_kind::full);
  CHECK(c.layers[5].kv_dim() == 1024);
  CHECK(c.layers[5].has_v_proj);
  CHECK(c.first_kv_shared_layer() == 24);
  CHECK(c.num_kv_owning_layers() == 24);
  CHECK(c.layers[41].kv_source == 23);
  CHECK(c.layers[40].kv_source == 22);
  for (const auto& g : c.layers) CHECK(g.ffn_dim == 10240);
  const auto t = load("e4b-text-only");
  CHECK(t.detect_variant() == variant::e4b);
  CHECK(t.eos_token_ids == std::vector<std::int32_t>{1});
}

TEST_CASE("config: 26B-A4B geometry (MoE, k_eq_v, 8 vs 2 KV heads)") {
  for (const char* name : {"26b-a4b", "26b-a4b-expert-key"}) {
    CAPTURE(name);
    const auto c = load(name);
    CHECK(c.detect_variant() == variant::moe_26b_a4b);
    CHECK(c.moe_intermediate_size == 704);
    CHECK(c.layers[0].q_dim() == 4096);
    CHECK(c.layers[0].kv_dim() == 2048);
    CHECK(c.layers[0].group() == 2);
    CHECK(c.layers[0].window == 1024);
    CHECK(c.layers[5].q_dim() == 8192);
    CHECK(c.layers[5].kv_dim() == 1024);
    CHECK(!c.layers[5].has_v_proj);
    CHECK(c.layers[5].group() == 8);
    CHECK(c.layers[0].has_v_proj);
    CHECK(c.num_kv_owning_layers() == 30);
    for (const auto& g : c.layers) {
      CHECK(g.moe);
      CHECK(g.ffn_dim == 2112);
    }
  }
}

TEST_CASE("config: 31B geometry, flat keys and per_layer_config agree") {
  const auto a = load("31b");
  const auto b = load("31b-per-layer-config");
  CHECK(a.detect_variant() == variant::dense_31b);
  CHECK(b.detect_variant() == variant::dense_31b);
  REQUIRE(a.layers.size() == 60);
  REQUIRE(b.layers.size() == 60);
  for (std::size_t l = 0; l < 60; ++l) {
    CAPTURE(l);
    CHECK(a.layers[l].head_dim == b.layers[l].head_dim);
    CHECK(a.layers[l].n_kv_heads == b.layers[l].n_kv_heads);
    CHECK(a.layers[l].has_v_proj == b.layers[l].has_v_proj);
  }
  CHECK(a.layers[0].kv_dim() == 4096);
  CHECK(a.layers[5].kv_dim() == 2048);
  CHECK(a.layers[5].q_dim() == 16384);
  CHECK(a.layers[59].kind == layer_kind::full);
  CHECK(a.max_position_embeddings == 262144);
}

TEST_CASE("config: golden tiny models parse and are custom") {
  for (const char* v : {"e2b-like", "moe-like", "dense-like"}) {
    CAPTURE(v);
    const auto c = read_hf_config(std::string(SCALPEL_TEST_DATA_DIR) + "/golden/" + v + "/config.json");
    CHECK(c.detect_variant() == variant::custom);
    CHECK(c.hidden_size == 64);
  }
  const auto e = read_hf_config(std::string(SCALPEL_TEST_DATA_DIR) + "/golden/e2b-like/config.json");
  CHECK(e.layers[5].ffn_dim == 256);  // double-wide on KV-shared layers
  CHECK(e.layers[8].kv_source == 3);
  CHECK(e.layers[9].kv_source == 4);
}

namespace {
nlohmann::json e2b_json() { return detail::read_json_file(cfg_dir + "e2b.json"); }
std::string error_of(const nlohmann::json& j) {
  try {
    (void)parse_hf_config(j, "cfg.json");
  } catch (const error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config: invalid configs are rejected with errors naming the field") {
  auto j = e2b_json();
  j["text_config"]["num_key_value_heads"] = 3;
  CHECK(error_of(j).find("num_key_value_heads") != std::string::npos);

  j = e2b_json();
  j["text_config"]["layer_types"].erase(0);
  CHECK(error_of(j).find("layer_types") != std::string::npos);

  j = e2b_json();
  j["text_config"]["hidden_size"] = "1536";
  CHECK(error_of(j).find("text_config.hidden_size: expected a non-negative integer") != std::string::npos);

  j = e2b_json();
  j["text_config"].erase("vocab_size");
  CHECK(error_of(j).find("text_config.vocab_size: required field is missing") != std::string::npos);

  j = e2b_json();
  j["text_config"]["layer_types"][3] = "local";
  CHECK(error_of(j).find("layer_types[3]") != std::string::npos);

  j = e2b_json();
  j["text_config"]["rope_parameters"]["full_attention"]["rope_type"] = "yarn";
  CHECK(error_of(j).find("rope_type") != std::string::npos);

  j = e2b_json();  // KV-shared layers need a donor of their type among the non-shared layers
  for (auto& t : j["text_config"]["layer_types"]) t = "sliding_attention";
  j["text_config"]["layer_types"][34] = "full_attention";
  CHECK(error_of(j).find("donate") != std::string::npos);

  j = e2b_json();
  j["text_config"]["hidden_size"] = 1u << 30;
  CHECK(error_of(j).find("implausibly large") != std::string::npos);

  j = e2b_json();
  j["text_config"]["hidden_activation"] = "silu";
  CHECK(error_of(j).find("hidden_activation") != std::string::npos);

  CHECK(error_of(nlohmann::json::array()).find("expected a JSON object") != std::string::npos);
  CHECK_THROWS_AS((void)read_hf_config("/nonexistent/config.json"), error);
}

TEST_CASE("config: generation_config.json defaults") {
  const auto g = parse_generation_config(nlohmann::json::parse(
      R"({"do_sample": true, "temperature": 1.0, "top_k": 64, "top_p": 0.95, "eos_token_id": [1, 106, 50]})"));
  CHECK(g.do_sample == true);
  CHECK(*g.top_k == 64);
  CHECK(*g.top_p == doctest::Approx(0.95));
  CHECK(g.eos_token_ids == std::vector<std::int32_t>{1, 106, 50});
  CHECK_THROWS_AS((void)parse_generation_config(nlohmann::json::parse(R"({"top_k": "64"})")), error);
}

TEST_CASE("config: RoPE inverse frequencies follow the head-dim convention on full layers") {
  const auto c = load("e2b");
  const auto& f = c.layers[4];
  // ω_i = 1e6^(−2i/512) (denominator = full head dim, not the rotary width 128)
  CHECK(f.inv_freq(0) == 1.0f);
  CHECK(f.inv_freq(1) == doctest::Approx(std::pow(1e6, -2.0 / 512.0)).epsilon(1e-6));
  CHECK(f.inv_freq(63) == doctest::Approx(std::pow(1e6, -126.0 / 512.0)).epsilon(1e-6));
  const auto& s = c.layers[0];
  CHECK(s.inv_freq(127) == doctest::Approx(std::pow(1e4, -254.0 / 256.0)).epsilon(1e-6));
}

}  // namespace ut_config_test
