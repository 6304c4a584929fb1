// File: tests/tsan/absl_sync_bridge.cc
//
// Makes Debian's Abseil locks visible to ThreadSanitizer (`make test-tsan`).
//
// Debian builds libabsl_synchronization without TSan, so its Mutex, CondVar
// and Notification synchronise through atomics and futexes that TSan never
// sees: every field guarded by an absl::Mutex would be reported as a race.
// Abseil's own TSan annotations are compiled only into an instrumented
// build, which Debian does not ship (and we may not download one).
//
// This file, linked into every executable of a TSan build (and only
// there), defines the lock functions itself. The dynamic linker binds every
// caller, in our code, in gRPC and in Abseil, to these definitions; each
// calls the real function (found with dlsym(RTLD_NEXT)) and tells TSan what
// happened with the public annotation interface of
// <sanitizer/tsan_interface.h>: the same calls Abseil makes when it is built
// with TSan. A waiter on a CondVar or Await releases the mutex while it
// waits and holds it again on return, and is annotated so.
//
// The mangled names are those of Debian 12's libabsl 20220623 (inline
// namespace debian3); a missing symbol stops the process at start-up
// rather than leaving a lock unannotated.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

// The real function `mangled` of the next object after this executable.
template <typename F>
F Real(const char* mangled) {
  void* symbol = dlsym(RTLD_NEXT, mangled);
  if (symbol == nullptr) {
    std::fprintf(stderr, "absl_sync_bridge: %s not found: %s\n", mangled, dlerror());
    std::abort();
  }
  return reinterpret_cast<F>(symbol);
}

#define SILTA_REAL(type, mangled) static const auto real = Real<type>(mangled)

using MutexFn = void (*)(absl::Mutex*);
using TryFn = bool (*)(absl::Mutex*);
using WhenFn = void (*)(absl::Mutex*, const absl::Condition&);
using WhenDurationFn = bool (*)(absl::Mutex*, const absl::Condition&, absl::Duration);
using WhenTimeFn = bool (*)(absl::Mutex*, const absl::Condition&, absl::Time);
using WaitFn = void (*)(absl::CondVar*, absl::Mutex*);
using WaitDurationFn = bool (*)(absl::CondVar*, absl::Mutex*, absl::Duration);
using WaitTimeFn = bool (*)(absl::CondVar*, absl::Mutex*, absl::Time);
using NotifyFn = void (*)(absl::Notification*);
using WaitNoteFn = void (*)(const absl::Notification*);
using WaitNoteDurationFn = bool (*)(const absl::Notification*, absl::Duration);
using WaitNoteTimeFn = bool (*)(const absl::Notification*, absl::Time);

// Set while a wrapper runs the real function. Abseil calls its own
// exported functions through the PLT, so they land here again
// (WaitWithTimeout calls WaitWithDeadline, Notification calls Lock); only
// the outermost call is annotated.
thread_local bool in_real = false;

// Calls before(), then real() with nested annotations off, then
// after(result); a nested call only runs real(). real() returns a bool (the
// void functions are wrapped to return true).
template <typename Before, typename RealFn, typename After>
bool Annotated(Before before, RealFn real, After after) {
  if (in_real) return real();
  before();
  in_real = true;
  const bool result = real();
  in_real = false;
  after(result);
  return result;
}

void Unlock(void* mu, unsigned flags) {
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
}

// Holding `mu` afterwards (LockWhen and its kin). The whole real call is
// the lock operation: Abseil evaluates the caller's absl::Condition inside
// it, holding the real lock, and TSan ignores the accesses between
// pre_lock and post_lock, as it should for a read made under the lock.
// (Annotated as Lock after the call, the condition's reads looked unlocked
// and raced with every write made under the lock.)
template <typename RealFn>
bool LockingCall(absl::Mutex* mu, unsigned flags, RealFn real) {
  return Annotated([mu, flags] { __tsan_mutex_pre_lock(mu, flags); }, real,
                   [mu, flags](bool) { __tsan_mutex_post_lock(mu, flags, 0); });
}

// A waiter gives `mu` up while it waits and holds it again afterwards: an
// unlock, then a lock operation spanning the wait, in which Abseil
// evaluates the condition of Await (as above).
template <typename RealFn>
bool WaitingCall(absl::Mutex* mu, RealFn real) {
  return Annotated(
      [mu] {
        Unlock(mu, 0);
        __tsan_mutex_pre_lock(mu, 0);
      },
      real, [mu](bool) { __tsan_mutex_post_lock(mu, 0, 0); });
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  SILTA_REAL(MutexFn, "_ZN4absl7debian35Mutex4LockEv");
  Annotated([this] { __tsan_mutex_pre_lock(this, 0); },
            [this] { return real(this), true; },
            [this](bool) { __tsan_mutex_post_lock(this, 0, 0); });
}

