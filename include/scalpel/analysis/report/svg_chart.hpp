#pragma once
/// @file
/// @brief Inline SVG charts for the surgery report (docs/report.md): a vertical bar chart with signed values,
/// one or more series and highlighted categories, and a horizontal bar chart with interval whiskers (loop rates
/// with Wilson intervals). Pure string building: no fonts, images, scripts or external references; the same input
/// gives the same bytes. Every text from data is escaped.
///
/// Markup contract (relied on by the report's self-check and tests): the root is
/// `<svg class="chart" data-chart="ID" data-bars="N" ...>`; every drawn bar is a `<rect class="bar ...">` (a
/// highlighted one has the class `hl`), every whisker a `<line class="whisker">`. A non-finite value draws no bar.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// Escape text for HTML / SVG content and attribute values (`& < > " '`).
inline std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// A number for display: `digits` significant digits (printf `%.*g`), "n/a" when not finite, no "-0".
inline std::string format_number(double v, int digits = 4) {
  if (!std::isfinite(v)) return "n/a";
  if (v == 0.0) v = 0.0;  // -0 -> 0
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

/// One category of a bar chart: its label and one value per series.
struct chart_bar {
  std::string label;
  std::vector<double> values;  ///< one per series; non-finite = no bar
  bool highlight = false;      ///< drawn in the highlight colour (e.g. the most negative layer)
};

/// A vertical bar chart. Values may be negative: bars grow from the zero line.
struct bar_chart {
  std::string id;                   ///< `data-chart` attribute
  std::string title;                ///< drawn on top and used as the accessible name
  std::string x_label, y_label;     ///< axis titles
  std::vector<std::string> series;  ///< legend names (a legend is drawn when there are several)
  std::vector<chart_bar> bars;
  bool value_labels = true;  ///< write each value above / below its bar (only when there are few bars)
};

/// A row of an interval chart: one value with its interval per series.
struct interval_point {
  double value = 0.0, lo = 0.0, hi = 0.0;
  std::string text;  ///< label written right of the whisker (default: the value)
};
struct interval_row {
  std::string label;
  std::vector<std::optional<interval_point>> points;  ///< one per series; nullopt = nothing drawn
  bool highlight = false;
};

/// A horizontal bar chart with whiskers: rows of labelled bars from `x_min` to the value, each with a whisker over
/// [lo, hi] (a loop rate and its 95% interval).
struct interval_chart {
  std::string id, title, x_label;
  std::vector<std::string> series;
  std::vector<interval_row> rows;
  double x_min = 0.0, x_max = 1.0;
};

namespace report_detail {

/// A coordinate with one decimal (deterministic, compact).
inline std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", std::abs(v) < 0.05 ? 0.0 : v);
  return buf;
}

/// Series colours (colour-blind safe: blue, orange, teal, purple) and the highlight colour.
inline const char* series_fill(std::size_t k) {
  static constexpr const char* fills[] = {"#4477aa", "#ee7733", "#009988", "#aa3377"};
  return fills[k % 4];
}
inline constexpr const char* highlight_fill = "#cc3311";

/// Truncate to at most `max_chars` code points, with an ellipsis (never splits a UTF-8 sequence).
inline std::string truncate_label(std::string_view s, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars == max_chars) return std::string(s.substr(0, i)) + "\xE2\x80\xA6";
    ++chars;
  }
  return std::string(s);
}
inline std::size_t label_chars(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1u : 0u;
  return n;
}

/// Ticks covering [lo, hi] with a 1/2/5 × 10^k step; the range is widened to whole steps.
struct axis_ticks {
  double lo = 0.0, hi = 1.0, step = 0.5;
  [[nodiscard]] std::vector<double> values() const {
    std::vector<double> v;
    const auto n = static_cast<long>(std::llround((hi - lo) / step));
    for (long i = 0; i <= n; ++i) {
      double t = lo + static_cast<double>(i) * step;
      if (std::abs(t) < step * 1e-9) t = 0.0;
      v.push_back(t);
    }
    return v;
  }
};
inline axis_ticks nice_ticks(double lo, double hi, int target = 5) {
  if (!(std::isfinite(lo) && std::isfinite(hi))) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) hi = lo + (std::abs(lo) < 1e-12 ? 1.0 : std::abs(lo) * 0.1);  // all values equal
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step};
}

