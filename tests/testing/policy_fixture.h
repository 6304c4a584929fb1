// File: tests/testing/policy_fixture.h
//
// The shipped example policy and a few organisations, for consent and case
// tests.
#ifndef SILTA_TESTS_TESTING_POLICY_FIXTURE_H_
#define SILTA_TESTS_TESTING_POLICY_FIXTURE_H_

#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "silta/v1/common.pb.h"
#include "silta/v1/config.pb.h"
#include "tests/testing/process.h"

namespace silta::testing {

// deploy/policy.example.textproto, parsed.
inline v1::Policy ExamplePolicy() {
  v1::Policy policy;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadTextFile(SILTA_SOURCE_DIR "/deploy/policy.example.textproto"), &policy));
  return policy;
}

inline v1::Organization MakeOrg(const std::string& id, v1::OrgKind kind,
                                v1::Role role = v1::AGENCY) {
  v1::Organization org;
  org.set_org_id(id);
  org.set_display_name("Org " + id);
  org.set_kind(kind);
  org.add_roles(role);
  org.set_state(v1::ACTIVE);
  return org;
}

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_POLICY_FIXTURE_H_
