// The PostgreSQL driver against a real PostgreSQL 15 that the test starts
// itself (tests/testing/postgres_server.h).
#include "server/store/postgres/pg_connection.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_store.h"

namespace silta::store {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::PostgresServer;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// Each test has a database of its own on the process's server
// (tests/testing/test_store.h).
class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> conninfo = testing::NewTestPostgresDatabase();
    ASSERT_THAT(conninfo, IsOk());
    conninfo_ = *conninfo;
    absl::StatusOr<std::unique_ptr<PgConnection>> db = PgConnection::Connect(conninfo_);
    ASSERT_THAT(db, IsOk());
    db_ = *std::move(db);
  }
  static PostgresServer& Server() { return *testing::TestPostgresServer(); }

  std::string conninfo_;
  std::unique_ptr<PgConnection> db_;
};

TEST_F(PgConnectionTest, ParametersAreNumberedOutsideQuotesOnly) {
  int count = 0;
  EXPECT_EQ(
      PgConnection::NumberParameters("SELECT a FROM t WHERE b = ? AND c = '?' AND d > ?", &count),
      "SELECT a FROM t WHERE b = $1 AND c = '?' AND d > $2");
  EXPECT_EQ(count, 2);
  EXPECT_EQ(PgConnection::NumberParameters("SELECT 1 WHERE (?1 = '' OR a = ?1) AND b = ?", &count),
            "SELECT 1 WHERE ($1 = '' OR a = $1) AND b = $2");
  EXPECT_EQ(count, 2);
}

TEST_F(PgConnectionTest, TextIntegersAndBytesComeBackAsStored) {
  ASSERT_THAT(db_->Exec("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, body BYTEA, "
                        "ok BOOLEAN NOT NULL DEFAULT true)"),
              IsOk());
  std::string body(8192, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  {
    absl::StatusOr<sql::Statement> insert =
        db_->Prepare("INSERT INTO t(id, n, body) VALUES(?, ?, ?)");
    ASSERT_THAT(insert, IsOk());
    insert->BindText(1, "päivä 'one'");
    insert->BindInt(2, -(int64_t{1} << 40));
    insert->BindBlob(3, body);
    ASSERT_THAT(insert->Run(), IsOk());
    EXPECT_EQ(db_->Changes(), 1);
    // The same statement again, with new bindings; an unbound blob is NULL.
    insert->Reset();
    insert->BindText(1, "two");
    insert->BindInt(2, 2);
    ASSERT_THAT(insert->Run(), IsOk());
  }
  absl::StatusOr<sql::Statement> select = db_->Prepare("SELECT id, n, body, ok FROM t ORDER BY n");
  ASSERT_THAT(select, IsOk());
  ASSERT_THAT(select->Step(), IsOkAndHolds(true));
  EXPECT_EQ(select->Text(0), "päivä 'one'");
  EXPECT_EQ(select->Int(1), -(int64_t{1} << 40));
  EXPECT_EQ(select->Blob(2), body);
  EXPECT_EQ(select->Int(3), 1);
  ASSERT_THAT(select->Step(), IsOkAndHolds(true));
  EXPECT_EQ(select->Text(0), "two");
  EXPECT_EQ(select->Blob(2), "");
  EXPECT_THAT(select->Step(), IsOkAndHolds(false));
}

TEST_F(PgConnectionTest, TwoStatementsOfTheSameSqlCanBeInUseAtOnce) {
  ASSERT_THAT(db_->Exec("CREATE TABLE t (n BIGINT); INSERT INTO t VALUES (1), (2), (3)"), IsOk());
  absl::StatusOr<sql::Statement> outer = db_->Prepare("SELECT n FROM t WHERE n >= ? ORDER BY n");
  ASSERT_THAT(outer, IsOk());
  outer->BindInt(1, 2);
  ASSERT_THAT(outer->Step(), IsOkAndHolds(true));
  absl::StatusOr<sql::Statement> inner = db_->Prepare("SELECT n FROM t WHERE n >= ? ORDER BY n");
  ASSERT_THAT(inner, IsOk());
  inner->BindInt(1, 1);
  ASSERT_THAT(inner->Step(), IsOkAndHolds(true));
  EXPECT_EQ(inner->Int(0), 1);
  EXPECT_EQ(outer->Int(0), 2);
  ASSERT_THAT(outer->Step(), IsOkAndHolds(true));
  EXPECT_EQ(outer->Int(0), 3);
}

TEST_F(PgConnectionTest, ChangesCountsTheRowsOfTheLastStatement) {
  ASSERT_THAT(db_->Exec("CREATE TABLE t (n BIGINT); INSERT INTO t VALUES (1), (2), (3)"), IsOk());
  absl::StatusOr<sql::Statement> update = db_->Prepare("UPDATE t SET n = n + 10 WHERE n < ?");
  ASSERT_THAT(update, IsOk());
  update->BindInt(1, 3);
  ASSERT_THAT(update->Run(), IsOk());
  EXPECT_EQ(db_->Changes(), 2);
  update->Reset();
  update->BindInt(1, 0);
  ASSERT_THAT(update->Run(), IsOk());
  EXPECT_EQ(db_->Changes(), 0);
}

// A taken key is ALREADY_EXISTS, as in SQLite, and the message never quotes
// the row's values (PostgreSQL's DETAIL does): they could be a name.
TEST_F(PgConnectionTest, ATakenKeyIsAlreadyExistsWithoutTheValue) {
  ASSERT_THAT(db_->Exec("CREATE TABLE people (name TEXT PRIMARY KEY)"), IsOk());
  absl::StatusOr<sql::Statement> insert = db_->Prepare("INSERT INTO people(name) VALUES(?)");
  ASSERT_THAT(insert, IsOk());
  insert->BindText(1, "Aino Virtanen");
  ASSERT_THAT(insert->Run(), IsOk());
  insert->Reset();
  insert->BindText(1, "Aino Virtanen");
  const absl::Status again = insert->Run();
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("23505")));
  EXPECT_THAT(std::string(again.message()), Not(HasSubstr("Aino")));
}