inline std::string svg_open(std::string_view id, std::string_view title, double w, double h, std::size_t bars) {
  std::string s = "<svg class=\"chart\" data-chart=\"" + html_escape(id) + "\" data-bars=\"" + std::to_string(bars) +
                  "\" viewBox=\"0 0 " + coord(w) + " " + coord(h) + "\" width=\"" + coord(w) + "\" height=\"" +
                  coord(h) + "\" role=\"img\" aria-label=\"" + html_escape(title) +
                  "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s += "<title>" + html_escape(title) + "</title>\n";
  s += "<text class=\"chart-title\" x=\"" + coord(w / 2) + "\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" " +
       "font-weight=\"bold\">" + html_escape(title) + "</text>\n";
  return s;
}

inline std::string svg_text(double x, double y, std::string_view anchor, std::string_view text,
                            std::string_view extra = {}) {
  std::string s = "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" text-anchor=\"" + std::string(anchor) + "\"";
  if (!extra.empty()) s += " " + std::string(extra);
  return s + ">" + html_escape(text) + "</text>\n";
}

inline std::string legend(const std::vector<std::string>& series, double x, double y) {
  std::string s = "<g class=\"legend\">\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    s += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y - 9) + "\" width=\"10\" height=\"10\" fill=\"" + series_fill(k) +
         "\"/>\n";
    s += svg_text(x + 14, y, "start", series[k]);
    x += 24.0 + 6.5 * static_cast<double>(std::min<std::size_t>(label_chars(series[k]), 40));
  }
  return s + "</g>\n";
}

}  // namespace report_detail

