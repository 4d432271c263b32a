// The fuzz-style bad-input suite: corrupted, truncated and forged safetensors / index / GGUF inputs.
// Every case must end in a scalpel::error whose message names the problem; nothing may crash or read out of
// bounds (the suite runs under ASan + UBSan in the debug-asan preset; inputs are held in exactly-sized
// heap buffers so that any overread is caught).

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"
#include "scalpel/io/check_finite.hpp"
#include "scalpel/io/gguf.hpp"
#include "scalpel/io/safetensors.hpp"

namespace ut_bad_input_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace io_test;

namespace {

// ---- safetensors -----------------------------------------------------------------------------------

void st_parse(std::string_view file) {
  const auto bytes = as_bytes(file);
  (void)io::parse_safetensors(bytes, nullptr, "bad.safetensors");
}

void st_expect(std::string_view header, std::string_view data, errc code,
               std::initializer_list<std::string_view> needles, const std::string& name) {
  expect_error([&] { st_parse(make_st(header, data)); }, code, needles, name);
}

/// A valid two-tensor file: "a" F32 [2, 2] at [0, 16), "b" BF16 [4] at [16, 24).
std::string valid_st() {
  std::string data(24, '\0');
  return make_st(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                 R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}})",
                 data);
}

/// Outcome of parsing arbitrary bytes: ok, or a scalpel::error. Anything else (another exception, a crash)
/// fails the test.
bool parses(const std::function<void()>& f) {
  try {
    f();
    return true;
  } catch (const error& e) {
    CHECK(std::string(e.what()).size() > 20);  // a real message
    return false;
  }
}

// ---- GGUF ------------------------------------------------------------------------------------------

struct kv_entry {
  std::string key;
  std::uint32_t type;
  std::string payload;  // encoded value
};
struct tinfo {
  std::string name;
  std::vector<std::uint64_t> ne;
  std::uint32_t type;
  std::uint64_t offset;
};
struct gguf_spec {
  std::string magic = "GGUF";
  std::uint32_t version = 3;
  std::optional<std::uint64_t> n_tensors, n_kv;  // overrides of the counts
  std::vector<kv_entry> kvs;
  std::vector<tinfo> tensors;
  std::size_t data_bytes = 320;
};

std::string enc_u32(std::uint32_t v) {
  std::string s;
  put_le(s, v);
  return s;
}
std::string enc_str(std::string_view v) {
  std::string s;
  put_le<std::uint64_t>(s, v.size());
  s += v;
  return s;
}

/// "a" F32 ne {32, 2} at 0 (256 bytes) and "b" Q8_0 ne {32} at 256 (34 bytes); 320 data bytes.
gguf_spec valid_gguf_spec() {
  gguf_spec s;
  s.kvs.push_back({"general.architecture", 8, enc_str("gemma4")});
  s.kvs.push_back({"gemma4.block_count", 4, enc_u32(2)});
  s.tensors.push_back({"a", {32, 2}, 0, 0});
  s.tensors.push_back({"b", {32}, 8, 256});
  return s;
}

std::string build(const gguf_spec& s) {
  gguf_builder b;
  b.b += s.magic;
  b.u32(s.version);
  b.u64(s.n_tensors.value_or(s.tensors.size()));
  b.u64(s.n_kv.value_or(s.kvs.size()));
  for (const auto& kv : s.kvs) {
    b.str(kv.key);
    b.u32(kv.type);
    b.b += kv.payload;
  }
  for (const auto& t : s.tensors) {
    b.str(t.name);
    b.u32(static_cast<std::uint32_t>(t.ne.size()));
    for (auto v : t.ne) b.u64(v);
    b.u32(t.type);
    b.u64(t.offset);
  }
  b.pad(32);
  b.b.append(s.data_bytes, '\0');
  return b.b;
}

void gguf_parse(std::string_view file, const io::gguf_read_options& opt = {}) {
  const auto bytes = as_bytes(file);
  (void)io::parse_gguf(bytes, nullptr, "bad.gguf", opt);
}

