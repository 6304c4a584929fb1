#include "server/store/sqlite/wal_gather_vfs.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "server/common/logging.h"
#include "server/store/sqlite/sqlite_connection.h"

namespace silta::store {
namespace {

constexpr const char* kVfsName = "silta-wal-gather";
constexpr size_t kMaxHeld = 4 << 20;
// The unix VFS writes at most 128 KiB - 1 bytes in one call (seekAndWriteFd
// masks the length with 0x1ffff, so a longer write comes back short, as
// SQLITE_FULL).
constexpr size_t kMaxWrite = 64 << 10;
constexpr sqlite3_int64 kWalHeaderSize = 32;
constexpr sqlite3_int64 kFrameHeaderSize = 24;

std::atomic<uint64_t> writes_asked{0};
std::atomic<uint64_t> writes_made{0};
std::atomic<uint64_t> checkpoint_writes_asked{0};
std::atomic<uint64_t> checkpoint_writes_made{0};

sqlite3_vfs* real_vfs = nullptr;  // set once, before the shim is registered

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// What SQLite allocates for one open file: this, then the real VFS's file.
struct GatherFile {
  sqlite3_file base;
  sqlite3_file* real;
  // WAL files and main databases (held is null for every other file).
  std::string* held;  // contiguous bytes not yet written, from held_at
  sqlite3_int64 held_at;
  bool wal;  // a WAL file; else a main database
  // Main databases: inside a checkpoint, the file's size (writes wholly
  // below it are held); -1 outside one.
  sqlite3_int64 gather_below;
  // WAL files:
  sqlite3_int64 frame_size;  // 24 + the page size; 0 while unknown
  sqlite3_int64 next_frame;  // offset of the next frame header not yet looked at
  sqlite3_int64 commit_end;  // end of a commit frame seen and not yet written; -1 none
};

constexpr size_t RealOffset() { return (sizeof(GatherFile) + 15) & ~size_t{15}; }

GatherFile* Of(sqlite3_file* f) { return reinterpret_cast<GatherFile*>(f); }
const sqlite3_io_methods* RealMethods(GatherFile* g) { return g->real->pMethods; }

// Writes out what is held, in pieces of at most kMaxWrite.
int Flush(GatherFile* g) {
  if (g->held == nullptr || g->held->empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < g->held->size() && rc == SQLITE_OK; done += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, g->held->size() - done);
    rc = RealMethods(g)->xWrite(g->real, g->held->data() + done, static_cast<int>(n),
                                g->held_at + static_cast<sqlite3_int64>(done));
    (g->wal ? writes_made : checkpoint_writes_made).fetch_add(1, std::memory_order_relaxed);
  }
  g->held_at += static_cast<sqlite3_int64>(g->held->size());
  g->held->clear();
  if (g->commit_end >= 0 && g->commit_end <= g->held_at) g->commit_end = -1;
  return rc;
}

// The frame size from the WAL header at the start of `header` (32 bytes).
sqlite3_int64 FrameSize(const unsigned char* header) {
  const uint32_t page = BigEndian32(header + 8);
  if (page < 512 || page > 65536 || (page & (page - 1)) != 0) return 0;
  return kFrameHeaderSize + page;
}

// Learns the frame layout for a write at `offset` beyond the WAL header:
// from the header in the file.
void LearnLayout(GatherFile* g, sqlite3_int64 offset) {
  unsigned char header[kWalHeaderSize];
  if (RealMethods(g)->xRead(g->real, header, sizeof(header), 0) != SQLITE_OK) return;
  g->frame_size = FrameSize(header);
  if (g->frame_size == 0) return;
  const sqlite3_int64 into = offset - kWalHeaderSize;
  g->next_frame = kWalHeaderSize + (into + g->frame_size - 1) / g->frame_size * g->frame_size;
}

// Adds a write to what is held, after writing out what is held first
// unless the write continues it (and all stays within kMaxHeld).
int Hold(GatherFile* g, const void* data, int n, sqlite3_int64 offset) {
  const sqlite3_int64 held_end = g->held_at + static_cast<sqlite3_int64>(g->held->size());
  if (!g->held->empty() &&
      (offset != held_end || g->held->size() + static_cast<size_t>(n) > kMaxHeld)) {
    if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  }
  if (g->held->empty()) g->held_at = offset;
  g->held->append(static_cast<const char*>(data), static_cast<size_t>(n));
  return SQLITE_OK;
}

// A checkpoint's write to the database. One wholly within the file is
// held, after what is held is written if it does not end where this one
// starts. One that would grow the file (or outside a checkpoint) goes
// straight through, so that a full disk fails the write SQLite made, which
// then stops the checkpoint before it records the pages as copied.
int WriteDatabase(GatherFile* g, const void* data, int n, sqlite3_int64 offset) {
  if (g->gather_below < 0 || offset + n > g->gather_below) {
    if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
    return RealMethods(g)->xWrite(g->real, data, n, offset);
  }
  checkpoint_writes_asked.fetch_add(1, std::memory_order_relaxed);
  if (const int rc = Hold(g, data, n, offset); rc != SQLITE_OK) return rc;
  return g->held->size() >= kMaxWrite ? Flush(g) : SQLITE_OK;
}

int Write(sqlite3_file* f, const void* data, int n, sqlite3_int64 offset) {
  GatherFile* g = Of(f);
  if (g->held == nullptr) return RealMethods(g)->xWrite(g->real, data, n, offset);
  if (!g->wal) return WriteDatabase(g, data, n, offset);
  writes_asked.fetch_add(1, std::memory_order_relaxed);
  if (const int rc = Hold(g, data, n, offset); rc != SQLITE_OK) return rc;
  const auto* bytes = reinterpret_cast<const unsigned char*>(g->held->data());
  const sqlite3_int64 end = g->held_at + static_cast<sqlite3_int64>(g->held->size());
  if (offset == 0) {
    // A new WAL header: the log starts again.
    g->frame_size = n >= kWalHeaderSize ? FrameSize(static_cast<const unsigned char*>(data)) : 0;
    g->next_frame = kWalHeaderSize;
    g->commit_end = -1;
  } else if (g->frame_size == 0 && offset >= kWalHeaderSize) {
    // (Nothing else is held: an unknown layout is written through.)
    LearnLayout(g, offset);
  }
  if (g->frame_size == 0) return Flush(g);  // the layout is unknown: written through
  // Each frame header now held: does it carry a commit mark (the database's
  // size in pages after the commit, else 0)?
  while (g->next_frame + kFrameHeaderSize <= end) {
    if (g->next_frame >= g->held_at && BigEndian32(bytes + (g->next_frame - g->held_at) + 4) != 0) {
      g->commit_end = g->next_frame + g->frame_size;
    }
    g->next_frame += g->frame_size;
  }
  if (g->commit_end >= 0 && end >= g->commit_end) return Flush(g);
  return SQLITE_OK;
}

int Close(sqlite3_file* f) {
  GatherFile* g = Of(f);
  (void)Flush(g);  // a commit that had not finished: SQLite discards it
  delete g->held;
  g->held = nullptr;
  return RealMethods(g)->xClose(g->real);
}

// A method of the real file, called once what is held is written out: for
// everything that reads, sizes, syncs or otherwise uses the file.
template <typename Method>
struct FlushFirst;
template <typename... Args>
struct FlushFirst<int (*)(sqlite3_file*, Args...)> {
  template <int (*sqlite3_io_methods::*method)(sqlite3_file*, Args...)>
  static int Call(sqlite3_file* f, Args... args) {
    GatherFile* g = Of(f);
    if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
    return (RealMethods(g)->*method)(g->real, args...);
  }
};
#define SILTA_FLUSH_FIRST(method) \
  FlushFirst<decltype(sqlite3_io_methods::method)>::Call<&sqlite3_io_methods::method>

// The database file's size, or -1 if it cannot be read (then nothing is
// held).
sqlite3_int64 RealSize(GatherFile* g) {
  sqlite3_int64 size = 0;
  return RealMethods(g)->xFileSize(g->real, &size) == SQLITE_OK ? size : -1;
}

// SQLite ignores what its checkpoint's last file control returns, and
// records the pages as copied right after it: if the pages held then cannot
// be written, the only safe way on is to stop the process before it does.
// The WAL still has them, and the next start copies them again. (Held
// pages lie within the file, grown with zeros to take them before the
// copy, so this takes an I/O error of the disk itself.)
[[noreturn]] void DieBeforeTheCheckpointIsRecorded(int rc) {
  common::Log(common::LogLevel::kError, "wal_checkpoint_write_failed",
              {{"error", sqlite3_errstr(rc)},
               {"action",
                "stopping before SQLite records pages as copied that are not in the database "
                "file; the WAL keeps them, and the next start copies them again"}});
  common::FlushLog();
  _exit(EXIT_FAILURE);
}

// Inside a checkpoint, SQLite's hint of the size the database will have
// after it: the file grows to that size, with zeros, so that the pages
// which grow it are held too. Where the zeros cannot be written (a full
// disk), the file stays shorter, and the pages beyond it go straight
// through, their failure seen by SQLite.
void Grow(GatherFile* g, sqlite3_int64 to) {
  static const std::string* const zeros = new std::string(kMaxWrite, '\0');
  for (sqlite3_int64 size = RealSize(g); size >= 0 && size < to;) {
    const int n = static_cast<int>(std::min<sqlite3_int64>(kMaxWrite, to - size));
    checkpoint_writes_made.fetch_add(1, std::memory_order_relaxed);
    if (RealMethods(g)->xWrite(g->real, zeros->data(), n, size) != SQLITE_OK) break;
    size += n;
  }
  g->gather_below = RealSize(g);
}

// The database's file controls: a checkpoint's start and end bound the
// writes that are held (those within the file as it is at the start, or
// once grown to SQLite's size hint); everything is written before the end,
// which comes before SQLite records the pages as copied.
int FileControl(sqlite3_file* f, int op, void* arg) {
  GatherFile* g = Of(f);
  const bool database = g->held != nullptr && !g->wal;
  const int flushed = Flush(g);
  if (database && op == SQLITE_FCNTL_CKPT_DONE) {
    g->gather_below = -1;
    if (flushed != SQLITE_OK) DieBeforeTheCheckpointIsRecorded(flushed);
  }
  if (flushed != SQLITE_OK) return flushed;
  if (database && op == SQLITE_FCNTL_SIZE_HINT && g->gather_below >= 0) {
    Grow(g, *static_cast<const sqlite3_int64*>(arg));
  }
  const int rc = RealMethods(g)->xFileControl(g->real, op, arg);
  if (database && op == SQLITE_FCNTL_CKPT_START) {
    g->gather_below = RealSize(g);
  }
  return rc;
}

int SectorSize(sqlite3_file* f) { return RealMethods(Of(f))->xSectorSize(Of(f)->real); }

int DeviceCharacteristics(sqlite3_file* f) {
  return RealMethods(Of(f))->xDeviceCharacteristics(Of(f)->real);
}

// The shared-memory and memory-map methods (the database file's; never the
// WAL's, which holds nothing when they are called).
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  const sqlite3_io_methods* m = RealMethods(Of(f));
  if (m->iVersion < 2 || m->xShmMap == nullptr) return SQLITE_IOERR;
  return m->xShmMap(Of(f)->real, region, size, extend, out);
}