/// Render a vertical bar chart as one `<svg>` element (with a trailing newline).
inline std::string render_bar_chart(const bar_chart& c) {
  using namespace report_detail;
  const std::size_t n = c.bars.size();
  const std::size_t ns = std::max<std::size_t>(1, c.series.size());
  double vmin = 0.0, vmax = 0.0;
  std::size_t drawn = 0;
  std::size_t longest = 0;
  for (const auto& b : c.bars) {
    longest = std::max(longest, label_chars(b.label));
    for (std::size_t k = 0; k < ns && k < b.values.size(); ++k) {
      if (!std::isfinite(b.values[k])) continue;
      vmin = std::min(vmin, b.values[k]);
      vmax = std::max(vmax, b.values[k]);
      ++drawn;
    }
  }
  // Room for the value labels beyond the longest bars.
  const double pad = c.value_labels ? 0.08 : 0.0;
  const axis_ticks ticks = nice_ticks(vmin * (1.0 + pad), vmax * (1.0 + pad));
  const bool rotate = n > 12 || longest > 6;
  const double label_h = rotate ? 12.0 + 5.5 * static_cast<double>(std::min<std::size_t>(longest, 18)) : 18.0;
  const double left = 64.0, right = 16.0, top = ns > 1 ? 48.0 : 32.0;
  const double slot_min = 14.0 * static_cast<double>(ns) + 4.0;
  const double plot_w = std::max(360.0, std::min(1040.0, slot_min * static_cast<double>(std::max<std::size_t>(n, 1))));
  const double plot_h = 220.0;
  const double w = left + plot_w + right;
  const double h = top + plot_h + label_h + (c.x_label.empty() ? 8.0 : 24.0);
  const auto y_of = [&](double v) { return top + (ticks.hi - v) / (ticks.hi - ticks.lo) * plot_h; };

  std::string s = svg_open(c.id, c.title, w, h, drawn);
  if (ns > 1) s += legend(c.series, left, 36.0);
  // Grid and y axis.
  s += "<g class=\"axis\" stroke=\"#ddd\">\n";
  for (const double t : ticks.values())
    s += "<line x1=\"" + coord(left) + "\" x2=\"" + coord(left + plot_w) + "\" y1=\"" + coord(y_of(t)) + "\" y2=\"" +
         coord(y_of(t)) + "\"/>\n";
  s += "</g>\n<g class=\"ticks\" fill=\"#333\">\n";
  for (const double t : ticks.values()) s += svg_text(left - 6, y_of(t) + 4, "end", format_number(t, 6));
  s += "</g>\n";
  s += "<line class=\"zero\" x1=\"" + coord(left) + "\" x2=\"" + coord(left + plot_w) + "\" y1=\"" + coord(y_of(0.0)) +
       "\" y2=\"" + coord(y_of(0.0)) + "\" stroke=\"#333\"/>\n";
  // Bars.
  const double slot = plot_w / static_cast<double>(std::max<std::size_t>(n, 1));
  const double bar_w = std::max(1.0, slot * 0.8 / static_cast<double>(ns));
  const bool show_values = c.value_labels && n * ns <= 24;
  const std::size_t label_every = std::max<std::size_t>(1, (n + 47) / 48);
  s += "<g class=\"bars\">\n";
  for (std::size_t i = 0; i < n; ++i) {
    const auto& b = c.bars[i];
    const double x0 = left + slot * static_cast<double>(i) + slot * 0.1;
    for (std::size_t k = 0; k < ns && k < b.values.size(); ++k) {
      const double v = b.values[k];
      if (!std::isfinite(v)) continue;
      const double y0 = y_of(std::max(v, 0.0)), y1 = y_of(std::min(v, 0.0));
      const double x = x0 + bar_w * static_cast<double>(k);
      std::string tip = b.label;
      if (ns > 1) tip += " (" + c.series[k] + ")";
      tip += ": " + format_number(v, 6);
      s += std::string("<rect class=\"bar s") + std::to_string(k) + (b.highlight ? " hl" : "") + "\" x=\"" + coord(x) +
           "\" y=\"" + coord(y0) + "\" width=\"" + coord(bar_w) + "\" height=\"" + coord(std::max(y1 - y0, 0.5)) +
           "\" fill=\"" + (b.highlight ? highlight_fill : series_fill(k)) + "\"><title>" + html_escape(tip) +
           "</title></rect>\n";
      if (show_values)
        s += svg_text(x + bar_w / 2, v >= 0 ? y0 - 3 : y1 + 11, "middle", format_number(v, 3),
                      "class=\"value\" font-size=\"10\"");
    }
  }
  s += "</g>\n<g class=\"xlabels\" fill=\"#333\">\n";
  const double base_y = top + plot_h + 14;
  for (std::size_t i = 0; i < n; i += label_every) {
    const double x = left + slot * (static_cast<double>(i) + 0.5);
    const std::string lab = truncate_label(c.bars[i].label, 18);
    if (rotate) {
      s += svg_text(x, base_y, "end", lab,
                    "transform=\"rotate(-45 " + coord(x) + " " + coord(base_y) + ")\"" +
                        (c.bars[i].highlight ? " font-weight=\"bold\"" : ""));
    } else {
      s += svg_text(x, base_y, "middle", lab, c.bars[i].highlight ? "font-weight=\"bold\"" : "");
    }
  }
  s += "</g>\n";
  if (!c.x_label.empty()) s += svg_text(left + plot_w / 2, h - 6, "middle", c.x_label, "class=\"axis-title\"");
  if (!c.y_label.empty())
    s += svg_text(14, top + plot_h / 2, "middle", c.y_label,
                  "class=\"axis-title\" transform=\"rotate(-90 14 " + coord(top + plot_h / 2) + ")\"");
  return s + "</svg>\n";
}

