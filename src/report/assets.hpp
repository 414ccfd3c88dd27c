#pragma once
// The report's front end, embedded at build time (see embed_assets.cmake): d3 from npm, pinned by
// web/package-lock.json, and the report's own page template, script and style from web/.

#include <string_view>

namespace conceptree::report_assets {

std::string_view d3_js();
std::string_view report_js();
std::string_view report_css();
std::string_view report_html();

}  // namespace conceptree::report_assets
