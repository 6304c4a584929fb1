// File: server/store/read_cache.h
//
// A read-through cache of rows that are read on every message and change
// rarely (cases, key bundles), for a store that is their only writer. A
// change clears the whole cache once it is committed; a reader that read
// the store before a change does not put what it read into the cache
// after it (the generation check), so a committed change is seen by every
// read that starts after the change returned. Values are shared, never
// copied: a reader keeps the value it got even if the cache drops it.
//
// Example:
//   ReadCache<v1::Case> cases(10000);
//   if (std::shared_ptr<const v1::Case> c = cases.Get(id)) return *c;
//   const uint64_t generation = cases.generation();   // before the read
//   ... read c from the database ...
//   cases.Put(id, std::make_shared<const v1::Case>(c), generation);
//   // a writer, after its commit:
//   cases.Clear();
//
// Thread-safe.
#ifndef SILTA_SERVER_STORE_READ_CACHE_H_
#define SILTA_SERVER_STORE_READ_CACHE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace silta::store {

template <typename V>
class ReadCache {
 public:
  // Holds at most `max_entries`; when full, it starts again empty.
  explicit ReadCache(size_t max_entries) : max_entries_(max_entries) {}
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  // Null if not held.
  std::shared_ptr<const V> Get(absl::string_view key) const {
    absl::MutexLock lock(&mu_);
    auto it = values_.find(key);
    if (it == values_.end()) return nullptr;
    return it->second;
  }

  // Read before reading the store; pass to Put.
  uint64_t generation() const {
    absl::MutexLock lock(&mu_);
    return generation_;
  }

  // Keeps `value`, read from the store at `generation`, unless the cache
  // was cleared since.
  void Put(absl::string_view key, std::shared_ptr<const V> value, uint64_t generation) {
    absl::MutexLock lock(&mu_);
    if (generation != generation_) return;
    if (values_.size() >= max_entries_) values_.clear();
    values_.insert_or_assign(std::string(key), std::move(value));
  }

  // After a committed change to anything the cache may hold.
  void Clear() {
    absl::MutexLock lock(&mu_);
    ++generation_;
    values_.clear();
  }

 private:
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<const V>> values_ ABSL_GUARDED_BY(mu_);
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_READ_CACHE_H_
