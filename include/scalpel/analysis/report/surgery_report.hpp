#pragma once
/// @file
/// @brief `write_surgery_report`: read a `scalpel surgery` output directory and write its HTML and Markdown
/// reports atomically (docs/report.md). The entry point of `scalpel report` and of the surgery pipeline's last step.

#include <filesystem>
#include <string>

#include "scalpel/analysis/report/report_html.hpp"
#include "scalpel/analysis/report/report_markdown.hpp"
#include "scalpel/analysis/report/surgery_dir.hpp"
#include "scalpel/config.hpp"
#include "scalpel/core/atomic_file.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// What `write_surgery_report` wrote.
struct surgery_report_files {
  std::filesystem::path html, markdown;  ///< empty when not written
  std::size_t missing_pieces = 0;        ///< pieces of the directory that were not available
};

/// Read `dir` (read_surgery_dir) and write the HTML report to `html` and the Markdown report to `markdown`, each
/// atomically (temporary file + rename). An empty path skips that output.
/// @throws scalpel::error as read_surgery_dir; (io) when an output cannot be written.
inline surgery_report_files write_surgery_report(const std::filesystem::path& dir, const std::filesystem::path& html,
                                                 const std::filesystem::path& markdown) {
  const surgery_dir_data d = read_surgery_dir(dir);
  surgery_report_files out;
  out.missing_pieces = d.missing.size();
  // Render both before writing either, so that a rendering error leaves no half-updated pair behind.
  const std::string html_text = html.empty() ? std::string() : render_report_html(d);
  const std::string md_text = markdown.empty() ? std::string() : render_report_markdown(d);
  if (!html.empty()) {
    write_file_atomic(html.string(), html_text);
    out.html = html;
  }
  if (!markdown.empty()) {
    write_file_atomic(markdown.string(), md_text);
    out.markdown = markdown;
  }
  return out;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