void Mutex::Unlock() {
  SILTA_REAL(MutexFn, "_ZN4absl7debian35Mutex6UnlockEv");
  Annotated([this] { __tsan_mutex_pre_unlock(this, 0); },
            [this] { return real(this), true; },
            [this](bool) { __tsan_mutex_post_unlock(this, 0); });
}

void Mutex::ReaderLock() {
  SILTA_REAL(MutexFn, "_ZN4absl7debian35Mutex10ReaderLockEv");
  Annotated([this] { __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock); },
            [this] { return real(this), true; },
            [this](bool) { __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0); });
}

void Mutex::ReaderUnlock() {
  SILTA_REAL(MutexFn, "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  Annotated([this] { __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock); },
            [this] { return real(this), true; },
            [this](bool) { __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock); });
}

bool Mutex::TryLock() {
  SILTA_REAL(TryFn, "_ZN4absl7debian35Mutex7TryLockEv");
  return Annotated([this] { __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock); },
                   [this] { return real(this); },
                   [this](bool locked) {
                     __tsan_mutex_post_lock(this,
                                            locked ? __tsan_mutex_try_lock
                                                   : __tsan_mutex_try_lock_failed |
                                                         __tsan_mutex_try_lock,
                                            0);
                   });
}

bool Mutex::ReaderTryLock() {
  SILTA_REAL(TryFn, "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  return Annotated([this] { __tsan_mutex_pre_lock(this, __tsan_mutex_try_read_lock); },
                   [this] { return real(this); },
                   [this](bool locked) {
                     __tsan_mutex_post_lock(this,
                                            locked ? __tsan_mutex_try_read_lock
                                                   : __tsan_mutex_try_read_lock_failed,
                                            0);
                   });
}

void Mutex::LockWhen(const Condition& cond) {
  SILTA_REAL(WhenFn, "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  LockingCall(this, 0, [&] { return real(this, cond), true; });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  SILTA_REAL(WhenFn, "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  LockingCall(this, __tsan_mutex_read_lock, [&] { return real(this, cond), true; });
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  SILTA_REAL(WhenDurationFn,
             "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return LockingCall(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  SILTA_REAL(WhenTimeFn,
             "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return LockingCall(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  SILTA_REAL(WhenDurationFn,
             "_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return LockingCall(this, __tsan_mutex_read_lock, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  SILTA_REAL(WhenTimeFn,
             "_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return LockingCall(this, __tsan_mutex_read_lock, [&] { return real(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  SILTA_REAL(WhenFn, "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  WaitingCall(this, [&] { return real(this, cond), true; });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  SILTA_REAL(WhenDurationFn,
             "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return WaitingCall(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  SILTA_REAL(WhenTimeFn,
             "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return WaitingCall(this, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  SILTA_REAL(WaitFn, "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  WaitingCall(mu, [&] { return real(this, mu), true; });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  SILTA_REAL(WaitDurationFn,
             "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return WaitingCall(mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  SILTA_REAL(WaitTimeFn, "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return WaitingCall(mu, [&] { return real(this, mu, deadline); });
}

// Notify happens before every return of a wait that saw it.
void Notification::Notify() {
  SILTA_REAL(NotifyFn, "_ZN4absl7debian312Notification6NotifyEv");
  Annotated([this] { __tsan_release(this); }, [this] { return real(this), true; },
            [](bool) {});
}

void Notification::WaitForNotification() const {
  SILTA_REAL(WaitNoteFn, "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  Annotated([] {}, [this] { return real(this), true; },
            [this](bool) { __tsan_acquire(const_cast<Notification*>(this)); });
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  SILTA_REAL(WaitNoteDurationFn,
             "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  return Annotated([] {}, [&] { return real(this, timeout); },
                   [this](bool notified) {
                     if (notified) __tsan_acquire(const_cast<Notification*>(this));
                   });
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  SILTA_REAL(WaitNoteTimeFn,
             "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  return Annotated([] {}, [&] { return real(this, deadline); },
                   [this](bool notified) {
                     if (notified) __tsan_acquire(const_cast<Notification*>(this));
                   });
}

ABSL_NAMESPACE_END
}  // namespace absl
