#include "client/siltactl/message_commands.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/sdk/key_client.h"
#include "client/sdk/message_client.h"
#include "client/sdk/org_keys.h"
#include "client/sdk/payload_file.h"
#include "client/siltactl/output.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "lib/common/files.h"
#include "lib/common/time_util.h"
#include "lib/crypto/wire_format.h"
#include "silta/v1/message.pb.h"
#include "silta/v1/org.pb.h"

namespace silta::siltactl {
namespace {

constexpr size_t kMaxJustificationBytes = 64 * 1024;
constexpr absl::Duration kInboxAckTimeout = absl::Seconds(30);

std::string RuleText(const v1::Decision& d) {
  const std::string rule = v1::RuleKind_Name(d.rule());
  const std::string kind =
      absl::AsciiStrToLower(absl::StartsWith(rule, "RULE_") ? rule.substr(5) : rule);
  return d.rule_id().empty() ? kind : absl::StrCat(kind, " ", d.rule_id());
}

// One row per (recipient, field): what the broker decided and why.
void PrintDecisions(const google::protobuf::RepeatedPtrField<v1::Decision>& decisions) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Decision& d : decisions) {
    // A consent's reason only repeats its id; every other reason explains.
    const bool plain = d.verdict() == v1::PERMIT && d.rule() == v1::RULE_CONSENT;
    rows.push_back({d.recipient_org_id(), d.field_path(), CategoryText(d.category()),
                    d.verdict() == v1::PERMIT ? "send" : "WITHHOLD", RuleText(d),
                    plain ? "" : d.reason()});
  }
  PrintTable({"RECIPIENT", "FIELD", "CATEGORY", "DECISION", "BASIS", "REASON"}, rows);
}

// Per recipient, in decision order: how many fields go and how many are withheld.
std::vector<std::vector<std::string>> PerRecipient(
    const google::protobuf::RepeatedPtrField<v1::Decision>& decisions) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> order;
  std::map<std::string, std::pair<int, int>> counts;  // permitted, total
  for (const v1::Decision& d : decisions) {
    if (!counts.contains(d.recipient_org_id())) order.push_back(d.recipient_org_id());
    auto& [permitted, total] = counts[d.recipient_org_id()];
    permitted += d.verdict() == v1::PERMIT;
    ++total;
  }
  for (const std::string& r : order) {
    const auto [permitted, total] = counts[r];
    rows.push_back({r, absl::StrCat(permitted), absl::StrCat(total - permitted)});
  }
  return rows;
}

std::string PayloadText(const google::protobuf::Message& payload) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  std::string text;
  printer.PrintToString(payload, &text);
  return text;
}

// A key bundle was published for our own org. A key that is not in our
// keys directory was published by someone else: say so loudly.
void PrintKeyNotice(const v1::KeyBundleNotice& notice, bool own) {
  std::fprintf(stderr,
               "%s: key bundle %s (epoch %llu) was published for your organisation at %s by %s "
               "(worker %s)%s\n",
               own ? "notice" : "WARNING", notice.key_id().c_str(),
               static_cast<unsigned long long>(notice.epoch()),
               TimeText(notice.published_at()).c_str(), notice.publisher_spiffe_id().c_str(),
               notice.acting_user().worker_id().c_str(),
               own ? ""
                   : ". It is NOT in your keys directory: if nobody in your organisation "
                     "published it, have your administrator suspend the organisation and revoke "
                     "the bundle-signing certificate now");
}

}  // namespace

