#pragma once
// An append-only file of checksummed records: the progress log of a long job. A job killed at
// any moment leaves whole records plus at most one torn tail, which reopening cuts off, so the
// same command resumes without redoing finished work.

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "conceptree/context.hpp"

namespace conceptree {

class Journal {
 public:
  // Keeps the records of an existing journal whose fingerprint matches (the job's inputs and
  // settings); otherwise starts an empty one.
  Journal(std::filesystem::path path, const std::string& fingerprint, const Context& context);
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal();

  const std::vector<std::string>& recovered() const { return recovered_; }
  // Appends one record and hands it to the OS, so it survives the process being killed.
  void append(std::string_view record);
  // Closes and deletes the journal once the job's real output is in place.
  void remove();

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::vector<std::string> recovered_;
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
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

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

 private:
  void take(void* out, std::size_t size);
  std::string_view bytes_;
  std::size_t at_ = 0;
};

// A stable 64-bit hash (FNV-1a) for fingerprints and per-item seeds.
std::uint64_t stable_hash(std::string_view text, std::uint64_t seed = 0);

}  // namespace conceptree
