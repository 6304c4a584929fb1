#include "client/console/export_jobs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/audit/export_file.h"
#include "lib/common/files.h"

namespace silta::console {
namespace {

bool IsPlainFileName(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

bool Running(const Job& job) {
  return job.state() == Job::EXPORTING || job.state() == Job::VERIFYING;
}

}  // namespace

std::string DefaultExportDir() {
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/silta-exports");
}

ExportJobs::~ExportJobs() {
  stopping_ = true;
  std::thread worker;
  {
    absl::MutexLock lock(&mu_);
    worker = std::move(worker_);
  }
  if (worker.joinable()) worker.join();
}

absl::Status ExportJobs::Begin(Job job) {
  if (Running(job_)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the console is still working on ", job_.file(), "; wait until it is done"));
  }
  if (worker_.joinable()) worker_.join();  // finished: its thread only returns
  job.set_folder(folder_);
  job_ = std::move(job);
  return absl::OkStatus();
}

absl::StatusOr<Job> ExportJobs::StartExport(const v1::ExportRequest& request) {
  absl::Status made = common::MakePrivateDir(folder_);
  if (!made.ok()) return made;
  const std::string name =
      absl::StrCat("silta-audit-",
                   absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()), ".jsonl");
  Job job;
  job.set_state(Job::EXPORTING);
  job.set_file(name);
  absl::MutexLock lock(&mu_);
  absl::Status began = Begin(job);
  if (!began.ok()) return began;
  worker_ = std::thread(&ExportJobs::RunExport, this, request, folder_ + "/" + name);
  return job_;
}

absl::StatusOr<Job> ExportJobs::StartVerify(const std::string& file) {
  if (!IsPlainFileName(file)) {
    return absl::InvalidArgumentError(
        "file: give the name of a file in the export folder, without a path");
  }
  const std::string path = folder_ + "/" + file;
  if (!std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(absl::StrCat("no file ", file, " in ", folder_));
  }
  Job job;
  job.set_state(Job::VERIFYING);
  job.set_file(file);
  absl::MutexLock lock(&mu_);
  absl::Status began = Begin(job);
  if (!began.ok()) return began;
  worker_ = std::thread(&ExportJobs::RunVerify, this, path);
  return job_;
}

Job ExportJobs::Current() const {
  absl::MutexLock lock(&mu_);
  return job_;
}

ExportFiles ExportJobs::List() const {
  ExportFiles files;
  files.set_folder(folder_);
  std::vector<std::pair<std::filesystem::file_time_type, std::string>> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder_, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && absl::EndsWith(name, ".jsonl") && IsPlainFileName(name)) {
      found.emplace_back(entry.last_write_time(), name);
    }
  }
  std::sort(found.rbegin(), found.rend());
  for (auto& [time, name] : found) files.add_files(name);
  return files;
}

void ExportJobs::Update(const std::function<void(Job&)>& change) {
  absl::MutexLock lock(&mu_);
  change(job_);
}

void ExportJobs::RunExport(v1::ExportRequest request, std::string path) {
  absl::StatusOr<std::unique_ptr<audit::ExportFileWriter>> writer =
      audit::ExportFileWriter::Create(path, request);
  absl::Status status = writer.status();
  if (status.ok()) {
    status = reader_->Export(request, [&](const v1::ExportChunk& chunk) {
      if (stopping_) return absl::CancelledError("the console is stopping");
      absl::Status added = (*writer)->Add(chunk);
      Update([&](Job& job) {
        job.set_done((*writer)->written());
        job.set_total((*writer)->total());
      });
      return added;
    });
  }
  if (status.ok()) status = (*writer)->Finish();
  if (!status.ok()) {
    Update([&](Job& job) {
      job.set_state(Job::FAILED);
      job.set_error(absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message()));
    });
    return;
  }
  Update([](Job& job) {
    job.set_state(Job::VERIFYING);
    job.set_done(0);
  });
  RunVerify(std::move(path));
}

void ExportJobs::RunVerify(std::string path) {
  std::ifstream in(path);
  if (!in) {
    Update([&](Job& job) {
      job.set_state(Job::FAILED);
      job.set_error(absl::StrCat("cannot read ", path));
    });
    return;
  }
  const audit::VerifyResult result = audit::VerifyExport(
      in, log_public_key_, std::nullopt,
      [&](uint64_t lines, uint64_t expected) {
        Update([&](Job& job) {
          job.set_done(std::min(lines, expected));
          job.set_total(expected);
        });
      },
      log_id_);
  Update([&](Job& job) {
    job.set_state(result.ok() ? Job::VERIFIED : Job::NOT_VERIFIED);
    for (const std::string& problem : result.problems) job.add_problems(problem);
    job.set_entries(result.entries);
    job.set_first_index(result.first_index);
    job.set_tree_size(result.tree_head.tree_size());
    if (result.ok()) job.set_done(job.total());
  });
}

}  // namespace silta::console
