#include "lib/policy/policy.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/common/textproto.h"

namespace silta::policy {
namespace {

constexpr uint32_t kMaxNotificationTtlHours = 72;
constexpr uint32_t kMaxRestrictionReviewDays = 730;
constexpr uint32_t kMaxRetentionDays = 36500;

bool IsCode(const std::string& code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

}  // namespace

absl::StatusOr<v1::Policy> LoadPolicyFile(const std::string& path) {
  v1::Policy policy;
  absl::Status status =
      common::ParseTextProtoFile(path, &policy, [](const google::protobuf::Message& m) {
        return ValidatePolicy(static_cast<const v1::Policy&>(m));
      });
  if (!status.ok()) return status;
  return policy;
}

const v1::CategoryPolicy* FindCategory(const v1::Policy& policy, v1::Category category) {
  for (const v1::CategoryPolicy& c : policy.categories()) {
    if (c.category() == category) return &c;
  }
  return nullptr;
}

const v1::StatutoryBasis* FindStatute(const v1::Policy& policy, absl::string_view code) {
  for (const v1::StatutoryBasis& s : policy.statutory_bases()) {
    if (s.code() == code) return &s;
  }
  return nullptr;
}

const v1::RestrictionGround* FindRestrictionGround(const v1::Policy& policy,
                                                   absl::string_view code) {
  for (const v1::RestrictionGround& g : policy.restriction_grounds()) {
    if (g.code() == code) return &g;
  }
  return nullptr;
}

absl::Status ValidatePolicy(const v1::Policy& policy) {
  absl::flat_hash_set<int> categories;
  for (int i = 0; i < policy.categories_size(); ++i) {
    const v1::CategoryPolicy& c = policy.categories(i);
    const std::string where = absl::StrCat("categories[", i, "]");
    if (c.category() == v1::CATEGORY_UNSPECIFIED) return Invalid(where, "category is not set");
    if (!categories.insert(c.category()).second) {
      return Invalid(where, absl::StrCat(v1::Category_Name(c.category()), " is listed twice"));
    }
    if (c.sensitivity() == v1::SENSITIVITY_UNSPECIFIED) {
      return Invalid(where, "sensitivity must be NORMAL, CONFIDENTIAL or SPECIAL");
    }
  }
  if (policy.purposes().empty()) return Invalid("purposes", "at least one purpose is required");
  absl::flat_hash_set<std::string> purposes;
  for (int i = 0; i < policy.purposes_size(); ++i) {
    const std::string where = absl::StrCat("purposes[", i, "]");
    const std::string& code = policy.purposes(i).code();
    if (!IsCode(code)) return Invalid(where, "code must be 1-64 characters of a-z, 0-9 and _");
    if (!purposes.insert(code).second) return Invalid(where, "code " + code + " is listed twice");
  }
  absl::flat_hash_set<std::string> statutes;
  for (int i = 0; i < policy.statutory_bases_size(); ++i) {
    const v1::StatutoryBasis& s = policy.statutory_bases(i);
    const std::string where = absl::StrCat("statutory_bases[", i, "]");
    if (!IsCode(s.code())) return Invalid(where, "code must be 1-64 characters of a-z, 0-9 and _");
    if (!statutes.insert(s.code()).second) {
      return Invalid(where, "code " + s.code() + " is listed twice");
    }
    if (s.citation().empty()) return Invalid(where, "citation is required");
    if (s.sender_kinds().empty()) return Invalid(where, "at least one sender_kinds is required");
    if (s.recipient_kinds().empty()) {
      return Invalid(where, "at least one recipient_kinds is required");
    }
    if (s.categories().empty()) return Invalid(where, "at least one category is required");
    for (int category : s.categories()) {
      if (!categories.contains(category)) {
        return Invalid(where, absl::StrCat("category ", v1::Category_Name(category),
                                           " is not listed in the policy's categories"));
      }
    }
    if (s.notification() &&
        (s.notification_ttl_hours() < 1 || s.notification_ttl_hours() > kMaxNotificationTtlHours)) {
      return Invalid(where, absl::StrCat("a notification needs notification_ttl_hours of 1-",
                                         kMaxNotificationTtlHours,
                                         ": an undelivered one must be raised within hours"));
    }
    if (!s.notification() && s.notification_ttl_hours() != 0) {
      return Invalid(where, "notification_ttl_hours is only for a basis with notification: true");
    }
    if (s.subject_report_deferral_days() != 0) {
      return Invalid(where,
                     "subject_report_deferral_days is replaced by restriction markers: remove it, "
                     "list the legal ground under restriction_grounds, and let the sender "
                     "restrict the entries (RestrictInSubjectReport)");
    }
    if (s.notification() && s.only_in_reply_to_recipient_request()) {
      return Invalid(where,
                     "a notification is not an answer: set notification or "
                     "only_in_reply_to_recipient_request, not both");
    }
  }
  absl::flat_hash_set<int> retained_types;
  bool has_default_rule = false;
  for (int i = 0; i < policy.retention_size(); ++i) {
    const v1::RetentionRule& rule = policy.retention(i);
    const std::string where = absl::StrCat("retention[", i, "]");
    if (rule.source().empty()) {
      return Invalid(where, "source is required: say where the period comes from");
    }
    if (rule.keep_days() > kMaxRetentionDays) {
      return Invalid(where,
                     absl::StrCat("keep_days: at most ", kMaxRetentionDays, " (0 keeps for ever)"));
    }
    if (rule.types().empty()) {
      if (has_default_rule) return Invalid(where, "only one rule may leave types empty");
      has_default_rule = true;
    }
    for (int type : rule.types()) {
      if (type == v1::AUDIT_EVENT_TYPE_UNSPECIFIED || !v1::AuditEventType_IsValid(type)) {
        return Invalid(where, absl::StrCat("type ", type, " is not an audit event type"));
      }
      if (!retained_types.insert(type).second) {
        return Invalid(
            where, absl::StrCat(v1::AuditEventType_Name(type), " is named by two retention rules"));
      }
    }
  }
  absl::flat_hash_set<std::string> grounds;
  for (int i = 0; i < policy.restriction_grounds_size(); ++i) {
    const v1::RestrictionGround& g = policy.restriction_grounds(i);
    const std::string where = absl::StrCat("restriction_grounds[", i, "]");
    if (!IsCode(g.code())) return Invalid(where, "code must be 1-64 characters of a-z, 0-9 and _");
    if (!grounds.insert(g.code()).second) {
      return Invalid(where, "code " + g.code() + " is listed twice");
    }
    if (g.citation().empty()) return Invalid(where, "citation is required");
    if (g.max_review_days() < 1 || g.max_review_days() > kMaxRestrictionReviewDays) {
      return Invalid(where, absl::StrCat("max_review_days must be 1-", kMaxRestrictionReviewDays,
                                         ": a restriction is reviewed, never open-ended"));
    }
  }
  return absl::OkStatus();
}

}  // namespace silta::policy
