# Runs one libFuzzer target for SECONDS as a ctest test (see CMakeLists.txt here).
#   cmake -DFUZZER=... -DCORPUS=... -DDICT=... -DWORK_DIR=... -DSECONDS=... -P run_fuzzer.cmake
# libFuzzer writes new inputs into the first corpus directory only, so the checked-in CORPUS is
# read, never written: finds go to WORK_DIR/corpus, reproducers to WORK_DIR/artifacts. Fails on
# any crash, sanitizer report, leak, broken invariant, slow input (> 10 s) or > 2 GB RSS.
foreach(var FUZZER CORPUS DICT WORK_DIR SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${FUZZER}")
  message(FATAL_ERROR "${FUZZER} does not exist: build the augur_fuzzers target first")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/corpus" "${WORK_DIR}/artifacts")
set(log "${WORK_DIR}/fuzz.log")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
execute_process(
  COMMAND "${FUZZER}"
    -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10 -max_len=16384
    -dict=${DICT} -artifact_prefix=${WORK_DIR}/artifacts/ -print_final_stats=1
    "${WORK_DIR}/corpus" "${CORPUS}"
  RESULT_VARIABLE rc
  OUTPUT_FILE "${log}"
  ERROR_FILE "${log}")
file(READ "${log}" output)

if(NOT rc EQUAL 0)
  # The report (sanitizer trace or "invariant violated: ...") is at the end of the log.
  string(LENGTH "${output}" size)
  if(size GREATER 12000)
    math(EXPR from "${size} - 12000")
    string(SUBSTRING "${output}" ${from} -1 output)
  endif()
  file(GLOB artifacts "${WORK_DIR}/artifacts/*")
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}). Reproduce with: ${FUZZER} ${artifacts}\n"
    "Once fixed, add the input to ${CORPUS} as a regression.\n...\n${output}")
endif()

string(REGEX MATCH "stat::number_of_executed_units: *([0-9]+)" _ "${output}")
set(runs "${CMAKE_MATCH_1}")
if(NOT runs OR runs EQUAL 0)
  message(FATAL_ERROR "${FUZZER} executed no input; log: ${log}")
endif()
string(REGEX MATCHALL "cov: [0-9]+" coverage_reports "${output}")
list(POP_BACK coverage_reports coverage)  # the last report is the final coverage
string(REPLACE "cov: " "" coverage "${coverage}")
file(GLOB found "${WORK_DIR}/corpus/*")
list(LENGTH found found)
message("fuzzed ${SECONDS} s: ${runs} inputs, ${coverage} edges, ${found} new corpus entries; "
  "no crash, leak, sanitizer report or broken invariant")