void gguf_expect(const gguf_spec& s, errc code, std::initializer_list<std::string_view> needles,
                 const std::string& name) {
  expect_error([&] { gguf_parse(build(s)); }, code, needles, name);
}

}  // namespace

TEST_CASE("bad input: the hand-made valid files parse (the corruptions below are the only defect)") {
  CHECK_NOTHROW(st_parse(valid_st()));
  const auto bytes = as_bytes(build(valid_gguf_spec()));
  const auto g = io::parse_gguf(bytes, nullptr, "ok.gguf");
  CHECK(g.tensors.size() == 2);
  CHECK(g.tensors.at("a").shape() == make_shape({2, 32}));
  CHECK(g.tensors.at("b").dtype() == dtype_id::q8_0);
}

TEST_CASE("bad input: safetensors header and layout") {
  const std::string d16(16, '\0');
  expect_error([] { st_parse(""); }, errc::format, {"bad.safetensors", "too small"}, "empty");
  expect_error([] { st_parse("abc"); }, errc::format, {"too small"}, "3 bytes");
  {
    std::string f;
    put_le<std::uint64_t>(f, 1000);
    f += "{}";
    expect_error([&] { st_parse(f); }, errc::format, {"header length 1000", "past the end"}, "length past EOF");
  }
  {
    std::string f;
    put_le<std::uint64_t>(f, std::uint64_t{1} << 40);
    f += "{}";
    expect_error([&] { st_parse(f); }, errc::format, {"exceeds the limit"}, "huge header length");
    std::string g;
    put_le<std::uint64_t>(g, ~std::uint64_t{0});
    expect_error([&] { st_parse(g); }, errc::format, {"exceeds the limit"}, "2^64-1 header length");
  }
  st_expect("[1,2]", "", errc::format, {"must be a JSON object"}, "array header");
  st_expect("{\"a\":", "", errc::json, {"bad.safetensors", "malformed JSON"}, "malformed JSON");
  st_expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,4]}}", "1234", errc::json,
            {"malformed JSON"}, "NaN literal");
  st_expect("{\"\xc3\x28\":{}}", "", errc::json, {"UTF-8"}, "non-UTF-8 name");
  st_expect(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
      std::string(32, '\0'), errc::json, {"duplicate key \"a\""}, "duplicate names");
  st_expect(R"({"a":{"shape":[4],"data_offsets":[0,16]}})", d16, errc::format, {"'a'", "missing \"dtype\""},
            "no dtype");
  st_expect(R"({"a":{"dtype":"F32","data_offsets":[0,16]}})", d16, errc::format, {"missing \"shape\""}, "no shape");
  st_expect(R"({"a":{"dtype":"F32","shape":[4]}})", d16, errc::format, {"missing \"data_offsets\""}, "no offsets");
  st_expect(R"({"a":{"dtype":7,"shape":[4],"data_offsets":[0,16]}})", d16, errc::format, {"\"dtype\" must be a string"},
            "dtype number");
  st_expect(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", d16, errc::unsupported,
            {"'a'", "unknown dtype \"Q4\""}, "unknown dtype");
  st_expect(R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", d16, errc::format, {"non-negative", "-4"},
            "negative dim");
  st_expect(R"({"a":{"dtype":"F32","shape":[4.5],"data_offsets":[0,16]}})", d16, errc::format, {"non-negative"},
            "float dim");
  st_expect(R"({"a":{"dtype":"F32","shape":"4","data_offsets":[0,16]}})", d16, errc::format, {"must be an array"},
            "string shape");
  st_expect(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", d16, errc::format, {"[begin, end]"},
            "one offset");
  st_expect(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", d16, errc::format, {"end before begin"},
            "reversed offsets");
  st_expect(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,1600]}})", d16, errc::format,
            {"'a'", "run past the data section", "16 bytes"}, "offsets out of range");
  st_expect(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551615]}})", d16, errc::format,
            {"run past"}, "offset 2^64-1");
  st_expect(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", d16, errc::format,
            {"'a'", "shape [3] in F32 needs 12 bytes", "give 16"}, "shape/size mismatch");
  st_expect(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", d16, errc::format,
            {"absurd size"}, "overflowing dims");
  st_expect(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}})", d16, errc::format,
            {"absurd"}, "2^62 elements of 4 bytes");
  st_expect(R"({"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,16]}})", d16, errc::format,
            {"needs 4398046511104 bytes"}, "a 4 TB tensor in a 16-byte file");
  st_expect(R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}})", std::string(1, '\0'), errc::format,
            {"not a whole number of bytes"}, "partial byte");
  st_expect(
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
      d16, errc::format, {"overlaps"}, "overlap");
  st_expect(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", d16, errc::format,
            {"8 unindexed bytes", "'a'"}, "hole");
  st_expect(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", d16, errc::format, {"8 trailing bytes"},
            "trailing");
  st_expect(R"({"__metadata__":[1]})", "", errc::format, {"__metadata__ must be an object"}, "metadata array");
  st_expect(R"({"__metadata__":{"k":1}})", "", errc::format, {"\"k\"", "must be a string"}, "metadata number");
  st_expect(R"({"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", "", errc::format, {"empty name"}, "empty name");
  std::string deep = "{\"a\":" + std::string(300, '[') + std::string(300, ']') + "}";
  st_expect(deep, "", errc::json, {"nesting"}, "deep nesting");
  // zero-size tensors are legal, also several at one offset
  CHECK_NOTHROW(st_parse(make_st(
      R"({"z":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},"y":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]}})",
      "")));
}

