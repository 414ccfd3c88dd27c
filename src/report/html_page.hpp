#pragma once
// Building a self-contained HTML page from an embedded template (the report's and the explanation
// page's): markers replaced by inlined assets and data, data that cannot close its <script>, and
// links to files beside the page that survive moving the two together.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conceptree::html_page {

// Puts each replacement in place of its marker, markers taken in template order, so a replacement
// that happens to contain a later marker's text is never searched. FatalError when a marker is
// missing.
std::string fill_template(std::string_view page_template, const std::vector<std::pair<std::string_view, std::string>>& replacements);

// The JSON text with every '<' written as \u003c, safe anywhere inside a <script> element.
std::string script_safe_json(const nlohmann::ordered_json& data);

// `code` as a <script> element. FatalError when it contains "</script", which would cut the page.
std::string inline_script(std::string_view name, std::string_view code);

// How a page at `page` reaches `target`: relative to the page's folder, '/'-separated; the
// absolute path when there is no relative one (another drive).
std::string path_from_page(const std::filesystem::path& target, const std::filesystem::path& page);

}  // namespace conceptree::html_page
