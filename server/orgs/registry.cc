#include "server/orgs/registry.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/identity/spiffe_id.h"

namespace silta::orgs {
namespace {

constexpr size_t kMaxDisplayName = 200;
constexpr size_t kMaxRegion = 64;


// The part of an entry that a seed file may change.
bool SameSeedFields(const v1::Organization& a, const v1::Organization& b) {
  return a.display_name() == b.display_name() && a.kind() == b.kind() && a.region() == b.region() &&
         std::equal(a.roles().begin(), a.roles().end(), b.roles().begin(), b.roles().end());
}

}  // namespace

absl::Status ValidateOrg(const v1::Organization& org) {
  if (!identity::IsValidOrgId(org.org_id())) {
    return absl::InvalidArgumentError(
        "org_id: must be 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit");
  }
  if (org.display_name().empty() || org.display_name().size() > kMaxDisplayName) {
    return absl::InvalidArgumentError(absl::StrCat("display_name of ", org.org_id(), ": must be 1-",
                                                   kMaxDisplayName, " characters"));
  }
  if (org.kind() == v1::ORG_KIND_UNSPECIFIED || !v1::OrgKind_IsValid(org.kind())) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind of ", org.org_id(),
                     ": must be one of WELLBEING_AREA, POLICE, PROBATION, PRISON, MUNICIPAL_YOUTH, "
                     "EMPLOYMENT, EDUCATION, NGO"));
  }
  if (org.roles().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("roles of ", org.org_id(),
                     ": at least one of AGENCY, CONSENT_REGISTRAR, AUDITOR, ADMIN is required"));
  }
  absl::flat_hash_set<int> seen;
  for (int role : org.roles()) {
    if (role == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(role)) {
      return absl::InvalidArgumentError(
          absl::StrCat("roles of ", org.org_id(), ": unknown or unspecified role"));
    }
    if (!seen.insert(role).second) {
      return absl::InvalidArgumentError(absl::StrCat("roles of ", org.org_id(), ": role ",
                                                     v1::Role_Name(role), " is listed twice"));
    }
  }
  if (org.region().size() > kMaxRegion) {
    return absl::InvalidArgumentError(
        absl::StrCat("region of ", org.org_id(), ": at most ", kMaxRegion, " characters"));
  }
  if (!v1::OrgState_IsValid(org.state())) {
    return absl::InvalidArgumentError(absl::StrCat("state of ", org.org_id(), ": unknown"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRegistryFile(const v1::OrgRegistryFile& file) {
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < file.orgs_size(); ++i) {
    const v1::Organization& org = file.orgs(i);
    if (absl::Status s = ValidateOrg(org); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("orgs[", i, "]: ", s.message()));
    }
    if (!ids.insert(org.org_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("orgs[", i, "]: org_id ", org.org_id(), " appears twice"));
    }
  }
  return absl::OkStatus();
}

namespace {

// The audit entry of a registry change: the org concerned is the counterpart.
v1::AuditEntry OrgEntry(v1::AuditEventType type, absl::Time at, const v1::Organization& org,
                        const audit::Actor& actor, absl::string_view detail) {
  v1::AuditEntry e = audit::NewEntry(type, at, actor);
  e.set_counterpart_org_id(org.org_id());
  e.set_detail(std::string(detail));
  return e;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OrgRegistry>> OrgRegistry::Create(
    store::DomainStore<store::OrgStore> store, common::Clock clock) {
  auto registry = std::unique_ptr<OrgRegistry>(new OrgRegistry(store, std::move(clock)));
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::Organization> orgs, store->ListOrgs());
  absl::MutexLock lock(&registry->mu_);
  for (v1::Organization& org : orgs) {
    std::string id = org.org_id();
    registry->orgs_.emplace(std::move(id),
                            std::make_shared<const v1::Organization>(std::move(org)));
  }
  return registry;
}

absl::StatusOr<SeedResult> OrgRegistry::ApplySeed(const v1::OrgRegistryFile& file) {
  SILTA_RETURN_IF_ERROR(ValidateRegistryFile(file));
  SeedResult result;
  std::vector<v1::Organization> changed;
  {
    absl::MutexLock lock(&mu_);
    for (const v1::Organization& entry : file.orgs()) {
      auto it = orgs_.find(entry.org_id());
      if (it == orgs_.end()) {
        v1::Organization org = entry;
        if (org.state() == v1::ORG_STATE_UNSPECIFIED) org.set_state(v1::ACTIVE);
        *org.mutable_created_at() = common::ToTimestamp(clock_());
        *org.mutable_updated_at() = org.created_at();
        store::AuditEntries audit = {OrgEntry(v1::ORG_ADDED, clock_(), org, {}, "registry_file")};
        const store::ChangeSequence::Change change = store_.changes().Begin();
        const absl::Status inserted = store_->InsertOrg(org, &audit);
        if (absl::IsAlreadyExists(inserted)) {
          // Another siltad instance on the same database seeded it first:
          // take its row, and update it below if the file differs.
          SILTA_ASSIGN_OR_RETURN(std::optional<v1::Organization> stored,
                                 store_->GetOrg(entry.org_id()));
          if (!stored.has_value()) return inserted;
          it = orgs_
                   .emplace(entry.org_id(),
                            std::make_shared<const v1::Organization>(*std::move(stored)))
                   .first;
        } else {
          SILTA_RETURN_IF_ERROR(inserted);
          orgs_.emplace(org.org_id(), std::make_shared<const v1::Organization>(org));
          changed.push_back(org);
          ++result.added;
          continue;
        }
      }
      if (SameSeedFields(*it->second, entry)) {
        ++result.unchanged;
        continue;
      }
      v1::Organization org = *it->second;
      org.set_display_name(entry.display_name());
      org.set_kind(entry.kind());
      *org.mutable_roles() = entry.roles();
      org.set_region(entry.region());
      *org.mutable_updated_at() = common::ToTimestamp(clock_());
      store::AuditEntries audit = {OrgEntry(v1::ORG_ADDED, clock_(), org, {}, "registry_file_update")};
      const store::ChangeSequence::Change change = store_.changes().Begin();
      SILTA_RETURN_IF_ERROR(store_->UpdateOrg(org, &audit));
      changed.push_back(org);
      it->second = std::make_shared<const v1::Organization>(std::move(org));
      ++result.updated;
    }
  }
  Notify(changed);
  return result;
}

std::optional<v1::Organization> OrgRegistry::Find(absl::string_view org_id) const {
  const std::shared_ptr<const v1::Organization> org = Get(org_id);
  if (org == nullptr) return std::nullopt;
  return *org;
}

std::shared_ptr<const v1::Organization> OrgRegistry::Get(absl::string_view org_id) const {
  absl::MutexLock lock(&mu_);
  auto it = orgs_.find(org_id);
  return it == orgs_.end() ? nullptr : it->second;
}

bool OrgRegistry::Contains(absl::string_view org_id) const { return Get(org_id) != nullptr; }

std::vector<v1::Organization> OrgRegistry::List() const {
  std::vector<v1::Organization> orgs;
  {
    absl::MutexLock lock(&mu_);
    orgs.reserve(orgs_.size());
    for (const auto& [id, org] : orgs_) orgs.push_back(*org);
  }
  std::sort(orgs.begin(), orgs.end(), [](const v1::Organization& a, const v1::Organization& b) {
    return a.org_id() < b.org_id();
  });
  return orgs;
}

absl::StatusOr<v1::Organization> OrgRegistry::Add(v1::Organization org, const audit::Actor& actor) {
  if (org.state() == v1::ORG_STATE_UNSPECIFIED) org.set_state(v1::ACTIVE);
  SILTA_RETURN_IF_ERROR(ValidateOrg(org));
  *org.mutable_created_at() = common::ToTimestamp(clock_());
  *org.mutable_updated_at() = org.created_at();
  {
    absl::MutexLock lock(&mu_);
    if (orgs_.contains(org.org_id())) {
      return absl::AlreadyExistsError(
          absl::StrCat("organisation ", org.org_id(), " already exists"));
    }
    store::AuditEntries audit = {OrgEntry(v1::ORG_ADDED, clock_(), org, actor, "")};
    const store::ChangeSequence::Change change = store_.changes().Begin();
    SILTA_RETURN_IF_ERROR(store_->InsertOrg(org, &audit));
    orgs_.emplace(org.org_id(), std::make_shared<const v1::Organization>(org));
  }
  Notify({org});
  return org;
}

absl::StatusOr<v1::Organization> OrgRegistry::SetState(absl::string_view org_id, v1::OrgState state,
                                                       const audit::Actor& actor,
                                                       absl::string_view reason) {
  v1::Organization org;
  {
    absl::MutexLock lock(&mu_);
    auto it = orgs_.find(org_id);
    if (it == orgs_.end()) {
      return absl::NotFoundError(absl::StrCat("organisation ", org_id, " is not registered"));
    }
    if (it->second->state() == state) return *it->second;
    org = *it->second;
    org.set_state(state);
    *org.mutable_updated_at() = common::ToTimestamp(clock_());
    store::AuditEntries audit = {
        OrgEntry(state == v1::SUSPENDED ? v1::ORG_SUSPENDED : v1::ORG_RESUMED,
                 clock_(), org, actor, reason)};
    const store::ChangeSequence::Change change = store_.changes().Begin();
    SILTA_RETURN_IF_ERROR(store_->UpdateOrg(org, &audit));
    it->second = std::make_shared<const v1::Organization>(org);
  }
  Notify({org});
  return org;
}

absl::Status OrgRegistry::Reload(absl::string_view org_id) {
  std::vector<v1::Organization> read;
  if (org_id.empty()) {
    SILTA_ASSIGN_OR_RETURN(read, store_->ListOrgs());
  } else {
    SILTA_ASSIGN_OR_RETURN(std::optional<v1::Organization> org, store_->GetOrg(org_id));
    if (org.has_value()) read.push_back(*std::move(org));
  }
  std::vector<v1::Organization> changed;
  {
    absl::MutexLock lock(&mu_);
    for (v1::Organization& org : read) {
      auto it = orgs_.find(org.org_id());
      if (it != orgs_.end() &&
          google::protobuf::util::MessageDifferencer::Equals(*it->second, org)) {
        continue;
      }
      changed.push_back(org);
      orgs_.insert_or_assign(org.org_id(),
                             std::make_shared<const v1::Organization>(std::move(org)));
    }
  }
  Notify(changed);
  return absl::OkStatus();
}

int OrgRegistry::AddListener(Listener listener) {
  absl::MutexLock lock(&listeners_mu_);
  const int id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void OrgRegistry::RemoveListener(int id) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(id);
}

void OrgRegistry::Notify(const std::vector<v1::Organization>& changed) const {
  if (changed.empty()) return;
  std::vector<Listener> listeners;
  {
    absl::MutexLock lock(&listeners_mu_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const v1::Organization& org : changed) {
    for (const Listener& listener : listeners) listener(org);
  }
}

}  // namespace silta::orgs
