// File: server/common/listeners.h
//
// Listeners registered per organisation: reactors register a callback for
// the org whose stream they serve and remove it when the stream ends;
// whoever has news calls the listeners of that org, outside the lock (a
// listener may take its own locks and even remove itself).
//
// Example:
//   OrgListeners<std::function<void()>> wake;
//   const int id = wake.Add("hml-youth", [state] { ... });
//   for (const auto& listener : wake.Of({"hml-youth"})) listener();
//   wake.Remove(id);
//
// Thread-safe.
#ifndef SILTA_SERVER_COMMON_LISTENERS_H_
#define SILTA_SERVER_COMMON_LISTENERS_H_

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace silta::common {

template <typename Listener>
class OrgListeners {
 public:
  // Registers `listener` for `org_id`; returns its id for Remove.
  int Add(absl::string_view org_id, Listener listener) {
    absl::MutexLock lock(&mu_);
    const int id = next_id_++;
    listeners_.emplace(id, std::make_pair(std::string(org_id), std::move(listener)));
    return id;
  }

  void Remove(int id) {
    absl::MutexLock lock(&mu_);
    listeners_.erase(id);
  }

  // Copies of the listeners of `org_ids` (empty: of every org), to call
  // after the lock is released.
  std::vector<Listener> Of(const std::vector<std::string>& org_ids) const {
    std::vector<Listener> out;
    absl::MutexLock lock(&mu_);
    for (const auto& [id, entry] : listeners_) {
      if (org_ids.empty() ||
          std::find(org_ids.begin(), org_ids.end(), entry.first) != org_ids.end()) {
        out.push_back(entry.second);
      }
    }
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  int next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, std::pair<std::string, Listener>> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace silta::common

#endif  // SILTA_SERVER_COMMON_LISTENERS_H_
