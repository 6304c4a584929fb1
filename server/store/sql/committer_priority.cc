#include "server/store/sql/committer_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"

namespace silta::store {

int CommitterPriority::SetThreadNice(int nice) {
  // On Linux a nice value is per thread: PRIO_PROCESS with a thread id
  // changes that thread alone.
  return setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) == 0 ? 0 : errno;
}

CommitterPriority::CommitterPriority(int raised, SetNice set_nice)
    : raised_(raised), set_nice_(std::move(set_nice)) {
  errno = 0;
  own_ = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  if (own_ == -1 && errno != 0) own_ = 0;
  if (raised_ >= own_) return;  // not ahead of its own: nothing to do
  const int error = set_nice_(raised_);
  if (error == 0) {
    set_nice_(own_);  // raising it back to its own needs no privilege
    return;
  }
  allowed_ = false;
  common::Log(common::LogLevel::kWarn, "committer_priority_not_set",
              {{"nice", absl::StrCat(raised_)},
               {"error", std::strerror(error)},
               {"fix",
                "allow it (systemd: LimitNICE= and SystemCallFilter=setpriority, as "
                "deploy/siltad.service does; or CAP_SYS_NICE), or set store.committer_nice: 0"}});
}

void CommitterPriority::Observe(size_t writes) {
  if (!allowed_ || raised_ >= own_) return;
  if (!raised_now_ && writes >= kRaiseAt) {
    raised_now_ = set_nice_(raised_) == 0;
  } else if (raised_now_ && writes <= kLowerAt) {
    raised_now_ = set_nice_(own_) != 0;
  }
}

}  // namespace silta::store
