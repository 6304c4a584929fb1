#include "server/store/postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/common/status_macros.h"

namespace silta::store {
namespace {

constexpr unsigned kByteaOid = 17;
constexpr unsigned kBoolOid = 16;

// SQLSTATE classes and codes after which the same call may succeed later:
// the connection or the server went away, or the server is busy.
bool Transient(absl::string_view state) {
  return absl::StartsWith(state, "08") ||   // connection exception
         absl::StartsWith(state, "53") ||   // insufficient resources (disk full, ...)
         absl::StartsWith(state, "57P") ||  // shut down, crashed, cannot connect now
         state == "40001" ||                // serialization failure
         state == "40P01" ||                // deadlock detected
         state == "55P03";                  // lock not available
}

// The bytes of a bytea column in PostgreSQL's hex output ("\x0a1b...").
std::string DecodeBytea(absl::string_view text) {
  if (!absl::ConsumePrefix(&text, "\\x")) return std::string(text);
  std::string out;
  out.reserve(text.size() / 2);
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
  };
  for (size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1])));
  }
  return out;
}

}  // namespace

// One execution of a prepared statement: its parameters, then its rows,
// all read at the first Step.
class PgConnection::Driver final : public sql::StatementDriver {
 public:
  Driver(PgConnection* conn, const Prepared* prepared)
      : conn_(conn),
        prepared_(prepared),
        values_(prepared->parameters),
        formats_(prepared->parameters, 0),
        set_(prepared->parameters, false) {}
  ~Driver() override { Reset(); }

  void BindText(int index, absl::string_view value) override { Set(index, value, 0); }
  void BindInt(int index, int64_t value) override { Set(index, absl::StrCat(value), 0); }
  void BindBlob(int index, absl::string_view value) override { Set(index, value, 1); }

  absl::StatusOr<bool> Step() override {
    if (result_ == nullptr) {
      std::vector<const char*> values(values_.size());
      std::vector<int> lengths(values_.size());
      for (size_t i = 0; i < values_.size(); ++i) {
        values[i] = set_[i] ? values_[i].data() : nullptr;  // unbound: NULL
        lengths[i] = static_cast<int>(values_[i].size());
      }
      result_ =
          PQexecPrepared(conn_->conn_, prepared_->name.c_str(), static_cast<int>(values.size()),
                         values.data(), lengths.data(), formats_.data(), /*resultFormat=*/0);
      absl::Status status = conn_->Check(result_, "step");
      if (!status.ok()) {
        Reset();
        return status;
      }
      row_ = -1;
    }
    return ++row_ < PQntuples(result_);
  }

  void Reset() override {
    if (result_ != nullptr) PQclear(result_);
    result_ = nullptr;
    for (size_t i = 0; i < values_.size(); ++i) {
      values_[i].clear();
      formats_[i] = 0;
      set_[i] = false;
    }
  }

  std::string Text(int col) const override {
    if (!HasValue(col)) return std::string();
    return std::string(PQgetvalue(result_, row_, col), PQgetlength(result_, row_, col));
  }
  int64_t Int(int col) const override {
    if (!HasValue(col)) return 0;
    const absl::string_view text(PQgetvalue(result_, row_, col), PQgetlength(result_, row_, col));
    if (PQftype(result_, col) == kBoolOid) return text == "t" ? 1 : 0;
    int64_t value = 0;
    return absl::SimpleAtoi(text, &value) ? value : 0;
  }
  std::string Blob(int col) const override {
    if (!HasValue(col)) return std::string();
    const absl::string_view text(PQgetvalue(result_, row_, col), PQgetlength(result_, row_, col));
    return PQftype(result_, col) == kByteaOid ? DecodeBytea(text) : std::string(text);
  }

 private:
  void Set(int index, absl::string_view value, int format) {
    if (index < 1 || index > static_cast<int>(values_.size())) return;  // as SQLite: ignored
    values_[index - 1].assign(value.data(), value.size());
    formats_[index - 1] = format;
    set_[index - 1] = true;
  }
  bool HasValue(int col) const {
    return result_ != nullptr && row_ >= 0 && row_ < PQntuples(result_) && col >= 0 &&
           col < PQnfields(result_) && !PQgetisnull(result_, row_, col);
  }

  PgConnection* const conn_;
  const Prepared* const prepared_;
  std::vector<std::string> values_;
  std::vector<int> formats_;
  std::vector<bool> set_;
  PGresult* result_ = nullptr;
  int row_ = -1;
};

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  // Defaults that keep a call from hanging on an unreachable or silent
  // server (libpq's own: wait for ever to connect, and TCP's hours before a
  // dead peer is noticed). Given before the conninfo, which overrides them.
  const char* const keywords[] = {"connect_timeout",
                                  "keepalives_idle",
                                  "keepalives_interval",
                                  "keepalives_count",
                                  "tcp_user_timeout",
                                  "dbname",
                                  nullptr};
  const char* const values[] = {"10", "10", "5", "3", "15000", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn)));
    PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("postgres: cannot connect: ", why));
  }
  // The server's notices (a shutdown's warning, say) are not written to
  // stderr: what matters comes back as an error of the call.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::Broken() {
  if (lost_ || PQstatus(conn_) != CONNECTION_OK) return true;
  // Idle, a connection has nothing to read unless the server ended it: a
  // FATAL message, then the end of the stream. libpq reads the message;
  // a peek at the socket sees the end.
  if (PQconsumeInput(conn_) == 0) lost_ = true;
  char next = 0;
  const int socket = PQsocket(conn_);
  if (!lost_ && socket >= 0) {
    const ssize_t peeked = ::recv(socket, &next, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) lost_ = true;
  }
  return lost_ || PQstatus(conn_) != CONNECTION_OK;
}

