#include "lib/crypto/key_bundle.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/common/time_util.h"
#include "lib/crypto/openssl_util.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"

namespace silta::crypto {
namespace {

using internal::Bytes;

using internal::BioPtr;
using internal::ParseCertificates;
using internal::X509Ptr;

absl::Status Invalid(absl::string_view what) {
  ERR_clear_error();
  return absl::InvalidArgumentError(absl::StrCat("key bundle: ", what));
}

const EVP_MD* DigestFor(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  return type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448 ? nullptr : EVP_sha256();
}

// The leaf's only URI SAN must be spiffe://<td>/org/<org>/keys/<name>.
bool HasSignerIdForOrg(X509* leaf, absl::string_view trust_domain, absl::string_view org_id) {
  const std::string prefix = absl::StrCat("spiffe://", trust_domain, "/org/", org_id, "/keys/");
  const std::vector<std::string> uris = internal::UriSans(leaf);
  if (uris.size() != 1 || !absl::StartsWith(uris[0], prefix)) return false;
  const absl::string_view name = absl::string_view(uris[0]).substr(prefix.size());
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

bool IsLowerHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool IsKeyId(absl::string_view key_id) { return key_id.size() == 32 && IsLowerHex(key_id); }

absl::StatusOr<v1::KeyBundle> SignKeyBundle(const KeyBundleDraft& draft,
                                            absl::string_view signer_chain_pem,
                                            absl::string_view signer_key_pem,
                                            const SecretData* previous_signing_key) {
  if (absl::Status s = CheckX25519PublicKey(draft.hpke_public_key); !s.ok()) {
    return Invalid(absl::StrCat("hpke_public_key: ", s.message()));
  }
  if (absl::Status s = CheckEd25519PublicKey(draft.signing_public_key); !s.ok()) {
    return Invalid(absl::StrCat("signing_public_key: ", s.message()));
  }
  if (draft.not_after <= draft.not_before) return Invalid("not_after must be after not_before");
  if (draft.not_after - draft.not_before > kMaxKeyBundleValidity) {
    return Invalid("validity must be at most 90 days");
  }
  if (draft.epoch == 0) return Invalid("epoch must be at least 1");
  if (!draft.previous_key_id.empty() && !IsKeyId(draft.previous_key_id)) {
    return Invalid("previous_key_id must be 32 lower-case hex characters");
  }
  if (draft.previous_key_id.empty() != (previous_signing_key == nullptr)) {
    return Invalid("a previous_key_id needs the previous signing key, and only then");
  }
  if (ParseCertificates(signer_chain_pem).empty()) {
    return Invalid("certificate chain holds no PEM certificate");
  }
  v1::KeyBundle bundle;
  bundle.set_org_id(draft.org_id);
  bundle.set_hpke_public_key(draft.hpke_public_key);
  bundle.set_signing_public_key(draft.signing_public_key);
  *bundle.mutable_not_before() = common::ToTimestamp(draft.not_before);
  *bundle.mutable_not_after() = common::ToTimestamp(draft.not_after);
  bundle.set_epoch(draft.epoch);
  bundle.set_previous_key_id(draft.previous_key_id);
  bundle.set_certificate_chain_pem(std::string(signer_chain_pem));
  bundle.set_key_id(KeyBundleId(bundle));
  const std::string bytes = KeyBundleBytes(bundle);
  if (previous_signing_key != nullptr) {
    absl::StatusOr<std::string> continuity = Ed25519Sign(*previous_signing_key, bytes);
    if (!continuity.ok()) return continuity.status();
    bundle.set_continuity_signature(*std::move(continuity));
  }

  BioPtr bio = internal::MemBio(signer_key_pem);
  internal::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Invalid("signer key is not an unencrypted PEM private key");
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(key.get()), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, Bytes(bytes), bytes.size()) != 1) {
    return internal::OpenSslError("key bundle signature");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(bytes), bytes.size()) != 1) {
    return internal::OpenSslError("key bundle signature");
  }
  signature.resize(len);
  bundle.set_certificate_signature(signature);
  return bundle;
}

