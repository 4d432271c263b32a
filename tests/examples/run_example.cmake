# Run one example program and check what it prints (used by tests/examples/CMakeLists.txt).
#
#   cmake -DEXPECT_FILE=<file> [-DWORKDIR=<dir>] -P run_example.cmake <program> [args...]
#
# EXPECT_FILE sets EXPECT (regular expressions that must all match the combined stdout + stderr), REJECT
# (regular expressions that must not match) and optionally EXPECT_EXIT (the exit status, default 0). The test
# fails when the exit status differs or any expectation fails; the output is always echoed so that
# `ctest --output-on-failure` shows it. "<NL>" in an expression stands for a newline.
cmake_policy(VERSION 3.25)
include("${EXPECT_FILE}")

# Arguments after the script name form the command line.
set(cmd "")
set(seen_script FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
  if(seen_script)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "-P")
    math(EXPR next "${i} + 1")
    set(skip ${next})
  elseif(DEFINED skip AND i EQUAL skip)
    set(seen_script TRUE)
  endif()
endforeach()
if(NOT cmd)
  message(FATAL_ERROR "run_example.cmake: no program given")
endif()
if(NOT WORKDIR)
  set(WORKDIR "${CMAKE_CURRENT_BINARY_DIR}")
endif()

execute_process(COMMAND ${cmd} WORKING_DIRECTORY "${WORKDIR}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}")
if(err)
  message("[stderr]\n${err}")
endif()
set(all "${out}\n${err}")

set(failures "")
if(NOT DEFINED EXPECT_EXIT)
  set(EXPECT_EXIT 0)
endif()
if(NOT rc STREQUAL "${EXPECT_EXIT}")
  list(APPEND failures "exit status ${rc} (expected ${EXPECT_EXIT})")
endif()
foreach(re IN LISTS EXPECT)
  string(REPLACE "<NL>" "\n" re "${re}")
  if(NOT all MATCHES "${re}")
    list(APPEND failures "expected output matching: ${re}")
  endif()
endforeach()
foreach(re IN LISTS REJECT)
  string(REPLACE "<NL>" "\n" re "${re}")
  if(all MATCHES "${re}")
    list(APPEND failures "unexpected output matching: ${re}")
  endif()
endforeach()
if(failures)
  list(JOIN failures "\n  " msg)
  message(FATAL_ERROR "example check failed:\n  ${msg}")
endif()
