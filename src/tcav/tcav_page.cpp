#include "conceptree/tcav_page.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "conceptree/error.hpp"
#include "report/assets.hpp"
#include "report/html_page.hpp"
#include "tcav/assets.hpp"

namespace conceptree {
namespace {

constexpr int kPageFormatVersion = 1;

// The page reads the results as they are; what it cannot read is better refused here than left to
// fail in a reader's browser.
void check_results(const nlohmann::ordered_json& results) {
  if (!results.is_object()) throw FatalError("TCAV page: the results are not a JSON object");
  const auto format = results.find("format");
  if (format == results.end() || !format->is_string() || format->get<std::string>() != "conceptree.tcav")
    throw FatalError("TCAV page: the results are not in the conceptree.tcav format");
  const auto version = results.find("format_version");
  if (version == results.end() || !version->is_number_integer() || version->get<int>() != kPageFormatVersion)
    throw FatalError(fmt::format("TCAV page: the results are not conceptree.tcav format version {}, the only one this page reads",
                                 kPageFormatVersion));
  const auto concepts = results.find("concepts");
  if (concepts == results.end() || !concepts->is_array()) throw FatalError("TCAV page: the results have no concepts list");
}

}  // namespace

std::string tcav_page_html(const nlohmann::ordered_json& results) {
  check_results(results);
  return html_page::fill_template(
      tcav_assets::tcav_html(),
      {{"<!-- conceptree:style -->", fmt::format("<style>\n{}\n</style>", tcav_assets::tcav_css())},
       {"<!-- conceptree:data -->", fmt::format("<script>\nconst TCAV_DATA = {};\n</script>", html_page::script_safe_json(results))},
       {"<!-- conceptree:d3 -->", html_page::inline_script("d3.min.js", report_assets::d3_js())},
       {"<!-- conceptree:script -->", html_page::inline_script("tcav.js", tcav_assets::tcav_js())}});
}

}  // namespace conceptree
