// Load generator for sealed messages (issue #5), on demand: `make bench`.
//
//   build/tests/bench/message_bench [senders] [messages_per_sender]
//
// Starts a real siltad (SQLite, mTLS, dev PKI made by certs/make-dev-pki.sh
// in a temporary folder), publishes keys, opens a case with three member
// organisations and consents for every category of the payload. Then N
// sender threads send pre-sealed 4 KiB Referrals with 8 fields to the three
// recipients over mTLS while the recipients subscribe and ack. Prints
// accepted messages/s, Send latency p50/p99 and Send-to-delivery p50/p99.
// Recipients ack each delivery synchronously, as a simple agency system would.
//
// In the same run, as the ceiling, the same number of threads send the same
// request bytes to a plain gRPC mTLS unary echo service (same certificates,
// same machine) and the ratio is printed.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/sdk/client.h"
#include "client/sdk/connection.h"
#include "client/sdk/org_keys.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "lib/common/time_util.h"
#include "lib/crypto/random.h"
#include "server/identity/tls_credentials.h"
#include "silta/v1/audit.grpc.pb.h"
#include "silta/v1/case.grpc.pb.h"
#include "silta/v1/consent.grpc.pb.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/org.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/testing/process.h"

namespace silta::bench {
namespace {

using testing::CommandResult;
using testing::RunCommand;

constexpr const char* kHetu = "010101-901S";  // test code
const std::vector<std::string> kRecipients = {"wba-social", "hml-youth", "wba-psychiatry"};

struct Percentiles {
  double p50_ms = 0, p99_ms = 0;
};

Percentiles Of(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "message_bench: %s\n", what.c_str());
    std::exit(1);
  }
}

// The echo ceiling: a generic callback service that returns the request.
class EchoService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Echo final : public grpc::ServerGenericBidiReactor {
     public:
      Echo() { StartRead(&buffer_); }
      void OnReadDone(bool ok) override {
        if (ok) {
          StartWriteAndFinish(&buffer_, grpc::WriteOptions(), grpc::Status::OK);
        } else {
          Finish(grpc::Status::OK);
        }
      }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer buffer_;
    };
    return new Echo();
  }
};

class Bench {
 public:
  Bench(int senders, int per_sender) : senders_(senders), per_sender_(per_sender) {
    dir_ = testing::MakeTempDir("message-bench");
    pki_ = dir_ + "/pki";
    const CommandResult pki =
        RunCommand({"/bin/bash", SILTA_SOURCE_DIR "/certs/make-dev-pki.sh", pki_}, {}, absl::Seconds(60));
    Check(pki.exit_code == 0, "dev PKI: " + pki.output);
    testing::WriteTextFile(dir_ + "/pepper", std::string(32, 'p'));
    ::chmod((dir_ + "/pepper").c_str(), 0600);
    testing::WriteTextFile(dir_ + "/policy.textproto",
                           testing::ReadTextFile(SILTA_SOURCE_DIR "/deploy/policy.example.textproto"));
    testing::WriteTextFile(
        dir_ + "/siltad.textproto",
        absl::StrCat("listen_address: \"127.0.0.1:0\"\nlisten_port_file: \"port\"\n"
                     "tls { cert_file: \"", pki_, "/server.pem\" key_file: \"", pki_,
                     "/server.key\" ca_file: \"", pki_, "/ca.pem\" trust_domain: \"silta.test\" }\n"
                     "store { sqlite { path: \"silta.db\" } }\nregistry_file: \"", pki_,
                     "/registry.textproto\"\npolicy_file: \"policy.textproto\"\n"
                     "pepper_file: \"pepper\"\n"
                     "audit { log_key_file: \"", pki_, "/audit/log-key.pem\" }\n"));
    auto siltad = testing::SiltadProcess::Start(dir_ + "/siltad.textproto", dir_ + "/port",
                                                dir_ + "/siltad.log");
    Check(siltad.ok(), std::string(siltad.status().message()));
    siltad_ = *std::move(siltad);
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& org, const std::string& address) {
    sdk::ConnectionOptions o;
    o.address = address;
    o.cert_file = pki_ + "/orgs/" + org + ".pem";
    o.key_file = pki_ + "/orgs/" + org + ".key";
    o.ca_file = pki_ + "/ca.pem";
    o.server_name = "localhost";
    // A separate connection per thread, as separate systems would have.
    auto channel = sdk::Connect(o);
    Check(channel.ok(), "connect");
    return *channel;
  }

