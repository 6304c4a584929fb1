// libFuzzer's entry point for a binary that links one SILTA_FUZZ_TARGET.
#include <cstdio>
#include <cstdlib>

#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/fuzz_world.h"

// Protobuf logs every string field of invalid UTF-8 it parses; at thousands
// of inputs a second that is noise, and slow.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const silta::fuzz::TargetFunction target = [] {
    const silta::fuzz::TargetFunction only = silta::fuzz::Only();
    if (only == nullptr) {
      std::fprintf(stderr, "a fuzz binary must link exactly one target\n");
      std::abort();
    }
    return only;
  }();
  return target(data, size);
}
