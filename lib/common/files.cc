#include "lib/common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace silta::common {
namespace {

absl::Status StatFile(const std::string& path, struct stat* st) {
  if (::stat(path.c_str(), st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat(path, ": file does not exist"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot access file: ", std::strerror(err)));
  }
  if (!S_ISREG(st->st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadFile(absl::string_view path, size_t max_bytes) {
  const std::string p(path);
  struct stat st {};
  if (absl::Status s = StatFile(p, &st); !s.ok()) return s;
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(p, ": file is larger than ", max_bytes, " bytes"));
  }
  if (::access(p.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(p, ": file is not readable by this user"));
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(absl::StrCat(p, ": cannot open file"));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat(p, ": read error"));
  }
  return buffer.str();
}

absl::Status CheckSecretFile(absl::string_view path) {
  const std::string p(path);
  struct stat st {};
  if (absl::Status s = StatFile(p, &st); !s.ok()) return s;
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(p, ": secret file is accessible by group or others (mode ",
                     absl::StrFormat("%03o", st.st_mode & 0777), "); fix with: chmod 600 ", p));
  }
  if (::access(p.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(p, ": secret file is not readable by this user"));
  }
  return absl::OkStatus();
}

std::string ResolvePath(absl::string_view relative_to_file, absl::string_view path) {
  if (path.empty() || path.front() == '/') return std::string(path);
  const size_t slash = relative_to_file.rfind('/');
  if (slash == absl::string_view::npos) return std::string(path);
  return absl::StrCat(relative_to_file.substr(0, slash + 1), path);
}

absl::Status MakePrivateDir(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the folder ", path, ": ", error.message()));
  }
  if (::chmod(path.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot make the folder ", path, " private (chmod 700): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace silta::common
