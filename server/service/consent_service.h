// File: server/service/consent_service.h
//
// silta.v1.ConsentService over consent::ConsentRegistry. Thin: no business logic.
#ifndef SILTA_SERVER_SERVICE_CONSENT_SERVICE_H_
#define SILTA_SERVER_SERVICE_CONSENT_SERVICE_H_

#include "server/consent/consent_registry.h"
#include "server/identity/authenticator.h"
#include "silta/v1/consent.grpc.pb.h"

namespace silta::service {

class ConsentService final : public v1::ConsentService::CallbackService {
 public:
  // Both must outlive the service.
  ConsentService(const identity::Authenticator* authenticator, consent::ConsentRegistry* consents)
      : authenticator_(authenticator), consents_(consents) {}

  grpc::ServerUnaryReactor* RecordConsent(grpc::CallbackServerContext* context,
                                          const v1::RecordConsentRequest* request,
                                          v1::RecordConsentResponse* response) override;
  grpc::ServerUnaryReactor* RecordRefusal(grpc::CallbackServerContext* context,
                                          const v1::RecordRefusalRequest* request,
                                          v1::RecordRefusalResponse* response) override;
  grpc::ServerUnaryReactor* RecordCompetenceAssessment(
      grpc::CallbackServerContext* context, const v1::RecordCompetenceAssessmentRequest* request,
      v1::RecordCompetenceAssessmentResponse* response) override;
  grpc::ServerUnaryReactor* WithdrawConsent(grpc::CallbackServerContext* context,
                                            const v1::WithdrawConsentRequest* request,
                                            v1::WithdrawConsentResponse* response) override;
  grpc::ServerUnaryReactor* ListSubjectConsents(grpc::CallbackServerContext* context,
                                                const v1::ListSubjectConsentsRequest* request,
                                                v1::ListSubjectConsentsResponse* response) override;
  grpc::ServerUnaryReactor* PreviewDisclosure(grpc::CallbackServerContext* context,
                                              const v1::PreviewDisclosureRequest* request,
                                              v1::PreviewDisclosureResponse* response) override;

 private:
  const identity::Authenticator* const authenticator_;
  consent::ConsentRegistry* const consents_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_CONSENT_SERVICE_H_