int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  const sqlite3_io_methods* m = RealMethods(Of(f));
  if (m->iVersion < 2 || m->xShmLock == nullptr) return SQLITE_IOERR;
  return m->xShmLock(Of(f)->real, offset, n, flags);
}

void ShmBarrier(sqlite3_file* f) {
  const sqlite3_io_methods* m = RealMethods(Of(f));
  if (m->iVersion >= 2 && m->xShmBarrier != nullptr) m->xShmBarrier(Of(f)->real);
}

int ShmUnmap(sqlite3_file* f, int delete_flag) {
  const sqlite3_io_methods* m = RealMethods(Of(f));
  if (m->iVersion < 2 || m->xShmUnmap == nullptr) return SQLITE_OK;
  return m->xShmUnmap(Of(f)->real, delete_flag);
}

int Fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  GatherFile* g = Of(f);
  *out = nullptr;
  if (const int rc = Flush(g); rc != SQLITE_OK) return rc;
  const sqlite3_io_methods* m = RealMethods(g);
  if (m->iVersion < 3 || m->xFetch == nullptr) return SQLITE_OK;  // no map: SQLite reads
  return m->xFetch(g->real, offset, n, out);
}

int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  const sqlite3_io_methods* m = RealMethods(Of(f));
  if (m->iVersion < 3 || m->xUnfetch == nullptr) return SQLITE_OK;
  return m->xUnfetch(Of(f)->real, offset, p);
}

