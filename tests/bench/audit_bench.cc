// Benchmark of the audit log (issue #6), each figure next to a baseline
// measured the same way in the same run on the same machine:
//
//   build/tests/bench/audit_bench [--sizes 1000000,10000000] [--dir DIR [--keep]]
//
// --keep leaves the logs in DIR and reuses them on the next run (building
// the 10M-entry log takes about 15 minutes on 2 cores).
//
// 1. Appends in the message path: accepted messages stored through the
//    store's group commit (8 threads, synchronous=FULL, on disk) with the
//    audit entries Send writes (MESSAGE_ACCEPTED + withheld + statute: 4 per
//    message) vs. the same messages without entries.
// 2. Inclusion and consistency proofs in logs of each size (built with real
//    entries through the Store): per-proof p50/p99 vs. reading one entry by
//    index from the same database.
// 3. Offline verification of an export of the first size's whole log, as
//    `siltactl audit verify` does it, vs. only reading the file's lines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/audit/export_file.h"
#include "lib/audit/log_entry.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "server/audit/audit_log.h"
#include "server/store/sqlite/sqlite_store.h"
#include "tests/testing/process.h"

namespace silta::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

struct Percentiles {
  double p50_us;
  double p99_us;
};

Percentiles Measure(int samples, const std::function<void(int)>& op) {
  std::vector<double> us;
  us.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    const auto start = Clock::now();
    op(i);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, std::string(s.message()).c_str());
    std::exit(1);
  }
}

v1::AuditEntry RealisticEntry(std::mt19937_64& rng, v1::AuditEventType type) {
  v1::AuditEntry e = audit::NewEntry(type, absl::Now(), "police-hame");
  e.mutable_acting_user()->set_worker_id("officer-12");
  e.set_counterpart_org_id("hml-youth");
  e.set_purpose("referral");
  e.set_subject_ref(absl::StrCat(rng(), rng(), rng(), rng()).substr(0, 64));
  e.set_case_id(*crypto::NewUuidV7(absl::Now()));
  e.set_message_id(*crypto::NewUuidV7(absl::Now()));
  e.add_categories(v1::CATEGORY_EDUCATION_EMPLOYMENT);
  e.add_categories(v1::CATEGORY_SOCIAL_WELFARE);
  e.set_rule(v1::RULE_CONSENT);
  e.set_rule_id(*crypto::NewUuidV7(absl::Now()));
  e.set_detail("attempt=1");
  e.set_payload_type("silta.v1.Referral");
  return e;
}

store::MessageRecord Message(const std::string& id) {
  store::MessageRecord m;
  m.message_id = id;
  m.sender_org_id = "police-hame";
  m.content_hash = std::string(32, 'h');
  m.accepted_at_us = absl::ToUnixMicros(absl::Now());
  m.expires_at_us = m.accepted_at_us + 1'000'000'000;
  v1::SealedMessage body;
  body.mutable_header()->set_message_id(id);
  body.add_fields()->set_ciphertext(std::string(4096, 'c'));
  m.body = body;
  for (const char* r : {"wba-social", "hml-youth", "asenne-ry"}) {
    store::DeliveryRecord d;
    d.delivery_id = id + r;
    d.recipient_org_id = r;
    m.deliveries.push_back(d);
  }
  return m;
}

// msgs/s for 8 threads × 250 InsertMessage, with `entries` audit entries each.
double InsertRate(const std::string& path, int entries) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto store = store::SqliteStore::Open(path, {});
  Check(store.status(), "open");
  constexpr int kThreads = 8, kPerThread = 250;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int i = 0; i < kPerThread; ++i) {
        store::AuditEntries audit;
        for (int e = 0; e < entries; ++e) {
          audit.push_back(RealisticEntry(rng, e == 0 ? v1::MESSAGE_ACCEPTED : v1::FIELD_WITHHELD));
        }
        Check((*store)->InsertMessage(Message(absl::StrCat("m-", t, "-", i)), &audit), "insert");
      }
    });
  }
  for (auto& th : threads) th.join();
  return kThreads * kPerThread / Seconds(start);
}

