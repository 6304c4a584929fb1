#include "tests/testing/hostile_broker.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/process.h"

namespace silta::testing {
namespace {

// Forwards the calls an SDK makes; each answer passes the broker's hooks.
class KeyProxy final : public v1::KeyService::Service {
 public:
  KeyProxy(HostileBroker* broker, std::shared_ptr<grpc::Channel> up)
      : broker_(broker), stub_(v1::KeyService::NewStub(up)) {}
  grpc::Status GetKeyBundles(grpc::ServerContext*, const v1::GetKeyBundlesRequest* request,
                             v1::GetKeyBundlesResponse* response) override {
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetKeyBundles(&context, *request, response);
    if (HostileBroker::KeyBundlesHook hook = broker_->hooks().key_bundles) {
      hook(request->org_id(), response);
      return grpc::Status::OK;
    }
    return status;
  }
  grpc::Status PublishKeyBundle(grpc::ServerContext*, const v1::PublishKeyBundleRequest* request,
                                v1::PublishKeyBundleResponse* response) override {
    grpc::ClientContext context;
    return stub_->PublishKeyBundle(&context, *request, response);
  }

 private:
  HostileBroker* const broker_;
  std::unique_ptr<v1::KeyService::Stub> stub_;
};

class MessageProxy final : public v1::MessageService::Service {
 public:
  MessageProxy(HostileBroker* broker, std::shared_ptr<grpc::Channel> up)
      : broker_(broker), stub_(v1::MessageService::NewStub(up)) {}
  grpc::Status Send(grpc::ServerContext*, const v1::SendRequest* request,
                    v1::SendResponse* response) override {
    grpc::ClientContext context;
    return stub_->Send(&context, *request, response);
  }
  grpc::Status Ack(grpc::ServerContext*, const v1::AckRequest* request,
                   v1::AckResponse* response) override {
    grpc::ClientContext context;
    return stub_->Ack(&context, *request, response);
  }
  grpc::Status GetMessageStatus(grpc::ServerContext*, const v1::GetMessageStatusRequest* request,
                                v1::GetMessageStatusResponse* response) override {
    grpc::ClientContext context;
    return stub_->GetMessageStatus(&context, *request, response);
  }
  grpc::Status Subscribe(grpc::ServerContext* server_context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::Delivery>* writer) override {
    for (const v1::Delivery& d : broker_->TakeInjected()) {
      if (!writer->Write(d)) return grpc::Status::CANCELLED;
    }
    grpc::ClientContext context;
    context.set_deadline(server_context->deadline());
    broker_->TrackStream(&context, true);
    std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader = stub_->Subscribe(&context, *request);
    v1::Delivery delivery;
    while (reader->Read(&delivery)) {
      if (HostileBroker::DeliveryHook hook = broker_->hooks().delivery) hook(&delivery);
      if (server_context->IsCancelled() || !writer->Write(delivery)) {
        context.TryCancel();
        break;
      }
    }
    reader->Finish().IgnoreError();
    broker_->TrackStream(&context, false);
    return grpc::Status::OK;
  }

 private:
  HostileBroker* const broker_;
  std::unique_ptr<v1::MessageService::Stub> stub_;
};

class ConsentProxy final : public v1::ConsentService::Service {
 public:
  explicit ConsentProxy(std::shared_ptr<grpc::Channel> up)
      : stub_(v1::ConsentService::NewStub(up)) {}
  grpc::Status PreviewDisclosure(grpc::ServerContext*, const v1::PreviewDisclosureRequest* request,
                                 v1::PreviewDisclosureResponse* response) override {
    grpc::ClientContext context;
    return stub_->PreviewDisclosure(&context, *request, response);
  }

 private:
  std::unique_ptr<v1::ConsentService::Stub> stub_;
};

class BrokerProxy final : public v1::BrokerService::Service {
 public:
  BrokerProxy(HostileBroker* broker, std::shared_ptr<grpc::Channel> up)
      : broker_(broker), stub_(v1::BrokerService::NewStub(up)) {}
  grpc::Status WhoAmI(grpc::ServerContext*, const v1::WhoAmIRequest* request,
                      v1::WhoAmIResponse* response) override {
    grpc::ClientContext context;
    const grpc::Status status = stub_->WhoAmI(&context, *request, response);
    if (HostileBroker::WhoAmIHook hook = broker_->hooks().whoami) hook(response);
    return status;
  }

 private:
  HostileBroker* const broker_;
  std::unique_ptr<v1::BrokerService::Stub> stub_;
};

}  // namespace

std::unique_ptr<HostileBroker> HostileBroker::Start(const std::string& upstream,
                                                    const std::string& cert,
                                                    const std::string& key) {
  std::unique_ptr<HostileBroker> broker(new HostileBroker());
  std::shared_ptr<grpc::Channel> up = ChannelWith(upstream, cert, key);
  broker->services_.push_back(std::make_unique<KeyProxy>(broker.get(), up));
  broker->services_.push_back(std::make_unique<MessageProxy>(broker.get(), up));
  broker->services_.push_back(std::make_unique<ConsentProxy>(up));
  broker->services_.push_back(std::make_unique<BrokerProxy>(broker.get(), up));

  // siltad's own certificate: the SDK cannot tell this broker from siltad.
  grpc::SslServerCredentialsOptions tls(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = ReadTextFile(PkiPath("ca.pem"));
  tls.pem_key_cert_pairs.push_back(
      {ReadTextFile(PkiPath("server.key")), ReadTextFile(PkiPath("server.pem"))});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &port);
  for (const auto& service : broker->services_) builder.RegisterService(service.get());
  broker->server_ = builder.BuildAndStart();
  EXPECT_NE(broker->server_, nullptr);
  EXPECT_NE(port, 0);
  broker->address_ = absl::StrCat("127.0.0.1:", port);
  return broker;
}

HostileBroker::~HostileBroker() {
  {
    // Streams forwarded upstream end now, not at their deadline.
    absl::MutexLock lock(&mu_);
    for (grpc::ClientContext* context : upstream_streams_) context->TryCancel();
  }
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
}

void HostileBroker::TrackStream(grpc::ClientContext* context, bool open) {
  absl::MutexLock lock(&mu_);
  if (open) {
    upstream_streams_.insert(context);
  } else {
    upstream_streams_.erase(context);
  }
}

void HostileBroker::SetKeyBundles(KeyBundlesHook hook) {
  absl::MutexLock lock(&mu_);
  hooks_.key_bundles = std::move(hook);
}

void HostileBroker::SetDeliveries(DeliveryHook hook) {
  absl::MutexLock lock(&mu_);
  hooks_.delivery = std::move(hook);
}

void HostileBroker::SetWhoAmI(WhoAmIHook hook) {
  absl::MutexLock lock(&mu_);
  hooks_.whoami = std::move(hook);
}

void HostileBroker::Inject(v1::Delivery delivery) {
  absl::MutexLock lock(&mu_);
  hooks_.injected.push_back(std::move(delivery));
}

HostileBroker::Hooks HostileBroker::hooks() const {
  absl::MutexLock lock(&mu_);
  return hooks_;
}

std::vector<v1::Delivery> HostileBroker::TakeInjected() {
  absl::MutexLock lock(&mu_);
  return std::exchange(hooks_.injected, {});
}

}  // namespace silta::testing
