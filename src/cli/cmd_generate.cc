// Placeholder until `augur generate` lands (replaced by its implementation).
#include <ostream>

#include "cli/commands.h"

namespace augur::cli {
int RunGenerate(const std::vector<std::string>&, std::istream&, std::ostream&, std::ostream& err) {
  err << "augur generate: not available in this build\n";
  return kExitFailure;
}
}  // namespace augur::cli