  sdk::OrgKeys Keys(const std::string& org) {
    auto keys = sdk::CreateOrgKeys(org, pki_ + "/orgs/" + org + ".signer.pem",
                                   pki_ + "/orgs/" + org + ".signer.key",
                                   absl::Hours(24), dir_ + "/keys-" + org);
    Check(keys.ok(), "keys");
    grpc::ClientContext context;
    v1::PublishKeyBundleRequest request;
    *request.mutable_bundle() = keys->bundle;
    request.mutable_acting_user()->set_worker_id("bench");
    v1::PublishKeyBundleResponse response;
    Check(v1::KeyService::NewStub(Channel(org, siltad_->address()))
              ->PublishKeyBundle(&context, request, &response)
              .ok(),
          "publish");
    return *keys;
  }

  void Setup() {
    police_keys_ = Keys("police-hame");
    for (const auto& r : kRecipients) recipient_keys_[r] = Keys(r);
    grpc::ClientContext context;
    v1::CreateCaseRequest create;
    create.mutable_subject()->set_hetu(kHetu);
    create.set_purpose("referral");
    create.set_coordinator_worker_id("bench");
    for (const auto& r : kRecipients) create.add_member_org_ids(r);
    create.mutable_acting_user()->set_worker_id("bench");
    v1::CreateCaseResponse created;
    Check(v1::CaseService::NewStub(Channel("police-hame", siltad_->address()))
              ->CreateCase(&context, create, &created)
              .ok(),
          "case");
    case_id_ = created.case_().case_id();
    grpc::ClientContext consent_context;
    v1::RecordConsentRequest consent;
    consent.mutable_subject()->set_hetu(kHetu);
    v1::Consent* c = consent.mutable_consent();
    c->set_grantor(v1::SUBJECT);
    c->add_purposes("referral");
    for (int cat = 1; cat <= 15; ++cat) c->add_categories(static_cast<v1::Category>(cat));
    for (const auto& r : kRecipients) c->add_recipients()->set_org_id(r);
    *c->mutable_valid_until() = common::ToTimestamp(absl::Now() + absl::Hours(24));
    c->set_evidence_ref("bench");
    consent.mutable_acting_user()->set_worker_id("bench");
    v1::RecordConsentResponse recorded;
    Check(v1::ConsentService::NewStub(Channel("wba-registrar", siltad_->address()))
              ->RecordConsent(&consent_context, consent, &recorded)
              .ok(),
          "consent");
  }

  // A 4 KiB Referral with 8 fields, sealed to the three recipients.
  v1::SendRequest Sealed() {
    v1::Referral r;
    const std::string text(512, 'x');
    r.set_reason(text);
    r.set_offence_summary(text);
    r.set_support_needs(text);
    r.set_family_situation(text);
    r.set_health_notes(text);
    r.set_education_employment(text);
    r.set_housing(text);
    r.set_current_services(text);
    v1::MessageHeader header;
    header.set_message_id(*crypto::NewUuidV7(absl::Now()));
    header.set_case_id(case_id_);
    header.mutable_acting_user()->set_worker_id("bench");
    header.set_purpose("referral");
    *header.mutable_created_at() = common::ToTimestamp(absl::Now());
    std::vector<sdk::RecipientPublicKey> recipients;
    for (const auto& name : kRecipients) {
      const auto& k = recipient_keys_[name];
      recipients.push_back({name, k.bundle.key_id(), k.bundle.hpke_public_key()});
    }
    auto sealed = sdk::SealPayload(r, header, police_keys_.AsSender(), recipients,
                                   [](auto, auto) { return true; }, "", sdk::SystemRandom());
    Check(sealed.ok(), "seal");
    v1::SendRequest request;
    *request.mutable_message() = *std::move(sealed);
    return request;
  }

