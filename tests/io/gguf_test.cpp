// GGUF reader/writer: metadata API, value types, nested arrays, writer options, unsupported types,
// atomic writes and the refusal to overwrite an input.

#include "scalpel/io/gguf.hpp"

#include <cstring>
#include <string>

#include <doctest/doctest.h>

#include "io_test_util.hpp"
#include "scalpel/tensor/tensor.hpp"

namespace ut_gguf_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace io_test;

namespace {

io::gguf_metadata every_type_metadata() {
  io::gguf_metadata md;
  md.set("general.architecture", "gemma4");
  md.set("t.u8", std::uint8_t{200});
  md.set("t.i8", std::int8_t{-100});
  md.set("t.u16", std::uint16_t{60000});
  md.set("t.i16", std::int16_t{-30000});
  md.set("t.u32", std::uint32_t{4000000000u});
  md.set("t.i32", std::int32_t{-2000000000});
  md.set("t.f32", 1.5f);
  md.set("t.bool", true);
  md.set("t.string", "héllo");
  md.set("t.u64", std::uint64_t{1} << 40);
  md.set("t.i64", std::int64_t{-(std::int64_t{1} << 40)});
  md.set("t.f64", 2.25);
  md.set("t.arr_i32", std::vector<std::int32_t>{1, -2, 3});
  md.set("t.arr_bool", std::vector<bool>{true, false, true});
  md.set("t.arr_str", std::vector<std::string>{"a", "", "ccc"});
  md.set("t.arr_empty", std::vector<float>{});
  md.set("t.nested", std::vector<io::gguf_array>{io::gguf_array(std::vector<std::uint8_t>{1, 2}),
                                                 io::gguf_array(std::vector<std::uint8_t>{3})});
  return md;
}

io::tensor_set small_tensors() {
  io::tensor_set ts;
  tensor<f32, 2> a(extents_t<2>{3, 5});
  for (std::size_t i = 0; i < 15; ++i) a.data()[i] = static_cast<float>(i);
  ts.add(any_tensor::from("a.weight", std::move(a)));
  tensor<bf16, 1> b(extents_t<1>{7});
  for (std::size_t i = 0; i < 7; ++i) b.data()[i] = to_bf16(static_cast<float>(i) * 0.5f);
  ts.add(any_tensor::from("b.weight", std::move(b)));
  tensor<q8_0, 2> q(extents_t<2>{2, 64});
  q.data()[3].qs[5] = 42;
  q.data()[3].d = to_f16(0.25f);
  ts.add(any_tensor::from("q.weight", std::move(q)));
  tensor<f16, 3> h(extents_t<3>{2, 1, 3});
  h.data()[5] = to_f16(-3.0f);
  ts.add(any_tensor::from("h.weight", std::move(h)));
  return ts;
}

}  // namespace

