// File: server/store/sql/committer_priority.h
//
// The committer's nice value, raised only while it is the bottleneck
// (docs/message-path.md, "The committer's priority"). Every message waits
// for the one committer thread; when writes queue up faster than it
// commits them, a lower nice value gets it a CPU before the gRPC threads
// that feed it. At moderate load the same priority only costs: the
// committer then preempts the threads a Send is worked on, and siltad
// used 7% more CPU a message at 700/s. So the committer raises its
// priority when a batch it takes is large (kRaiseAt writes or more) and
// lowers it back when one is small (kLowerAt or fewer).
//
//   CommitterPriority priority(-5, SetThreadNice);  // on the committer's thread
//   priority.Observe(batch.size());                 // before each commit
#ifndef SILTA_SERVER_STORE_SQL_COMMITTER_PRIORITY_H_
#define SILTA_SERVER_STORE_SQL_COMMITTER_PRIORITY_H_

#include <cstddef>
#include <functional>

namespace silta::store {

class CommitterPriority {
 public:
  // Batches of this many writes or more mean writes are waiting for the
  // committer; this many or fewer, that it keeps up.
  static constexpr size_t kRaiseAt = 12;
  static constexpr size_t kLowerAt = 4;

  // Sets the calling thread's nice value: 0, or an errno value.
  using SetNice = std::function<int(int nice)>;

  // `raised`: the nice value while raised. Called on the thread it
  // adjusts, which keeps its current nice value as its own; a `raised` not
  // below it asks for nothing. Tries `raised` once at once, so that a
  // refusal is known (and logged, with the fix) at start rather than under
  // the first load; when refused, Observe does nothing.
  CommitterPriority(int raised, SetNice set_nice);

  // After the committer took a batch of `writes`.
  void Observe(size_t writes);

  bool raised() const { return raised_now_; }
  // False when the system refused the raised value.
  bool allowed() const { return allowed_; }

  // The calling thread's nice value set to `nice` (setpriority on its
  // thread id): 0 or errno.
  static int SetThreadNice(int nice);

 private:
  const int raised_;
  const SetNice set_nice_;
  int own_ = 0;
  bool allowed_ = true;
  bool raised_now_ = false;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQL_COMMITTER_PRIORITY_H_
