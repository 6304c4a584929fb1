// File: tests/testing/key_publish.h
//
// Publishes a key bundle of `org`, signed with the test PKI's bundle-signing
// certificate of that org, straight into a KeyDirectory (TESTONLY): what an
// agency's IT does with `siltactl keys publish`, for in-process router tests.
#ifndef SILTA_TESTS_TESTING_KEY_PUBLISH_H_
#define SILTA_TESTS_TESTING_KEY_PUBLISH_H_

#include <string>

#include "gmock/gmock.h"
#include "lib/crypto/key_bundle.h"
#include "server/orgs/key_directory.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace silta::testing {

// Epoch 1, valid [not_before, not_after); expects success and returns the bundle.
inline v1::KeyBundle PublishTestBundle(orgs::KeyDirectory* keys, const identity::Caller& as,
                                       const std::string& org, const std::string& signing_public,
                                       const std::string& hpke_public, absl::Time not_before,
                                       absl::Time not_after) {
  auto bundle = crypto::SignKeyBundle(
      {.org_id = org, .hpke_public_key = hpke_public, .signing_public_key = signing_public,
       .not_before = not_before, .not_after = not_after, .epoch = 1, .previous_key_id = {}},
      ReadTextFile(SILTA_TEST_PKI_DIR "/orgs/" + org + ".signer.pem"),
      ReadTextFile(SILTA_TEST_PKI_DIR "/orgs/" + org + ".signer.key"), nullptr);
  EXPECT_THAT(bundle, IsOk());
  v1::PublishKeyBundleRequest request;
  *request.mutable_bundle() = *bundle;
  request.mutable_acting_user()->set_worker_id("it");
  EXPECT_THAT(keys->PublishKeyBundle(as, request), IsOk());
  return *bundle;
}

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_KEY_PUBLISH_H_