TEST_CASE("gguf: every metadata type and nested arrays round-trip in insertion order") {
  temp_dir tmp("gguf-md");
  const auto md = every_type_metadata();
  const auto ts = small_tensors();
  io::write_gguf(tmp / "x.gguf", md, ts);
  const auto g = io::read_gguf(tmp / "x.gguf");
  CHECK(g.metadata == md);
  REQUIRE(g.metadata.size() == md.size());
  for (std::size_t i = 0; i < md.size(); ++i) {
    CHECK(g.metadata.entries()[i].first == md.entries()[i].first);
    CHECK(g.metadata.entries()[i].second.type() == md.entries()[i].second.type());
  }
  CHECK(g.metadata.get<std::uint8_t>("t.u8") == 200);
  CHECK(g.metadata.get<std::int64_t>("t.i64") == -(std::int64_t{1} << 40));
  CHECK(g.metadata.get_string("t.string") == "héllo");
  CHECK(g.metadata.get_array<bool>("t.arr_bool") == std::vector<bool>{true, false, true});
  CHECK(g.metadata.get_array<std::string>("t.arr_str")[2] == "ccc");
  CHECK(g.metadata.at("t.nested").type_str() == "array[array[u8; 2]; 2]");
  const auto& nested = g.metadata.get_array<io::gguf_array>("t.nested");
  CHECK(*nested[1].get_if<std::uint8_t>() == std::vector<std::uint8_t>{3});
  CHECK(g.metadata.get_integer<std::int64_t>("t.u32") == 4000000000LL);
  CHECK(g.metadata.get_integer_array<std::int64_t>("t.arr_i32") == std::vector<std::int64_t>{1, -2, 3});
  CHECK(g.metadata.get_float("t.f32") == 1.5);
  CHECK(g.metadata.get_or<std::uint32_t>("absent", 7u) == 7u);

  // tensors: framework shapes, exact bytes, ggml types
  REQUIRE(g.tensors.size() == 4);
  for (const auto& t : ts) {
    const auto& r = g.tensors.at(t.name());
    CHECK(r.shape() == t.shape());
    CHECK(r.dtype() == t.dtype());
    CHECK((r.size_bytes() == t.size_bytes() && std::memcmp(r.data(), t.data(), t.size_bytes()) == 0));
    CHECK(reinterpret_cast<std::uintptr_t>(r.data()) % 32 == 0);  // aligned in the mapping
  }
  CHECK(g.ggml_type.at("q.weight") == 8);
  CHECK(g.ggml_type.at("b.weight") == 30);
  CHECK(g.tensors.at("q.weight").as<q8_0, 2>().extent(1) == 64);
  CHECK(g.tensors.at("h.weight").as<f16, 3>()(1, 0, 2) == to_f16(-3.0f));
}

TEST_CASE("gguf metadata: typed access errors name the key, the expected and the actual type") {
  auto md = every_type_metadata();
  md.set_source("m.gguf");
  expect_error([&] { (void)md.get<std::int32_t>("t.u32"); }, errc::format,
               {"m.gguf", "'t.u32'", "expected i32", "found u32", "4000000000"});
  expect_error([&] { (void)md.get_string("missing.key"); }, errc::format, {"'missing.key'", "missing"});
  expect_error([&] { (void)md.get_array<std::uint32_t>("t.arr_i32"); }, errc::format,
               {"'t.arr_i32'", "array[u32]", "array[i32; 3]"});
  expect_error([&] { (void)md.get_integer<std::uint8_t>("t.u16"); }, errc::format, {"fits uint8", "60000"});
  expect_error([&] { (void)md.get_integer<std::uint32_t>("t.i8"); }, errc::format, {"'t.i8'"});
  expect_error([&] { (void)md.get_integer_array<std::uint32_t>("t.arr_i32"); }, errc::format, {"'t.arr_i32'"});
  expect_error([&] { (void)md.get_float("t.string"); }, errc::format, {"f32 or f64", "héllo"});
  // set keeps positions; erase removes
  const std::string first = md.entries()[1].first;
  md.set(first, std::uint8_t{1});
  CHECK(md.entries()[1].first == first);
  CHECK(md.erase("t.u8"));
  CHECK_FALSE(md.contains("t.u8"));
  CHECK(md.get<std::int8_t>("t.i8") == -100);
  CHECK_FALSE(md.erase("t.u8"));
}

