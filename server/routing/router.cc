#include "server/routing/router.h"

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/consent/request_link.h"
#include "server/routing/message_checks.h"
#include "server/routing/router_internal.h"

namespace silta::routing {

Router::Router(store::Store* store, const orgs::OrgRegistry* orgs, orgs::KeyDirectory* keys,
               cases::CaseRegistry* cases, const cases::SubjectRefs* subject_refs,
               const consent::PolicyHolder* policy, const consent::DecisionEngine* engine,
               RouterOptions options, common::Clock clock)
    : store_(store),
      orgs_(orgs),
      keys_(keys),
      cases_(cases),
      subject_refs_(subject_refs),
      policy_(policy),
      engine_(engine),
      options_(options),
      clock_(std::move(clock)) {}

Router::~Router() {
  stop_.Notify();
  {
    absl::MutexLock lock(&wake_mu_);
    wake_cv_.SignalAll();
  }
  if (ticker_.joinable()) ticker_.join();
  // The store outlives the router, and calls back into it when a write the
  // router queued is committed: wait for the last of those.
  absl::MutexLock lock(&in_flight_mu_);
  in_flight_mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &in_flight_));
}

std::shared_ptr<void> Router::InFlight() {
  absl::MutexLock lock(&in_flight_mu_);
  ++in_flight_;
  return std::shared_ptr<void>(nullptr, [this](void*) {
    absl::MutexLock lock(&in_flight_mu_);
    --in_flight_;
  });
}

absl::Status Router::Recover() {
  const absl::Time now = clock_();
  absl::StatusOr<std::vector<store::UnfinishedDelivery>> unfinished =
      store_->UnfinishedDeliveries(absl::ToUnixMicros(now));
  if (!unfinished.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot read the unfinished deliveries: ", unfinished.status().message()));
  }
  for (store::UnfinishedDelivery& u : *unfinished) {
    queues_.Add({std::move(u.delivery), nullptr}, u.accepted_us, now);
  }
  common::Log(common::LogLevel::kInfo, "delivery_queues_loaded",
              {{"deliveries", absl::StrCat(unfinished->size())}});
  return absl::OkStatus();
}

absl::Status Router::ValidateMessage(const identity::Caller& caller, const v1::SealedMessage& m,
                                     const v1::Policy& policy) const {
  return CheckSealedMessage(
      m, caller.org.org_id(), policy,
      [&](absl::string_view org_id) { return orgs_->Contains(org_id); },
      MessageLimits{.max_recipients = options_.max_recipients, .max_fields = options_.max_fields});
}

v1::Decision Router::Decide(const v1::MessageHeader& header, const v1::Case* c,
                            absl::string_view outside_case_subject_ref,
                            const v1::Organization& sender, const v1::Organization& recipient,
                            const v1::SealedField& field, bool has_justification,
                            bool answers_request, absl::Time at, const v1::Policy& policy,
                            bool with_reason) const {
  consent::DecisionQuery query =
      consent::QueryInCase(c, outside_case_subject_ref, sender, recipient, header.purpose(),
                           field.category(), at, header.statutory_basis(), has_justification);
  query.answers_recipient_request = answers_request;
  query.with_reason = with_reason;
  v1::Decision d = engine_->Decide(query, policy);
  d.set_field_path(field.path());
  return d;
}

absl::StatusOr<bool> Router::AnswersRequest(const v1::MessageHeader& header,
                                            absl::string_view recipient_org_id,
                                            const v1::Policy& policy) const {
  return consent::AnswersRecipientRequest(*store_, policy, header.statutory_basis(),
                                          header.sender_org_id(), recipient_org_id,
                                          header.payload_type(), header.reply_to());
}

}  // namespace silta::routing
