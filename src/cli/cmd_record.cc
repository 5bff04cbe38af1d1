// Placeholder until `augur record` lands (replaced by its implementation).
#include <ostream>

#include "cli/commands.h"

namespace augur::cli {
int RunRecord(const std::vector<std::string>&, std::istream&, std::ostream&, std::ostream& err) {
  err << "augur record: not available in this build\n";
  return kExitFailure;
}
}  // namespace augur::cli
