// job-fetcher-rusage: runs a command and writes its wall time, CPU time and peak resident set
// size as one JSON object.
//
//   job-fetcher-rusage OUT_FILE COMMAND [ARGS...]
//
// The figures come from wait4(), as /usr/bin/time -v reads them, with microsecond CPU resolution
// (time -v rounds to 10 ms). A small launcher matters for the peak RSS: Linux carries the
// launcher's own peak RSS over into the child's figure through fork and exec, so a child started
// from a Python interpreter never reports less than the interpreter's 15 MB.
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double to_ms(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: job-fetcher-rusage OUT_FILE COMMAND [ARGS...]\n");
    return 2;
  }
  double started = now_ms();
  pid_t child = fork();
  if (child < 0) {
    std::perror("job-fetcher-rusage: fork");
    return 2;
  }
  if (child == 0) {
    execvp(argv[2], argv + 2);
    std::fprintf(stderr, "job-fetcher-rusage: cannot run %s: %s\n", argv[2], std::strerror(errno));
    _exit(127);
  }

  int status = 0;
  rusage usage{};
  if (wait4(child, &status, 0, &usage) < 0) {
    std::perror("job-fetcher-rusage: wait4");
    return 2;
  }
  double wall = now_ms() - started;
  int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  std::FILE* out = std::fopen(argv[1], "w");
  if (out == nullptr) {
    std::perror("job-fetcher-rusage: output file");
    return 2;
  }
  std::fprintf(out,
               "{\"wall_ms\": %.3f, \"user_ms\": %.3f, \"sys_ms\": %.3f, \"max_rss_kb\": %ld, "
               "\"exit\": %d}\n",
               wall, to_ms(usage.ru_utime), to_ms(usage.ru_stime), usage.ru_maxrss, exit_code);
  std::fclose(out);
  return exit_code;
}