void AppendPath(const std::string& dir) {
  const double bare = InsertRate(dir + "/bare.db", 0);
  const double audited = InsertRate(dir + "/audited.db", 4);
  std::printf(
      "append in the message path (8 threads x 250 accepted messages, FULL fsync, group "
      "commit)\n");
  std::printf("  without audit entries: %8.0f msgs/s (baseline)\n", bare);
  std::printf("  with 4 entries each:   %8.0f msgs/s = %8.0f entries/s   ratio %.2f\n", audited,
              audited * 4, audited / bare);
}

struct Log {
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<cases::SubjectRefs> refs;
  std::unique_ptr<audit::AuditLog> log;
  std::string public_key;
};

// Builds (or, with --keep, reuses) a log of `size` entries.
Log BuildLog(const std::string& path, uint64_t size, bool keep) {
  Log log;
  if (!keep) std::filesystem::remove(path);
  auto store = store::SqliteStore::Open(path, {});
  Check(store.status(), "open");
  log.store = *std::move(store);
  std::mt19937_64 rng(42);
  const auto start = Clock::now();
  constexpr uint64_t kBatch = 20'000;
  const uint64_t existing = *log.store->AuditSize();
  if (existing != 0 && existing != size) {
    std::fprintf(stderr, "%s holds %llu entries, not %llu\n", path.c_str(),
                 static_cast<unsigned long long>(existing), static_cast<unsigned long long>(size));
    std::exit(1);
  }
  if (existing == size)
    std::printf("  reusing the log of %llu entries in %s\n", static_cast<unsigned long long>(size),
                path.c_str());
  for (uint64_t done = existing; done < size;) {
    store::AuditEntries batch;
    for (uint64_t i = 0; i < kBatch && done + i < size; ++i) {
      batch.push_back(
          RealisticEntry(rng, i % 3 == 0 ? v1::MESSAGE_ACCEPTED : v1::MESSAGE_DELIVERED));
    }
    Check(log.store->AppendAudit(&batch), "append");
    done += batch.size();
    if (done % 1'000'000 == 0) {
      std::fprintf(stderr, "  built %llu entries (%.0f/s)\n", static_cast<unsigned long long>(done),
                   done / Seconds(start));
    }
  }
  if (existing == 0) {
    std::printf(
        "  built a log of %llu entries in %.0f s (%.0f entries/s in 20,000-entry "
        "transactions)\n",
        static_cast<unsigned long long>(size), Seconds(start), size / Seconds(start));
  }
  auto refs = cases::SubjectRefs::FromPepper(crypto::SecretData::FromString(std::string(32, 'p')));
  Check(refs.status(), "refs");
  log.refs = *std::move(refs);
  auto key = crypto::GenerateEd25519KeyPair();
  Check(key.status(), "key");
  log.public_key = key->public_key;
  auto audit_log = audit::AuditLog::Create(log.store.get(), log.refs.get(), key->private_key, {});
  Check(audit_log.status(), "log");
  log.log = *std::move(audit_log);
  return log;
}

void MeasureProofs(Log& log, uint64_t size, const char* label, uint64_t seed) {
  std::mt19937_64 rng(seed);
  constexpr int kSamples = 2000;
  const Percentiles read = Measure(kSamples, [&](int) {
    const uint64_t i = rng() % size;
    Check(log.store->ReadAuditRange(i, i + 1).status(), "read");
  });
  const Percentiles inclusion = Measure(kSamples, [&](int) {
    Check(log.log->InclusionProof(rng() % size, size).status(), "inclusion");
  });
  const Percentiles consistency = Measure(kSamples, [&](int) {
    Check(log.log->ConsistencyProof(1 + rng() % (size - 1), size).status(), "consistency");
  });
  std::printf("  %s\n", label);
  std::printf("    read one entry by index:  p50 %7.1f us  p99 %7.1f us (baseline)\n", read.p50_us,
              read.p99_us);
  std::printf("    inclusion proof:          p50 %7.1f us  p99 %7.1f us   ratio %.1f / %.1f"
              "   (target <= 1000 us)\n",
              inclusion.p50_us, inclusion.p99_us, inclusion.p50_us / read.p50_us,
              inclusion.p99_us / read.p99_us);
  std::printf("    consistency proof:        p50 %7.1f us  p99 %7.1f us   ratio %.1f / %.1f\n",
              consistency.p50_us, consistency.p99_us, consistency.p50_us / read.p50_us,
              consistency.p99_us / read.p99_us);
}

