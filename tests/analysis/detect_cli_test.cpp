// `scalpel detect` and `scalpel probes`, run as a process: JSON reports, input forms, thresholds, exit codes.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../support/cli_runner.hpp"

namespace ut_detect_cli_test {  // one namespace per file: unity builds put several test files in one TU

namespace fs = std::filesystem;

namespace {
struct result {
  int status = -1;
  std::string out;
  std::string err;
};

fs::path temp_dir() {
  static const fs::path d = [] {
    auto p = fs::temp_directory_path() / ("scalpel-detect-cli-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::string quote(const std::string& s) { return scalpel_test::shell_quote(s); }

// Runs `scalpel <args>`; stdout is captured, stderr separately.
result run(const std::string& args) {
  const auto r = scalpel_test::run_scalpel(args);
  return {r.status, r.out, r.err};
}

fs::path write(const std::string& name, const std::string& content) {
  const fs::path p = temp_dir() / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
}  // namespace

TEST_CASE("scalpel detect --text: a loop and a clean answer, exit 0 both times") {
  const result loop = run("detect --json --text " + quote("Sure! " + repeat("The answer is 42. ", 20)));
  REQUIRE(loop.status == 0);
  const auto j = nlohmann::json::parse(loop.out);
  CHECK(j["looping"] == true);
  CHECK(j["phenotype"] == "char_repeat");
  CHECK(j["onset_token"].get<int>() >= 0);
  CHECK(j["repeats"].get<int>() >= 4);
  CHECK(j["outcome"] == "token_loop");
  for (const char* k : {"looping", "phenotype", "onset_token", "period_tokens", "repeats", "detail"})
    CHECK(j.contains(k));

  const result clean = run("detect --json --text " + quote("Helium, neon, argon, krypton, xenon and radon."));
  REQUIRE(clean.status == 0);
  const auto c = nlohmann::json::parse(clean.out);
  CHECK(c["looping"] == false);
  CHECK(c["phenotype"] == "none");
  CHECK(c["onset_token"] == -1);

  const result human = run("detect --text " + quote(repeat("ha ", 50)));
  CHECK(human.status == 0);
  CHECK(human.out.find("loop: ") == 0);
  CHECK(human.out.find("outcome: token_loop") != std::string::npos);
}

TEST_CASE("scalpel detect --ids: token-level detection on ids") {
  std::string ids = "2,5,6";
  for (int i = 0; i < 40; ++i) ids += ",9,10";
  const result r = run("detect --json --ids " + ids);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["phenotype"] == "token_period");
  CHECK(j["onset_token"] == 3);
  CHECK(j["period_tokens"] == 2);
  CHECK(j["tokens"] == 83);
}

TEST_CASE("scalpel detect --file: text, a JSON record, and JSONL") {
  const fs::path text = write(
      "list.txt", "Here:\n" + [] {
        std::string s;
        for (int i = 1; i <= 30; ++i)
          s += std::to_string(i) + ". " + (i > 8 ? "Canis Major" : "Star " + std::to_string(i)) + "\n";
        return s;
      }());
  const result a = run("detect --json --file " + quote(text.string()));
  REQUIRE(a.status == 0);
  CHECK(nlohmann::json::parse(a.out)["phenotype"] == "list_collapse");

  nlohmann::json rec{{"ids", {100, 45518, 107, 3000, 3001, 3002}},
                     {"pieces", {"<|channel>", "thought", "\n", "Wait", ",", " hmm"}},
                     {"stop_reason", "max_tokens"}};
  const fs::path json = write("rec.json", rec.dump());
  const result b = run("detect --json --file " + quote(json.string()));
  REQUIRE(b.status == 0);
  const auto jb = nlohmann::json::parse(b.out);
  CHECK(jb["phenotype"] == "doom_loop");
  CHECK(jb["stop_reason"] == "max_tokens");
  CHECK(jb["thinking"]["markers"] == 2);
  const result b2 = run("detect --json --stop-reason eos --file " + quote(json.string()));
  CHECK(nlohmann::json::parse(b2.out)["looping"] == false);

  const std::string jsonl = nlohmann::json{{"text", repeat("no ", 40)}}.dump() + "\n\n" +
                            nlohmann::json{{"text", "fine"}, {"stop_reason", "eos"}}.dump() + "\n" +
                            nlohmann::json{{"ids", {1, 2, 3}}, {"text", "a b c"}, {"other", 5}}.dump() + "\n";
  const result c = run("detect --json --file " + quote(write("run.jsonl", jsonl).string()));
  REQUIRE(c.status == 0);
  std::istringstream lines(c.out);
  std::vector<nlohmann::json> reports;
  for (std::string l; std::getline(lines, l);) reports.push_back(nlohmann::json::parse(l));
  REQUIRE(reports.size() == 3);
  CHECK(reports[0]["looping"] == true);
  CHECK(reports[1]["outcome"] == "natural_end");
  CHECK(reports[2]["tokens"] == 3);

  const result d = run("detect --json --file " + quote(write("brace.txt", "{ not json\nline two\n").string()));
  CHECK(d.status == 0);  // a text file that happens to start with '{'
}

TEST_CASE("scalpel detect: threshold overrides and disabled detectors") {
  const std::string text = quote("x " + repeat("go on ", 12));  // 24 tokens of period 2: below the default 30
  CHECK(nlohmann::json::parse(run("detect --json --disable char_repeat --text " + text).out)["looping"] == false);
  const auto j =
      nlohmann::json::parse(run("detect --json --disable char_repeat --period-min-run 10 --text " + text).out);
  CHECK(j["phenotype"] == "token_period");
  const std::string loop = quote(repeat("Canis Major. ", 30));
  CHECK(nlohmann::json::parse(
            run("detect --json --disable token_period,char_repeat,ngram --text " + loop).out)["looping"] == false);
}

TEST_CASE("scalpel detect --probe: the answer is scored against the gold list") {
  const result r = run("detect --json --probe noble_gases --text " + quote("1. Helium\n2. Neon\n3. Argon\n4. Neon\n"));
  REQUIRE(r.status == 0);
  const auto s = nlohmann::json::parse(r.out)["list_score"];
  CHECK(s["probe"] == "noble_gases");
  CHECK(s["items"] == 4);
  CHECK(s["coverage"] == doctest::Approx(0.5));
  CHECK(s["duplicates"] == 1);
  CHECK(s["first_duplicate"] == 3);
  const result h = run("detect --probe noble_gases --text " + quote("Helium, neon, argon"));
  CHECK(h.out.find("list: 3 items, coverage 0.500") != std::string::npos);
}

TEST_CASE("scalpel detect: usage errors exit 2, bad input exits 1 naming the problem") {
  CHECK(run("detect").status == 2);
  CHECK(run("detect --text a --ids 1").status == 2);
  CHECK(run("detect --text a --bogus").status == 2);
  CHECK(run("detect --text a --disable everything").status == 2);
  CHECK(run("detect --text a --list-min-share 1.5").status == 2);
  CHECK(run("detect --ids 1,x").status == 2);
  const result missing = run("detect --file /nonexistent/scalpel.txt");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("/nonexistent/scalpel.txt") != std::string::npos);
  const result bad = run("detect --file " + quote(write("bad.json", R"({"ids": [1, -4]})").string()));
  CHECK(bad.status == 1);
  CHECK(bad.err.find("ids[1]") != std::string::npos);
  const result nothing = run("detect --file " + quote(write("empty.json", R"({"stop_reason": "eos"})").string()));
  CHECK(nothing.status == 1);
  CHECK(nothing.err.find("neither") != std::string::npos);
  const result pieces = run("detect --file " + quote(write("p.json", R"({"ids": [1, 2], "pieces": ["a"]})").string()));
  CHECK(pieces.status == 1);
  const result jsonl = run("detect --file " + quote(write("bad.jsonl", "{\"text\": \"a\"}\n{oops\n").string()));
  CHECK(jsonl.status == 1);
  CHECK(jsonl.err.find(":2") != std::string::npos);
  const result probe = run("detect --probe nope --text a");
  CHECK(probe.status == 1);
  CHECK(probe.err.find("no probe 'nope'") != std::string::npos);
}

TEST_CASE("scalpel probes: listing, dump, user files") {
  const result list = run("probes --json");
  REQUIRE(list.status == 0);
  const auto j = nlohmann::json::parse(list.out);
  CHECK(j["probes"].size() == 13);
  CHECK(j["probes"][0]["id"] == "noble_gases");
  const result dump = run("probes --dump");
  REQUIRE(dump.status == 0);
  const fs::path f = write("dump.json", dump.out);
  const result again = run("probes --json --file " + quote(f.string()));
  REQUIRE(again.status == 0);
  CHECK(nlohmann::json::parse(again.out)["probes"].size() == 13);
  const result text = run("probes");
  CHECK(text.status == 0);
  CHECK(text.out.find("pokemon_gen1") != std::string::npos);
  const result bad =
      run("probes --file " + quote(write("bad-probes.json", R"({"format": "x", "probes": []})").string()));
  CHECK(bad.status == 1);
  CHECK(bad.err.find("format") != std::string::npos);
}

}  // namespace ut_detect_cli_test
