// File: client/console/export_jobs.h
//
// The console's export and verification, run in the background so that the
// page can show progress: an export of a time range is written to a file in
// the export folder on this workstation (lib/audit's ExportFileWriter:
// complete or not at all) and then verified offline against the log key,
// exactly as `siltactl audit verify` does; a file already in the folder can
// be verified again. One job at a time; the page polls Current().
//
// Thread-safe.
#ifndef SILTA_CLIENT_CONSOLE_EXPORT_JOBS_H_
#define SILTA_CLIENT_CONSOLE_EXPORT_JOBS_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/console/log_reader.h"
#include "silta/console/console.pb.h"

namespace silta::console {

// $HOME/silta-exports.
std::string DefaultExportDir();

class ExportJobs {
 public:
  // Files go to `folder` (created with mode 0700 when first needed).
  ExportJobs(const LogReader* reader, std::string folder, std::string log_public_key,
             std::string log_id)
      : reader_(reader),
        folder_(std::move(folder)),
        log_public_key_(std::move(log_public_key)),
        log_id_(std::move(log_id)) {}
  // Stops an export that is still streaming (the partial file is removed)
  // and waits for the job's thread.
  ~ExportJobs();

  // Starts exporting `request` (times already parsed) and then verifying
  // the file. FAILED_PRECONDITION while another job runs.
  absl::StatusOr<Job> StartExport(const v1::ExportRequest& request);
  // Starts verifying `file`, a name in the folder. INVALID_ARGUMENT for a
  // name with a path; NOT_FOUND if there is no such file.
  absl::StatusOr<Job> StartVerify(const std::string& file);
  // The latest job and how far it is.
  Job Current() const;
  // The export files in the folder, newest first.
  ExportFiles List() const;

 private:
  absl::Status Begin(Job job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunExport(v1::ExportRequest request, std::string path);
  void RunVerify(std::string path);
  void Update(const std::function<void(Job&)>& change);

  const LogReader* reader_;
  const std::string folder_;
  const std::string log_public_key_;
  const std::string log_id_;
  mutable absl::Mutex mu_;
  Job job_ ABSL_GUARDED_BY(mu_);
  std::thread worker_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stopping_{false};
};

}  // namespace silta::console

#endif  // SILTA_CLIENT_CONSOLE_EXPORT_JOBS_H_
