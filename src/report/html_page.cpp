#include "report/html_page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "conceptree/error.hpp"

namespace conceptree::html_page {
namespace fs = std::filesystem;

std::string fill_template(std::string_view page_template, const std::vector<std::pair<std::string_view, std::string>>& replacements) {
  std::string page;
  std::size_t from = 0;
  for (const auto& [marker, replacement] : replacements) {
    const std::size_t at = page_template.find(marker, from);
    if (at == std::string_view::npos) throw FatalError(fmt::format("the page template has no {} marker in place", marker));
    page.append(page_template.substr(from, at - from));
    page.append(replacement);
    from = at + marker.size();
  }
  page.append(page_template.substr(from));
  return page;
}

// Inside <script>, "</script" would end the element and "<!--" changes how the rest is parsed;
// JSON may write '<' as \u003c, and outside strings it has none.
std::string script_safe_json(const nlohmann::ordered_json& data) {
  const std::string text = data.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string safe;
  safe.reserve(text.size() + text.size() / 50);
  for (char c : text) {
    if (c == '<') safe += "\\u003c";
    else safe += c;
  }
  return safe;
}

std::string inline_script(std::string_view name, std::string_view code) {
  // The assets are ours or d3's dist bundle; a closing tag inside one would silently cut the page.
  std::string lower(code);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("</script") != std::string::npos) throw FatalError(fmt::format("page asset {} contains '</script' and cannot be inlined", name));
  return fmt::format("<script>\n{}\n</script>", code);
}

std::string path_from_page(const fs::path& target, const fs::path& page) {
  std::error_code error;
  const fs::path relative = fs::relative(fs::absolute(target), fs::absolute(page).parent_path(), error);
  return error || relative.empty() ? fs::absolute(target).generic_string() : relative.generic_string();
}

}  // namespace conceptree::html_page