TEST_CASE("bad input: NaN weights load (zero-copy) and are reported by require_finite") {
  std::string data;
  put_le(data, 1.0f);
  put_le(data, std::numeric_limits<float>::quiet_NaN());
  const auto bytes = as_bytes(make_st(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data));
  const auto c = io::parse_safetensors(bytes, nullptr, "nan.safetensors");
  expect_error([&] { io::require_finite(c.tensors, "nan.safetensors"); }, errc::numeric,
               {"nan.safetensors", "'w'", "element 1"});
}

TEST_CASE("bad input: safetensors truncated at every offset") {
  const std::string f = valid_st();
  for (std::size_t n = 0; n < f.size(); ++n) {
    expect_error([&] { st_parse(std::string_view(f).substr(0, n)); }, errc::format, {"bad.safetensors"},
                 "truncated at " + std::to_string(n));
  }
  // a golden file, header region byte by byte, data region in steps
  const std::string g = slurp(golden_dir + "/dense-like/model.safetensors");
  std::uint64_t hlen = 0;
  std::memcpy(&hlen, g.data(), 8);
  std::size_t n_err = 0;
  for (std::size_t n = 0; n < g.size(); n += (n < hlen + 16 ? 61 : 4099)) {
    n_err += parses([&] { st_parse(std::string_view(g).substr(0, n)); }) ? 0u : 1u;
  }
  CHECK(n_err > 300);
  CHECK_FALSE(parses([&] { st_parse(std::string_view(g).substr(0, g.size() - 1)); }));
}

TEST_CASE("bad input: random corruption of safetensors headers never crashes") {
  const std::string g = slurp(golden_dir + "/moe-like/model.safetensors");
  std::uint64_t hlen = 0;
  std::memcpy(&hlen, g.data(), 8);
  std::mt19937_64 rng(12345);
  int ok = 0;
  int rejected = 0;
  const std::string_view header(g.data(), static_cast<std::size_t>(8 + hlen));
  for (int iter = 0; iter < 400; ++iter) {
    std::string m(header);
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const std::size_t at = rng() % m.size();
      const char choices[] = {'0', '9', ',', '"', ']', '}', '{', '-', 'e', '\xff', ' ', '\0', '1'};
      m[at] = choices[rng() % sizeof(choices)];
    }
    m.append(g, m.size(), std::string::npos);
    (parses([&] { st_parse(m); }) ? ok : rejected)++;
  }
  CHECK(rejected > 200);  // most corruptions are detected
  MESSAGE("random header corruption: " << rejected << " rejected, " << ok << " still valid");
}

