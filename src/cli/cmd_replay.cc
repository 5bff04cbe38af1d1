// Placeholder until `augur replay` lands (replaced by its implementation).
#include <ostream>

#include "cli/commands.h"

namespace augur::cli {
int RunReplay(const std::vector<std::string>&, std::istream&, std::ostream&, std::ostream& err) {
  err << "augur replay: not available in this build\n";
  return kExitFailure;
}
}  // namespace augur::cli
