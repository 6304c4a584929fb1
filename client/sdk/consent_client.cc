#include "client/sdk/consent_client.h"

#include <utility>

namespace silta::sdk {

ConsentClient::ConsentClient(std::shared_ptr<const Connection> connection)
    : connection_(std::move(connection)),
      stub_(v1::ConsentService::NewStub(connection_->channel())) {}

absl::StatusOr<v1::RecordConsentResponse> ConsentClient::RecordConsent(
    const v1::RecordConsentRequest& request) const {
  return connection_->Unary(*stub_, &v1::ConsentService::Stub::RecordConsent, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::RecordRefusalResponse> ConsentClient::RecordRefusal(
    const v1::RecordRefusalRequest& request) const {
  return connection_->Unary(*stub_, &v1::ConsentService::Stub::RecordRefusal, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::RecordCompetenceAssessmentResponse> ConsentClient::RecordCompetenceAssessment(
    const v1::RecordCompetenceAssessmentRequest& request) const {
  return connection_->Unary(*stub_, &v1::ConsentService::Stub::RecordCompetenceAssessment, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::WithdrawConsentResponse> ConsentClient::WithdrawConsent(
    const v1::WithdrawConsentRequest& request) const {
  return connection_->Unary(*stub_, &v1::ConsentService::Stub::WithdrawConsent, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::ListSubjectConsentsResponse> ConsentClient::ListSubjectConsents(
    const v1::ListSubjectConsentsRequest& request) const {
  return connection_->Unary(*stub_, &v1::ConsentService::Stub::ListSubjectConsents, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::PreviewDisclosureResponse> ConsentClient::PreviewDisclosure(
    const v1::PreviewDisclosureRequest& request) const {
  return connection_->Unary(*stub_, &v1::ConsentService::Stub::PreviewDisclosure, request,
                            Idempotency::kIdempotent);
}

}  // namespace silta::sdk
