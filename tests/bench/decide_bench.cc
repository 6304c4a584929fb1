// Benchmark of the disclosure decision engine and PreviewDisclosure
// (issue #4): 100,000 subjects × 5 consents each, half of them minors
// (guardians' consents, some competence assessments), with disclosers.
//
//   build/tests/bench/decide_bench
//
// Prints per-decision p50/p99 (measured one decision at a time with a
// steady clock) next to a baseline measured the same way in the same run:
// the bare cost of finding the subject's records in a hash map of the same
// size. The ratio says what the rules cost on top of the lookup.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "server/consent/engine.h"
#include "tests/testing/registry_fixture.h"

namespace silta::bench {
namespace {

using silta::testing::ExamplePolicy;
using silta::testing::MakeOrg;

constexpr int kSubjects = 100000;
constexpr int kConsentsPerSubject = 5;
constexpr int kSamples = 200000;
const absl::Time kNow = absl::FromUnixSeconds(1790000000);

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

struct Fixture {
  v1::Policy policy = ExamplePolicy();
  std::vector<v1::Organization> orgs = {
      MakeOrg("police-hame", v1::POLICE), MakeOrg("wba-social", v1::WELLBEING_AREA),
      MakeOrg("wba-psychiatry", v1::WELLBEING_AREA), MakeOrg("hml-youth", v1::MUNICIPAL_YOUTH),
      MakeOrg("asenne-ry", v1::NGO), MakeOrg("rise-probation", v1::PROBATION)};
  std::vector<std::string> subjects;
  consent::DecisionEngine engine;
  absl::flat_hash_map<std::string, int> baseline_index;

  Fixture() {
    std::mt19937 rng(7);
    const char* purposes[] = {"referral", "service_coordination", "youth_coaching"};
    for (int s = 0; s < kSubjects; ++s) {
      subjects.push_back(absl::StrCat("subject-ref-", s, "-", rng()));
      baseline_index[subjects.back()] = s;
      // Half adults giving their own consents, half minors whose guardians
      // consent (and every fifth of those assessed competent for one
      // category), so that the age and competence rules run as in use.
      const bool adult = s % 2 == 0;
      const std::string birth = adult ? "1995-05-05" : "2012-05-05";
      if (!adult && s % 5 == 1) {
        v1::CompetenceAssessment a;
        a.set_assessment_id(absl::StrCat("a-", s));
        a.set_subject_ref(subjects.back());
        a.set_subject_birth_date(birth);
        a.add_categories(static_cast<v1::Category>(1 + rng() % 15));
        a.add_purposes("service_coordination");
        *a.mutable_assessed_at() = Ts(kNow - absl::Hours(24 * 10));
        a.add_history()->set_type(v1::GIVEN);
        engine.PutAssessment(a);
      }
      for (int c = 0; c < kConsentsPerSubject; ++c) {
        v1::Consent consent;
        consent.set_consent_id(absl::StrCat("c-", s, "-", c));
        consent.set_subject_ref(subjects.back());
        consent.set_subject_birth_date(birth);
        consent.set_grantor(adult ? v1::SUBJECT : v1::GUARDIAN);
        const v1::Organization& from = orgs[rng() % orgs.size()];
        consent.add_disclosers()->set_org_kind(from.kind());
        consent.add_categories(static_cast<v1::Category>(1 + rng() % 15));
        consent.add_categories(static_cast<v1::Category>(1 + rng() % 15));
        consent.add_purposes(purposes[rng() % 3]);
        const v1::Organization& to = orgs[rng() % orgs.size()];
        if (rng() % 2 == 0) {
          consent.add_recipients()->set_org_id(to.org_id());
        } else {
          consent.add_recipients()->set_org_kind(to.kind());
        }
        *consent.mutable_valid_from() = Ts(kNow - absl::Hours(24 * (rng() % 30)));
        *consent.mutable_valid_until() = Ts(kNow + absl::Hours(24 * (1 + rng() % 180)));
        consent.add_history()->set_type(v1::GIVEN);
        if (c == 0) {  // one refusal-like withdrawal per subject keeps all paths warm
          v1::ConsentEvent* withdrawn = consent.add_history();
          withdrawn->set_type(v1::WITHDRAWN);
          *withdrawn->mutable_at() = Ts(kNow - absl::Hours(1));
        }
        engine.PutConsent(consent);
      }
      if (s % 10 == 0) {
        v1::Refusal refusal;
        refusal.set_refusal_id(absl::StrCat("r-", s));
        refusal.set_subject_ref(subjects.back());
        refusal.add_categories(v1::CATEGORY_HEALTH);
        refusal.add_recipients()->set_org_kind(v1::POLICE);
        *refusal.mutable_valid_from() = Ts(kNow - absl::Hours(24));
        engine.PutRefusal(refusal);
      }
    }
  }