  void Run() {
    Setup();
    const int total = senders_ * per_sender_;
    std::vector<std::vector<v1::SendRequest>> work(senders_);
    for (int s = 0; s < senders_; ++s) {
      for (int i = 0; i < per_sender_; ++i) work[s].push_back(Sealed());
    }
    const size_t request_bytes = work[0][0].ByteSizeLong();

    // Recipients subscribe and ack.
    absl::Mutex mu;
    absl::flat_hash_map<std::string, absl::Time> sent_at;
    std::vector<double> delivery_ms;
    std::atomic<int> delivered{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> receivers;
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    for (size_t i = 0; i < kRecipients.size(); ++i) {
      contexts.push_back(std::make_unique<grpc::ClientContext>());
    }
    for (size_t i = 0; i < kRecipients.size(); ++i) {
      const std::string org = kRecipients[i];
      grpc::ClientContext* subscription = contexts[i].get();
      receivers.emplace_back([&, org, subscription] {
        auto stub = v1::MessageService::NewStub(Channel(org, siltad_->address()));
        {
          grpc::ClientContext& context = *subscription;
          auto reader = stub->Subscribe(&context, v1::SubscribeRequest());
          v1::Delivery d;
          while (reader->Read(&d)) {
            const absl::Time now = absl::Now();
            {
              absl::MutexLock lock(&mu);
              auto it = sent_at.find(d.message().header().message_id());
              if (it != sent_at.end()) delivery_ms.push_back(absl::ToDoubleMilliseconds(now - it->second));
            }
            grpc::ClientContext ack_context;
            v1::AckRequest ack;
            ack.set_delivery_id(d.delivery_id());
            v1::AckResponse ack_response;
            stub->Ack(&ack_context, ack, &ack_response).IgnoreError();
            ++delivered;
          }
          reader->Finish().IgnoreError();
        }
      });
    }

    std::vector<double> send_ms;
    const uint64_t audit_before = AuditSize();
    const absl::Time start = absl::Now();
    std::vector<std::thread> senders;
    for (int s = 0; s < senders_; ++s) {
      senders.emplace_back([&, s] {
        auto stub = v1::MessageService::NewStub(Channel("police-hame", siltad_->address()));
        for (const v1::SendRequest& request : work[s]) {
          grpc::ClientContext context;
          v1::SendResponse response;
          const absl::Time t0 = absl::Now();
          {
            absl::MutexLock lock(&mu);
            sent_at[request.message().header().message_id()] = t0;
          }
          const grpc::Status status = stub->Send(&context, request, &response);
          const double ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
          Check(status.ok(), "send: " + status.error_message());
          absl::MutexLock lock(&mu);
          send_ms.push_back(ms);
        }
      });
    }
    for (auto& t : senders) t.join();
    const absl::Duration send_time = absl::Now() - start;
    const absl::Time wait_until = absl::Now() + absl::Seconds(60);
    while (delivered < total * 3 && absl::Now() < wait_until) absl::SleepFor(absl::Milliseconds(20));
    const absl::Duration run_time = absl::Now() - start;
    const uint64_t audit_entries = AuditSize() - audit_before;
    stop = true;
    for (auto& c : contexts) c->TryCancel();
    for (auto& t : receivers) t.join();

    // The ceiling: the same bytes through a plain mTLS unary echo.
    const absl::Duration echo_time = RunEcho(work);

    const double rate = total / absl::ToDoubleSeconds(send_time);
    const double echo_rate = total / absl::ToDoubleSeconds(echo_time);
    const Percentiles send = Of(send_ms);
    const Percentiles delivery = Of(delivery_ms);
    std::printf(
        "\nmessage_bench: %d senders x %d messages, %zu-byte SendRequest (8 fields, 3 recipients)\n"
        "  siltad Send            %.0f msgs/s   p50 %.2f ms  p99 %.2f ms\n"
        "  Send-to-delivery       p50 %.2f ms  p99 %.2f ms   (%d of %d deliveries)\n"
        "  ceiling: mTLS echo     %.0f msgs/s   (same bytes, same threads)\n"
        "  ratio siltad/echo      %.2f\n"
        "  audit entries          %llu (%.1f per message: accepted, withheld, delivered, acked),\n"
        "                         %.0f entries/s appended in the same transactions as Send,\n"
        "                         delivery and Ack\n",
        senders_, per_sender_, request_bytes, rate, send.p50_ms, send.p99_ms, delivery.p50_ms,
        delivery.p99_ms, delivered.load(), total * 3, echo_rate, rate / echo_rate,
        static_cast<unsigned long long>(audit_entries),
        static_cast<double>(audit_entries) / total,
        static_cast<double>(audit_entries) / absl::ToDoubleSeconds(run_time));
  }

  // The audit log's size, from a fresh tree head signed for the auditor.
  uint64_t AuditSize() {
    grpc::ClientContext context;
    v1::GetTreeHeadRequest request;
    request.set_fresh(true);
    v1::SignedTreeHead head;
    Check(v1::AuditService::NewStub(Channel("wba-dpo", siltad_->address()))
              ->GetTreeHead(&context, request, &head)
              .ok(),
          "tree head");
    return head.tree_size();
  }

  absl::Duration RunEcho(const std::vector<std::vector<v1::SendRequest>>& work) {
    v1::TlsConfig tls;
    tls.set_cert_file(pki_ + "/server.pem");
    tls.set_key_file(pki_ + "/server.key");
    tls.set_ca_file(pki_ + "/ca.pem");
    auto credentials = identity::MakeServerCredentials(tls);
    Check(credentials.ok(), "echo credentials");
    EchoService echo;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    builder.RegisterCallbackGenericService(&echo);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    Check(server != nullptr && port != 0, "echo server");
    const std::string address = absl::StrCat("127.0.0.1:", port);
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (size_t s = 0; s < work.size(); ++s) {
      threads.emplace_back([&, s] {
        grpc::GenericStub stub(Channel("police-hame", address));
        for (const v1::SendRequest& request : work[s]) {
          const std::string bytes = request.SerializeAsString();
          grpc::Slice slice(bytes);
          grpc::ByteBuffer in(&slice, 1), out;
          grpc::ClientContext context;
          std::promise<grpc::Status> done;
          stub.UnaryCall(&context, "/silta.bench.Echo/Echo", grpc::StubOptions(), &in, &out,
                         [&done](grpc::Status st) { done.set_value(st); });
          Check(done.get_future().get().ok(), "echo call");
        }
      });
    }
    for (auto& t : threads) t.join();
    const absl::Duration elapsed = absl::Now() - start;
    server->Shutdown();
    return elapsed;
  }

 private:
  const int senders_, per_sender_;
  std::string dir_, pki_, case_id_;
  std::unique_ptr<testing::SiltadProcess> siltad_;
  sdk::OrgKeys police_keys_;
  std::map<std::string, sdk::OrgKeys> recipient_keys_;
};

}  // namespace
}  // namespace silta::bench

int main(int argc, char** argv) {
  const int senders = argc > 1 ? std::atoi(argv[1]) : 4;
  const int per_sender = argc > 2 ? std::atoi(argv[2]) : 250;
  silta::bench::Bench bench(senders, per_sender);
  bench.Run();
  return 0;
}
