#include "client/sdk/org_keys.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"

namespace silta::sdk {
namespace {

constexpr absl::string_view kCurrentFile = "current";
constexpr size_t kMaxKeyIdBytes = 256;

std::string PathFor(absl::string_view dir, absl::string_view key_id, absl::string_view suffix) {
  return absl::StrCat(dir, "/", key_id, suffix);
}

}  // namespace

// Writes `bytes` to `path` with `mode`, atomically (temp file + rename).
absl::Status WriteFileWithMode(const std::string& path, absl::string_view bytes, mode_t mode) {
  const std::string tmp = path + ".tmp";
  const auto failed = [&](const char* step) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": cannot ", step, ": ", why));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return failed("create");
  // open() applies the umask; the mode asked for is the mode given.
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  if (::close(fd) != 0) ok = false;
  if (!ok) return failed("write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return failed("rename");
  // The rename itself is durable once the directory is synced.
  const std::string parent = std::filesystem::path(path).parent_path().string();
  const std::string dir = parent.empty() ? std::string(".") : parent;
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return failed("open its directory");
  const bool synced = ::fsync(dir_fd) == 0;
  ::close(dir_fd);
  if (!synced) return failed("sync its directory");
  return absl::OkStatus();
}

namespace {

absl::StatusOr<crypto::SecretData> ReadKey(const std::string& path) {
  SILTA_RETURN_IF_ERROR(common::CheckSecretFile(path));
  SILTA_ASSIGN_OR_RETURN(std::string bytes, common::ReadFile(path, 64));
  crypto::SecretData key = crypto::SecretData::FromString(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (key.size() != 32) return absl::InvalidArgumentError(absl::StrCat(path, ": not a 32-byte key"));
  return key;
}

}  // namespace

SenderKeys OrgKeys::AsSender() const {
  return SenderKeys{bundle.org_id(), bundle.key_id(), signing.private_key};
}

RecipientPrivateKey OrgKeys::AsRecipient() const {
  return RecipientPrivateKey{bundle.org_id(), bundle.key_id(), hpke.private_key};
}

absl::StatusOr<OrgKeys> CreateOrgKeys(absl::string_view org_id,
                                      absl::string_view signer_cert_file,
                                      absl::string_view signer_key_file, absl::Duration validity,
                                      absl::string_view dir, uint64_t min_epoch) {
  SILTA_RETURN_IF_ERROR(common::CheckSecretFile(signer_key_file));
  SILTA_ASSIGN_OR_RETURN(std::string chain, common::ReadFile(signer_cert_file));
  SILTA_ASSIGN_OR_RETURN(std::string signer_key, common::ReadFile(signer_key_file));
  const absl::Time now = absl::Now();
  // The keys these replace, if the directory has current ones: the new
  // bundle continues them (epoch + 1, previous_key_id, continuity signature)
  // unless they have expired.
  std::optional<OrgKeys> previous;
  absl::StatusOr<std::string> current_id = CurrentKeyId(dir);
  if (current_id.ok()) {
    SILTA_ASSIGN_OR_RETURN(OrgKeys old, LoadOrgKeys(dir, *current_id));
    if (old.bundle.org_id() != org_id) {
      return absl::InvalidArgumentError(absl::StrCat(dir, " holds the keys of ",
                                                     old.bundle.org_id(), ", not of ", org_id));
    }
    previous = std::move(old);
  } else if (!absl::IsNotFound(current_id.status())) {
    return current_id.status();
  }
  OrgKeys keys;
  SILTA_ASSIGN_OR_RETURN(keys.hpke, crypto::GenerateX25519KeyPair());
  SILTA_ASSIGN_OR_RETURN(keys.signing, crypto::GenerateEd25519KeyPair());
  crypto::KeyBundleDraft draft{.org_id = std::string(org_id),
                               .hpke_public_key = keys.hpke.public_key,
                               .signing_public_key = keys.signing.public_key,
                               .not_before = now,
                               .not_after = now + validity,
                               .epoch = std::max<uint64_t>(min_epoch, 1),
                               .previous_key_id = {}};
  const crypto::SecretData* continuity = nullptr;
  if (previous.has_value()) {
    draft.epoch = std::max(draft.epoch, previous->bundle.epoch() + 1);
    if (common::ToTime(previous->bundle.not_after()) > now) {
      draft.previous_key_id = previous->bundle.key_id();
      continuity = &previous->signing.private_key;
    }
  }
  absl::StatusOr<v1::KeyBundle> bundle = crypto::SignKeyBundle(draft, chain, signer_key, continuity);
  OPENSSL_cleanse(signer_key.data(), signer_key.size());
  if (!bundle.ok()) return bundle.status();
  keys.bundle = *std::move(bundle);

  const std::string d(dir);
  SILTA_RETURN_IF_ERROR(MakeOwnerOnlyDirectory(d));
  auto raw = [](const crypto::SecretData& s) {
    return absl::string_view(reinterpret_cast<const char*>(s.data()), s.size());
  };
  SILTA_RETURN_IF_ERROR(WriteFileWithMode(PathFor(d, keys.bundle.key_id(), ".hpke.key"),
                                          raw(keys.hpke.private_key), 0600));
  SILTA_RETURN_IF_ERROR(WriteFileWithMode(PathFor(d, keys.bundle.key_id(), ".signing.key"),
                                          raw(keys.signing.private_key), 0600));
  SILTA_RETURN_IF_ERROR(WriteFileWithMode(PathFor(d, keys.bundle.key_id(), ".bundle.pb"),
                                          keys.bundle.SerializeAsString(), 0644));
  return keys;
}

absl::Status MakeOwnerOnlyDirectory(const std::string& d) {
  // Parents as the umask says; the directory itself owner-only.
  std::error_code error;
  const std::filesystem::path parent = std::filesystem::path(d).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error || (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)) {
    return absl::UnavailableError(
        absl::StrCat(d, ": cannot create directory: ",
                     error ? error.message() : std::string(std::strerror(errno))));
  }
  return absl::OkStatus();
}