const sqlite3_io_methods kMethods = {
    .iVersion = 3,
    .xClose = Close,
    .xRead = SILTA_FLUSH_FIRST(xRead),
    .xWrite = Write,
    .xTruncate = SILTA_FLUSH_FIRST(xTruncate),
    .xSync = SILTA_FLUSH_FIRST(xSync),
    .xFileSize = SILTA_FLUSH_FIRST(xFileSize),
    .xLock = SILTA_FLUSH_FIRST(xLock),
    .xUnlock = SILTA_FLUSH_FIRST(xUnlock),
    .xCheckReservedLock = SILTA_FLUSH_FIRST(xCheckReservedLock),
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = Fetch,
    .xUnfetch = Unfetch,
};
#undef SILTA_FLUSH_FIRST

int Open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  GatherFile* g = Of(f);
  std::memset(g, 0, sizeof(GatherFile));
  g->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + RealOffset());
  const int rc = real_vfs->xOpen(real_vfs, name, g->real, flags, out_flags);
  // SQLite closes a file whose pMethods is set, even after a failed open.
  g->base.pMethods = g->real->pMethods != nullptr ? &kMethods : nullptr;
  if (g->real->pMethods == nullptr) return rc;
  g->gather_below = -1;
  g->commit_end = -1;
  if ((flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)) != 0) {
    g->held = new (std::nothrow) std::string();  // without it, written through
    g->wal = (flags & SQLITE_OPEN_WAL) != 0;
  }
  return rc;
}

