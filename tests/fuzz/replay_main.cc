// fuzz_replay TARGET [--seeds DIR] PATH...: runs a fuzz target once on every
// file under each PATH (a file or a directory, read recursively), in name
// order, as `make test` does with the seeds and with
// tests/fuzz/regressions/. A finding aborts, so the test fails; a missing
// PATH is an error too. The inputs of --seeds DIR must all pass every
// check of the target: seeds that stop early would leave the deep code
// unfuzzed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_world.h"

namespace {

void Run(silta::fuzz::TargetFunction target, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  target(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fuzz_replay TARGET [--seeds DIR] PATH...\n");
    return 2;
  }
  const silta::fuzz::TargetFunction target = silta::fuzz::Find(argv[1]);
  if (target == nullptr) {
    std::fprintf(stderr, "fuzz_replay: no target %s\n", argv[1]);
    return 2;
  }
  std::vector<std::filesystem::path> files;
  size_t seeds = 0;
  int first = 2;
  if (argc > 3 && std::string(argv[2]) == "--seeds") {
    first = 4;
    for (const auto& entry : std::filesystem::directory_iterator(argv[3])) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    seeds = files.size();
  }
  for (const auto& file : files) Run(target, file);
  if (silta::fuzz::AcceptedCount() != static_cast<int>(seeds)) {
    std::fprintf(stderr, "fuzz_replay %s: only %d of %zu seeds pass every check\n", argv[1],
                 silta::fuzz::AcceptedCount(), seeds);
    return 1;
  }
  for (int i = first; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    if (std::filesystem::is_regular_file(path)) {
      files.push_back(path);
    } else if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        if (entry.is_regular_file() && entry.path().filename() != "README.md") {
          files.push_back(entry.path());
        }
      }
    } else {
      std::fprintf(stderr, "fuzz_replay: %s does not exist\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin() + seeds, files.end());
  for (size_t i = seeds; i < files.size(); ++i) Run(target, files[i]);
  std::printf("fuzz_replay %s: %zu inputs, no finding\n", argv[1], files.size());
  return files.empty() ? 1 : 0;
}
