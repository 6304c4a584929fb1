#include "server/crypto/key_bundle.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/time_util.h"
#include "server/crypto/openssl_util.h"
#include "server/crypto/primitives.h"
#include "server/crypto/wire_format.h"

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

bool HasSpiffeIdForOrg(X509* leaf, absl::string_view trust_domain, absl::string_view org_id) {
  const std::string prefix = absl::StrCat("spiffe://", trust_domain, "/org/", org_id, "/sys/");
  const std::vector<std::string> uris = internal::UriSans(leaf);
  if (uris.size() != 1) return false;
  const std::string& uri = uris[0];
  return absl::StartsWith(uri, prefix) && uri.size() > prefix.size() &&
         uri.find('/', prefix.size()) == std::string::npos;
}

}  // namespace

absl::StatusOr<v1::KeyBundle> SignKeyBundle(absl::string_view org_id,
                                            absl::string_view hpke_public_key,
                                            absl::string_view signing_public_key,
                                            absl::Time not_before, absl::Time not_after,
                                            absl::string_view certificate_chain_pem,
                                            absl::string_view certificate_key_pem) {
  if (hpke_public_key.size() != kX25519KeySize || signing_public_key.size() != kEd25519KeySize) {
    return Invalid("public keys must be 32 bytes each");
  }
  if (not_after <= not_before) return Invalid("not_after must be after not_before");
  if (ParseCertificates(certificate_chain_pem).empty()) {
    return Invalid("certificate chain holds no PEM certificate");
  }
  v1::KeyBundle bundle;
  bundle.set_org_id(std::string(org_id));
  bundle.set_hpke_public_key(std::string(hpke_public_key));
  bundle.set_signing_public_key(std::string(signing_public_key));
  *bundle.mutable_not_before() = common::ToTimestamp(not_before);
  *bundle.mutable_not_after() = common::ToTimestamp(not_after);
  bundle.set_certificate_chain_pem(std::string(certificate_chain_pem));
  bundle.set_key_id(KeyBundleId(bundle));

  BioPtr bio = internal::MemBio(certificate_key_pem);
  internal::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Invalid("certificate key is not an unencrypted PEM private key");
  const std::string bytes = KeyBundleBytes(bundle);
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(key.get()), nullptr, key.get()) != 1 ||
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

absl::Status VerifyKeyBundle(const v1::KeyBundle& bundle, absl::string_view ca_pem,
                             absl::string_view trust_domain, absl::Time now) {
  if (bundle.hpke_public_key().size() != kX25519KeySize ||
      bundle.signing_public_key().size() != kEd25519KeySize) {
    return Invalid("public keys must be 32 bytes each");
  }
  if (bundle.key_id() != KeyBundleId(bundle)) return Invalid("key_id does not match the keys");
  const absl::Time not_before = common::ToTime(bundle.not_before());
  const absl::Time not_after = common::ToTime(bundle.not_after());
  if (now < not_before || now >= not_after) return Invalid("not valid at this time");
  std::vector<X509Ptr> chain = ParseCertificates(bundle.certificate_chain_pem());
  if (chain.empty()) return Invalid("certificate_chain_pem holds no certificate");
  std::vector<X509Ptr> roots = ParseCertificates(ca_pem);
  if (roots.empty()) return Invalid("no trust-domain CA certificate to verify against");
  if (const absl::Status chained = internal::VerifyClientChain(chain, roots, now);
      !chained.ok()) {
    return Invalid(absl::StrCat("certificate does not verify to the trust-domain CA: ",
                                chained.message()));
  }
  if (!HasSpiffeIdForOrg(chain[0].get(), trust_domain, bundle.org_id())) {
    return Invalid(absl::StrCat("certificate is not a system certificate of ", bundle.org_id()));
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

}  // namespace silta::crypto
