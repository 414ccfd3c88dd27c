#include "conceptree/error.hpp"

namespace conceptree {

InputError::InputError(std::string item, std::string problem)
    : std::runtime_error(item + ": " + problem), item_(std::move(item)), problem_(std::move(problem)) {}

}  // namespace conceptree
