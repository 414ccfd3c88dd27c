#pragma once
// The TCAV page's front end, embedded at build time (see src/report/embed_assets.cmake): its page
// template, script and style from web/. Its d3 is the report's, report_assets::d3_js().

#include <string_view>

namespace conceptree::tcav_assets {

std::string_view tcav_js();
std::string_view tcav_css();
std::string_view tcav_html();

}  // namespace conceptree::tcav_assets
