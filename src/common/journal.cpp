#include "conceptree/journal.hpp"

#include <unistd.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <zlib.h>

#include "conceptree/error.hpp"

namespace conceptree {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'C', 'T', 'J', 'O', 'U', 'R', 'N', '1'};
constexpr std::uint64_t kFrameHeaderSize = 12;  // payload size (8 bytes), then its CRC-32 (4)

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

using InputFile = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

InputFile open_for_reading(const fs::path& path) { return {std::fopen(path.c_str(), "rb"), &std::fclose}; }

bool read_at(std::FILE* file, std::uint64_t offset, void* out, std::size_t size) {
  return std::fseek(file, static_cast<long>(offset), SEEK_SET) == 0 && std::fread(out, 1, size, file) == size;
}

enum class FrameState { whole, cut_short, bad_checksum };

// Reads the frame at `offset` of a file of `file_size` bytes into `payload`.
FrameState read_frame(std::FILE* file, std::uint64_t offset, std::uint64_t file_size, std::string& payload) {
  if (file_size - offset < kFrameHeaderSize) return FrameState::cut_short;
  char head[kFrameHeaderSize];
  if (!read_at(file, offset, head, sizeof(head))) return FrameState::cut_short;
  std::uint64_t size;
  std::uint32_t sum;
  std::memcpy(&size, head, sizeof(size));
  std::memcpy(&sum, head + 8, sizeof(sum));
  if (size > file_size - offset - kFrameHeaderSize) return FrameState::cut_short;
  payload.resize(size);
  if (std::fread(payload.data(), 1, size, file) != size) return FrameState::cut_short;
  return checksum(payload) == sum ? FrameState::whole : FrameState::bad_checksum;
}

}  // namespace

Journal::Journal(fs::path path, const std::string& fingerprint, const Context& context) : path_(std::move(path)) {
  const std::string header = std::string(kMagic, sizeof(kMagic)) + frame(fingerprint);
  header_size_ = header.size();
  std::uint64_t good_end = 0;
  if (fs::exists(path_)) good_end = recover(header, context);
  if (good_end == 0) {
    records_.clear();
    file_ = std::fopen(path_.c_str(), "wb");
    if (!file_) throw FatalError(path_.string() + ": cannot create progress journal");
    if (std::fwrite(header.data(), 1, header.size(), file_) != header.size() || std::fflush(file_) != 0) {
      throw FatalError(path_.string() + ": cannot write progress journal");
    }
    end_ = header_size_;
    return;
  }
  // Cut off a torn tail so new records follow the last whole one.
  if (::truncate(path_.c_str(), static_cast<off_t>(good_end)) != 0) {
    throw FatalError(path_.string() + ": cannot truncate progress journal");
  }
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw FatalError(path_.string() + ": cannot reopen progress journal");
  end_ = good_end;
}

std::uint64_t Journal::recover(const std::string& header, const Context& context) {
  const std::string name = path_.string();
  const auto start_over = [&](const std::string& why) {
    context.warning(name + ": damaged (" + why + "); starting over");
    return std::uint64_t{0};
  };
  std::error_code error;
  if (!fs::is_regular_file(path_, error)) return start_over("not a regular file");
  const std::uint64_t file_size = fs::file_size(path_, error);
  if (error) return start_over("cannot be read");
  if (file_size == 0) return start_over("empty");
  const InputFile in = open_for_reading(path_);
  if (!in) return start_over("cannot be read");
  char magic[sizeof(kMagic)];
  if (file_size < sizeof(kMagic) || !read_at(in.get(), 0, magic, sizeof(magic)) || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
    return start_over("not a conceptree progress journal");
  }
  std::string payload;
  switch (read_frame(in.get(), sizeof(kMagic), file_size, payload)) {
    case FrameState::cut_short: return start_over("its header is cut short");
    case FrameState::bad_checksum: return start_over("its header fails its checksum");
    case FrameState::whole: break;
  }
  if (payload != std::string_view(header).substr(sizeof(kMagic) + kFrameHeaderSize)) {
    context.warning(name + ": left by a run with other inputs or settings; starting over");
    return 0;
  }
  std::uint64_t at = header_size_;
  while (at < file_size) {
    const FrameState state = read_frame(in.get(), at, file_size, payload);
    if (state != FrameState::whole) {
      const std::string message = fmt::format("{}: damaged (record {} {}); keeping the {} whole records before it", name, records_.size() + 1,
                                              state == FrameState::cut_short ? "is cut short" : "fails its checksum", records_.size());
      // A run killed while writing a record leaves it cut short: that is expected, not a fault.
      if (state == FrameState::cut_short) context.info(message);
      else context.warning(message);
      break;
    }
    records_.push_back({at + kFrameHeaderSize, payload.size()});
    at += kFrameHeaderSize + payload.size();
  }
  return at;
}

Journal::~Journal() {
  if (file_) std::fclose(file_);
}

void Journal::for_each(const std::function<void(std::string_view)>& visit) const {
  if (file_ && std::fflush(file_) != 0) throw FatalError(path_.string() + ": cannot write progress journal (disk full?)");
  const InputFile in = open_for_reading(path_);
  if (!in) throw FatalError(path_.string() + ": cannot read progress journal");
  std::string payload;
  for (const Record& record : records_) {
    payload.resize(record.size);
    if (!read_at(in.get(), record.offset, payload.data(), record.size)) throw FatalError(path_.string() + ": cannot read progress journal");
    visit(payload);
  }
}

void Journal::append(std::string_view record) {
  const std::string framed = frame(record);
  if (std::fwrite(framed.data(), 1, framed.size(), file_) != framed.size() || std::fflush(file_) != 0) {
    throw FatalError(path_.string() + ": cannot write progress journal (disk full?)");
  }
  records_.push_back({end_ + kFrameHeaderSize, record.size()});
  end_ += framed.size();
}

void Journal::clear() {
  if (std::fflush(file_) != 0 || ::ftruncate(::fileno(file_), static_cast<off_t>(header_size_)) != 0) {
    throw FatalError(path_.string() + ": cannot truncate progress journal");
  }
  records_.clear();
  end_ = header_size_;
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
