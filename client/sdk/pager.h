// File: client/sdk/pager.h
//
// Iterates over a listing that siltad returns page by page (ListCases,
// ListOrgs, QueryEntries): the next page is fetched when the current one
// is used up, each fetch with the connection's deadline and retry rules.
// The request's page_size sets the page size; its filters stay the same
// for every page; its page_token, if set, is where the listing starts.
//
// Example:
//   sdk::Pager<v1::AuditEntry> entries = audit.QueryEntries(request);
//   v1::AuditEntry entry;
//   while (entries.Next(&entry)) Print(entry);
//   if (!entries.status().ok()) return entries.status();
//
// Thread-compatible.
#ifndef SILTA_CLIENT_SDK_PAGER_H_
#define SILTA_CLIENT_SDK_PAGER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/sdk/connection.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace silta::sdk {

template <typename Item>
class Pager {
 public:
  // Fetches the page at `token` ("" for the first) into *items and returns
  // the token of the next page ("" after the last).
  using FetchPage = std::function<absl::StatusOr<std::string>(const std::string& token,
                                                              std::vector<Item>* items)>;

  // `first_token`: where the listing starts ("" at its beginning).
  explicit Pager(FetchPage fetch, std::string first_token = "")
      : fetch_(std::move(fetch)), token_(std::move(first_token)) {}

  // Moves the next item into *item. False at the end of the listing or on
  // an error; status() tells which.
  bool Next(Item* item) {
    while (next_ == page_.size()) {
      if (last_ || !status_.ok()) return false;
      page_.clear();
      next_ = 0;
      absl::StatusOr<std::string> token = fetch_(token_, &page_);
      if (!token.ok()) {
        status_ = token.status();
        return false;
      }
      token_ = *std::move(token);
      last_ = token_.empty();
    }
    *item = std::move(page_[next_++]);
    return true;
  }

  // OK unless fetching a page failed.
  const absl::Status& status() const { return status_; }

 private:
  FetchPage fetch_;
  std::vector<Item> page_;
  size_t next_ = 0;
  std::string token_;
  bool last_ = false;
  absl::Status status_;
};

// A Pager over a generated stub's List/Query method whose request has
// page_token and whose response has next_page_token and the repeated
// field `items`:
//   MakePager(connection, stub, &v1::CaseService::Stub::ListCases, request,
//             &v1::ListCasesResponse::mutable_cases);
template <typename Item, typename Stub, typename Request, typename Response>
Pager<Item> MakePager(std::shared_ptr<const Connection> connection, std::shared_ptr<Stub> stub,
                      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                      Request request,
                      google::protobuf::RepeatedPtrField<Item>* (Response::*items)()) {
  std::string first_token = request.page_token();
  return Pager<Item>(
      [connection = std::move(connection), stub = std::move(stub), method,
       request = std::move(request), items](
          const std::string& token, std::vector<Item>* out) mutable -> absl::StatusOr<std::string> {
        request.set_page_token(token);
        absl::StatusOr<Response> page =
            connection->Unary(*stub, method, request, Idempotency::kIdempotent);
        if (!page.ok()) return page.status();
        for (Item& item : *((*page).*items)()) out->push_back(std::move(item));
        return page->next_page_token();
      },
      std::move(first_token));
}

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_PAGER_H_
