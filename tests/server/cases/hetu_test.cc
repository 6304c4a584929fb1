#include "server/cases/hetu.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/cases/subject_refs.h"
#include "tests/testing/status_matchers.h"

namespace silta::cases {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// Test codes only: individual numbers 900-999 (DESIGN.md §11). One per
// century sign, including those introduced in 2023.
class ValidHetuTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ValidHetuTest, IsAccepted) { EXPECT_THAT(NormalizeHetu(GetParam()), IsOkAndHolds(GetParam())); }

INSTANTIATE_TEST_SUITE_P(EveryCenturySign, ValidHetuTest,
                         ::testing::Values("280295+917S",   // 1800s
                                           "010101-901S",   // 1900s
                                           "241185Y912P", "070777X913F", "080888W914T",
                                           "090999V9154", "101070U9164",
                                           "290200A902D",   // 2000s, 29 Feb 2000
                                           "150609B934Y", "311210C999F", "010311D950J",
                                           "020412E960K", "030513F970L"));

TEST(HetuTest, NormalisesCaseAndWhiteSpace) {
  EXPECT_THAT(NormalizeHetu("  150609b934y\n"), IsOkAndHolds("150609B934Y"));
}

struct InvalidCase {
  const char* hetu;
  const char* rule;
};

class InvalidHetuTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidHetuTest, IsRejectedNamingTheRuleWithoutEchoingTheCode) {
  const absl::Status status = NormalizeHetu(GetParam().hetu, "subject.hetu").status();

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().rule)));
  EXPECT_THAT(status.message(), HasSubstr("subject.hetu"));
  const std::string code = GetParam().hetu;
  if (code.size() >= 6) {
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(code.substr(0, 6))));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, InvalidHetuTest,
    ::testing::Values(InvalidCase{"", "length"}, InvalidCase{"010101-901", "length"},
                      InvalidCase{"010101-901SS", "length"},
                      InvalidCase{"0101a1-901S", "6 digits"},
                      InvalidCase{"010101G901S", "century sign"},
                      InvalidCase{"010101Z901S", "century sign"},
                      InvalidCase{"010101-9x1S", "3 digits"},
                      InvalidCase{"320101-901S", "no such date"},
                      InvalidCase{"001301-901S", "no such date"},
                      InvalidCase{"290201A902D", "no such date"},  // 2001 is not a leap year
                      InvalidCase{"290200-902D", "no such date"},  // nor is 1900
                      InvalidCase{"010101-001S", "not issued"},
                      InvalidCase{"010101-901T", "check character"},
                      InvalidCase{"010101-902S", "check character"}));

TEST(SubjectRefsTest, RefIsStableAndIndependentOfFormatting) {
  auto refs = SubjectRefs::FromPepper(crypto::SecretData::FromString(std::string(32, 'p')));
  ASSERT_THAT(refs, IsOk());

  auto a = (*refs)->RefFor("150609B934Y");
  auto b = (*refs)->RefFor(" 150609b934y ");

  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_THAT(*a, Not(HasSubstr("150609")));
}

TEST(SubjectRefsTest, CodesDifferingOnlyByCenturySignAreDifferentPeople) {
  auto refs = SubjectRefs::FromPepper(crypto::SecretData::FromString(std::string(32, 'p')));
  ASSERT_THAT(refs, IsOk());

  // Same date and individual number, 1900s vs 2000s: since 2023 both exist.
  EXPECT_NE(*(*refs)->RefFor("150308-9305"), *(*refs)->RefFor("150308A9305"));
}

TEST(SubjectRefsTest, DifferentPeppersGiveUnlinkableRefs) {
  auto a = SubjectRefs::FromPepper(crypto::SecretData::FromString(std::string(32, 'a')));
  auto b = SubjectRefs::FromPepper(crypto::SecretData::FromString(std::string(32, 'b')));

  EXPECT_NE(*(*a)->RefFor("150609B934Y"), *(*b)->RefFor("150609B934Y"));
}

TEST(SubjectRefsTest, RejectsShortPepper) {
  EXPECT_THAT(SubjectRefs::FromPepper(crypto::SecretData::FromString("short")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("32")));
}

}  // namespace
}  // namespace silta::cases
