#include "client/siltactl/doctor.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/sdk/broker_client.h"
#include "client/sdk/key_client.h"
#include "client/sdk/org_keys.h"
#include "client/siltactl/output.h"
#include "lib/common/files.h"
#include "lib/common/time_util.h"
#include "lib/crypto/certificate.h"
#include "silta/v1/org.pb.h"

namespace silta::siltactl {
namespace {

// Message keys are renewed every few weeks: warn when one has 10 days left.
constexpr absl::Duration kMessageKeyWarning = absl::Hours(24 * 10);

constexpr absl::Duration kClockSkewWarning = absl::Minutes(1);
// Key bundles are accepted up to five minutes before their start.
constexpr absl::Duration kClockSkewLimit = absl::Minutes(5);

enum class Outcome { kOk, kWarn, kFail };

struct Check {
  std::string name;
  Outcome outcome;
  std::string detail;
  std::string fix;
};

class Report {
 public:
  void Ok(std::string name, std::string detail) {
    checks_.push_back({std::move(name), Outcome::kOk, std::move(detail), ""});
  }
  void Warn(std::string name, std::string detail, std::string fix) {
    checks_.push_back({std::move(name), Outcome::kWarn, std::move(detail), std::move(fix)});
  }
  void Fail(std::string name, std::string detail, std::string fix) {
    checks_.push_back({std::move(name), Outcome::kFail, std::move(detail), std::move(fix)});
  }
  // Whether the broker was asked (a "siltad" check exists).
  bool reached() const {
    for (const Check& c : checks_) {
      if (c.name == "siltad") return true;
    }
    return false;
  }
  bool failed() const {
    for (const Check& c : checks_) {
      if (c.outcome == Outcome::kFail) return true;
    }
    return false;
  }

  void Print(bool json) const {
    int warnings = 0, failures = 0;
    for (const Check& c : checks_) {
      warnings += c.outcome == Outcome::kWarn;
      failures += c.outcome == Outcome::kFail;
    }
    if (json) {
      std::vector<std::string> items;
      for (const Check& c : checks_) {
        items.push_back(absl::StrCat("{\"check\":", JsonQuote(c.name), ",\"outcome\":",
                                     JsonQuote(OutcomeName(c.outcome)), ",\"detail\":",
                                     JsonQuote(c.detail), ",\"fix\":", JsonQuote(c.fix), "}"));
      }
      std::printf("{\"checks\":[%s],\"failures\":%d,\"warnings\":%d}\n",
                  absl::StrJoin(items, ",").c_str(), failures, warnings);
      return;
    }
    for (const Check& c : checks_) {
      std::printf("[%-4s] %-20s %s\n", OutcomeName(c.outcome), c.name.c_str(), c.detail.c_str());
      if (!c.fix.empty()) std::printf("       %-20s fix: %s\n", "", c.fix.c_str());
    }
    std::printf("%d problem(s), %d warning(s)\n", failures, warnings);
  }

 private:
  static const char* OutcomeName(Outcome o) {
    switch (o) {
      case Outcome::kOk:
        return "ok";
      case Outcome::kWarn:
        return "warn";
      case Outcome::kFail:
        return "FAIL";
    }
    return "";
  }

