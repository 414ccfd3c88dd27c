#pragma once
// An append-only file of checksummed records: the progress log of a long job. A job killed at
// any moment leaves whole records plus at most one torn tail, which reopening cuts off, so the
// same command resumes without redoing finished work. Records are read back from the file one at
// a time, so a journal may be far larger than memory.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "conceptree/context.hpp"

namespace conceptree {

class Journal {
 public:
  // Keeps the whole records of an existing journal whose fingerprint matches (the job's inputs and
  // settings) and cuts off whatever follows them; otherwise starts an empty one. A journal it
  // cannot use, or only in part, is named in a message saying why.
  Journal(std::filesystem::path path, const std::string& fingerprint, const Context& context);
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal();

  const std::filesystem::path& path() const { return path_; }
  // Whole records: those kept from an earlier run, then those appended since.
  std::size_t size() const { return records_.size(); }
  // Reads every whole record back from the file, in order.
  void for_each(const std::function<void(std::string_view)>& visit) const;
  // Appends one record and hands it to the OS, so it survives the process being killed.
  void append(std::string_view record);
  // Drops every record, e.g. when the kept ones turn out not to decode.
  void clear();
  // Closes and deletes the journal once the job's real output is in place.
  void remove();

 private:
  // Reads an existing journal; returns where its whole records end, or 0 to start afresh.
  std::uint64_t recover(const std::string& header, const Context& context);

  struct Record {
    std::uint64_t offset;  // of the payload
    std::uint64_t size;
  };
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::uint64_t header_size_ = 0;
  std::uint64_t end_ = 0;
  std::vector<Record> records_;
};

// A little-endian binary encoding for journal records.
class RecordWriter {
 public:
  template <class T>
  void put(const T& value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  template <class T>
  void put_vector(const std::vector<T>& values) {
    put<std::uint64_t>(values.size());
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void put_string(std::string_view text) {
    put<std::uint64_t>(text.size());
    bytes_.append(text);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// Reads what a RecordWriter wrote; throws std::runtime_error when the record is too short.
class RecordReader {
 public:
  explicit RecordReader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    T value;
    take(&value, sizeof(T));
    return value;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto count = get<std::uint64_t>();
    if (count > bytes_.size() / sizeof(T)) throw std::runtime_error("journal record too short");
    std::vector<T> values(count);
    take(values.data(), count * sizeof(T));
    return values;
  }
  std::string get_string() {
    const auto size = get<std::uint64_t>();
    if (size > bytes_.size()) throw std::runtime_error("journal record too short");
    std::string text(size, '\0');
    take(text.data(), size);
    return text;
  }
  bool at_end() const { return at_ == bytes_.size(); }

 private:
  void take(void* out, std::size_t size);
  std::string_view bytes_;
  std::size_t at_ = 0;
};

// A stable 64-bit hash (FNV-1a) for fingerprints and per-item seeds.
std::uint64_t stable_hash(std::string_view text, std::uint64_t seed = 0);

}  // namespace conceptree