TEST_CASE("gguf writer: alignment option, rank 0, and validation") {
  temp_dir tmp("gguf-w");
  io::gguf_metadata md;
  md.set("general.architecture", "x");
  io::gguf_write_options opt;
  opt.alignment = 64;
  io::write_gguf(tmp / "a64.gguf", md, small_tensors(), opt);
  const auto g = io::read_gguf(tmp / "a64.gguf");
  CHECK(g.alignment == 64);
  CHECK(g.metadata.get<std::uint32_t>("general.alignment") == 64);
  CHECK(g.data_offset % 64 == 0);
  for (const auto& t : g.tensors) CHECK(static_cast<std::size_t>(t.data() - g.tensors.tensors()[0].data()) % 64 == 0);
  // alignment 1: tensors land at odd offsets; records are copied into aligned storage, values intact
  opt.alignment = 1;
  const auto ts = small_tensors();
  io::write_gguf(tmp / "a1.gguf", md, ts, opt);
  const auto g1 = io::read_gguf(tmp / "a1.gguf");
  CHECK(g1.alignment == 1);
  for (const auto& t : ts) {
    const auto& r = g1.tensors.at(t.name());
    CHECK(reinterpret_cast<std::uintptr_t>(r.data()) % 2 == 0);
    CHECK(std::memcmp(r.data(), t.data(), t.size_bytes()) == 0);
  }
  CHECK(g1.tensors.at("a.weight").as<f32, 2>()(2, 4) == 14.0f);
  // alignment that disagrees with the metadata
  opt.alignment = 16;
  expect_error([&] { io::write_gguf(tmp / "bad.gguf", g.metadata, g.tensors, opt); }, errc::invalid_argument,
               {"disagrees"});
  opt.alignment = 48;
  expect_error([&] { io::write_gguf(tmp / "bad.gguf", md, g.tensors, opt); }, errc::invalid_argument, {"power of two"});
  // names longer than ggml allows, rank > 4, U8 records, sizes that disagree with shapes
  io::tensor_set long_name;
  long_name.add(any_tensor::from(std::string(64, 'n'), tensor<f32, 1>(extents_t<1>{1})));
  expect_error([&] { io::write_gguf(tmp / "bad.gguf", md, long_name); }, errc::invalid_argument, {"name length 64"});
  io::tensor_set u8;
  static const std::byte one[1]{};
  u8.add(any_tensor("u", dtype_id::u8, make_shape({1}), one, 1, nullptr));
  expect_error([&] { io::write_gguf(tmp / "bad.gguf", md, u8); }, errc::invalid_argument, {"'u'", "no ggml type"});
  io::tensor_set lie;
  lie.add(any_tensor("l", dtype_id::f32, make_shape({4}), one, 1, nullptr));
  expect_error([&] { io::write_gguf(tmp / "bad.gguf", md, lie); }, errc::invalid_argument, {"'l'", "16 bytes"});
  CHECK_FALSE(std::filesystem::exists(tmp / "bad.gguf"));
  // a rank-0 record is written with n_dims 0 and read back as rank 0
  io::tensor_set scalar;
  static const float pi = 3.25f;
  scalar.add(any_tensor("s", dtype_id::f32, shape_t{}, reinterpret_cast<const std::byte*>(&pi), 4, nullptr));
  io::write_gguf(tmp / "s.gguf", md, scalar);
  const auto s = io::read_gguf(tmp / "s.gguf");
  CHECK(s.tensors.at("s").rank() == 0);
  CHECK(s.tensors.at("s").numel() == 1);
  // no tensors at all
  io::write_gguf(tmp / "none.gguf", md, {});
  CHECK(io::read_gguf(tmp / "none.gguf").tensors.empty());
}