MessageCommands::MessageCommands(CLI::App* app, const GlobalFlags* flags) : flags_(flags) {
  CLI::App* keys = app->add_subcommand("keys", "Organisations' message keys (key bundles)");
  keys->require_subcommand(1);
  CLI::App* keys_list = keys->add_subcommand(
      "list", "Key bundles of an organisation.\n  Example: siltactl keys list --org hml-youth");
  keys_list->add_option("--org", org_id_, "Organisation id")->required();
  keys_list->add_flag("--retired", retired_, "Include retired bundles");
  Add(keys_list, [this] { return KeysList(); });

  CLI::App* publish = keys->add_subcommand(
      "publish",
      "Create new message keys for your organisation in --keys-dir (private keys mode 600),\n"
      "sign their bundle with your bundle-signing certificate (--signer-cert, --signer-key)\n"
      "and publish it (agency role). If --keys-dir holds current keys, the new bundle\n"
      "continues them (next epoch, signed with the current key as well). Earlier keys stay in\n"
      "the directory and still open messages sealed to them.\n"
      "  Example: siltactl --keys-dir ~/.local/share/silta/keys --signer-cert signer.pem \\\n"
      "             --signer-key signer.key keys publish");
  CLI::App* rotate = keys->add_subcommand(
      "rotate",
      "Renew the current keys in --keys-dir: like publish, but only when keys exist there,\n"
      "and (with --if-expires-within) only when the current bundle expires within that many\n"
      "days, so that a daily timer keeps the keys fresh.\n"
      "  Example: siltactl --keys-dir keys keys rotate --if-expires-within 10");
  rotate->add_option("--if-expires-within", rotate_within_days_,
                     "Rotate only if the current bundle expires within this many days")
      ->check(CLI::Range(1, 90));
  for (CLI::App* cmd : {publish, rotate}) {
    cmd->add_option("--validity-days", validity_days_, "How long the bundle is valid (at most 90)")
        ->check(CLI::Range(1, 90))
        ->capture_default_str();
    cmd->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  }
  Add(publish, [this] { return KeysPublish(/*rotate=*/false); });
  Add(rotate, [this] { return KeysPublish(/*rotate=*/true); });

  CLI::App* message = app->add_subcommand("message", "Sealed messages (agency role)");
  message->require_subcommand(1);
  CLI::App* send = message->add_subcommand(
      "send",
      "Seal a payload on this machine and send it. First shows, per recipient and field, what\n"
      "the broker will let through and why, and asks for confirmation (--yes in scripts).\n"
      "The payload file is protobuf text format, or JSON if it ends in .json.\n"
      "Payload types: " +
          sdk::ShortTypeNames() +
          ".\n"
          "  Example: siltactl message send --type Referral --payload referral.textproto \\\n"
          "             --case 0193a1c2-... --to wba-social --to hml-youth --purpose referral\n"
          "  Example: siltactl message send --type ChildWelfareNotification --payload n.json \\\n"
          "             --case 0193a1c2-... --to wba-social --purpose child_welfare_notification "
          "\\\n"
          "             --statutory-basis lsl_25 --justification-file why.txt --yes\n"
          "  A notification outside any case (no --case; a basis marked notification in the\n"
          "  policy) names its person with --subject-stdin:\n"
          "  Example: printf '%s\\n' \"$HETU\" | siltactl message send --type "
          "ChildWelfareNotification \\\n"
          "             --payload n.json --to wba-social --purpose child_welfare_notification \\\n"
          "             --statutory-basis lsl_25 --justification-file why.txt --subject-stdin "
          "--yes");
  send->add_option("--type", payload_type_, "Payload type, e.g. Referral")->required();
  send->add_option("--payload", payload_file_, "Payload file (.textproto or .json)")
      ->required();
  send->add_option("--case", case_id_, "Case id (omit only for an anonymous Consultation)");
  send->add_option("--to", recipients_, "Recipient organisation; repeat")->required();
  send->add_option("--purpose", purpose_, "Purpose code from the policy")->capture_default_str();
  send->add_option("--statutory-basis", statutory_basis_, "Statute code from the policy");
  send->add_option("--justification-file", justification_file_,
                   "File with the written justification a statutory basis requires");
  send->add_option("--reply-to", reply_to_, "Message id this replies to");
  send->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  send->add_option("--worker-role", worker_role_, "Your professional role, e.g. social_worker");
  send->add_flag("--subject-stdin", subject_stdin_,
                 "A notification outside a case: read the person's HETU from stdin (not shown)");
  send->add_flag("-y,--yes", yes_, "Send without asking for confirmation");
  Add(send, [this] { return Send(); });

  CLI::App* inbox = message->add_subcommand(
      "inbox",
      "Receive the messages waiting for your organisation: verify each sender's signature,\n"
      "open it with the keys in --keys-dir, print it and acknowledge it (--no-ack keeps it\n"
      "queued; it comes again after 30 s). Withheld fields are absent and counted.\n"
      "  Example: siltactl --keys-dir keys message inbox --wait 10\n"
      "  Example: siltactl --keys-dir keys message inbox --max 1 --json");
  inbox->add_option("--wait", wait_seconds_, "Seconds to wait for messages")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  inbox->add_option("--max", max_messages_, "Stop after this many messages (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  inbox->add_flag("--no-ack", no_ack_, "Do not acknowledge (the message is delivered again)");
  Add(inbox, [this] { return Inbox(); });

  CLI::App* status = message->add_subcommand("status",
                                             "What happened to a message you sent, per recipient.\n"
                                             "  Example: siltactl message status 0193a1c2-...");
  status->add_option("message_id", message_id_, "Message id")->required();
  Add(status, [this] { return Status(); });

  CLI::App* link = message->add_subcommand(
      "link",
      "Attach a notification your organisation received outside a case to a case of the same\n"
      "person you are a member of, so that the case's coordinator sees it.\n"
      "  Example: siltactl message link --from hml-youth 0193a1c2-... --case 0193b2d3-...");
  link->add_option("message_id", message_id_, "The notification's message id")->required();
  link->add_option("--from", link_sender_, "The organisation that sent it")->required();
  link->add_option("--case", link_case_, "The case to attach it to")->required();
  link->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(link, [this] { return Link(); });
}

int MessageCommands::KeysList() {
  v1::GetKeyBundlesRequest request;
  request.set_org_id(org_id_);
  request.set_include_retired(retired_);
  return RunUnary<sdk::KeyClient>(
      *flags_, "keys list", [&](const sdk::KeyClient& keys) { return keys.GetKeyBundles(request); },
      [&](const v1::GetKeyBundlesResponse& response) {
        if (flags_->json) {
          PrintJson(response);
          return;
        }
        std::vector<std::vector<std::string>> rows;
        for (const v1::KeyBundle& b : response.bundles()) {
          // STATE is the broker's word; EPOCH is signed (what SDKs go by).
          rows.push_back({b.key_id(), b.org_id(), absl::StrCat(b.epoch()),
                          TimeText(b.not_before()), TimeText(b.not_after()),
                          b.retired() ? "retired" : "current"});
        }
        PrintTable({"KEY_ID", "ORG", "EPOCH", "NOT_BEFORE", "NOT_AFTER", "STATE"}, rows);
      });
}

int MessageCommands::KeysPublish(bool rotate) {
  const char* what = rotate ? "keys rotate" : "keys publish";
  if (flags_->keys_dir.empty()) return UsageError("--keys-dir (or SILTA_KEYS_DIR) is required");
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  if (flags_->signer_cert.empty() || flags_->signer_key.empty()) {
    return UsageError(
        "--signer-cert and --signer-key (or SILTA_SIGNER_CERT, SILTA_SIGNER_KEY) are required: "
        "your organisation's bundle-signing certificate (spiffe://<trust-domain>/org/<org-id>/"
        "keys/<name>) and its key, which your CA issues separately from TLS certificates");
  }
  absl::StatusOr<identity::SpiffeId> me = OwnIdentity(*flags_);
  if (!me.ok()) return UsageError(absl::StrCat(what, ": ", me.status().message()));
  if (rotate) {
    absl::StatusOr<std::string> current_id = sdk::CurrentKeyId(flags_->keys_dir);
    if (!current_id.ok()) return UsageError(absl::StrCat(what, ": ", current_id.status().message()));
    absl::StatusOr<sdk::OrgKeys> current = sdk::LoadOrgKeys(flags_->keys_dir, *current_id);
    if (!current.ok()) return UsageError(absl::StrCat(what, ": ", current.status().message()));
    const absl::Time expires = common::ToTime(current->bundle.not_after());
    if (rotate_within_days_ > 0 && expires > absl::Now() + absl::Hours(24) * rotate_within_days_) {
      std::printf("key %s is valid until %s; not rotated\n", current_id->c_str(),
                  TimeText(current->bundle.not_after()).c_str());
      return kExitOk;
    }
  }
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::KeyClient key_service(connection);
  // The broker's current epoch, so that a new keys directory starts above it.
  uint64_t min_epoch = 1;
  {
    v1::GetKeyBundlesRequest request;
    request.set_org_id(me->org_id);
    absl::StatusOr<v1::GetKeyBundlesResponse> served = key_service.GetKeyBundles(request);
    if (!served.ok()) return ReportError(what, served.status());
    for (const v1::KeyBundle& b : served->bundles()) min_epoch = std::max(min_epoch, b.epoch() + 1);
  }
  absl::StatusOr<sdk::OrgKeys> keys =
      sdk::CreateOrgKeys(me->org_id, flags_->signer_cert, flags_->signer_key,
                         absl::Hours(24) * validity_days_, flags_->keys_dir, min_epoch);
  if (!keys.ok()) return UsageError(absl::StrCat(what, ": ", keys.status().message()));
  v1::PublishKeyBundleRequest request;
  *request.mutable_bundle() = keys->bundle;
  request.mutable_acting_user()->set_worker_id(worker_);
  absl::StatusOr<v1::PublishKeyBundleResponse> published = key_service.PublishKeyBundle(request);
  if (!published.ok()) return ReportError(what, published.status());
  const absl::Status current = sdk::SetCurrentKeyId(flags_->keys_dir, keys->bundle.key_id());
  if (!current.ok()) return ReportError(what, current);
  if (flags_->json) {
    PrintJson(keys->bundle);
  } else {
    std::printf("published key %s (epoch %llu) for %s, valid until %s; private keys in %s\n",
                keys->bundle.key_id().c_str(),
                static_cast<unsigned long long>(keys->bundle.epoch()), me->org_id.c_str(),
                TimeText(keys->bundle.not_after()).c_str(), flags_->keys_dir.c_str());
  }
  return kExitOk;
}

std::unique_ptr<sdk::SiltaClient> MessageCommands::ClientOrExit(int* exit_code) {
  if (flags_->keys_dir.empty()) {
    *exit_code = UsageError("--keys-dir (or SILTA_KEYS_DIR) is required: where your "
                            "organisation's message keys are (see `siltactl keys publish`)");
    return nullptr;
  }
  if (flags_->crl_dir.empty()) {
    *exit_code = UsageError("--crl-dir (or SILTA_CRL_DIR) is required: the trust domain's CRL "
                            "directory, so that keys signed by a revoked certificate are refused");
    return nullptr;
  }
  // Who we are and our trust domain come from our own certificate and
  // configuration, never from the broker.
  sdk::SiltaClient::Options options;
  options.trust_domain = flags_->trust_domain;
  options.crl_directory = flags_->crl_dir;
  options.keys_dir = flags_->keys_dir;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, exit_code);
  if (connection == nullptr) return nullptr;
  absl::StatusOr<std::unique_ptr<sdk::SiltaClient>> client =
      sdk::SiltaClient::Create(std::move(connection), options);
  if (!client.ok()) {
    *exit_code = UsageError(std::string(client.status().message()));
    return nullptr;
  }
  return *std::move(client);
}

