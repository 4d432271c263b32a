// safetensors reader and writer: records, exotic dtypes, sharding, index, metadata, atomic writes and the
// refusal to overwrite inputs.

#include "scalpel/io/safetensors.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <doctest/doctest.h>

#include "io_test_util.hpp"
#include "scalpel/io/check_finite.hpp"
#include "scalpel/io/json.hpp"
#include "scalpel/tensor/tensor.hpp"

namespace ut_safetensors_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using namespace io_test;

namespace {

/// A small owned f32 tensor with values base, base+1, ...
any_tensor owned_f32(const std::string& name, std::size_t rows, std::size_t cols, float base) {
  tensor<f32, 2> t(extents_t<2>{rows, cols});
  for (std::size_t i = 0; i < rows * cols; ++i) t.data()[i] = base + static_cast<float>(i);
  return any_tensor::from(name, std::move(t));
}

bool same_records(const io::tensor_set& a, const io::tensor_set& b) {
  if (a.size() != b.size()) return false;
  for (const auto& t : a) {
    const any_tensor* u = b.find(t.name());
    if (u == nullptr || u->dtype() != t.dtype() || !(u->shape() == t.shape()) || u->size_bytes() != t.size_bytes())
      return false;
    if (t.size_bytes() && std::memcmp(t.data(), u->data(), t.size_bytes()) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("safetensors: records are zero-copy views that keep the mapping alive") {
  temp_dir tmp("st-records");
  const std::string path = tmp / "x.safetensors";
  // F32 [2,2] then an I64 [3] and an F8 [4], all kept as records
  std::string data;
  for (float v : {1.0f, 2.0f, 3.0f, 4.0f}) put_le(data, v);
  for (std::int64_t v : {7, 8, 9}) put_le(data, v);
  data += std::string("\x01\x02\x03\x04", 4);
  spit(path, make_st(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                     R"("ids":{"dtype":"I64","shape":[3],"data_offsets":[16,40]},)"
                     R"("f8":{"dtype":"F8_E4M3","shape":[1,1,1,2,2],"data_offsets":[40,44]},)"
                     R"("__metadata__":{"format":"pt","note":"hi"}})",
                     data, /*pad=*/true));
  any_tensor a;
  {
    const auto c = io::read_safetensors(path);
    CHECK(c.directory == tmp.str());
    CHECK(c.shards == std::vector<std::string>{"x.safetensors"});
    CHECK(c.metadata.at("note") == "hi");
    REQUIRE(c.tensors.size() == 3);
    // file (offset) order
    CHECK(c.tensors.tensors()[0].name() == "a");
    CHECK(c.tensors.tensors()[1].name() == "ids");
    CHECK(c.tensors.at("ids").dtype() == dtype_id::i64);
    const auto& f8 = c.tensors.at("f8");
    CHECK(f8.dtype() == dtype_id::other);
    CHECK(f8.shape() == make_shape({1, 1, 2, 2}));  // rank 5 folded to 4
    CHECK(c.raw_info.at("f8") == io::safetensors_raw_info{"F8_E4M3", {1, 1, 1, 2, 2}});
    CHECK_FALSE(c.raw_info.contains("ids"));
    expect_error([&] { (void)c.tensors.at("ids").as<f32, 1>(); }, errc::dtype_mismatch, {"ids", "I64"});
    expect_error([&] { (void)f8.as<bf16, 4>(); }, errc::dtype_mismatch, {"f8"});
    a = c.tensors.at("a");
    CHECK(io::mapped_sources(c.tensors) == std::vector<std::string>{path});
    io::tensor_set only_a;
    only_a.add(a);
    CHECK(io::mapped_sources(only_a) == std::vector<std::string>{path});  // a view into the mapping
  }
  std::filesystem::remove(path);  // the record still holds the mapping
  CHECK(a.as<f32, 2>()(1, 1) == 4.0f);
}

TEST_CASE("safetensors: a tensor at a misaligned offset is copied into aligned storage") {
  temp_dir tmp("st-misaligned");
  std::string data("\x01\x02", 2);  // a 2-byte U8 tensor puts the F32 tensor at data offset 2
  for (float v : {1.5f, -2.0f}) put_le(data, v);
  spit(tmp / "m.safetensors", make_st(R"({"u":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                      R"("f":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})",
                                      data, /*pad=*/true));
  const auto c = io::read_safetensors(tmp / "m.safetensors");
  const auto& f = c.tensors.at("f");
  CHECK(reinterpret_cast<std::uintptr_t>(f.data()) % 4 == 0);
  CHECK(f.as<f32, 1>()(0) == 1.5f);
  CHECK(f.as<f32, 1>()(1) == -2.0f);
  // the U8 record needs no alignment and stays a view into the mapping
  io::tensor_set only_u;
  only_u.add(c.tensors.at("u"));
  CHECK(io::mapped_sources(only_u).size() == 1);
}

TEST_CASE("safetensors: exotic records round-trip through the writer with their raw dtype and shape") {
  temp_dir tmp("st-raw");
  std::string data;
  for (int v = 1; v <= 6; ++v) put_le(data, static_cast<std::uint16_t>(v));
  spit(tmp / "in.safetensors", make_st(R"({"u":{"dtype":"U16","shape":[1,1,1,2,3],"data_offsets":[0,12]}})", data));
  const auto c = io::read_safetensors(tmp / "in.safetensors");
  const auto res = io::write_safetensors(tmp / "out", c.tensors, io::safetensors_write_options::like(c));
  const auto r = io::read_safetensors(res.files[0]);
  CHECK(r.raw_info == c.raw_info);
  CHECK(same_records(r.tensors, c.tensors));
  // without the raw info the writer cannot name the dtype
  expect_error([&] { (void)io::write_safetensors(tmp / "out2", c.tensors); }, errc::invalid_argument,
               {"'u'", "raw_info"});
}

TEST_CASE("safetensors: sharded round trip with a small max shard size") {
  temp_dir tmp("st-sharded");
  const auto c = io::read_safetensors(golden_dir + "/moe-like");
  io::safetensors_write_options opt;
  opt.metadata = {{"scalpel.edit", "{\"x\": 1}"}};
  opt.max_shard_bytes = 200'000;
  const std::string out = tmp / "sharded";
  const auto res = io::write_safetensors(out, c.tensors, opt);
  REQUIRE(res.files.size() >= 4);
  const std::size_t n_shards = res.files.size() - 1;
  CHECK(res.files.back() == out + "/model.safetensors.index.json");
  CHECK(res.files.front() == out + "/model-00001-of-0000" + std::to_string(n_shards) + ".safetensors");

  // the index
  const auto j = io::read_json_file(out + "/model.safetensors.index.json");
  const io::json_field idx(j, "index");
  std::uint64_t total = 0;
  for (const auto& t : c.tensors) total += t.size_bytes();
  CHECK(idx["metadata"].value<std::uint64_t>("total_size") == total);
  CHECK(idx["weight_map"].size() == c.tensors.size());
  for (const auto& [name, shard] : res.shard_of) CHECK(idx["weight_map"].value<std::string>(name) == shard);

  // every shard respects the limit unless it holds a single bigger tensor
  std::map<std::string, std::uint64_t> shard_bytes;
  std::map<std::string, int> shard_count;
  for (const auto& t : c.tensors) {
    shard_bytes[res.shard_of.at(t.name())] += t.size_bytes();
    ++shard_count[res.shard_of.at(t.name())];
  }
  for (const auto& [s, b] : shard_bytes) CHECK((b <= opt.max_shard_bytes || shard_count[s] == 1));

  // read back: from the directory and from the index file
  for (const std::string& p : {out, out + "/model.safetensors.index.json"}) {
    const auto r = io::read_safetensors(p);
    CHECK(r.shards.size() == n_shards);
    CHECK(r.index_file == out + "/model.safetensors.index.json");
    CHECK(same_records(r.tensors, c.tensors));
    CHECK(r.metadata.at("scalpel.edit") == "{\"x\": 1}");
    CHECK(r.metadata.at("format") == "pt");
    for (std::size_t i = 0; i < r.tensors.size(); ++i)  // same order as written
      CHECK(r.tensors.tensors()[i].name() == c.tensors.tensors()[i].name());
  }

  // writing the sharded checkpoint "like" itself elsewhere reproduces every file byte for byte
  const auto r = io::read_safetensors(out);
  const std::string out2 = tmp / "again";
  const auto res2 = io::write_safetensors(out2, r.tensors, io::safetensors_write_options::like(r));
  CHECK(list_dir(out2) == list_dir(out));
  for (const auto& f : list_dir(out)) CHECK(slurp(out + "/" + f) == slurp(out2 + "/" + f));
  CHECK(res2.shard_of == res.shard_of);
}

TEST_CASE("safetensors: explicit shard assignment, mixed owned and mapped records, single-file collapse") {
  temp_dir tmp("st-assign");
  const auto c = io::read_safetensors(golden_dir + "/dense-like");
  io::tensor_set ts = c.tensors;
  ts.add(owned_f32("extra.weight", 3, 5, 0.5f));  // an added (owned) tensor
  io::safetensors_write_options opt;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    opt.shard_of[ts.tensors()[i].name()] = i % 2 ? "b.safetensors" : "a.safetensors";
  }
  const auto res = io::write_safetensors(tmp / "two", ts, opt);
  CHECK(list_dir(tmp / "two") ==
        std::vector<std::string>{"a.safetensors", "b.safetensors", "model.safetensors.index.json"});
  const auto r = io::read_safetensors(tmp / "two");
  CHECK(r.shards == std::vector<std::string>{"a.safetensors", "b.safetensors"});
  CHECK(same_records(r.tensors, ts));
  CHECK(r.tensors.at("extra.weight").as<f32, 2>()(2, 4) == 14.5f);

  // a tensor without assignment is an error, and nothing is written
  opt.shard_of.erase("extra.weight");
  expect_error([&] { (void)io::write_safetensors(tmp / "three", ts, opt); }, errc::invalid_argument,
               {"extra.weight", "shard_of"});
  CHECK_FALSE(std::filesystem::exists(tmp / "three/a.safetensors"));

  // writing a single file into a directory that held a sharded checkpoint removes the stale index
  const auto res1 = io::write_safetensors(tmp / "two", ts);
  CHECK(res1.files == std::vector<std::string>{tmp / "two/model.safetensors"});
  CHECK_FALSE(std::filesystem::exists(tmp / "two/model.safetensors.index.json"));
  CHECK(same_records(io::read_safetensors(tmp / "two").tensors, ts));
}

TEST_CASE("safetensors: the writer refuses to overwrite its inputs or write into their directory") {
  temp_dir tmp("st-guard");
  std::filesystem::copy(golden_dir + "/dense-like/model.safetensors", tmp / "model.safetensors");
  const auto before = slurp(tmp / "model.safetensors");
  const auto c = io::read_safetensors(tmp.str());
  expect_error([&] { (void)io::write_safetensors(tmp.str(), c.tensors); }, errc::already_exists,
               {"refusing", tmp.str()});
  // through a symlink and a dotted path
  std::filesystem::create_directory_symlink(tmp.path, tmp / "alias");
  expect_error([&] { (void)io::write_safetensors(tmp / "alias", c.tensors); }, errc::already_exists, {"refusing"});
  std::filesystem::create_directory(tmp / "sub");
  expect_error([&] { (void)io::write_safetensors(tmp / "sub/../alias/.", c.tensors); }, errc::already_exists,
               {"refusing"});
  CHECK(slurp(tmp / "model.safetensors") == before);

  // edited (owned) tensors only: the mapping cannot tell, the options from `like` can
  io::tensor_set owned;
  owned.add(owned_f32("w", 2, 2, 1.0f));
  expect_error([&] { (void)io::write_safetensors(tmp.str(), owned, io::safetensors_write_options::like(c)); },
               errc::already_exists, {"input checkpoint directory"});
  // overwrite = false refuses existing outputs
  io::safetensors_write_options no_over;
  no_over.overwrite = false;
  (void)io::write_safetensors(tmp / "out", owned, no_over);
  expect_error([&] { (void)io::write_safetensors(tmp / "out", owned, no_over); }, errc::already_exists, {"exists"});
  CHECK(list_dir(tmp.str()) == std::vector<std::string>{"alias", "model.safetensors", "out", "sub"});
}

TEST_CASE("safetensors: a write that fails mid-way leaves no final-named partial file") {
  temp_dir tmp("st-atomic");
  const auto c = io::read_safetensors(golden_dir + "/e2b-like");
  io::safetensors_write_options opt;
  opt.max_shard_bytes = 400'000;
  std::string failing_file;
  int calls_in_second = 0;
  opt.on_progress = [&](const std::string& path, std::uint64_t) {
    if (path.find("00002-of") != std::string::npos && ++calls_in_second == 3) {
      failing_file = path;
      throw std::runtime_error("simulated crash");
    }
  };
  const std::string out = tmp / "out";
  CHECK_THROWS_WITH_AS((void)io::write_safetensors(out, c.tensors, opt), "simulated crash", std::runtime_error);
  REQUIRE_FALSE(failing_file.empty());
  // shard 1 was finished (complete, valid); shard 2 and the index were never created; no temp files remain
  const auto files = list_dir(out);
  REQUIRE(files.size() == 1);
  CHECK(files[0].find("model-00001-of-") == 0);
  CHECK_FALSE(std::filesystem::exists(failing_file));
  CHECK(io::parse_safetensors(as_bytes(slurp(out + "/" + files[0])), nullptr, files[0]).tensors.size() > 0);

  // an error from the disk (here: the output directory vanishes after the first shard) behaves the same
  int shards_done = 0;
  opt.on_progress = [&](const std::string& path, std::uint64_t) {
    if (path.find("00002-of") != std::string::npos && shards_done++ == 0) std::filesystem::remove_all(out);
  };
  CHECK_THROWS_AS((void)io::write_safetensors(out, c.tensors, opt), error);
  CHECK_FALSE(std::filesystem::exists(out + "/model.safetensors.index.json"));
}

TEST_CASE("safetensors: writer validation") {
  temp_dir tmp("st-wval");
  io::tensor_set ts;
  ts.add(any_tensor("bad", dtype_id::f32, make_shape({2, 2}), nullptr, 0, nullptr));
  expect_error([&] { (void)io::write_safetensors(tmp / "o", ts); }, errc::invalid_argument, {"'bad'", "16 bytes"});
  io::tensor_set q;
  tensor<q8_0, 2> qt(extents_t<2>{1, 32});
  q.add(any_tensor::from("q", std::move(qt)));
  expect_error([&] { (void)io::write_safetensors(tmp / "o", q); }, errc::invalid_argument, {"Q8_0"});
  io::tensor_set m;
  m.add(owned_f32("__metadata__", 1, 1, 0));
  expect_error([&] { (void)io::write_safetensors(tmp / "o", m); }, errc::invalid_argument, {"__metadata__"});
  io::safetensors_write_options bad_name;
  bad_name.shard_of["w"] = "../escape.safetensors";
  io::tensor_set w;
  w.add(owned_f32("w", 1, 1, 0));
  expect_error([&] { (void)io::write_safetensors(tmp / "o", w, bad_name); }, errc::format, {"plain file name"});
  CHECK_FALSE(std::filesystem::exists(tmp / "escape.safetensors"));
}

TEST_CASE("safetensors: an empty tensor set writes a valid empty file") {
  temp_dir tmp("st-empty");
  (void)io::write_safetensors(tmp.str() + "/e", io::tensor_set{});
  const auto r = io::read_safetensors(tmp / "e");
  CHECK(r.tensors.empty());
  CHECK(r.metadata.at("format") == "pt");
}

TEST_CASE("check_finite: finds NaN and Inf in every float dtype") {
  tensor<f32, 2> t(extents_t<2>{2, 3});
  auto rec = any_tensor::from("w", t.clone());
  CHECK_FALSE(io::find_non_finite(rec).has_value());
  t.data()[4] = std::numeric_limits<float>::quiet_NaN();
  auto bad = any_tensor::from("w", std::move(t));
  CHECK(io::find_non_finite(bad) == std::size_t{4});
  expect_error([&] { io::require_finite(bad, "model.safetensors"); }, errc::numeric,
               {"model.safetensors", "'w'", "element 4"});
  tensor<bf16, 1> b(extents_t<1>{4});
  b.data()[2] = to_bf16(std::numeric_limits<float>::infinity());
  CHECK(io::find_non_finite(any_tensor::from("b", std::move(b))) == std::size_t{2});
  tensor<f16, 1> h(extents_t<1>{4});
  h.data()[3] = to_f16(std::numeric_limits<float>::quiet_NaN());
  CHECK(io::find_non_finite(any_tensor::from("h", std::move(h))) == std::size_t{3});
  tensor<q8_0, 2> q(extents_t<2>{1, 64});
  q.data()[1].d = to_f16(std::numeric_limits<float>::infinity());
  CHECK(io::find_non_finite(any_tensor::from("q", std::move(q))) == std::size_t{32});
  // golden weights are finite
  CHECK_NOTHROW(io::require_finite(io::read_safetensors(golden_dir + "/e2b-like").tensors));
}

}  // namespace ut_safetensors_test
