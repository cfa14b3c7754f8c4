// Fuzzes the feeds file reader (TOML tables of named feeds). The reader takes a path, so each
// input is written to a file owned by this process first.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "run/feeds.hpp"

namespace {

const std::string& feeds_path() {
  static const std::string path = "/tmp/fuzz_feeds_" + std::to_string(::getpid()) + ".toml";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(feeds_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  job_fetcher::run::settings shared;
  shared.feeds_file = feeds_path();
  auto feeds = job_fetcher::run::read_feeds(shared);
  (void)feeds.valid();
  (void)feeds.describe_problems();
  return 0;
}
