// hello-send: publishes this organisation's message keys, previews what a
// recipient may have of a Referral, seals and sends it, and prints the
// receipt. The smallest complete use of the Silta SDK; see README.md.
//
//   hello-send --address localhost:7443 --cert org.pem --key org.key --ca ca.pem \
//     --crl-dir crl/ --keys-dir keys/ --signer-cert org.signer.pem \
//     --signer-key org.signer.key --case <case id> --to wba-social --worker officer-12
#include <cstdio>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "client/sdk/connection.h"
#include "client/sdk/key_client.h"
#include "client/sdk/org_keys.h"
#include "silta/v1/payloads.pb.h"

namespace {

// "--name value" pairs; false if an argument is not one.
bool ParseFlags(int argc, char** argv, std::map<std::string, std::string>* flags) {
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || i + 1 >= argc) return false;
    (*flags)[name.substr(2)] = argv[i + 1];
  }
  return true;
}

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "hello-send: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

// Publishes new keys if `keys_dir` has none yet.
absl::Status PublishKeysIfNew(const std::shared_ptr<const silta::sdk::Connection>& connection,
                              std::map<std::string, std::string>& flags) {
  if (silta::sdk::CurrentKeyId(flags["keys-dir"]).ok()) return absl::OkStatus();
  const absl::StatusOr<silta::identity::SpiffeId>& me = connection->identity();
  if (!me.ok()) return me.status();
  absl::StatusOr<silta::sdk::OrgKeys> keys =
      silta::sdk::CreateOrgKeys(me->org_id, flags["signer-cert"], flags["signer-key"],
                                absl::Hours(24 * 90), flags["keys-dir"]);
  if (!keys.ok()) return keys.status();
  silta::v1::PublishKeyBundleRequest request;
  *request.mutable_bundle() = keys->bundle;
  request.mutable_acting_user()->set_worker_id(flags["worker"]);
  absl::StatusOr<silta::v1::PublishKeyBundleResponse> published =
      silta::sdk::KeyClient(connection).PublishKeyBundle(request);
  if (!published.ok()) return published.status();
  std::printf("published key %s\n", keys->bundle.key_id().c_str());
  return silta::sdk::SetCurrentKeyId(flags["keys-dir"], keys->bundle.key_id());
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: hello-send --address A --cert F --key F --ca F --crl-dir D "
                 "--keys-dir D --signer-cert F --signer-key F --case ID --to ORG "
                 "--worker W [--server-name N]\n");
    return 2;
  }
  silta::sdk::GrpcRuntime grpc_runtime;

  silta::sdk::ConnectionOptions connection_options;
  connection_options.address = flags["address"];
  connection_options.cert_file = flags["cert"];
  connection_options.key_file = flags["key"];
  connection_options.ca_file = flags["ca"];
  connection_options.server_name = flags["server-name"];
  absl::StatusOr<std::shared_ptr<const silta::sdk::Connection>> connection =
      silta::sdk::Connection::Open(connection_options);
  if (!connection.ok()) return Fail("connect", connection.status());
  if (absl::Status s = PublishKeysIfNew(*connection, flags); !s.ok()) return Fail("keys", s);

  silta::sdk::SiltaClient::Options options;
  options.crl_directory = flags["crl-dir"];
  options.keys_dir = flags["keys-dir"];
  absl::StatusOr<std::unique_ptr<silta::sdk::SiltaClient>> client =
      silta::sdk::SiltaClient::Create(*connection, options);
  if (!client.ok()) return Fail("client", client.status());

  silta::v1::Referral referral;
  referral.set_reason("Hello from the Silta SDK");
  referral.set_support_needs("a support person for after-school hours");
  referral.set_mental_health_notes("not for everyone");
  silta::sdk::SealRequest request{.case_id = flags["case"],
                                  .purpose = "referral",
                                  .recipients = {flags["to"]},
                                  .worker_id = flags["worker"]};

  // What the recipient may have, field by field, before anything is sealed.
  absl::StatusOr<silta::v1::PreviewDisclosureResponse> preview =
      (*client)->Preview(referral, request);
  if (!preview.ok()) return Fail("preview", preview.status());
  for (const silta::v1::Decision& d : preview->decisions()) {
    std::printf("%s %s: %s (%s)\n", d.recipient_org_id().c_str(), d.field_path().c_str(),
                silta::v1::Verdict_Name(d.verdict()).c_str(), d.reason().c_str());
  }

  absl::StatusOr<silta::v1::SealedMessage> sealed = (*client)->Seal(referral, request, *preview);
  if (!sealed.ok()) return Fail("seal", sealed.status());
  absl::StatusOr<silta::v1::DeliveryReceipt> receipt = (*client)->Send(*sealed);
  if (!receipt.ok()) return Fail("send", receipt.status());
  std::printf("sent message %s, audit entry %llu\n", receipt->message_id().c_str(),
              static_cast<unsigned long long>(receipt->audit_index()));
  return 0;
}