  consent::DecisionQuery RandomQuery(std::mt19937& rng) const {
    consent::DecisionQuery q;
    q.sender = &orgs[rng() % orgs.size()];
    q.recipient = &orgs[rng() % orgs.size()];
    q.subject_ref = subjects[rng() % subjects.size()];
    q.case_id = "case-1";
    q.recipient_is_member = true;
    q.purpose = "service_coordination";
    q.category = static_cast<v1::Category>(1 + rng() % 15);
    q.at = kNow;
    return q;
  }
};

Fixture& GetFixture() {
  static Fixture* fixture = new Fixture();
  return *fixture;
}

struct Percentiles {
  double p50_us, p99_us;
};

template <typename Fn>
Percentiles Measure(Fn&& fn) {
  std::vector<double> samples;
  samples.reserve(kSamples);
  for (int i = 0; i < kSamples; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn(i);
    samples.push_back(std::chrono::duration<double, std::micro>(
                          std::chrono::steady_clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
}

void BM_Decide(benchmark::State& state) {
  Fixture& f = GetFixture();
  std::mt19937 rng(11);
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.engine.Decide(f.RandomQuery(rng), f.policy));
  }
}
BENCHMARK(BM_Decide);

void BM_BaselineLookup(benchmark::State& state) {
  Fixture& f = GetFixture();
  std::mt19937 rng(11);
  for (auto _ : state) {
    const consent::DecisionQuery q = f.RandomQuery(rng);
    benchmark::DoNotOptimize(f.baseline_index.find(q.subject_ref));
  }
}
BENCHMARK(BM_BaselineLookup);

// Per-decision percentiles, printed with their baseline and ratio.
void ReportPercentiles() {
  Fixture& f = GetFixture();
  std::mt19937 rng_a(13), rng_b(13);
  const Percentiles baseline = Measure([&](int) {
    const consent::DecisionQuery q = f.RandomQuery(rng_a);
    benchmark::DoNotOptimize(f.baseline_index.find(q.subject_ref));
  });
  const Percentiles decide = Measure([&](int) {
    benchmark::DoNotOptimize(f.engine.Decide(f.RandomQuery(rng_b), f.policy));
  });
  std::printf(
      "\nDecide, %d subjects x %d consents, %d samples, one decision per sample:\n"
      "  decide    p50 %.3f us  p99 %.3f us   (target p50 <= 5 us, p99 <= 50 us)\n"
      "  baseline  p50 %.3f us  p99 %.3f us   (hash lookup of the subject only)\n"
      "  ratio     p50 %.1fx     p99 %.1fx\n",
      kSubjects, kConsentsPerSubject, kSamples, decide.p50_us, decide.p99_us, baseline.p50_us,
      baseline.p99_us, decide.p50_us / baseline.p50_us, decide.p99_us / baseline.p99_us);
}

// PreviewDisclosure of 10 fields x 3 recipients through the real registry
// (in-memory SQLite for the case lookup), against a baseline of the 30
// engine decisions alone.
class PreviewBench : public silta::testing::RegistryFixture {
 public:
  void TestBody() override {}
  void Run() {
    SetUp();
    const v1::Case c = OpenCase("police-hame", silta::testing::kYouth15,
                                {"wba-social", "hml-youth", "asenne-ry"});
    v1::PreviewDisclosureRequest request;
    request.set_case_id(c.case_id());
    request.set_purpose("service_coordination");
    for (const char* r : {"wba-social", "hml-youth", "asenne-ry"}) request.add_recipient_org_ids(r);
    for (int i = 0; i < 10; ++i) {
      v1::DraftField* field = request.add_fields();
      field->set_path(absl::StrCat("field_", i));
      field->set_category(static_cast<v1::Category>(1 + i));
    }
    const identity::Caller police = As("police-hame");
    constexpr int kPreviewSamples = 20000;
    std::vector<double> preview_us, engine_us;
    const v1::Policy policy = *policy_->Get();
    for (int i = 0; i < kPreviewSamples; ++i) {
      auto start = std::chrono::steady_clock::now();
      auto response = consents_->PreviewDisclosure(police, request);
      preview_us.push_back(std::chrono::duration<double, std::micro>(
                               std::chrono::steady_clock::now() - start).count());
      if (!response.ok() || response->decisions_size() != 30) std::abort();
      start = std::chrono::steady_clock::now();
      for (const auto& r : response->decisions()) {
        consent::DecisionQuery q;
        const v1::Organization recipient = *orgs_->Find(r.recipient_org_id());
        q.sender = &police.org;
        q.recipient = &recipient;
        q.subject_ref = c.subject_ref();
        q.case_id = c.case_id();
        q.recipient_is_member = true;
        q.purpose = "service_coordination";
        q.category = r.category();
        q.at = now_;
        benchmark::DoNotOptimize(engine_->Decide(q, policy));
      }
      engine_us.push_back(std::chrono::duration<double, std::micro>(
                              std::chrono::steady_clock::now() - start).count());
    }
    std::sort(preview_us.begin(), preview_us.end());
    std::sort(engine_us.begin(), engine_us.end());
    const double p50 = preview_us[preview_us.size() / 2];
    const double p99 = preview_us[preview_us.size() * 99 / 100];
    const double base = engine_us[engine_us.size() / 2];
    std::printf(
        "\nPreviewDisclosure, 10 fields x 3 recipients, in process, %d samples:\n"
        "  preview   p50 %.1f us  p99 %.1f us   (target <= 100 us)\n"
        "  baseline  p50 %.1f us                (the 30 engine decisions alone)\n"
        "  ratio     p50 %.1fx\n",
        kPreviewSamples, p50, p99, base, p50 / base);
  }
};

}  // namespace
}  // namespace silta::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  silta::bench::ReportPercentiles();
  silta::bench::PreviewBench preview;
  preview.Run();
  return 0;
}
