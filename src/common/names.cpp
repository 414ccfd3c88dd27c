#include "conceptree/names.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>

#include "conceptree/error.hpp"

namespace conceptree {
namespace {

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

// The length of the well-formed UTF-8 sequence starting at text[at] (RFC 3629: no overlong forms,
// no surrogates, nothing past U+10FFFF), or 0 when there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
  }
  return length;
}

std::string control_name(unsigned char c) {
  switch (c) {
    case '\0': return "a NUL byte";
    case '\t': return "a tab";
    case '\n': return "a newline";
    case '\r': return "a carriage return";
    default: return fmt::format("the control character \\x{:02X}", c);
  }
}

}  // namespace

std::string name_problem(std::string_view name) {
  for (std::size_t at = 0; at < name.size();) {
    const auto c = static_cast<unsigned char>(name[at]);
    if (is_control(c)) return fmt::format("holds {} at byte {}", control_name(c), at + 1);
    const std::size_t length = utf8_sequence_length(name, at);
    if (length == 0) return fmt::format("is not valid UTF-8 at byte {}", at + 1);
    at += length;
  }
  return {};
}

std::string printable_name(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const auto c = static_cast<unsigned char>(text[at]);
    const std::size_t length = is_control(c) ? 0 : utf8_sequence_length(text, at);
    if (length > 0) {
      out.append(text.substr(at, length));
      at += length;
      continue;
    }
    if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += fmt::format("\\x{:02X}", c);
    ++at;
  }
  return out;
}

void check_name(std::string_view name, const std::string& item, std::string_view kind) {
  const std::string problem = name_problem(name);
  if (problem.empty()) return;
  throw InputError(item, fmt::format("{} '{}' {}; ids and names may hold any printable UTF-8 text, but no control characters", kind,
                                     printable_name(name), problem));
}

}  // namespace conceptree
