# The AWS Lambda package: job-fetcher-lambda.zip with `bootstrap` at its root.
#
# Lambda's provided.al2023 runtime has glibc 2.34, while Debian 12 builds against glibc 2.36. The
# package therefore carries its own glibc: `bootstrap` is job-fetcher linked with its ELF
# interpreter set to the bundled loader /var/task/lib/ld-linux-x86-64.so.2 (Lambda unpacks the
# package to /var/task) and with DT_RPATH /var/task/lib, so every shared library, the transitive
# ones included, comes from lib/ in the package. No shell or host library is needed to start.
# The path is absolute rather than $ORIGIN/lib because the loader resolves $ORIGIN of the main
# program through /proc/self/exe, which a minimal root file system may lack.
#
# Targets: job-fetcher-lambda (the relinked binary) and lambda-package (the zip).
# Test: package.chroot (label "package") starts the package in an empty chroot.

if(NOT TARGET job-fetcher)
  message(STATUS "lambda-package: no job-fetcher target, the Lambda package is not available")
  return()
endif()

set(JOB_FETCHER_LAMBDA_TASK_ROOT "/var/task" CACHE STRING
    "Directory where Lambda unpacks the package; the bundled loader is found below it")
set(lambda_loader_path "${JOB_FETCHER_LAMBDA_TASK_ROOT}/lib/ld-linux-x86-64.so.2")

# The same sources and libraries as job-fetcher; only the link options differ.
get_target_property(job_fetcher_sources job-fetcher SOURCES)
get_target_property(job_fetcher_source_dir job-fetcher SOURCE_DIR)
get_target_property(job_fetcher_libraries job-fetcher LINK_LIBRARIES)
set(lambda_sources "")
foreach(source ${job_fetcher_sources})
  if(IS_ABSOLUTE "${source}")
    list(APPEND lambda_sources "${source}")
  else()
    list(APPEND lambda_sources "${job_fetcher_source_dir}/${source}")
  endif()
endforeach()

add_executable(job-fetcher-lambda ${lambda_sources})
target_link_libraries(job-fetcher-lambda PRIVATE ${job_fetcher_libraries})
# --disable-new-dtags writes DT_RPATH rather than DT_RUNPATH: only DT_RPATH also applies to the
# dependencies of dependencies (libcurl's libssl, libpq's libgssapi), so none of them falls back
# to the host's copies.
target_link_options(job-fetcher-lambda PRIVATE
  "LINKER:--dynamic-linker=${lambda_loader_path}"
  "LINKER:--disable-new-dtags")
set_target_properties(job-fetcher-lambda PROPERTIES
  BUILD_RPATH "${JOB_FETCHER_LAMBDA_TASK_ROOT}/lib")

set(lambda_package_zip "${PROJECT_BINARY_DIR}/job-fetcher-lambda.zip")
set(lambda_package_script "${PROJECT_SOURCE_DIR}/scripts/package-lambda.sh")
add_custom_command(
  OUTPUT "${lambda_package_zip}"
  COMMAND "${lambda_package_script}" --binary "$<TARGET_FILE:job-fetcher-lambda>"
          --output "${lambda_package_zip}" --loader-path "${lambda_loader_path}"
  DEPENDS job-fetcher-lambda "${lambda_package_script}"
  COMMENT "Packaging job-fetcher-lambda.zip with its shared libraries and glibc loader"
  VERBATIM)
add_custom_target(lambda-package DEPENDS "${lambda_package_zip}")

if(JOB_FETCHER_TESTS AND TARGET jf_double_lambda_runtime)
  # The Runtime API double as a program, for tests that run a process in a chroot.
  add_executable(lambda-runtime-double "${PROJECT_SOURCE_DIR}/tests/package/runtime_double_main.cpp")
  target_link_libraries(lambda-runtime-double PRIVATE jf_double_lambda_runtime job_fetcher_warnings)

  # ctest builds the package itself, so `ctest -L package` works on a fresh build directory.
  add_test(NAME package.build
           COMMAND "${CMAKE_COMMAND}" --build "${PROJECT_BINARY_DIR}"
                   --target lambda-package lambda-runtime-double job-fetcher)
  set_tests_properties(package.build PROPERTIES LABELS package FIXTURES_SETUP lambda_package)

  set(chroot_test_env "LAMBDA_RUNTIME_DOUBLE=$<TARGET_FILE:lambda-runtime-double>")
  if(TARGET upwork-sim)
    list(APPEND chroot_test_env "UPWORK_SIM=$<TARGET_FILE:upwork-sim>"
         "UPWORK_SIM_DATA=${JOB_FETCHER_DATA_DIR}/upwork/postings.jsonl")
  endif()
  add_test(NAME package.chroot
           COMMAND sh "${PROJECT_SOURCE_DIR}/tests/package/chroot_test.sh" "${lambda_package_zip}")
  set_tests_properties(package.chroot PROPERTIES
    LABELS package FIXTURES_REQUIRED lambda_package TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "${chroot_test_env}")

  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_FOUND)
    add_test(NAME package.template
             COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/tests/package/template_test.py"
                     --template "${PROJECT_SOURCE_DIR}/deploy/template.yaml"
                     --job-fetcher "$<TARGET_FILE:job-fetcher>")
    set_tests_properties(package.template PROPERTIES
      LABELS package FIXTURES_REQUIRED lambda_package SKIP_RETURN_CODE 77)
  endif()
endif()