absl::Status VerifyKeyBundle(const v1::KeyBundle& bundle, absl::string_view expected_org_id,
                             const TrustAnchors& anchors, absl::Time at) {
  if (bundle.org_id() != expected_org_id) {
    return Invalid(absl::StrCat("it is the bundle of ", bundle.org_id(), ", not of ",
                                expected_org_id, " (a broker substituted another org's keys)"));
  }
  if (absl::Status s = CheckX25519PublicKey(bundle.hpke_public_key()); !s.ok()) {
    return Invalid(absl::StrCat("hpke_public_key: ", s.message()));
  }
  if (absl::Status s = CheckEd25519PublicKey(bundle.signing_public_key()); !s.ok()) {
    return Invalid(absl::StrCat("signing_public_key: ", s.message()));
  }
  if (bundle.key_id() != KeyBundleId(bundle)) return Invalid("key_id does not match the keys");
  if (bundle.epoch() == 0) return Invalid("epoch must be at least 1");
  if (!bundle.previous_key_id().empty() && !IsKeyId(bundle.previous_key_id())) {
    return Invalid("previous_key_id is not a key id");
  }
  if (bundle.previous_key_id().empty() != bundle.continuity_signature().empty() ||
      (!bundle.continuity_signature().empty() &&
       bundle.continuity_signature().size() != kEd25519SignatureSize)) {
    return Invalid("a continuity signature (64 bytes) must accompany previous_key_id, and only it");
  }
  const absl::Time not_before = common::ToTime(bundle.not_before());
  const absl::Time not_after = common::ToTime(bundle.not_after());
  if (not_after - not_before > kMaxKeyBundleValidity) {
    return Invalid("valid for more than 90 days");
  }
  if (at < not_before || at >= not_after) {
    return Invalid(absl::StrCat("not valid at ", absl::FormatTime(at, absl::UTCTimeZone()),
                                " (valid ", absl::FormatTime(not_before, absl::UTCTimeZone()),
                                " to ", absl::FormatTime(not_after, absl::UTCTimeZone()), ")"));
  }
  std::vector<X509Ptr> chain = ParseCertificates(bundle.certificate_chain_pem());
  if (chain.empty()) return Invalid("certificate_chain_pem holds no certificate");
  std::vector<X509Ptr> roots = ParseCertificates(anchors.ca_pem);
  if (roots.empty()) return Invalid("no trust-domain CA certificate to verify against");
  if (const absl::Status chained = internal::VerifyChain(chain, roots, at, 0); !chained.ok()) {
    return Invalid(
        absl::StrCat("certificate does not verify to the trust-domain CA: ", chained.message()));
  }
  if (!HasSignerIdForOrg(chain[0].get(), anchors.trust_domain, bundle.org_id())) {
    return Invalid(absl::StrCat("certificate is not a bundle-signing certificate of ",
                                bundle.org_id(), " (spiffe://", anchors.trust_domain, "/org/",
                                bundle.org_id(), "/keys/<name>)"));
  }
  if (!anchors.crl_directory.empty()) {
    if (const absl::Status fresh = internal::CheckNotRevoked(chain, roots, anchors.crl_directory);
        !fresh.ok()) {
      return Invalid(
          absl::StrCat("signing certificate fails the revocation check: ", fresh.message()));
    }
  }
  EVP_PKEY* leaf_key = X509_get0_pubkey(chain[0].get());
  if (leaf_key == nullptr) return Invalid("certificate has no usable public key");
  const std::string bytes = KeyBundleBytes(bundle);
  internal::MdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, DigestFor(leaf_key), nullptr, leaf_key) != 1 ||
      EVP_DigestVerify(md.get(), Bytes(bundle.certificate_signature()),
                       bundle.certificate_signature().size(), Bytes(bytes), bytes.size()) != 1) {
    return Invalid("signature does not verify with the certificate key (authentication failed)");
  }
  return absl::OkStatus();
}

absl::Status VerifyContinuity(const v1::KeyBundle& next, const v1::KeyBundle& previous) {
  if (next.org_id() != previous.org_id() || next.previous_key_id() != previous.key_id()) {
    return Invalid(
        absl::StrCat("bundle ", next.key_id(), " does not continue ", previous.key_id()));
  }
  if (next.epoch() <= previous.epoch()) {
    return Invalid(absl::StrCat("bundle ", next.key_id(), " has epoch ", next.epoch(),
                                ", not above the epoch ", previous.epoch(), " it replaces"));
  }
  if (!Ed25519Verify(previous.signing_public_key(), KeyBundleBytes(next),
                     next.continuity_signature())
           .ok()) {
    return Invalid(absl::StrCat("the continuity signature of ", next.key_id(),
                                " does not verify with the key of ", previous.key_id(),
                                " (authentication failed)"));
  }
  return absl::OkStatus();
}

}  // namespace silta::crypto
