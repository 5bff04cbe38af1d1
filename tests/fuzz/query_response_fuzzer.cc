// libFuzzer target for ParseQueryResponse (scanner and DOM path); the invariants are in checks.h.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string violation =
      augur::fuzz::CheckQueryResponse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!violation.empty()) {
    std::fprintf(stderr, "invariant violated: %s\n", violation.c_str());
    std::abort();  // libFuzzer saves the input as a crash artifact
  }
  return 0;
}