TEST_CASE("bad input: sharded checkpoints and index files") {
  temp_dir tmp("bad-index");
  const auto c = io::read_safetensors(golden_dir + "/dense-like");
  io::safetensors_write_options opt;
  opt.max_shard_bytes = 300'000;
  const auto res = io::write_safetensors(tmp / "good", c.tensors, opt);
  REQUIRE(res.files.size() >= 3);
  const std::string idx_text = slurp(tmp / "good/model.safetensors.index.json");
  auto fresh = [&](const std::string& name) {
    const std::string d = tmp / name;
    std::filesystem::copy(tmp / "good", d);
    return d;
  };
  {  // a shard file is missing
    const auto d = fresh("missing-shard");
    std::filesystem::remove(d + "/model-00002-of-0000" + std::to_string(res.files.size() - 1) + ".safetensors");
    expect_error([&] { (void)io::read_safetensors(d); }, errc::io,
                 {"model.safetensors.index.json", "model-00002-of", "missing"}, "missing shard");
  }
  {  // the index maps a tensor to a shard that does not contain it
    const auto d = fresh("moved");
    auto j = nlohmann::json::parse(idx_text);
    const std::string first = j["weight_map"].begin().key();
    j["weight_map"]["model.language_model.not_there.weight"] = j["weight_map"][first];
    spit(d + "/model.safetensors.index.json", j.dump());
    expect_error([&] { (void)io::read_safetensors(d); }, errc::missing_tensor,
                 {"not_there.weight", "does not contain it"}, "tensor missing from its shard");
  }
  {  // the index lists a tensor under the wrong shard
    const auto d = fresh("wrong-shard");
    auto j = nlohmann::json::parse(idx_text);
    const std::string first = j["weight_map"].begin().key();
    j["weight_map"][first] = "model-00003-of-0000" + std::to_string(res.files.size() - 1) + ".safetensors";
    spit(d + "/model.safetensors.index.json", j.dump());
    expect_error([&] { (void)io::read_safetensors(d); }, errc::format, {first, "stored in shard"}, "wrong shard");
  }
  {  // a shard holds a tensor the index does not list
    const auto d = fresh("unlisted");
    auto j = nlohmann::json::parse(idx_text);
    j["weight_map"].erase(j["weight_map"].begin());
    spit(d + "/model.safetensors.index.json", j.dump());
    expect_error([&] { (void)io::read_safetensors(d); }, errc::format, {"does not list"}, "unlisted tensor");
  }
  {  // malformed index JSON, weight_map of the wrong type, path escapes, non-string shard names
    const auto d = fresh("bad-json");
    spit(d + "/model.safetensors.index.json", idx_text.substr(0, idx_text.size() / 2));
    expect_error([&] { (void)io::read_safetensors(d); }, errc::json, {"model.safetensors.index.json", "malformed"},
                 "truncated index");
    spit(d + "/model.safetensors.index.json", R"({"weight_map": [1]})");
    expect_error([&] { (void)io::read_safetensors(d); }, errc::json, {"'weight_map'", "expected an object"},
                 "weight_map array");
    spit(d + "/model.safetensors.index.json", R"({"metadata": {}})");
    expect_error([&] { (void)io::read_safetensors(d); }, errc::json, {"'weight_map'", "missing"}, "no weight_map");
    spit(d + "/model.safetensors.index.json", R"({"weight_map": {"a": "../../etc/passwd"}})");
    expect_error([&] { (void)io::read_safetensors(d); }, errc::format, {"not a plain file name"}, "path escape");
    spit(d + "/model.safetensors.index.json", R"({"weight_map": {"a": 3}})");
    expect_error([&] { (void)io::read_safetensors(d); }, errc::json, {"weight_map.a", "integer 3"}, "shard number");
    spit(d + "/model.safetensors.index.json", "{\"weight_map\": {\"a\": \"x\xff.safetensors\"}}");
    expect_error([&] { (void)io::read_safetensors(d); }, errc::json, {"UTF-8"}, "non-UTF-8 index");
  }
  {  // one corrupt shard: the error names that shard
    const auto d = fresh("corrupt-shard");
    const std::string s1 = d + "/model-00001-of-0000" + std::to_string(res.files.size() - 1) + ".safetensors";
    const std::string bytes = slurp(s1);
    spit(s1, bytes.substr(0, bytes.size() - 10));
    expect_error([&] { (void)io::read_safetensors(d); }, errc::format, {"model-00001-of"}, "truncated shard");
  }
  // paths that are not checkpoints
  expect_error([&] { (void)io::read_safetensors(tmp / "nope"); }, errc::io, {"nope"}, "missing path");
  std::filesystem::create_directory(tmp / "empty");
  expect_error([&] { (void)io::read_safetensors(tmp / "empty"); }, errc::io, {"no model.safetensors"}, "empty dir");
  spit(tmp / "empty/a.safetensors", valid_st());
  spit(tmp / "empty/b.safetensors", valid_st());
  expect_error([&] { (void)io::read_safetensors(tmp / "empty"); }, errc::io, {"2 .safetensors files"}, "two files");
}

