#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "scalpel/core/atomic_file.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/mapped_file.hpp"
#include "scalpel/tensor/any_tensor.hpp"

namespace ut_files_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  auto p = fs::temp_directory_path() / ("scalpel-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}
std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
}  // namespace

TEST_CASE("mapped_file: maps a file read-only and outlives the loader through views") {
  const auto dir = temp_dir("mmap");
  const auto path = dir / "data.bin";
  {
    std::ofstream f(path, std::ios::binary);
    const float vals[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    f.write(reinterpret_cast<const char*>(vals), sizeof(vals));
  }
  any_tensor rec;
  {
    auto m = mapped_file::open(path.string());
    CHECK(m->size() == 16);
    rec = any_tensor("t", dtype_id::f32, make_shape({4}), m->data(), m->size(), m);
  }                  // the loader's handle is gone; the record keeps the mapping alive
  fs::remove(path);  // even the file name is gone
  CHECK(rec.as<f32, 1>()(3) == 4.0f);
  fs::remove_all(dir);
}

TEST_CASE("mapped_file: errors name the path") {
  try {
    (void)mapped_file::open("/nonexistent/scalpel/file.bin");
    FAIL("expected an error");
  } catch (const error& e) {
    CHECK(e.code() == errc::io);
    CHECK(std::string(e.what()).find("/nonexistent/scalpel/file.bin") != std::string::npos);
  }
  CHECK_THROWS_AS((void)mapped_file::open(fs::temp_directory_path().string()), error);  // a directory
  const auto dir = temp_dir("empty");
  { std::ofstream f(dir / "empty"); }
  auto m = mapped_file::open((dir / "empty").string());
  CHECK(m->size() == 0);
  fs::remove_all(dir);
}

TEST_CASE("atomic_file_writer: nothing under the final name until commit — abandon cleans up") {
  const auto dir = temp_dir("atomic");
  const auto final_path = dir / "out.bin";
  {
    std::ofstream f(final_path);
    f << "old";
  }
  {
    atomic_file_writer w(final_path.string());
    w.write("new content");
    CHECK(slurp(final_path) == "old");  // not yet visible
    CHECK(fs::exists(w.temp_path()));
  }  // destroyed without commit
  CHECK(slurp(final_path) == "old");
  std::size_t n_files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n_files;
  CHECK(n_files == 1);  // the temporary is gone

  {
    atomic_file_writer w(final_path.string());
    w.write("new ");
    w.write_zeros(3);
    w.write("end");
    w.commit();
    CHECK_THROWS_AS(w.commit(), error);
  }
  CHECK(slurp(final_path) == std::string("new \0\0\0end", 10));
  write_file_atomic((dir / "x.txt").string(), "hello");
  CHECK(slurp(dir / "x.txt") == "hello");
  CHECK_THROWS_AS(write_file_atomic("/nonexistent-dir/x.txt", "x"), error);
  fs::remove_all(dir);
}

TEST_CASE("error: stable ids in messages") {
  const error e(errc::plan, "layer 40 is out of range (model has 35 layers)");
  CHECK(std::string(e.what()) == "[scalpel.plan] layer 40 is out of range (model has 35 layers)");
  CHECK(e.code() == errc::plan);
  CHECK_THROWS_AS(fail(errc::io, "x"), error);
}

}  // namespace ut_files_test
