// The runtime's one exception type. It never crosses the C API: c_api.cc turns it into -1 and
// the thread's last error. Its message is one sentence for a person.
#pragma once

#include <stdexcept>
#include <string>

namespace bmx {
namespace rt {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

}  // namespace rt
}  // namespace bmx
