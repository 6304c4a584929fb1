// File: client/console/head_book.h
//
// The tree heads this console has seen, kept on the auditor's workstation
// (one file per log under ~/.local/share/silta/console/), so that each new
// head is checked against the last one with a consistency proof: a log
// that was rewritten, shrunk or swapped for another shows as INCONSISTENT
// and its head is not kept. Heads carry no personal data.
//
// Example:
//   HeadBook book(StateDir(), log_public_key);
//   absl::StatusOr<HeadHistory> history = book.Check(head, reader);
//
// Thread-safe.
#ifndef SILTA_CLIENT_CONSOLE_HEAD_BOOK_H_
#define SILTA_CLIENT_CONSOLE_HEAD_BOOK_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/console/log_reader.h"
#include "silta/console/console.pb.h"
#include "silta/v1/audit.pb.h"

namespace silta::console {

// $XDG_DATA_HOME/silta/console, else ~/.local/share/silta/console.
std::string DefaultStateDir();

class HeadBook {
 public:
  // `dir` is created (mode 0700) on the first head kept.
  // `log_public_key`: the raw 32-byte Ed25519 key of the log.
  // `expected_log_id`: the log heads must name; empty: any.
  HeadBook(std::string dir, std::string log_public_key, std::string expected_log_id = "")
      : dir_(std::move(dir)),
        log_public_key_(std::move(log_public_key)),
        expected_log_id_(std::move(expected_log_id)) {}

  // Checks `head`: its signature, then its consistency with the last head
  // kept for its log (a proof asked of `reader`). A good head is kept.
  // An error only if the check could not be made (the proof could not be
  // read, or the file not written): never a verdict without the check.
  absl::StatusOr<HeadHistory> Check(const v1::SignedTreeHead& head, const LogReader& reader);

  // The file that keeps the heads of `log_id`.
  std::string FileFor(const std::string& log_id) const;

 private:
  const std::string dir_;
  const std::string log_public_key_;
  const std::string expected_log_id_;
  absl::Mutex mu_;
};

}  // namespace silta::console

#endif  // SILTA_CLIENT_CONSOLE_HEAD_BOOK_H_
