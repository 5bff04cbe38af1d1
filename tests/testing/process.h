// The tests' name for the shared child-process helper (src/common/subprocess.h), which
// `augur demo` uses too.
#pragma once

#include "common/subprocess.h"

namespace augur::testing {
using common::DescribeExit;
using common::FindExecutable;
using common::FreeLoopbackPort;
using common::Process;
using common::ProcessOptions;
}  // namespace augur::testing