TEST_CASE("bad input: GGUF header fields") {
  gguf_spec s = valid_gguf_spec();
  expect_error([] { gguf_parse(""); }, errc::format, {"bad.gguf", "not a GGUF file"}, "empty");
  s.magic = "GGML";
  gguf_expect(s, errc::format, {"not a GGUF file", "GGML"}, "bad magic");
  s = valid_gguf_spec();
  s.version = 1;
  gguf_expect(s, errc::unsupported, {"version 1"}, "v1");
  s.version = 0x03000000;
  gguf_expect(s, errc::unsupported, {"big-endian"}, "big-endian v3");
  s.version = 7;
  gguf_expect(s, errc::format, {"unknown GGUF version 7"}, "v7");
  s.version = 2;  // same layout as v3: accepted
  CHECK_NOTHROW(gguf_parse(build(s)));

  s = valid_gguf_spec();
  s.n_kv = std::uint64_t{1} << 60;
  gguf_expect(s, errc::format, {"metadata count 1152921504606846976 cannot fit"}, "huge kv count");
  s = valid_gguf_spec();
  s.n_tensors = ~std::uint64_t{0};
  gguf_expect(s, errc::format, {"tensor count", "cannot fit"}, "huge tensor count");
  s = valid_gguf_spec();
  s.n_kv = 5;  // more entries claimed than present: runs into the tensor infos and fails
  CHECK_THROWS_AS(gguf_parse(build(s)), error);

  s = valid_gguf_spec();
  s.kvs.push_back({"x.bad", 13, ""});
  gguf_expect(s, errc::format, {"'x.bad'", "unknown value type 13"}, "bad value type");
  s = valid_gguf_spec();
  s.kvs.push_back({"x.arr", 9, enc_u32(99) + std::string(8, '\0')});
  gguf_expect(s, errc::format, {"'x.arr'", "unknown array element type 99"}, "bad array type");
  {
    s = valid_gguf_spec();
    std::string p = enc_u32(4);
    put_le<std::uint64_t>(p, std::uint64_t{1} << 61);
    s.kvs.push_back({"x.arr", 9, p});
    gguf_expect(s, errc::format, {"'x.arr'", "array of 2305843009213693952 u32 elements cannot fit"}, "huge array");
    s = valid_gguf_spec();
    p = enc_u32(8);
    put_le<std::uint64_t>(p, 1000000);
    s.kvs.push_back({"x.strs", 9, p});
    gguf_expect(s, errc::format, {"'x.strs'", "cannot fit"}, "huge string array");
  }
  {
    s = valid_gguf_spec();
    std::string p;
    put_le<std::uint64_t>(p, std::uint64_t{1} << 50);
    s.kvs.push_back({"x.s", 8, p + "abc"});
    gguf_expect(s, errc::format, {"'x.s'", "string length 1125899906842624 runs past"}, "huge string length");
  }
  s = valid_gguf_spec();
  s.kvs.push_back({"x.b", 7, std::string(1, '\2')});
  gguf_expect(s, errc::format, {"'x.b'", "bool value 2"}, "bool 2");
  s = valid_gguf_spec();
  s.kvs.push_back({"general.architecture", 8, enc_str("again")});
  gguf_expect(s, errc::format, {"duplicate metadata key 'general.architecture'"}, "duplicate key");
  s = valid_gguf_spec();
  s.kvs.push_back({"", 4, enc_u32(1)});
  gguf_expect(s, errc::format, {"has length 0"}, "empty key");
  s = valid_gguf_spec();
  s.kvs.push_back({"k\xff", 4, enc_u32(1)});
  gguf_expect(s, errc::format, {"not valid UTF-8"}, "non-UTF-8 key");
  {
    std::string nested;  // 20 levels of array-of-array
    for (int i = 0; i < 20; ++i) {
      nested += enc_u32(9);
      put_le<std::uint64_t>(nested, 1);
    }
    nested += enc_u32(0);
    put_le<std::uint64_t>(nested, 0);
    s = valid_gguf_spec();
    s.kvs.push_back({"x.deep", 9, nested});
    gguf_expect(s, errc::format, {"'x.deep'", "nested deeper"}, "deep nesting");
  }
  s = valid_gguf_spec();
  s.kvs.push_back({"general.alignment", 5, enc_u32(32)});
  gguf_expect(s, errc::format, {"general.alignment must be u32", "i32"}, "alignment type");
  s = valid_gguf_spec();
  s.kvs.push_back({"general.alignment", 4, enc_u32(48)});
  gguf_expect(s, errc::format, {"48 is not a power of two"}, "alignment 48");
  s.kvs.back().payload = enc_u32(0);
  gguf_expect(s, errc::format, {"general.alignment 0"}, "alignment 0");
}