absl::StatusOr<OrgKeys> LoadOrgKeys(absl::string_view dir, absl::string_view key_id) {
  // Key ids may come from a message: never let one name another file.
  if (!crypto::IsKeyId(key_id)) {
    return absl::InvalidArgumentError(
        "key id: must be exactly 32 lower-case hex characters (a key bundle's key_id)");
  }
  OrgKeys keys;
  SILTA_ASSIGN_OR_RETURN(std::string bundle_bytes,
                         common::ReadFile(PathFor(dir, key_id, ".bundle.pb")));
  if (!keys.bundle.ParseFromString(bundle_bytes) || keys.bundle.key_id() != key_id) {
    return absl::InvalidArgumentError(absl::StrCat(PathFor(dir, key_id, ".bundle.pb"),
                                                   ": not the bundle of key ", key_id));
  }
  SILTA_ASSIGN_OR_RETURN(keys.hpke.private_key, ReadKey(PathFor(dir, key_id, ".hpke.key")));
  SILTA_ASSIGN_OR_RETURN(keys.signing.private_key, ReadKey(PathFor(dir, key_id, ".signing.key")));
  keys.hpke.public_key = keys.bundle.hpke_public_key();
  keys.signing.public_key = keys.bundle.signing_public_key();
  SILTA_ASSIGN_OR_RETURN(std::string hpke_pub, crypto::X25519PublicKey(keys.hpke.private_key));
  SILTA_ASSIGN_OR_RETURN(std::string signing_pub, crypto::Ed25519PublicKey(keys.signing.private_key));
  if (hpke_pub != keys.hpke.public_key || signing_pub != keys.signing.public_key) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": private keys of ", key_id, " do not match its bundle"));
  }
  return keys;
}

absl::Status SetCurrentKeyId(absl::string_view dir, absl::string_view key_id) {
  return WriteFileWithMode(absl::StrCat(dir, "/", kCurrentFile), absl::StrCat(key_id, "\n"), 0644);
}

absl::StatusOr<std::string> CurrentKeyId(absl::string_view dir) {
  const std::string path = absl::StrCat(dir, "/", kCurrentFile);
  absl::StatusOr<std::string> text = common::ReadFile(path, kMaxKeyIdBytes);
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(absl::StrCat(
        dir, " holds no message keys; create and publish them with `siltactl keys publish "
             "--keys-dir ", dir, "`"));
  }
  if (!text.ok()) return text.status();
  const std::string key_id(absl::StripAsciiWhitespace(*text));
  if (!crypto::IsKeyId(key_id)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a key id"));
  }
  return key_id;
}

}  // namespace silta::sdk