// Everything else is the real VFS's.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return real_vfs->xDlOpen(real_vfs, name); }
void DlError(sqlite3_vfs*, int n, char* out) { real_vfs->xDlError(real_vfs, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { real_vfs->xDlClose(real_vfs, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return real_vfs->xRandomness(real_vfs, n, out); }
int Sleep(sqlite3_vfs*, int micros) { return real_vfs->xSleep(real_vfs, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return real_vfs->xCurrentTime(real_vfs, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError != nullptr ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  if (real_vfs->iVersion >= 2 && real_vfs->xCurrentTimeInt64 != nullptr) {
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
  }
  double days = 0;
  const int rc = real_vfs->xCurrentTime(real_vfs, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

sqlite3_vfs* Register() {
  ConfigureSqlite();  // sqlite3_vfs_find initializes SQLite
  real_vfs = sqlite3_vfs_find(nullptr);
  if (real_vfs == nullptr) return nullptr;
  static sqlite3_vfs vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(RealOffset()) + real_vfs->szOsFile;
  vfs.mxPathname = real_vfs->mxPathname;
  vfs.zName = kVfsName;
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return &vfs;
}

}  // namespace

const char* WalGatheringVfs() {
  static sqlite3_vfs* const vfs = Register();
  // Without it (SQLite refused the registration) the default VFS is used.
  return vfs != nullptr ? kVfsName : nullptr;
}

WalGatherCounts ReadWalGatherCounts() {
  return {writes_asked.load(std::memory_order_relaxed), writes_made.load(std::memory_order_relaxed),
          checkpoint_writes_asked.load(std::memory_order_relaxed),
          checkpoint_writes_made.load(std::memory_order_relaxed)};
}

}  // namespace silta::store