TEST_CASE("gguf: quantisations other than Q8_0 are unsupported unless explicitly allowed") {
  temp_dir tmp("gguf-q4k");
  // a Q4_K tensor [1, 256] = one 144-byte super-block, written through the ggml_type option
  io::tensor_set ts;
  std::vector<std::byte> blob(144, std::byte{7});
  auto keep = std::make_shared<std::vector<std::byte>>(blob);
  ts.add(any_tensor("blk.0.attn_q.weight", dtype_id::other, make_shape({1, 256}), keep->data(), 144, keep));
  io::gguf_write_options wo;
  wo.ggml_type["blk.0.attn_q.weight"] = 12;
  io::gguf_metadata md;
  md.set("general.architecture", "gemma4");
  io::write_gguf(tmp / "q4k.gguf", md, ts, wo);

  expect_error([&] { (void)io::read_gguf(tmp / "q4k.gguf"); }, errc::unsupported,
               {"q4k.gguf", "blk.0.attn_q.weight", "Q4_K", "(12)", "F32, F16, BF16, Q8_0"});
  io::gguf_read_options ro;
  ro.allow_unsupported_types = true;
  const auto g = io::read_gguf(tmp / "q4k.gguf", ro);
  const auto& t = g.tensors.at("blk.0.attn_q.weight");
  CHECK(t.dtype() == dtype_id::other);
  CHECK(t.size_bytes() == 144);
  CHECK(g.ggml_type.at("blk.0.attn_q.weight") == 12);
  CHECK(io::ggml_type_name(g.ggml_type.at("blk.0.attn_q.weight")) == "Q4_K");
  expect_error([&] { (void)t.as<bf16, 2>(); }, errc::dtype_mismatch, {"blk.0.attn_q.weight"});
  // and it round-trips byte for byte with `like`
  io::write_gguf(tmp / "again.gguf", g.metadata, g.tensors, io::gguf_write_options::like(g));
  CHECK(slurp(tmp / "again.gguf") == slurp(tmp / "q4k.gguf"));
  // without the type map the writer cannot know the type
  expect_error([&] { io::write_gguf(tmp / "x.gguf", g.metadata, g.tensors); }, errc::invalid_argument,
               {"no ggml type"});
}

TEST_CASE("gguf writer: refuses to overwrite its input; a failed write leaves nothing behind") {
  temp_dir tmp("gguf-guard");
  const std::string in = tmp / "model.gguf";
  std::filesystem::copy(golden_dir + "/dense-like/model-bf16.gguf", in);
  const auto before = slurp(in);
  const auto g = io::read_gguf(in);
  expect_error([&] { io::write_gguf(in, g.metadata, g.tensors); }, errc::already_exists, {"refusing", in});
  std::filesystem::create_symlink(in, tmp / "link.gguf");
  expect_error([&] { io::write_gguf(tmp / "link.gguf", g.metadata, g.tensors); }, errc::already_exists, {"refusing"});
  std::filesystem::create_hard_link(in, tmp / "hard.gguf");
  expect_error([&] { io::write_gguf(tmp / "hard.gguf", g.metadata, g.tensors); }, errc::already_exists, {"refusing"});
  // owned tensors only: protected through `like` (inputs)
  expect_error([&] { io::write_gguf(in, g.metadata, small_tensors(), io::gguf_write_options::like(g)); },
               errc::already_exists, {"refusing"});
  CHECK(slurp(in) == before);
  // writing beside the input is fine
  io::write_gguf(tmp / "edited.gguf", g.metadata, g.tensors);
  CHECK(slurp(tmp / "edited.gguf") == before);

  // failure half-way: the final name never appears, the temporary file is removed
  io::gguf_write_options opt;
  int n = 0;
  opt.on_progress = [&](std::uint64_t) {
    if (++n == 10) throw std::runtime_error("simulated crash");
  };
  CHECK_THROWS_AS(io::write_gguf(tmp / "crash.gguf", g.metadata, g.tensors, opt), std::runtime_error);
  CHECK(list_dir(tmp.str()) == std::vector<std::string>{"edited.gguf", "hard.gguf", "link.gguf", "model.gguf"});
  // and an existing output is kept intact when a replacement fails
  n = 8;  // fails on the second tensor
  CHECK_THROWS_AS(io::write_gguf(tmp / "edited.gguf", g.metadata, small_tensors(), opt), std::runtime_error);
  CHECK(slurp(tmp / "edited.gguf") == before);
  opt.on_progress = nullptr;
  opt.overwrite = false;
  expect_error([&] { io::write_gguf(tmp / "edited.gguf", g.metadata, g.tensors, opt); }, errc::already_exists,
               {"exists"});
}

}  // namespace ut_gguf_test
