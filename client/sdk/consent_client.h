// File: client/sdk/consent_client.h
//
// Consents, refusals and competence assessments (ConsentService), and the
// preview of what each recipient may have. Recording needs the
// CONSENT_REGISTRAR role; PreviewDisclosure the AGENCY role. Records are
// not retried on UNAVAILABLE (a second attempt could record twice): list
// the person's consents before recording again.
//
// Example:
//   sdk::ConsentClient consents(connection);
//   v1::ListSubjectConsentsRequest request;
//   request.mutable_subject()->set_hetu(hetu);
//   absl::StatusOr<v1::ListSubjectConsentsResponse> list = consents.ListSubjectConsents(request);
//
// Thread-safe: calls may be made from many threads at once.
#ifndef SILTA_CLIENT_SDK_CONSENT_CLIENT_H_
#define SILTA_CLIENT_SDK_CONSENT_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "client/sdk/connection.h"
#include "silta/v1/consent.grpc.pb.h"

namespace silta::sdk {

class ConsentClient {
 public:
  explicit ConsentClient(std::shared_ptr<const Connection> connection);

  // Records a consent.
  absl::StatusOr<v1::RecordConsentResponse> RecordConsent(
      const v1::RecordConsentRequest& request) const;
  // Records a refusal; it overrides the consents it overlaps.
  absl::StatusOr<v1::RecordRefusalResponse> RecordRefusal(
      const v1::RecordRefusalRequest& request) const;
  // Records that a minor decides for themselves.
  absl::StatusOr<v1::RecordCompetenceAssessmentResponse> RecordCompetenceAssessment(
      const v1::RecordCompetenceAssessmentRequest& request) const;
  // Withdraws a consent, lifts a refusal or ends an assessment, at once.
  absl::StatusOr<v1::WithdrawConsentResponse> WithdrawConsent(
      const v1::WithdrawConsentRequest& request) const;
  // A person's consents and refusals with their history.
  absl::StatusOr<v1::ListSubjectConsentsResponse> ListSubjectConsents(
      const v1::ListSubjectConsentsRequest& request) const;
  // The decision for every (recipient, field) of a draft message.
  // SiltaClient::Preview builds the request from a payload.
  absl::StatusOr<v1::PreviewDisclosureResponse> PreviewDisclosure(
      const v1::PreviewDisclosureRequest& request) const;

 private:
  std::shared_ptr<const Connection> connection_;
  std::shared_ptr<v1::ConsentService::Stub> stub_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_CONSENT_CLIENT_H_
