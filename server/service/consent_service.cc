#include "server/service/consent_service.h"

#include "server/service/unary_call.h"

namespace silta::service {

grpc::ServerUnaryReactor* ConsentService::RecordConsent(grpc::CallbackServerContext* context,
                                                        const v1::RecordConsentRequest* request,
                                                        v1::RecordConsentResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.ConsentService/RecordConsent", response,
      [&](const identity::Caller& caller) { return consents_->RecordConsent(caller, *request); });
}

grpc::ServerUnaryReactor* ConsentService::RecordRefusal(grpc::CallbackServerContext* context,
                                                        const v1::RecordRefusalRequest* request,
                                                        v1::RecordRefusalResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.ConsentService/RecordRefusal", response,
      [&](const identity::Caller& caller) { return consents_->RecordRefusal(caller, *request); });
}

grpc::ServerUnaryReactor* ConsentService::RecordCompetenceAssessment(
    grpc::CallbackServerContext* context, const v1::RecordCompetenceAssessmentRequest* request,
    v1::RecordCompetenceAssessmentResponse* response) {
  return HandleUnary(context, *authenticator_,
                     "/silta.v1.ConsentService/RecordCompetenceAssessment", response,
                     [&](const identity::Caller& caller) {
                       return consents_->RecordCompetenceAssessment(caller, *request);
                     });
}

grpc::ServerUnaryReactor* ConsentService::WithdrawConsent(grpc::CallbackServerContext* context,
                                                          const v1::WithdrawConsentRequest* request,
                                                          v1::WithdrawConsentResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.ConsentService/WithdrawConsent", response,
      [&](const identity::Caller& caller) { return consents_->WithdrawConsent(caller, *request); });
}

grpc::ServerUnaryReactor* ConsentService::ListSubjectConsents(
    grpc::CallbackServerContext* context, const v1::ListSubjectConsentsRequest* request,
    v1::ListSubjectConsentsResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.ConsentService/ListSubjectConsents",
                     response, [&](const identity::Caller& caller) {
                       return consents_->ListSubjectConsents(caller, *request);
                     });
}

grpc::ServerUnaryReactor* ConsentService::PreviewDisclosure(
    grpc::CallbackServerContext* context, const v1::PreviewDisclosureRequest* request,
    v1::PreviewDisclosureResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.ConsentService/PreviewDisclosure",
                     response, [&](const identity::Caller& caller) {
                       return consents_->PreviewDisclosure(caller, *request);
                     });
}

}  // namespace silta::service
