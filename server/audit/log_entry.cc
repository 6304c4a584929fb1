#include "server/audit/log_entry.h"

#include "server/audit/merkle.h"
#include "server/common/time_util.h"
#include "server/crypto/canonical_bytes.h"

namespace silta::audit {

v1::AuditEntry NewEntry(v1::AuditEventType type, absl::Time at, absl::string_view actor_org_id,
                        const v1::ActingUser& acting_user) {
  v1::AuditEntry e;
  e.set_type(type);
  *e.mutable_at() = common::ToTimestamp(absl::FromUnixMicros(absl::ToUnixMicros(at)));
  e.set_actor_org_id(std::string(actor_org_id));
  if (!acting_user.worker_id().empty() || !acting_user.role().empty()) {
    *e.mutable_acting_user() = acting_user;
  }
  return e;
}

std::string CanonicalEntryBytes(const v1::AuditEntry& e) {
  std::string out = "SILTA-AUDIT-v1";
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
  return out;
}

std::string EntryLeafHash(const v1::AuditEntry& entry) {
  return LeafHash(CanonicalEntryBytes(entry));
}

}  // namespace silta::audit
