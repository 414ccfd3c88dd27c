#include "conceptree/journal.hpp"

#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include <zlib.h>

#include "conceptree/error.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'C', 'T', 'J', 'O', 'U', 'R', 'N', '1'};

std::uint32_t checksum(std::string_view bytes) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

std::string frame(std::string_view payload) {
  std::string framed;
  const std::uint64_t size = payload.size();
  const std::uint32_t sum = checksum(payload);
  framed.append(reinterpret_cast<const char*>(&size), sizeof(size));
  framed.append(reinterpret_cast<const char*>(&sum), sizeof(sum));
  framed.append(payload);
  return framed;
}

std::string read_all(const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return {};
  std::string contents;
  char buffer[1 << 16];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) contents.append(buffer, got);
  std::fclose(file);
  return contents;
}

}  // namespace

Journal::Journal(fs::path path, const std::string& fingerprint, const Context& context) : path_(std::move(path)) {
  const std::string header = std::string(kMagic, sizeof(kMagic)) + frame(fingerprint);
  const std::string existing = read_all(path_);
  std::size_t good_end = 0;
  if (existing.size() >= header.size() && existing.compare(0, header.size(), header) == 0) {
    good_end = header.size();
    while (good_end + 12 <= existing.size()) {
      std::uint64_t size;
      std::uint32_t sum;
      std::memcpy(&size, existing.data() + good_end, sizeof(size));
      std::memcpy(&sum, existing.data() + good_end + 8, sizeof(sum));
      if (size > existing.size() - good_end - 12) break;
      const std::string_view payload(existing.data() + good_end + 12, size);
      if (checksum(payload) != sum) break;
      recovered_.emplace_back(payload);
      good_end += 12 + size;
    }
  } else if (!existing.empty()) {
    context.info(path_.string() + " was left by a run with other inputs or settings; starting afresh");
  }
  if (good_end == 0) {
    file_ = std::fopen(path_.c_str(), "wb");
    if (!file_) throw FatalError(path_.string() + ": cannot create progress journal");
    if (std::fwrite(header.data(), 1, header.size(), file_) != header.size() || std::fflush(file_) != 0) {
      throw FatalError(path_.string() + ": cannot write progress journal");
    }
    return;
  }
  // Cut off a torn tail so new records follow the last whole one.
  if (::truncate(path_.c_str(), static_cast<off_t>(good_end)) != 0) {
    throw FatalError(path_.string() + ": cannot truncate progress journal");
  }
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw FatalError(path_.string() + ": cannot reopen progress journal");
}

Journal::~Journal() {
  if (file_) std::fclose(file_);
}

void Journal::append(std::string_view record) {
  const std::string framed = frame(record);
  if (std::fwrite(framed.data(), 1, framed.size(), file_) != framed.size() || std::fflush(file_) != 0) {
    throw FatalError(path_.string() + ": cannot write progress journal (disk full?)");
  }
}

void Journal::remove() {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  std::error_code ignored;
  fs::remove(path_, ignored);
}

void RecordReader::take(void* out, std::size_t size) {
  if (size > bytes_.size() - at_) throw std::runtime_error("journal record too short");
  std::memcpy(out, bytes_.data() + at_, size);
  at_ += size;
}

std::uint64_t stable_hash(std::string_view text, std::uint64_t seed) {
  std::uint64_t hash = 0xcbf29ce484222325ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace conceptree