TEST_CASE("bad input: GGUF tensor infos and data") {
  gguf_spec s = valid_gguf_spec();
  s.tensors[0].ne = {32, 2, 1, 1, 1};
  gguf_expect(s, errc::format, {"'a'", "n_dims 5"}, "5 dims");
  s = valid_gguf_spec();
  s.tensors[0].type = 200;
  gguf_expect(s, errc::format, {"'a'", "unknown ggml type id 200"}, "type 200");
  s.tensors[0].type = 4;  // Q4_2, removed from ggml
  gguf_expect(s, errc::format, {"unknown ggml type id 4"}, "removed type");
  s = valid_gguf_spec();
  s.tensors[1].type = 12;  // Q4_K
  gguf_expect(s, errc::unsupported, {"bad.gguf", "'b'", "Q4_K"}, "unsupported quantisation");
  s = valid_gguf_spec();
  s.tensors[1].ne = {16};
  gguf_expect(s, errc::format, {"'b'", "ne0 = 16", "Q8_0 block size 32"}, "partial Q8_0 block");
  s = valid_gguf_spec();
  s.tensors[0].ne = {std::uint64_t{1} << 32, std::uint64_t{1} << 33};
  gguf_expect(s, errc::format, {"'a'", "overflows"}, "overflowing dims");
  s.tensors[0].ne = {std::uint64_t{1} << 63};
  gguf_expect(s, errc::format, {"absurd dimension"}, "negative int64 dim");
  s.tensors[0].ne = {std::uint64_t{1} << 40};
  gguf_expect(s, errc::format, {"'a'", "runs past the end of the data section"}, "4 TB tensor");
  s = valid_gguf_spec();
  s.tensors[1].offset = 250;
  gguf_expect(s, errc::format, {"'b'", "offset 250 is not a multiple of the alignment 32"}, "misaligned");
  s.tensors[1].offset = 224;
  gguf_expect(s, errc::format, {"overlaps"}, "overlap");
  s.tensors[1].offset = 320;
  gguf_expect(s, errc::format, {"'b'", "runs past"}, "offset past EOF");
  s.tensors[1].offset = ~std::uint64_t{0} - 31;
  gguf_expect(s, errc::format, {"runs past"}, "offset near 2^64");
  s = valid_gguf_spec();
  s.tensors[1].name = "a";
  gguf_expect(s, errc::format, {"duplicate tensor 'a'"}, "duplicate tensor");
  s.tensors[1].name = std::string(64, 'x');
  gguf_expect(s, errc::format, {"has length 64"}, "long name");
  s.tensors[1].name = "";
  gguf_expect(s, errc::format, {"has length 0"}, "empty name");
  s = valid_gguf_spec();
  s.data_bytes = 100;
  gguf_expect(s, errc::format, {"'a'", "runs past the end of the data section (100 bytes"}, "truncated data");
  s.data_bytes = 0;
  s.kvs.push_back({"pad", 8, enc_str("1234567")});  // header ends unaligned, no data section at all
  CHECK_THROWS_AS(gguf_parse(build(s)), error);
}

