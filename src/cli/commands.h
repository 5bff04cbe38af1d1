// The subcommand table of the augur executable (ninja-style: one entry per command, which
// also generates the top-level --help). Each command lives in its own cmd_<name>.cc.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "augur/core/result.h"

namespace augur::cli {

// Exit codes, decided here and nowhere else.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // the command ran and failed (I/O, internal)
inline constexpr int kExitBadInput = 2;  // bad flags, bad input data

// Makes SIGINT and SIGTERM set a stop flag (cleared here) instead of ending the process, so a
// long-running command (rollout start/watch, demo) can stop its children and clean up first;
// StopRequested() polls it.
void CatchStopSignals();
bool StopRequested();

// The exit code for an error a command reports: the caller's input (a bad argument, a file or
// name that does not exist) is kExitBadInput, anything else kExitFailure.
inline int ExitCodeFor(const Error& e) {
  return e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kNotFound ? kExitBadInput
                                                                                 : kExitFailure;
}

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);
};

const std::vector<Command>& Commands();

// Entry point shared by main() and tests: argv without the program name.
int RunAugur(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);

int RunJudge(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);
int RunQuery(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);
int RunScrape(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
              std::ostream& err);
int RunServe(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);
int RunStats(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err);

int RunRollout(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err);
int RunDemo(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err);
int RunRecord(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
              std::ostream& err);
int RunReplay(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
              std::ostream& err);
int RunGenerate(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err);

}  // namespace augur::cli