// Proofs as the log is on opening (its pages wherever the OS left them),
// then with the database file in the OS page cache, as in a siltad that has
// been serving for a while.
void Proofs(Log& log, uint64_t size, const std::string& path) {
  MeasureProofs(log, size, "as opened:", 7);
  const auto start = Clock::now();
  {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buffer(1 << 20);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) ||
           in.gcount() > 0) {
    }
  }
  std::printf("  (read the %.1f GB database once in %.1f s to bring it into the page cache)\n",
              std::filesystem::file_size(path) / 1e9, Seconds(start));
  MeasureProofs(log, size, "with the database in the page cache:", 11);
}

void Verify(Log& log, uint64_t size, const std::string& dir) {
  const std::string file = dir + "/export.jsonl";
  {
    auto plan = log.log->PlanExport(v1::ExportRequest());
    Check(plan.status(), "plan");
    std::ofstream out(file, std::ios::trunc);
    v1::ExportFileHeader header;
    header.set_format(std::string(audit::kExportFormat));
    header.set_entries(plan->end - plan->begin);
    out << audit::HeaderLine(header) << "\n";
    for (uint64_t i = plan->begin; i < plan->end; i += 10'000) {
      auto entries = log.log->ReadRange(i, std::min(plan->end, i + 10'000));
      Check(entries.status(), "read");
      for (const auto& e : *entries) out << audit::EntryLine(e) << "\n";
    }
    auto last = log.log->FinalChunk(*plan, 0);
    Check(last.status(), "final");
    v1::ExportFileTrailer trailer;
    *trailer.mutable_tree_head() = last->tree_head();
    *trailer.mutable_range_proof() = last->range_proof();
    out << audit::TrailerLine(trailer) << "\n";
  }
  const double mb = std::filesystem::file_size(file) / 1e6;
  auto start = Clock::now();
  {
    std::ifstream in(file);
    uint64_t lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    if (lines != size + 2) std::exit(1);
  }
  const double read_s = Seconds(start);
  start = Clock::now();
  std::ifstream in(file);
  const audit::VerifyResult r = audit::VerifyExport(in, log.public_key, std::nullopt, nullptr);
  const double verify_s = Seconds(start);
  if (!r.ok() || r.entries != size) {
    std::fprintf(stderr, "verification failed: %s\n",
                 r.problems.empty() ? "" : r.problems[0].c_str());
    std::exit(1);
  }
  std::printf("offline verification of a %llu-entry export (%.0f MB)\n",
              static_cast<unsigned long long>(size), mb);
  std::printf("  reading its lines:  %6.2f s (baseline)\n", read_s);
  std::printf("  verifying it:       %6.2f s   ratio %.1f   (target <= 10 s)\n", verify_s,
              verify_s / read_s);
}

}  // namespace
}  // namespace silta::bench

int main(int argc, char** argv) {
  using namespace silta::bench;  // NOLINT(build/namespaces): main only
  std::vector<uint64_t> sizes = {1'000'000, 10'000'000};
  std::string dir;
  bool keep = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--keep") {
      keep = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) return 2;
    if (flag == "--sizes") {
      sizes.clear();
      for (absl::string_view s : absl::StrSplit(argv[i + 1], ',')) {
        uint64_t n = 0;
        if (!absl::SimpleAtoi(s, &n) || n < 2) return 2;
        sizes.push_back(n);
      }
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: audit_bench [--sizes 1000000,10000000] [--dir DIR [--keep]]\n");
      return 2;
    }
  }
  if (dir.empty()) dir = silta::testing::MakeTempDir("audit-bench");
  std::filesystem::create_directories(dir);
  AppendPath(dir);
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::printf("proofs in a log of %llu entries\n", static_cast<unsigned long long>(sizes[i]));
    const std::string path = absl::StrCat(dir, "/log-", sizes[i], ".db");
    Log log = BuildLog(path, sizes[i], keep);
    Proofs(log, sizes[i], path);
    if (i == 0) Verify(log, sizes[i], dir);
    std::fflush(stdout);
  }
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
