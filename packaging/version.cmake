# Runs at build time (cmake -P): writes exitprof_version.h with `git describe` of the source
# tree, rewritten only when it changed so that nothing rebuilds needlessly. Outside a git
# checkout (a release tarball) the project version alone.
execute_process(COMMAND git -C "${SOURCE_DIR}" describe --tags --always --dirty
                OUTPUT_VARIABLE described OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
if(failed OR described STREQUAL "")
  set(text "${PROJECT_VERSION}")
else()
  set(text "${PROJECT_VERSION} (git ${described})")
endif()
set(content "#define EXITPROF_VERSION \"${text}\"\n")
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUTPUT}" "${content}")
endif()