TEST_F(PgConnectionTest, BadSqlIsInternalAndSaysWhy) {
  EXPECT_THAT(db_->Prepare("SELEC 1"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("syntax error")));
  EXPECT_THAT(db_->Exec("SELECT * FROM no_such_table"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("no_such_table")));
}

TEST_F(PgConnectionTest, AnUnreachableServerIsUnavailable) {
  EXPECT_THAT(PgConnection::Connect(absl::StrCat(conninfo_, " port=1")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot connect")));
}

TEST_F(PgConnectionTest, ALostServerIsUnavailableAndTheConnectionBroken) {
  absl::StatusOr<sql::Statement> select = db_->Prepare("SELECT 1");
  ASSERT_THAT(select, IsOk());
  ASSERT_THAT(Server().Stop(), IsOk());
  EXPECT_THAT(select->Step(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(db_->Broken());
  EXPECT_THAT(PgConnection::Connect(conninfo_), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(Server().Resume(), IsOk());
  EXPECT_THAT(PgConnection::Connect(conninfo_), IsOk());
  // The same connection connects again at its next use.
  absl::StatusOr<sql::Statement> again = db_->Prepare("SELECT 2");
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT(again->Step(), IsOkAndHolds(true));
  EXPECT_EQ(again->Int(0), 2);
  EXPECT_FALSE(db_->Broken());
}

// A connection lost inside a transaction never reconnects before its end:
// a COMMIT on a new session would answer OK with nothing committed.
TEST_F(PgConnectionTest, ATransactionCutByALostServerNeverCommits) {
  ASSERT_THAT(db_->Exec("CREATE TABLE t (n BIGINT)"), IsOk());
  ASSERT_THAT(db_->Exec("BEGIN"), IsOk());
  ASSERT_THAT(db_->Exec("INSERT INTO t VALUES (1)"), IsOk());
  ASSERT_THAT(Server().Stop(), IsOk());
  ASSERT_THAT(Server().Resume(), IsOk());
  EXPECT_THAT(db_->Exec("INSERT INTO t VALUES (2)"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(db_->Prepare("SELECT 1"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(db_->Exec("COMMIT"), StatusIs(absl::StatusCode::kUnavailable));
  // After its end, the connection is made again; nothing of it was kept.
  absl::StatusOr<sql::Statement> count = db_->Prepare("SELECT COUNT(*) FROM t");
  ASSERT_THAT(count, IsOk());
  ASSERT_THAT(count->Step(), IsOkAndHolds(true));
  EXPECT_EQ(count->Int(0), 0);
}

}  // namespace
}  // namespace silta::store
