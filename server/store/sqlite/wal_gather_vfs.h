// File: server/store/sqlite/wal_gather_vfs.h
//
// An SQLite VFS shim that hands a commit's WAL frames to the kernel in a
// few writes (one per 64 KiB) instead of two per page. SQLite writes each WAL frame with two pwrite
// calls (its 24-byte header, then the page), so a group commit of 69 pages made 138 system calls;
// under load that was 8% of siltad's CPU, nearly all of it the calls' own cost rather than the
// bytes (docs/message-path.md).
//
// The shim keeps the contiguous writes to a WAL file in memory and writes
// them out to the file underneath:
//   - as soon as a frame carrying a commit mark is complete: SQLite writes
//     the commit's last frame before it publishes the commit in the
//     wal-index, so no reader ever sees a frame that is not in the file;
//   - before a sync of the WAL, so that synchronous=FULL syncs it;
//   - before any other use of the WAL file (read, size, truncate, lock,
//     file control, close), on a write that does not continue the last
//     one, and when 4 MiB are held.
// A crash loses only frames of a commit that had not finished, which SQLite
// discards at recovery anyway. Writes whose frame layout the shim cannot
// tell (no readable WAL header) go straight through. Every file but the
// WAL (the database, -shm, journals) goes straight through.
//
// Example:
//   sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, WalGatheringVfs());
#ifndef SILTA_SERVER_STORE_SQLITE_WAL_GATHER_VFS_H_
#define SILTA_SERVER_STORE_SQLITE_WAL_GATHER_VFS_H_

#include <cstdint>

namespace silta::store {

// Registers the shim over SQLite's default VFS (once, thread-safe) and
// returns its name, for sqlite3_open_v2's zVfs.
const char* WalGatheringVfs();

// Writes to WAL files SQLite asked for, and writes the shim made to the
// files underneath, since the process started (for tests and benchmarks).
struct WalGatherCounts {
  uint64_t writes_asked = 0;
  uint64_t writes_made = 0;
};
WalGatherCounts ReadWalGatherCounts();

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQLITE_WAL_GATHER_VFS_H_