int MessageCommands::Send() {
  std::unique_ptr<google::protobuf::Message> payload = sdk::NewPayload(payload_type_);
  if (payload == nullptr) {
    return UsageError(absl::StrCat("--type: unknown payload type '", payload_type_,
                                   "'; use one of ", sdk::ShortTypeNames()));
  }
  if (const absl::Status read = sdk::ReadPayload(payload_file_, payload.get()); !read.ok()) {
    return UsageError(std::string(read.message()));
  }
  std::vector<const google::protobuf::FieldDescriptor*> set_fields;
  payload->GetReflection()->ListFields(*payload, &set_fields);
  if (set_fields.empty()) {
    return UsageError(absl::StrCat(payload_file_, ": sets no field of ",
                                   payload->GetDescriptor()->name(), "; there is nothing to send"));
  }
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  sdk::SealRequest request{.case_id = case_id_,
                           .purpose = purpose_,
                           .recipients = recipients_,
                           .worker_id = worker_,
                           .worker_role = worker_role_,
                           .statutory_basis = statutory_basis_,
                           .justification = {},
                           .reply_to = reply_to_,
                           .subject_hetu = {}};
  if (subject_stdin_) {
    if (!case_id_.empty()) {
      return UsageError("--subject-stdin is for a notification outside a case; drop --case "
                        "(a case names its person)");
    }
    request.subject_hetu = ReadHetu("HETU of the young person (not shown): ");
    if (request.subject_hetu.empty()) return UsageError("no HETU entered");
  }
  if (!justification_file_.empty()) {
    absl::StatusOr<std::string> text =
        common::ReadFile(justification_file_, kMaxJustificationBytes);
    if (!text.ok()) return UsageError(std::string(text.status().message()));
    request.justification = std::string(absl::StripTrailingAsciiWhitespace(*text));
    if (request.justification.empty()) {
      return UsageError(absl::StrCat(justification_file_, ": the justification is empty"));
    }
  }
  int exit_code = kExitOk;
  std::unique_ptr<sdk::SiltaClient> client = ClientOrExit(&exit_code);
  if (client == nullptr) return exit_code;

  absl::StatusOr<v1::PreviewDisclosureResponse> preview = client->Preview(*payload, request);
  if (!preview.ok()) return ReportError("message send: preview", preview.status());
  const bool any_permitted =
      std::any_of(preview->decisions().begin(), preview->decisions().end(),
                  [](const v1::Decision& d) { return d.verdict() == v1::PERMIT; });
  if (!flags_->json) {
    // With --json only the receipt is printed: it holds the same decisions.
    std::printf("%s to %s, purpose %s%s:\n", payload->GetDescriptor()->full_name().c_str(),
                absl::StrJoin(recipients_, ", ").c_str(), purpose_.c_str(),
                statutory_basis_.empty()
                    ? ""
                    : absl::StrCat(", statutory basis ", statutory_basis_).c_str());
    PrintDecisions(preview->decisions());
    std::fflush(stdout);
  }
  for (const v1::Decision& d : preview->decisions()) {
    if (d.rule() == v1::RULE_IDENTIFYING_WITHOUT_SUBJECT) {
      std::fprintf(stderr,
                   "siltactl: message send: refused: field %s (%s) identifies the young person "
                   "but the message has no case; remove the field, or send it in a case (a "
                   "statutory notification may instead name its person: --subject-stdin). "
                   "Nothing was sent\n",
                   d.field_path().c_str(), v1::Category_Name(d.category()).c_str());
      return kExitRefused;
    }
  }
  if (!any_permitted) {
    std::fprintf(stderr,
                 "siltactl: message send: nothing in this message may go to any recipient; "
                 "nothing was sent\n");
    return kExitRefused;
  }
  if (!yes_ && !Confirm("Send it?")) {
    std::fprintf(stderr, "siltactl: message send: not sent (confirm at the prompt, or pass --yes "
                         "when not on a terminal)\n");
    return kExitUsage;
  }
  absl::StatusOr<v1::SealedMessage> sealed = client->Seal(*payload, request, *preview);
  if (!sealed.ok()) return ReportError("message send: seal", sealed.status());
  absl::StatusOr<v1::DeliveryReceipt> receipt = client->Send(*sealed, request.subject_hetu);
  if (!receipt.ok()) return ReportError("message send", receipt.status());
  if (flags_->json) {
    PrintJson(*receipt);
    return kExitOk;
  }
  std::printf("sent %s at %s (audit entry %llu)\n", receipt->message_id().c_str(),
              TimeText(receipt->accepted_at()).c_str(),
              static_cast<unsigned long long>(receipt->audit_index()));
  PrintTable({"RECIPIENT", "FIELDS_SENT", "WITHHELD"}, PerRecipient(receipt->decisions()));
  return kExitOk;
}

