#include "lib/crypto/random.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace silta::crypto {
namespace {

using ::silta::testing::IsOk;

std::string Draw(size_t size) {
  std::string out(size, '\0');
  EXPECT_THAT(RandomBytesForIds(absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), size)),
              IsOk());
  return out;
}

TEST(RandomBytesForIdsTest, NoDrawRepeatsAcrossManyRefills) {
  // 4 000 draws of 16 bytes: the 512-byte buffer is refilled 125 times.
  std::set<std::string> seen;
  for (int i = 0; i < 4000; ++i) seen.insert(Draw(16));
  EXPECT_EQ(seen.size(), 4000u);
}

TEST(RandomBytesForIdsTest, DrawsLargerThanTheBufferAreServedWhole) {
  const std::string big = Draw(4096);
  EXPECT_NE(big, std::string(4096, '\0'));
  EXPECT_NE(big.substr(0, 2048), big.substr(2048));
}

TEST(RandomBytesForIdsTest, AForkedChildDoesNotRepeatItsParentsBytes) {
  Draw(16);  // the parent's buffer now holds bytes not yet handed out
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::array<uint8_t, 16> child{};
    const bool drawn = RandomBytesForIds(absl::MakeSpan(child)).ok();
    const ssize_t written = drawn ? write(pipe_fds[1], child.data(), child.size()) : -1;
    _exit(written == static_cast<ssize_t>(child.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string from_child(16, '\0');
  ASSERT_EQ(read(pipe_fds[0], from_child.data(), from_child.size()), 16);
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Without the fork check the child's draw is the parent's next one.
  EXPECT_NE(from_child, Draw(16));
}

TEST(NewUuidV7Test, IsCanonicalVersionSevenAndSortsByTime) {
  const absl::Time t = absl::FromUnixMillis(1764547200000);
  const absl::StatusOr<std::string> a = NewUuidV7(t);
  const absl::StatusOr<std::string> b = NewUuidV7(t + absl::Milliseconds(1));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_TRUE(IsCanonicalUuid(*a));
  // The time in milliseconds, big-endian, in the first 48 bits.
  EXPECT_EQ(a->substr(0, 13), "019ad735-8400");
  EXPECT_EQ((*a)[14], '7');
  EXPECT_THAT(std::string("89ab"), ::testing::HasSubstr(std::string(1, (*a)[19])));
  EXPECT_LT(*a, *b);
  EXPECT_NE(*a, *NewUuidV7(t));
}

}  // namespace
}  // namespace silta::crypto