TEST_CASE("bad input: GGUF truncated at every offset, and a golden file's header") {
  const std::string f = build(valid_gguf_spec());
  const std::size_t data_end = f.size() - 320 + 290;  // the last tensor ends 30 bytes before the final padding
  for (std::size_t n = 0; n < data_end; ++n) {
    expect_error([&] { gguf_parse(std::string_view(f).substr(0, n)); }, errc::format, {"bad.gguf"},
                 "truncated at " + std::to_string(n));
  }
  for (std::size_t n = data_end; n <= f.size(); ++n) {  // the trailing padding is optional
    CHECK_NOTHROW(gguf_parse(std::string_view(f).substr(0, n)));
  }
  const std::string g = slurp(golden_dir + "/e2b-like/model-q8_0.gguf");
  const auto full = as_bytes(g);
  const std::size_t header_end = io::parse_gguf(full, nullptr, "g").data_offset;
  std::size_t n_err = 0;
  for (std::size_t n = 0; n < g.size(); n += (n < header_end ? 13 : 8191)) {
    n_err += parses([&] { gguf_parse(std::string_view(g).substr(0, n)); }) ? 0u : 1u;
  }
  CHECK(n_err > header_end / 13);
  CHECK_FALSE(parses([&] { gguf_parse(std::string_view(g).substr(0, g.size() - 33)); }));
}

TEST_CASE("bad input: random corruption of GGUF headers never crashes") {
  const std::string g = slurp(golden_dir + "/moe-like/model-q8_0.gguf");
  const auto full = as_bytes(g);
  const std::size_t header_end = io::parse_gguf(full, nullptr, "g").data_offset;
  std::mt19937_64 rng(777);
  int ok = 0;
  int rejected = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::string m = g;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      // aim at the counts, lengths and type fields as often as at random bytes
      const std::size_t at = iter % 2 ? rng() % header_end : rng() % std::min<std::size_t>(header_end, 64);
      m[at] = static_cast<char>(rng() & 0xff);
    }
    io::gguf_read_options opt;
    opt.allow_unsupported_types = iter % 3 == 0;
    (parses([&] { gguf_parse(m, opt); }) ? ok : rejected)++;
  }
  CHECK(rejected > 50);
  MESSAGE("random GGUF header corruption: " << rejected << " rejected, " << ok << " still valid");
}

}  // namespace ut_bad_input_test
