#include "lib/audit/log_entry.h"

#include <algorithm>

#include "lib/audit/merkle.h"
#include "lib/common/time_util.h"
#include "lib/crypto/canonical_bytes.h"
#include "lib/crypto/random.h"

namespace silta::audit {

v1::AuditEntry NewEntry(v1::AuditEventType type, absl::Time at, absl::string_view actor_org_id,
                        const v1::ActingUser& acting_user) {
  v1::AuditEntry e;
  e.set_type(type);
  *e.mutable_at() = common::ToTimestamp(absl::FromUnixMicros(absl::ToUnixMicros(at)));
  e.set_actor_org_id(std::string(actor_org_id));
  std::string salt(kEntrySaltSize, '\0');
  const absl::Status drawn = crypto::RandomBytesForIds(
      absl::MakeSpan(reinterpret_cast<uint8_t*>(salt.data()), salt.size()));
  // The CSPRNG does not fail on Linux; if it did, an unsalted (v1) entry is
  // still a correct entry, only its hash is easier to guess.
  if (drawn.ok()) e.set_salt(std::move(salt));
  if (!acting_user.worker_id().empty() || !acting_user.role().empty()) {
    *e.mutable_acting_user() = acting_user;
  }
  return e;
}

std::string CanonicalEntryBytes(const v1::AuditEntry& e) {
  // Entries written before salts existed keep their v1 leaf.
  std::string out = e.salt().empty() ? "SILTA-AUDIT-v1" : "SILTA-AUDIT-v2";
  // Every entry the log appends is hashed: room for a usual entry (a few
  // hundred bytes) at once, instead of growing five or six times.
  out.reserve(512);
  crypto::PutU64(&out, e.index());
  crypto::PutU32(&out, static_cast<uint32_t>(e.type()));
  crypto::PutU64(&out, crypto::Micros(e.at()));
  crypto::PutLp(&out, e.actor_org_id());
  crypto::PutLp(&out, e.acting_user().worker_id());
  crypto::PutLp(&out, e.acting_user().role());
  crypto::PutLp(&out, e.counterpart_org_id());
  crypto::PutLp(&out, e.purpose());
  crypto::PutLp(&out, e.subject_ref());
  crypto::PutLp(&out, e.case_id());
  crypto::PutLp(&out, e.message_id());
  crypto::PutU32(&out, static_cast<uint32_t>(e.categories_size()));
  for (int c : e.categories()) crypto::PutU32(&out, static_cast<uint32_t>(c));
  crypto::PutU32(&out, static_cast<uint32_t>(e.rule()));
  crypto::PutLp(&out, e.rule_id());
  crypto::PutLp(&out, e.statute_citation());
  out.push_back(e.justification_present() ? '\x01' : '\x00');
  crypto::PutLp(&out, e.detail());
  crypto::PutLp(&out, e.payload_type());
  if (!e.salt().empty()) crypto::PutLp(&out, e.salt());
  return out;
}

bool VisibleTo(const v1::AuditEntry& entry, absl::string_view org_id) {
  if (entry.actor_org_id() == org_id) return true;
  if (entry.counterpart_org_id() != org_id) return false;
  const std::vector<v1::AuditEventType>& types = CounterpartVisibleTypes();
  return std::find(types.begin(), types.end(), entry.type()) != types.end();
}

const std::vector<v1::AuditEventType>& CounterpartVisibleTypes() {
  // What an org already knows as the other party: what it was delivered and
  // what it acked, and changes to cases and to itself. Never a withheld
  // field, a statutory permit it may not have received, an expiry of a
  // message it never got, or anyone's consents. A coordinator sees a
  // notification linked to its case.
  static const std::vector<v1::AuditEventType>* types =
      new std::vector<v1::AuditEventType>{v1::MESSAGE_DELIVERED,     v1::MESSAGE_ACKED,
                                          v1::CASE_CREATED,          v1::CASE_MEMBER_ADDED,
                                          v1::CASE_MEMBER_REMOVED,   v1::COORDINATOR_TRANSFERRED,
                                          v1::CASE_CLOSED,           v1::ORG_ADDED,
                                          v1::ORG_SUSPENDED,         v1::ORG_RESUMED,
                                          v1::EXISTING_CASE_CHECKED, v1::NOTIFICATION_LINKED};
  return *types;
}

std::string EntryLeafHash(const v1::AuditEntry& entry) {
  return LeafHash(CanonicalEntryBytes(entry));
}

void Sequence(v1::AuditEntry& entry, LogTail& tail) {
  const int64_t at_us = std::max(absl::ToUnixMicros(common::ToTime(entry.at())), tail.last_at_us);
  entry.set_index(tail.size++);
  *entry.mutable_at() = common::ToTimestamp(absl::FromUnixMicros(at_us));
  tail.last_at_us = at_us;
}

}  // namespace silta::audit
