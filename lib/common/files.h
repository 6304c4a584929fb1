// File: lib/common/files.h
//
// Reading configuration files and checking secret files, with errors that
// name the file and say how to fix the problem (never the file's content).
#ifndef SILTA_LIB_COMMON_FILES_H_
#define SILTA_LIB_COMMON_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace silta::common {

// Reads a whole regular file. NOT_FOUND if it does not exist,
// PERMISSION_DENIED if it cannot be read, INVALID_ARGUMENT if it is not a
// regular file or is larger than `max_bytes`.
absl::StatusOr<std::string> ReadFile(absl::string_view path, size_t max_bytes = 16 * 1024 * 1024);

// Checks that `path` is a readable regular file that neither group nor
// others can read or write (mode & 077 == 0). Secrets (private keys, the
// pepper, database passwords) must pass this before siltad uses them.
// NOT_FOUND, PERMISSION_DENIED (unreadable) or FAILED_PRECONDITION (too
// open, with the chmod command that fixes it).
absl::Status CheckSecretFile(absl::string_view path);

// Resolves `path` against the directory of `relative_to_file` unless it is
// absolute or empty.
std::string ResolvePath(absl::string_view relative_to_file, absl::string_view path);

// Creates the folder `path` (and its parents) if needed and makes it
// private to its owner (mode 0700), for files about people: exports, kept
// tree heads. PERMISSION_DENIED, naming the folder, if either fails.
absl::Status MakePrivateDir(const std::string& path);

}  // namespace silta::common

#endif  // SILTA_LIB_COMMON_FILES_H_
