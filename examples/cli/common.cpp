#include "common.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "scalpel/simd/threads.hpp"

namespace scalpel_cli {

void apply_threads(args& a) {
  const auto n = a.get_int("threads", 0, 0, 1024);
  if (n > 0) scalpel::simd::set_num_threads(static_cast<int>(n));
}

scalpel::model::gemma4_model load_model_arg(args& a, scalpel::model::model_files* files) {
  const std::string path = a.require("model");
  return scalpel::model::load_model(path, files);
}

std::vector<std::int32_t> ids_arg(args& a, const char* name) {
  const std::string s = a.require(name);
  std::vector<std::int32_t> out;
  for (auto v : parse_int_list(s, std::string("--") + name)) {
    if (v < INT32_MIN || v > INT32_MAX)
      throw usage_error(std::string("--") + name + ": id " + std::to_string(v) + " is out of range");
    out.push_back(static_cast<std::int32_t>(v));
  }
  if (out.empty()) throw usage_error(std::string("--") + name + ": no ids given");
  return out;
}

namespace {
volatile std::sig_atomic_t g_interrupt = 0;
extern "C" void scalpel_cli_on_sigint(int) { g_interrupt = 1; }
}  // namespace

namespace interrupt {
void arm() {
  g_interrupt = 0;
  std::signal(SIGINT, scalpel_cli_on_sigint);
}
void disarm() { std::signal(SIGINT, SIG_DFL); }
bool requested() { return g_interrupt != 0; }
}  // namespace interrupt

void print_json(const nlohmann::json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) scalpel::fail(scalpel::errc::io, "cannot open '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace scalpel_cli
