#pragma once
// What a track id or a concept name may hold. Names come from files (file names, id lists,
// memberships, taxonomies, hierarchies) and end up in every output: TSV columns, JSON, GraphML,
// DOT, Newick, HTML. Printable text is kept verbatim -- quotes, '<', '&', slashes, any script,
// emoji -- and each writer escapes it for its format. What no writer carries faithfully is refused
// where a name enters: ASCII control characters (NUL, tab, newline, CR, ... and DEL), which would
// split a TSV line or are not allowed in XML, and bytes that are not UTF-8, which JSON and XML
// cannot hold.

#include <string>
#include <string_view>

namespace conceptree {

// Why `name` cannot be an id or name ("holds a tab at byte 4"), or empty when it can.
std::string name_problem(std::string_view name);

// `text` on one line for a message: tab, newline and CR as \t \n \r, other control characters and
// bytes that are not UTF-8 as \xNN.
std::string printable_name(std::string_view text);

// Throws InputError(item, "<kind> '<printable name>' <problem>; ...") when name_problem finds one.
void check_name(std::string_view name, const std::string& item, std::string_view kind);

}  // namespace conceptree
