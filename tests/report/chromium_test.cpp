// The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/install-deps) renders
// it with every network request sent to a dead proxy, takes a 1200x3000 screenshot and dumps the DOM after the
// report's inline self-check ran. The self-check counts the charts and bars that were laid out with a non-zero size,
// load errors and fetched resources; a control page with a missing chart and an external image proves that the
// check fails when it should.
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>

#include <doctest/doctest.h>

#include "../support/cli_runner.hpp"
#include "fixture.hpp"
#include "scalpel/analysis/report/surgery_report.hpp"

namespace ut_chromium_test {  // one namespace per file: unity builds put several test files in one TU

namespace fs = std::filesystem;
using scalpel_test::shell_quote;

namespace {

/// The chromium found at configure time (find_program), else one on PATH now; "" when there is none.
std::string chromium_path() {
  const std::string configured = SCALPEL_CHROMIUM;
  if (!configured.empty() && configured.find("NOTFOUND") == std::string::npos && fs::exists(configured))
    return configured;
  for (const char* name : {"chromium", "chromium-browser"}) {
    const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return {};
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

struct rendered {
  int status = -1;
  std::string dom;  ///< the DOM after load (stdout of --dump-dom)
  std::string log;  ///< chromium's stderr
};

/// Render `page` headless: screenshot to `png` (when not empty) and the DOM after the load event.
rendered render(const std::string& chromium, const fs::path& work, const fs::path& page, const fs::path& png) {
  const fs::path dom = work / (page.stem().string() + ".dom.html"), log = work / (page.stem().string() + ".log");
  std::string cmd = "timeout 120 " + shell_quote(chromium) +
                    " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                    " --no-default-browser-check --disable-extensions --disable-sync --mute-audio"
                    " --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>'"
                    " --user-data-dir=" +
                    shell_quote((work / "profile").string()) + " --window-size=1200,3000";
  if (!png.empty()) cmd += " --screenshot=" + shell_quote(png.string());
  cmd += " --dump-dom " + shell_quote("file://" + fs::absolute(page).string()) + " >" + shell_quote(dom.string()) +
         " 2>" + shell_quote(log.string());
  const int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(dom), slurp(log)};
}

/// The `data-*` attributes of the dumped `<html>` element.
std::map<std::string, std::string> html_data(const std::string& dom) {
  std::map<std::string, std::string> out;
  const auto start = dom.find("<html");
  if (start == std::string::npos) return out;
  const std::string tag = dom.substr(start, dom.find('>', start) - start);
  const std::regex attr("data-([a-z-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(tag.begin(), tag.end(), attr); it != std::sregex_iterator(); ++it)
    out[(*it)[1].str()] = (*it)[2].str();
  return out;
}

/// Width and height from a PNG's IHDR chunk; {0, 0} if the file is not a PNG.
std::pair<std::uint32_t, std::uint32_t> png_size(const std::string& bytes) {
  static const std::string sig("\x89PNG\r\n\x1a\n", 8);
  if (bytes.size() < 24 || bytes.compare(0, 8, sig) != 0 || bytes.compare(12, 4, "IHDR") != 0) return {0, 0};
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("report in headless Chromium: charts laid out, nothing failed to load, screenshot not blank") {
  const std::string chromium = chromium_path();
  REQUIRE_MESSAGE(!chromium.empty(),
                  "chromium is not installed: run .ci/install-deps (Debian package 'chromium'), then re-run cmake");
  const auto work = scalpel_test::temp_dir("report-chromium");
  const auto dir = work / "run";
  report_fixture::write_full(dir);
  const auto files = scalpel::analysis::write_surgery_report(dir, dir / "report.html", {});
  const std::string html = slurp(files.html);

  // The report: six charts, each with every bar laid out; no error, no resource fetched.
  const auto r = render(chromium, work, files.html, work / "report.png");
  INFO("chromium log: " << r.log.substr(0, 4000));
  REQUIRE(r.status == 0);
  auto data = html_data(r.dom);
  CHECK(data["report"] == "scalpel.surgery-report/1");
  CHECK(data["self-check"] == "complete");
  CHECK(data["charts-expected"] == "6");
  CHECK(data["charts-rendered"] == "6");
  CHECK(data["bars-ok"] == "6");
  CHECK(data["errors"] == "0");
  CHECK(data["error-list"] == "");
  CHECK(data["resources"] == "0");

  // The screenshot: a PNG of the requested size, far larger than the same-size render of an empty page.
  const std::string png = slurp(work / "report.png");
  CHECK(png_size(png) == std::make_pair(std::uint32_t{1200}, std::uint32_t{3000}));
  const fs::path blank_page = work / "blank.html";
  report_fixture::write_text(blank_page,
                             "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>");
  const auto b = render(chromium, work, blank_page, work / "blank.png");
  REQUIRE(b.status == 0);
  const std::string blank_png = slurp(work / "blank.png");
  CHECK(png_size(blank_png) == std::make_pair(std::uint32_t{1200}, std::uint32_t{3000}));
  CHECK(png.size() > 3 * blank_png.size());

  // Control: the same report with one chart's bars removed and an external image must fail the self-check.
  std::string broken = html;
  const auto sweep = broken.find("<svg class=\"chart\" data-chart=\"sweep\"");
  REQUIRE(sweep != std::string::npos);
  const auto bars_at = broken.find("<g class=\"bars\">", sweep);
  broken.erase(bars_at, broken.find("</g>", bars_at) + 4 - bars_at);
  broken.replace(broken.find("<body>"), 6, "<body><img alt=\"x\" src=\"http://198.51.100.7/pixel.png\">");
  const fs::path broken_page = work / "broken.html";
  report_fixture::write_text(broken_page, broken);
  const auto c = render(chromium, work, broken_page, {});
  REQUIRE(c.status == 0);
  auto cd = html_data(c.dom);
  CHECK(cd["charts-expected"] == "6");
  CHECK(cd["bars-ok"] == "5");
  CHECK(cd["errors"] != "0");
  CHECK(cd["resources"] != "0");
  fs::remove_all(work);
}

}  // namespace ut_chromium_test
