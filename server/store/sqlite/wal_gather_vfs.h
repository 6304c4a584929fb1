// File: server/store/sqlite/wal_gather_vfs.h
//
// An SQLite VFS shim that hands a commit's WAL frames to the kernel in a
// few writes (one per 64 KiB) instead of two per page, and a checkpoint's
// runs of adjacent pages in one write each. SQLite writes each WAL frame
// with two pwrite calls (its 24-byte header, then the page), so a group
// commit of 69 pages made 138 system calls; under load that was 8% of
// siltad's CPU, nearly all of it the calls' own cost rather than the bytes
// (docs/message-path.md).
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
// tell (no readable WAL header) go straight through.
//
// A checkpoint copies pages from the WAL to the database in page order,
// one `pwrite` each, mostly in runs of adjacent pages. The shim keeps a
// run in memory and writes it in one call (one per 64 KiB), if it lies
// within the database file:
//   - at the checkpoint's start, SQLite hints at the size the database
//     will have; the shim grows the file to it with zeros (64 KiB a call),
//     so that the pages that grow the database are held too;
//   - a write beyond the file (the zeros could not be written: a full
//     disk) goes straight through, so that its failure reaches SQLite,
//     which then stops the checkpoint before it records anything;
//   - everything held is written by the checkpoint's end
//     (SQLITE_FCNTL_CKPT_DONE, which comes before SQLite records the pages
//     as copied in the -shm). SQLite ignores what that call returns: if
//     what is held cannot be written then, the process stops at once,
//     before the record (the WAL keeps the pages).
// Other writes to the database, and every other file (-shm, journals), go
// straight through.
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
// Likewise for the checkpoints' writes to database files that were held.
struct WalGatherCounts {
  uint64_t writes_asked = 0;
  uint64_t writes_made = 0;
  uint64_t checkpoint_writes_asked = 0;
  uint64_t checkpoint_writes_made = 0;
};
WalGatherCounts ReadWalGatherCounts();

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQLITE_WAL_GATHER_VFS_H_