  std::vector<Check> checks_;
};

std::string DateText(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

// Validity of a certificate: fail outside it, warn within `warn` of its end.
void CheckValidity(Report* report, const std::string& name, const crypto::CertificateInfo& info,
                   absl::Time now, absl::Duration warn, const std::string& renew) {
  if (now < info.not_before) {
    report->Fail(name, absl::StrCat("not valid before ", DateText(info.not_before)),
                 "check this machine's clock, or wait until the certificate is valid");
  } else if (now >= info.not_after) {
    report->Fail(name, absl::StrCat("expired on ", DateText(info.not_after)), renew);
  } else if (info.not_after - now < warn) {
    report->Warn(name,
                 absl::StrCat("expires in ", absl::ToInt64Hours(info.not_after - now) / 24,
                              " day(s), on ", DateText(info.not_after)),
                 renew);
  } else {
    report->Ok(name, absl::StrCat(info.subject, ", valid until ", DateText(info.not_after)));
  }
}

// Reads a PEM file the connection needs; a failure is reported with `flag`.
std::optional<std::string> ReadPem(Report* report, const std::string& name, const std::string& path,
                                   const std::string& flag) {
  if (path.empty()) {
    report->Fail(name, "not set", absl::StrCat("pass ", flag, " or set it in the config file"));
    return std::nullopt;
  }
  absl::StatusOr<std::string> pem = common::ReadFile(path);
  if (!pem.ok()) {
    report->Fail(name, std::string(pem.status().message()),
                 absl::StrCat("point ", flag, " at the file"));
    return std::nullopt;
  }
  return *std::move(pem);
}

// Whether `key_id` is `org_id`'s current published bundle.
bool IsPublished(const std::shared_ptr<const sdk::Connection>& connection,
                 const std::string& org_id, const std::string& key_id) {
  v1::GetKeyBundlesRequest request;
  request.set_org_id(org_id);
  absl::StatusOr<v1::GetKeyBundlesResponse> response =
      sdk::KeyClient(connection).GetKeyBundles(request);
  if (!response.ok()) return false;
  for (const v1::KeyBundle& b : response->bundles()) {
    if (b.key_id() == key_id && !b.retired()) return true;
  }
  return false;
}

}  // namespace

DoctorCommand::DoctorCommand(CLI::App* app, const GlobalFlags* flags) : flags_(flags) {
  CLI::App* doctor = app->add_subcommand(
      "doctor",
      "Check this machine's connection to siltad step by step and say what to fix:\n"
      "config file, CA and client certificates (expiry, chain, SPIFFE id), private key,\n"
      "reachability over mutual TLS, the identity the broker sees, the clock and the\n"
      "message keys in --keys-dir. Exit 0 if nothing failed (warnings allowed).\n"
      "  Example: siltactl doctor\n"
      "  Example: siltactl --keys-dir keys doctor --warn-days 60 --json");
  doctor->add_option("--warn-days", warn_days_, "Warn this many days before an expiry")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  Add(doctor, [this] { return Check(); });
}

int DoctorCommand::Check() {
  Report report;
  const absl::Time now = absl::Now();
  const absl::Duration warn = absl::Hours(24) * warn_days_;
  const sdk::ConnectionOptions& c = flags_->connection;

  report.Ok("config", flags_->config_file.empty()
                          ? "connection from flags and SILTA_* environment variables"
                          : absl::StrCat("connection from ", flags_->config_file,
                                         " (flags and SILTA_* variables override it)"));
  if (c.address.empty()) {
    report.Fail("address", "not set", "pass --address host:port or set address in the config file");
  } else {
    report.Ok("address", c.address);
  }

  const std::optional<std::string> ca = ReadPem(&report, "CA certificate", c.ca_file, "--ca");
  if (ca.has_value()) {
    absl::StatusOr<crypto::CertificateInfo> info = crypto::InspectCertificate(*ca);
    if (!info.ok()) {
      report.Fail("CA certificate", absl::StrCat(c.ca_file, ": ", info.status().message()),
                  "use the trust-domain CA certificate (PEM) your broker's operator gave you");
    } else {
      CheckValidity(&report, "CA certificate", *info, now, warn,
                    "the trust domain needs a new CA; ask the broker's operator");
    }
  }

  const std::optional<std::string> cert =
      ReadPem(&report, "client certificate", c.cert_file, "--cert");
  const std::string renew = "ask your organisation's CA contact for a new certificate and "
                            "replace the file (siltad needs no restart)";
  if (cert.has_value()) {
    absl::StatusOr<crypto::CertificateInfo> info = crypto::InspectCertificate(*cert);
    if (!info.ok()) {
      report.Fail("client certificate", absl::StrCat(c.cert_file, ": ", info.status().message()),
                  "use your system's client certificate (PEM)");
    } else {
      CheckValidity(&report, "client certificate", *info, now, warn, renew);
      std::vector<std::string> spiffe;
      for (const std::string& uri : info->uri_sans) {
        if (absl::StartsWith(uri, "spiffe://")) spiffe.push_back(uri);
      }
      if (spiffe.size() == 1) {
        report.Ok("SPIFFE id", spiffe[0]);
      } else {
        report.Fail("SPIFFE id",
                    spiffe.empty() ? "the certificate has no spiffe:// URI SAN"
                                   : "the certificate has more than one spiffe:// URI SAN",
                    "the certificate needs exactly one URI SAN "
                    "spiffe://<trust-domain>/org/<org-id>/sys/<system>");
      }
      if (ca.has_value()) {
        const absl::Status chained = crypto::VerifyClientCertificateChain(*cert, *ca, now);
        if (chained.ok()) {
          report.Ok("certificate chain", "verifies to the CA for client authentication");
        } else {
          report.Fail("certificate chain", std::string(chained.message()),
                      "the certificate must be issued by the trust-domain CA in --ca, for "
                      "clientAuth; put any intermediate after it in the same file");
        }
      }
    }
  }

  if (c.key_file.empty()) {
    report.Fail("private key", "not set", "pass --key or set key in the config file");
  } else if (const absl::Status secret = common::CheckSecretFile(c.key_file); !secret.ok()) {
    report.Fail("private key", std::string(secret.message()),
                absl::StrCat("chmod 600 ", c.key_file, " and make it owned by you"));
  } else if (absl::StatusOr<std::string> key = common::ReadFile(c.key_file); !key.ok()) {
    report.Fail("private key", std::string(key.status().message()), "make the file readable");
  } else if (cert.has_value()) {
    const absl::Status match = crypto::CheckKeyMatchesCertificate(*cert, *key);
    OPENSSL_cleanse(key->data(), key->size());
    if (match.ok()) {
      report.Ok("private key", "mode 600, belongs to the certificate");
    } else {
      report.Fail("private key", std::string(match.message()),
                  "--key must be the private key the client certificate was issued for");
    }
  }

  if (!report.failed()) {
    // The doctor reports what is now: one attempt per call, no retries.
    sdk::ConnectionOptions once = c;
    once.timeout = absl::Seconds(flags_->timeout_seconds);
    once.retry.max_attempts = 1;
    absl::StatusOr<std::shared_ptr<const sdk::Connection>> connected = sdk::Connection::Open(once);
    if (!connected.ok()) {
      report.Fail("siltad", std::string(connected.status().message()),
                  "fix the connection settings named above");
    } else {
      const std::shared_ptr<const sdk::Connection>& connection = *connected;
      const sdk::BrokerClient broker(connection);
      const absl::StatusOr<bool> serving = broker.Serving();
      if (!serving.ok()) {
        report.Fail("siltad", absl::StrCat(c.address, ": ", serving.status().message()),
                    absl::IsUnavailable(serving.status())
                        ? "is siltad running and listening there? If it is, the TLS handshake "
                          "failed: the server certificate must match the host (or "
                          "--server-name) and be from the CA in --ca, and your certificate "
                          "must be from the broker's CA and not revoked"
                        : "see the broker's log for this time");
      } else if (!*serving) {
        report.Fail("siltad", "reachable but not serving (starting or draining)",
                    "wait, or see the broker's log");
      } else {
        report.Ok("siltad", absl::StrCat(c.address, ": SERVING over mutual TLS"));
        std::optional<v1::WhoAmIResponse> me;
        {
          const absl::Time asked = absl::Now();
          const absl::StatusOr<v1::WhoAmIResponse> who = broker.WhoAmI();
          const absl::Time answered = absl::Now();
          if (!who.ok()) {
            report.Fail("identity", std::string(who.status().message()),
                        absl::IsUnauthenticated(who.status())
                            ? "ask the broker's administrator to register your organisation "
                              "(siltactl org add)"
                            : "ask the broker's administrator why your organisation is "
                              "suspended (siltactl org resume)");
          } else {
            const v1::WhoAmIResponse& response = *who;
            me = response;
            std::vector<std::string> roles;
            for (int r : response.org().roles()) roles.push_back(v1::Role_Name(r));
            report.Ok("identity",
                      absl::StrCat(response.org().org_id(), " (",
                                   v1::OrgKind_Name(response.org().kind()), "; ",
                                   absl::StrJoin(roles, ","), "), ",
                                   v1::OrgState_Name(response.org().state()), ", trust domain ",
                                   response.trust_domain(), ", siltad ",
                                   response.server_version()));
            const absl::Time midpoint = asked + (answered - asked) / 2;
            const absl::Duration skew =
                absl::AbsDuration(common::ToTime(response.server_time()) - midpoint);
            const std::string skew_text =
                absl::StrFormat("%.3f s from the broker's clock", absl::ToDoubleSeconds(skew));
            if (skew > kClockSkewLimit) {
              report.Fail("clock", skew_text,
                          "synchronise this machine's clock (timedatectl set-ntp true): new "
                          "keys and messages are refused");
            } else if (skew > kClockSkewWarning) {
              report.Warn("clock", skew_text, "synchronise this machine's clock (NTP)");
            } else {
              report.Ok("clock", skew_text);
            }
          }
        }
        const bool agency =
            me.has_value() &&
            std::find(me->org().roles().begin(), me->org().roles().end(), v1::AGENCY) !=
                me->org().roles().end();
        if (me.has_value() && !flags_->keys_dir.empty() && !agency) {
          report.Ok("message keys", "not checked: only agencies seal and open messages");
        } else if (agency && !flags_->keys_dir.empty()) {
          absl::StatusOr<std::string> key_id = sdk::CurrentKeyId(flags_->keys_dir);
          absl::StatusOr<sdk::OrgKeys> keys =
              key_id.ok() ? sdk::LoadOrgKeys(flags_->keys_dir, *key_id) : key_id.status();
          const std::string republish =
              absl::StrCat("siltactl --keys-dir ", flags_->keys_dir, " keys rotate");
          if (!keys.ok()) {
            report.Fail("message keys", std::string(keys.status().message()), republish);
          } else if (keys->bundle.org_id() != me->org().org_id()) {
            report.Fail("message keys",
                        absl::StrCat("the keys belong to ", keys->bundle.org_id(), ", not ",
                                     me->org().org_id()),
                        "point --keys-dir at your organisation's keys");
          } else {
            const absl::Time until = common::ToTime(keys->bundle.not_after());
            if (until <= now) {
              report.Fail("message keys", absl::StrCat("key ", *key_id, " expired on ",
                                                       DateText(until)), republish);
            } else if (until - now < std::min(warn, kMessageKeyWarning)) {
              // Bundles live 30 days: rotation is routine (`keys rotate
              // --if-expires-within 10` from a daily timer).
              report.Warn("message keys", absl::StrCat("key ", *key_id, " expires on ",
                                                       DateText(until)), republish);
            } else if (!IsPublished(connection, me->org().org_id(), *key_id)) {
              report.Fail("message keys",
                          absl::StrCat("key ", *key_id, " is not the broker's current key of ",
                                       me->org().org_id()),
                          republish);
            } else {
              report.Ok("message keys",
                        absl::StrCat("key ", *key_id, " published, valid until ", DateText(until)));
            }
          }
        }
      }
    }
  }
  if (report.failed() && !report.reached()) {
    report.Warn("siltad", "not tried", "fix the problems above first");
  }
  report.Print(flags_->json);
  return report.failed() ? kExitFailure : kExitOk;
}

}  // namespace silta::siltactl