std::vector<PgConnection::Notification> PgConnection::AwaitNotifications(absl::Duration timeout) {
  std::vector<Notification> received;
  if (Broken()) return received;
  const auto take = [&] {
    while (PGnotify* notify = PQnotifies(conn_)) {
      received.push_back({notify->relname, notify->extra});
      PQfreemem(notify);
    }
  };
  take();  // what an earlier read left in libpq's buffer
  if (!received.empty()) return received;
  pollfd fd{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
  const int ready = ::poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready > 0 && PQconsumeInput(conn_) == 0) lost_ = true;
  take();
  return received;
}

std::string PgConnection::NumberParameters(absl::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  *count = 0;
  char quote = 0;  // inside '...' or "..."
  int next = 0;    // the number of the next bare `?`
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      // `?NNN` (SQLite's numbered parameter) keeps its number.
      size_t end = i + 1;
      while (end < sql.size() && absl::ascii_isdigit(sql[end])) ++end;
      int number = ++next;
      if (end > i + 1) {
        (void)absl::SimpleAtoi(sql.substr(i + 1, end - i - 1), &number);
        next = number;
        i = end - 1;
      }
      absl::StrAppend(&out, "$", number);
      *count = std::max(*count, number);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::Status PgConnection::Check(PGresult* result, absl::string_view what) {
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    const char* tuples = PQcmdTuples(result);
    int64_t changed = 0;
    changes_ = tuples != nullptr && absl::SimpleAtoi(tuples, &changed) ? changed : 0;
    return absl::OkStatus();
  }
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const std::string message = absl::StrCat(
      "postgres: ", what, ": ",
      primary != nullptr ? primary
                         : std::string(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn_))),
      state != nullptr ? absl::StrCat(" (SQLSTATE ", state, ")") : "");
  // The server ended the session (shut down, crashed, or the socket is
  // gone): this connection is done with, even if libpq has not seen the
  // socket close yet.
  if (state == nullptr || absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {
    lost_ = true;
  }
  if (Broken()) return absl::UnavailableError(message);
  if (absl::StartsWith(state, "23")) return absl::AlreadyExistsError(message);
  // A statement prepared in a session since lost, run in the new one.
  if (absl::string_view(state) == "26000") return absl::UnavailableError(message);
  if (Transient(state)) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

absl::Status PgConnection::Ready() {
  if (in_transaction_ || !Broken()) return absl::OkStatus();
  // Between transactions, a lost connection is made again with the same
  // parameters (all hosts of a multi-host conninfo tried again). Never
  // inside one: its COMMIT on a new session would "succeed" with nothing
  // committed.
  PQreset(conn_);
  ++generation_;
  lost_ = PQstatus(conn_) != CONNECTION_OK;
  if (lost_) {
    return absl::UnavailableError(
        absl::StrCat("postgres: cannot connect again: ",
                     std::string(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn_)))));
  }
  if (on_connect_) {
    absl::Status ready = on_connect_(*this);
    if (!ready.ok()) {
      lost_ = true;
      return ready;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<sql::Statement> PgConnection::Prepare(absl::string_view sql) {
  SILTA_RETURN_IF_ERROR(Ready());
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    Prepared prepared;
    prepared.name = absl::StrCat("s", prepared_.size() + 1);
    prepared.numbered = NumberParameters(sql, &prepared.parameters);
    prepared.generation = generation_ - 1;  // prepared below
    it = prepared_.emplace(std::string(sql), std::move(prepared)).first;
  }
  // Prepared statements live in the server's session: a new session (after
  // a reconnect) prepares its own. Entries are never removed, so a
  // statement still held from before points at a live entry.
  if (it->second.generation != generation_) {
    PGresult* result =
        PQprepare(conn_, it->second.name.c_str(), it->second.numbered.c_str(), 0, nullptr);
    absl::Status status = Check(result, "prepare");
    PQclear(result);
    if (!status.ok()) return status;
    it->second.generation = generation_;
  }
  return sql::Statement(std::make_unique<Driver>(this, &it->second));
}

absl::Status PgConnection::Exec(absl::string_view sql) {
  const absl::string_view command = absl::StripLeadingAsciiWhitespace(sql);
  const bool ends =
      absl::EqualsIgnoreCase(command, "COMMIT") || absl::EqualsIgnoreCase(command, "ROLLBACK");
  if (ends) {
    // Whatever the server answers, the transaction is over: committed,
    // rolled back, or rolled back by the server when the session was lost.
    in_transaction_ = false;
    if (Broken()) return absl::UnavailableError("postgres: the connection was lost");
  } else {
    SILTA_RETURN_IF_ERROR(Ready());
  }
  PGresult* result = PQexec(conn_, std::string(sql).c_str());
  absl::Status status = Check(result, "exec");
  PQclear(result);
  if (status.ok() && absl::StartsWithIgnoreCase(command, "BEGIN")) in_transaction_ = true;
  return status;
}

}  // namespace silta::store
