// Strict JSON reading and typed field access with errors that name the file and the field path.

#include "scalpel/io/json.hpp"

#include <string>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

namespace ut_json_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace io_test;

TEST_CASE("json: parse errors name the source, line, column and byte") {
  expect_error([] { (void)io::parse_json("{\n  \"a\": 1,\n  \"b\": }\n", "config.json"); }, errc::json,
               {"config.json", "line 3", "column", "byte"});
  expect_error([] { (void)io::parse_json("", "empty.json"); }, errc::json, {"empty.json", "malformed"});
  expect_error([] { (void)io::parse_json("{\"a\": NaN}", "nan.json"); }, errc::json, {"nan.json", "line 1"});
  expect_error([] { (void)io::parse_json("{\"a\": 1} trailing", "t.json"); }, errc::json, {"t.json"});
  expect_error([] { (void)io::parse_json("{\"a\": \"\xff\"}", "bin.json"); }, errc::json,
               {"bin.json", "UTF-8", "byte 7"});
  expect_error([] { (void)io::parse_json("{\"a\": \"\xed\xa0\x80\"}", "surrogate.json"); }, errc::json, {"UTF-8"});
  expect_error([] { (void)io::parse_json("{\"a\": 1, \"b\": {\"c\": 1, \"c\": 2}}", "dup.json"); }, errc::json,
               {"dup.json", "duplicate key \"c\""});
  // the same key in different objects is fine
  CHECK(io::parse_json(R"({"a": {"x": 1}, "b": {"x": 2}})", "ok.json")["b"]["x"] == 2);
  std::string deep(200, '[');
  deep += std::string(200, ']');
  expect_error([&] { (void)io::parse_json(deep, "deep.json"); }, errc::json, {"deep.json", "nesting"});
  std::string ok_deep(100, '[');
  ok_deep += std::string(100, ']');
  CHECK_NOTHROW((void)io::parse_json(ok_deep, "ok"));
}

TEST_CASE("json: files") {
  temp_dir tmp("json");
  expect_error([&] { (void)io::read_json_file(tmp / "missing.json"); }, errc::io, {"missing.json"});
  spit(tmp / "c.json", "{\"text_config\": {\"hidden_size\": 64}}");
  CHECK(io::read_json_file(tmp / "c.json")["text_config"]["hidden_size"] == 64);
  spit(tmp / "bad.json", "{\"text_config\": {\"hidden_size\": 64,}}");
  expect_error([&] { (void)io::read_json_file(tmp / "bad.json"); }, errc::json, {"bad.json", "line 1"});
}

TEST_CASE("json_field: typed access names the field path and the value found") {
  const auto j = io::parse_json(R"({
    "text_config": {"num_hidden_layers": "10", "hidden_size": 64, "rope_theta": 1000000.0, "eps": 1e-6,
                    "layer_types": ["sliding_attention", "full_attention"], "neg": -3, "big": 5000000000,
                    "flag": true, "nothing": null, "ids": [1, 2, 3], "frac": 2.5},
    "vision_config": null})",
                                "config.json");
  const io::json_field root(j, "config.json");
  const auto tc = root["text_config"];
  CHECK(tc.path() == "text_config");
  CHECK(tc.value<int>("hidden_size") == 64);
  CHECK(tc.value<std::uint64_t>("rope_theta") == 1000000);  // an exactly integral float is accepted
  CHECK(tc.value<double>("eps") == doctest::Approx(1e-6));
  CHECK(tc.value<float>("hidden_size") == 64.0f);
  CHECK(tc["layer_types"].at(1).get<std::string>() == "full_attention");
  CHECK(tc.value<std::vector<int>>("ids") == std::vector<int>{1, 2, 3});
  CHECK(tc.value<bool>("flag"));
  CHECK(tc.value_or<int>("absent", 7) == 7);
  CHECK(tc.value_or<int>("nothing", 8) == 8);  // null counts as absent
  CHECK_FALSE(root.has("vision_config"));
  CHECK_FALSE(root.find("vision_config").has_value());
  CHECK(tc.has("hidden_size"));

  expect_error([&] { (void)tc.value<int>("num_hidden_layers"); }, errc::json,
               {"config.json", "field 'text_config.num_hidden_layers'", "expected an integer", "string \"10\""});
  expect_error([&] { (void)tc.value<int>("missing"); }, errc::json, {"'text_config.missing'", "missing"});
  expect_error([&] { (void)tc.value<std::uint32_t>("neg"); }, errc::json, {"'text_config.neg'", "non-negative"});
  expect_error([&] { (void)tc.value<std::int32_t>("big"); }, errc::json, {"'text_config.big'", "out of range"});
  expect_error([&] { (void)tc.value<int>("frac"); }, errc::json, {"'text_config.frac'", "number 2.5"});
  expect_error([&] { (void)tc["layer_types"].at(5); }, errc::json, {"'text_config.layer_types'", "index 5"});
  expect_error([&] { (void)tc["layer_types"].at(0).get<int>(); }, errc::json,
               {"'text_config.layer_types[0]'", "sliding_attention"});
  expect_error([&] { (void)tc.value<std::vector<std::string>>("ids"); }, errc::json, {"'text_config.ids[0]'"});
  expect_error([&] { (void)tc["hidden_size"]["x"]; }, errc::json, {"'text_config.hidden_size'", "an object"});
  expect_error([&] { tc.fail_here("heads not divisible"); }, errc::json, {"'text_config'", "heads not divisible"});
  CHECK(tc.members().size() == 11);
}

TEST_CASE("json_field: the golden configs read through it") {
  for (const char* v : golden_variants) {
    const std::string p = golden_dir + "/" + v + "/config.json";
    const auto j = io::read_json_file(p);
    const io::json_field root(j, p);
    CHECK(root["text_config"].value<int>("hidden_size") == 64);
    CHECK(root["text_config"]["layer_types"].size() == root["text_config"].value<std::size_t>("num_hidden_layers"));
  }
}

}  // namespace ut_json_test
