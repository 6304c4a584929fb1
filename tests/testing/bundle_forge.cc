#include "tests/testing/bundle_forge.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"
#include "tests/testing/process.h"

namespace silta::testing {

v1::KeyBundle ForgeKeyBundle(v1::KeyBundle bundle, const std::string& chain_file,
                             const std::string& key_file,
                             const crypto::SecretData* previous_signing_key) {
  bundle.set_certificate_chain_pem(ReadTextFile(chain_file));
  bundle.set_key_id(crypto::KeyBundleId(bundle));
  const std::string bytes = crypto::KeyBundleBytes(bundle);
  if (previous_signing_key != nullptr) {
    absl::StatusOr<std::string> continuity = crypto::Ed25519Sign(*previous_signing_key, bytes);
    EXPECT_TRUE(continuity.ok());
    bundle.set_continuity_signature(continuity.ok() ? *continuity : "");
  }
  const std::string pem = ReadTextFile(key_file);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EXPECT_NE(key, nullptr) << key_file;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string signature;
  if (key != nullptr &&
      EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len,
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) == 1) {
    signature.resize(len);
    EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &len,
                             reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()),
              1);
    signature.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  bundle.set_certificate_signature(signature);
  return bundle;
}

v1::KeyBundle ForgeFreshBundle(const std::string& org_id, absl::Time not_before,
                               absl::Time not_after, uint64_t epoch,
                               const std::string& chain_file, const std::string& key_file,
                               crypto::SecretData* signing_key) {
  absl::StatusOr<crypto::KeyPair> hpke = crypto::GenerateX25519KeyPair();
  absl::StatusOr<crypto::KeyPair> signing = crypto::GenerateEd25519KeyPair();
  EXPECT_TRUE(hpke.ok() && signing.ok());
  v1::KeyBundle bundle;
  bundle.set_org_id(org_id);
  bundle.set_hpke_public_key(hpke->public_key);
  bundle.set_signing_public_key(signing->public_key);
  *bundle.mutable_not_before() = common::ToTimestamp(not_before);
  *bundle.mutable_not_after() = common::ToTimestamp(not_after);
  bundle.set_epoch(epoch);
  if (signing_key != nullptr) *signing_key = signing->private_key;
  return ForgeKeyBundle(std::move(bundle), chain_file, key_file);
}

}  // namespace silta::testing
