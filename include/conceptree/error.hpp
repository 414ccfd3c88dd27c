#pragma once
// Errors that name the file or item at fault, so every message a user sees says what and where.

#include <stdexcept>
#include <string>

namespace conceptree {

// A problem with one input item (a file, a track, a dataset): recoverable by skipping it.
class InputError : public std::runtime_error {
 public:
  InputError(std::string item, std::string problem);
  const std::string& item() const { return item_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string item_;
  std::string problem_;
};

// A problem that stops the whole job (bad options, unwritable output, inconsistent store).
class FatalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace conceptree
