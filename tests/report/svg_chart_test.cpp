// Inline SVG charts: bars from a zero line for signed values, series and highlights, whiskers, axis ticks,
// escaping, and determinism.
#include "scalpel/analysis/report/svg_chart.hpp"

#include <cmath>
#include <limits>
#include <string>

#include <doctest/doctest.h>

namespace ut_svg_chart_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;

namespace {
std::size_t count_of(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}
}  // namespace

TEST_CASE("svg chart: escaping and number formatting") {
  CHECK(an::html_escape("<a href='x'>&\"</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  CHECK(an::format_number(-0.0) == "0");
  CHECK(an::format_number(1.23456789) == "1.235");
  CHECK(an::format_number(std::numeric_limits<double>::quiet_NaN()) == "n/a");
  CHECK(an::report_detail::truncate_label("\xC3\xA9\xC3\xA9\xC3\xA9", 2) == "\xC3\xA9\xC3\xA9\xE2\x80\xA6");
  const auto t = an::report_detail::nice_ticks(-2.5, 0.9);
  CHECK(t.step == doctest::Approx(0.5));
  CHECK(t.lo == doctest::Approx(-2.5));
  CHECK(t.hi == doctest::Approx(1.0));
  CHECK(t.values().size() == 8);
  const auto z = an::report_detail::nice_ticks(0.0, 0.0);  // all zero: a unit range
  CHECK(z.hi > z.lo);
}

TEST_CASE("svg chart: signed bars grow from the zero line (highlights, series, non-finite values)") {
  an::bar_chart c{"demo", "A <title> & more", "layer", "delta", {}, {}, true};
  c.bars = {{"0", {1.0}, false}, {"1", {-2.0}, true}, {"2", {std::nan("")}, false}, {"<3>", {0.5}, false}};
  const std::string svg = an::render_bar_chart(c);
  CHECK(svg.rfind("<svg class=\"chart\" data-chart=\"demo\" data-bars=\"3\"", 0) == 0);
  CHECK(count_of(svg, "<rect class=\"bar") == 3);  // the NaN draws nothing
  CHECK(count_of(svg, "<rect class=\"bar s0 hl\"") == 1);
  CHECK(svg.find("A &lt;title&gt; &amp; more") != std::string::npos);
  CHECK(svg.find("&lt;3&gt;") != std::string::npos);
  CHECK(svg.find("<3>") == std::string::npos);
  CHECK(svg.find("http") == std::string::npos);
  // The zero line sits between the positive bar's bottom and the negative bar's top.
  const auto zero_at = svg.find("class=\"zero\"");
  REQUIRE(zero_at != std::string::npos);
  CHECK(svg == an::render_bar_chart(c));

  an::bar_chart g{"grouped", "Two series", "", "", {"before", "after"}, {}, true};
  g.bars = {{"a", {3, 1}, false}, {"b", {2, 0}, false}};
  const std::string gs = an::render_bar_chart(g);
  CHECK(count_of(gs, "<rect class=\"bar s0") == 2);
  CHECK(count_of(gs, "<rect class=\"bar s1") == 2);
  CHECK(gs.find("class=\"legend\"") != std::string::npos);
}

TEST_CASE("svg chart: interval rows with whiskers") {
  an::interval_chart c{"rates", "Loop rates", "loop rate", {"before", "after"}, {}, 0.0, 1.0};
  c.rows.push_back(
      {"p & q", {an::interval_point{0.9, 0.7, 0.99, {}}, an::interval_point{0.0, 0.0, 0.2, "0/16"}}, false});
  c.rows.push_back({"only before", {an::interval_point{0.5, 0.3, 0.7, {}}, std::nullopt}, true});
  const std::string svg = an::render_interval_chart(c);
  CHECK(svg.find("data-bars=\"3\"") != std::string::npos);
  CHECK(count_of(svg, "<rect class=\"bar") == 3);
  CHECK(count_of(svg, "class=\"whisker\"") == 3);
  CHECK(count_of(svg, "class=\"cap\"") == 6);
  CHECK(svg.find("p &amp; q (before): 0.9 [0.7, 0.99]") != std::string::npos);
  CHECK(svg.find(">0/16<") != std::string::npos);
  // Ticks at 0, 0.2, ..., 1 (a 1/2/5 step).
  for (const char* t : {">0<", ">0.2<", ">0.4<", ">1<"}) CHECK(svg.find(t) != std::string::npos);
}

}  // namespace ut_svg_chart_test