int MessageCommands::Inbox() {
  int exit_code = kExitOk;
  std::unique_ptr<sdk::SiltaClient> client = ClientOrExit(&exit_code);
  if (client == nullptr) return exit_code;
  int received = 0;
  int failed = 0;
  const absl::Status streamed = client->Subscribe(
      [&](const v1::Delivery& delivery) {
        if (delivery.has_key_notice()) {
          PrintKeyNotice(delivery.key_notice(), client->IsOwnKey(delivery.key_notice().key_id()));
          return true;
        }
        ++received;
        const v1::MessageHeader& header = delivery.message().header();
        std::unique_ptr<google::protobuf::Message> payload = sdk::NewPayload(header.payload_type());
        absl::StatusOr<sdk::OpenedMessage> opened =
            payload == nullptr ? absl::InvalidArgumentError(absl::StrCat(
                                     "unknown payload type ", header.payload_type()))
                               : client->Open(delivery, payload.get());
        if (!opened.ok()) {
          // Not acknowledged: it stays queued for a fixed siltactl or system.
          ++failed;
          std::fprintf(stderr, "siltactl: message inbox: cannot open message %s from %s: %s\n",
                       header.message_id().c_str(), header.sender_org_id().c_str(),
                       std::string(opened.status().message()).c_str());
          return max_messages_ == 0 || received < max_messages_;
        }
        bool acked = false;
        absl::Status ack = absl::OkStatus();
        if (!no_ack_) {
          ack = client->Ack(delivery.delivery_id());
          acked = ack.ok();
        }
        if (flags_->json) {
          std::printf(
              "{\"delivery_id\":%s,\"attempt\":%u,\"header\":%s,\"withheld_field_count\":%d,"
              "\"justification\":%s,\"payload\":%s,\"acked\":%s}\n",
              JsonQuote(delivery.delivery_id()).c_str(), delivery.attempt(),
              JsonText(header).c_str(), opened->withheld_fields,
              JsonQuote(opened->justification).c_str(), JsonText(*payload).c_str(),
              acked ? "true" : "false");
        } else {
          std::printf("== message %s from %s (worker %s)\n", header.message_id().c_str(),
                      header.sender_org_id().c_str(), header.acting_user().worker_id().c_str());
          std::printf("   %s, case %s, purpose %s, sent %s, delivery attempt %u\n",
                      header.payload_type().c_str(),
                      header.case_id().empty() ? "(none)" : header.case_id().c_str(),
                      header.purpose().c_str(), TimeText(header.created_at()).c_str(),
                      delivery.attempt());
          if (!header.statutory_basis().empty()) {
            std::printf("   statutory basis %s; justification: %s\n",
                        header.statutory_basis().c_str(), opened->justification.c_str());
          }
          if (opened->withheld_fields > 0) {
            std::printf("   %d field(s) withheld from your organisation\n",
                        opened->withheld_fields);
          }
          std::printf("%s", PayloadText(*payload).c_str());
          std::printf("   %s\n", no_ack_ ? "not acknowledged (--no-ack)"
                                         : acked ? "acknowledged" : "NOT acknowledged");
        }
        std::fflush(stdout);
        if (!ack.ok()) {
          ++failed;
          std::fprintf(stderr, "siltactl: message inbox: ack of %s failed: %s\n",
                       header.message_id().c_str(), std::string(ack.message()).c_str());
        }
        return max_messages_ == 0 || received < max_messages_;
      },
      kInboxAckTimeout, absl::Seconds(wait_seconds_));
  if (!streamed.ok()) return ReportError("message inbox", streamed);
  if (received == 0 && !flags_->json) {
    std::fprintf(stderr, "no messages within %d s\n", wait_seconds_);
  }
  return failed == 0 ? kExitOk : kExitFailure;
}

