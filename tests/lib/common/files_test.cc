// File: tests/lib/common/files_test.cc
#include "lib/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace silta::common {
namespace {

using ::testing::HasSubstr;

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/files-test-XXXXXX";
  return ::mkdtemp(dir.data());
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(MakePrivateDirTest, CreatesTheFolderAndItsParentsForItsOwnerOnly) {
  const std::string path = TempDir() + "/a/b";
  ASSERT_TRUE(MakePrivateDir(path).ok());
  EXPECT_EQ(ModeOf(path), 0700u);
}

TEST(MakePrivateDirTest, MakesAnOpenFolderPrivate) {
  const std::string path = TempDir() + "/open";
  ASSERT_EQ(::mkdir(path.c_str(), 0777), 0);
  ::chmod(path.c_str(), 0777);
  ASSERT_TRUE(MakePrivateDir(path).ok());
  EXPECT_EQ(ModeOf(path), 0700u);
}

TEST(MakePrivateDirTest, AFileInTheWayIsNamed) {
  const std::string dir = TempDir();
  const std::string file = dir + "/file";
  ASSERT_EQ(::close(::creat(file.c_str(), 0600)), 0);
  const absl::Status made = MakePrivateDir(file + "/sub");
  EXPECT_EQ(made.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(made.message(), HasSubstr(file + "/sub"));
}

}  // namespace
}  // namespace silta::common
