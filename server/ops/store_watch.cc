#include "server/ops/store_watch.h"

#include <utility>

#include "server/common/thread_name.h"

namespace silta::ops {

StoreWatch::StoreWatch(absl::Duration interval, std::function<absl::Status()> check,
                       std::function<void(const absl::Status&)> changed)
    : interval_(interval), check_(std::move(check)), changed_(std::move(changed)) {
  thread_ = std::thread([this] {
    common::NameThisThread("silta-ping");
    Loop();
  });
}

StoreWatch::~StoreWatch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

bool StoreWatch::up() const {
  absl::MutexLock lock(&mu_);
  return up_;
}

void StoreWatch::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
    }
    const absl::Status status = check_();
    bool was_up = false;
    {
      absl::MutexLock lock(&mu_);
      was_up = up_;
      up_ = status.ok();
    }
    if (was_up != status.ok()) changed_(status);
  }
}

}  // namespace silta::ops