int MessageCommands::Status() {
  v1::GetMessageStatusRequest request;
  request.set_message_id(message_id_);
  return RunUnary<sdk::MessageClient>(
      *flags_, "message status",
      [&](const sdk::MessageClient& messages) { return messages.GetMessageStatus(request); },
      [&](const v1::GetMessageStatusResponse& response) {
        if (flags_->json) {
          PrintJson(response);
          return;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : response.recipients()) {
          rows.push_back({r.recipient_org_id(), v1::RecipientState_Name(r.state())});
        }
        PrintTable({"RECIPIENT", "STATE"}, rows);
      });
}

int MessageCommands::Link() {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  int exit_code = kExitOk;
  std::unique_ptr<sdk::SiltaClient> client = ClientOrExit(&exit_code);
  if (client == nullptr) return exit_code;
  v1::ActingUser user;
  user.set_worker_id(worker_);
  absl::StatusOr<uint64_t> index =
      client->LinkNotification(link_sender_, message_id_, link_case_, user);
  if (!index.ok()) return ReportError("message link", index.status());
  if (flags_->json) {
    v1::LinkNotificationResponse response;
    response.set_audit_index(*index);
    PrintJson(response);
    return kExitOk;
  }
  std::printf("notification %s of %s linked to case %s (audit entry %llu); its coordinator "
              "now sees it\n",
              message_id_.c_str(), link_sender_.c_str(), link_case_.c_str(),
              static_cast<unsigned long long>(*index));
  return kExitOk;
}

}  // namespace silta::siltactl