/// Render a horizontal bar chart with interval whiskers as one `<svg>` element.
inline std::string render_interval_chart(const interval_chart& c) {
  using namespace report_detail;
  const std::size_t ns = std::max<std::size_t>(1, c.series.size());
  std::size_t longest = 4;
  std::size_t drawn = 0;
  for (const auto& r : c.rows) {
    longest = std::max(longest, std::min<std::size_t>(label_chars(r.label), 40));
    for (std::size_t k = 0; k < ns && k < r.points.size(); ++k)
      drawn += r.points[k] && std::isfinite(r.points[k]->value) ? 1u : 0u;
  }
  const double left = 16.0 + 6.6 * static_cast<double>(longest);
  const double plot_w = 560.0, right = 110.0, top = ns > 1 ? 50.0 : 32.0;
  const double bar_h = 12.0, row_h = bar_h * static_cast<double>(ns) + 10.0;
  const double plot_h = row_h * static_cast<double>(std::max<std::size_t>(c.rows.size(), 1));
  const double w = left + plot_w + right;
  const double h = top + plot_h + 24.0 + (c.x_label.empty() ? 4.0 : 18.0);
  const double span = c.x_max > c.x_min ? c.x_max - c.x_min : 1.0;
  const auto x_of = [&](double v) { return left + (std::clamp(v, c.x_min, c.x_min + span) - c.x_min) / span * plot_w; };

  std::string s = svg_open(c.id, c.title, w, h, drawn);
  if (ns > 1) s += legend(c.series, left, 36.0);
  const axis_ticks ticks = nice_ticks(c.x_min, c.x_min + span, 4);
  s += "<g class=\"axis\" stroke=\"#ddd\">\n";
  for (const double t : ticks.values())
    s += "<line x1=\"" + coord(x_of(t)) + "\" x2=\"" + coord(x_of(t)) + "\" y1=\"" + coord(top) + "\" y2=\"" +
         coord(top + plot_h) + "\"/>\n";
  s += "</g>\n<g class=\"ticks\" fill=\"#333\">\n";
  for (const double t : ticks.values()) s += svg_text(x_of(t), top + plot_h + 14, "middle", format_number(t, 6));
  s += "</g>\n<g class=\"bars\">\n";
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    const auto& r = c.rows[i];
    const double y_row = top + row_h * static_cast<double>(i) + 5.0;
    s += svg_text(left - 6, y_row + bar_h * static_cast<double>(ns) / 2 + 4, "end", truncate_label(r.label, 40),
                  r.highlight ? "font-weight=\"bold\"" : "");
    for (std::size_t k = 0; k < ns && k < r.points.size(); ++k) {
      if (!r.points[k] || !std::isfinite(r.points[k]->value)) continue;
      const auto& p = *r.points[k];
      const double y = y_row + bar_h * static_cast<double>(k);
      const double xv = x_of(p.value);
      std::string tip = r.label;
      if (ns > 1) tip += " (" + c.series[k] + ")";
      tip += ": " + format_number(p.value, 4) + " [" + format_number(p.lo, 4) + ", " + format_number(p.hi, 4) + "]";
      s += std::string("<rect class=\"bar s") + std::to_string(k) + (r.highlight ? " hl" : "") + "\" x=\"" +
           coord(x_of(c.x_min)) + "\" y=\"" + coord(y + 1) + "\" width=\"" + coord(std::max(xv - x_of(c.x_min), 1.0)) +
           "\" height=\"" + coord(bar_h - 2) + "\" fill=\"" +
           (r.highlight && ns == 1 ? highlight_fill : series_fill(k)) + "\" fill-opacity=\"0.75\"><title>" +
           html_escape(tip) + "</title></rect>\n";
      const double xl = x_of(std::isfinite(p.lo) ? p.lo : p.value), xh = x_of(std::isfinite(p.hi) ? p.hi : p.value);
      const double ym = y + bar_h / 2;
      s += "<line class=\"whisker\" x1=\"" + coord(xl) + "\" x2=\"" + coord(xh) + "\" y1=\"" + coord(ym) + "\" y2=\"" +
           coord(ym) + "\" stroke=\"#222\"/>\n";
      for (const double xe : {xl, xh})
        s += "<line class=\"cap\" x1=\"" + coord(xe) + "\" x2=\"" + coord(xe) + "\" y1=\"" + coord(ym - 4) +
             "\" y2=\"" + coord(ym + 4) + "\" stroke=\"#222\"/>\n";
      s += svg_text(std::max(xh, xv) + 6, ym + 4, "start", p.text.empty() ? format_number(p.value, 3) : p.text,
                    "class=\"value\" font-size=\"10\"");
    }
  }
  s += "</g>\n";
  if (!c.x_label.empty()) s += svg_text(left + plot_w / 2, h - 6, "middle", c.x_label, "class=\"axis-title\"");
  return s + "</svg>\n";
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
