// File: server/store/domain_store.h
//
// What a component of one domain reaches of the store: its domain's
// interface (org_store.h, case_store.h, consent_store.h, ...), the audit
// appends of calls that change nothing, and the change sequence that its
// decision-input changes go through. Not the whole Store: the org
// registry cannot read messages, the consent registry cannot touch orgs.
//
// Example:
//   class CaseRegistry { ... store::DomainStore<store::CaseStore> store_; };
//   store_->GetCase(id);                          // the domain's calls
//   store_.audit().AppendAudit(&entries);
//   const auto change = store_.changes().Begin();
//   CaseRegistry registry(store.get(), ...);      // callers hand their Store
//   store::DomainStore<store::ConsentStore, store::MessageStore> both;
//   both.Of<store::MessageStore>().GetMessage(...);  // a named extra read
#ifndef SILTA_SERVER_STORE_DOMAIN_STORE_H_
#define SILTA_SERVER_STORE_DOMAIN_STORE_H_

#include <tuple>

#include "server/store/store.h"

namespace silta::store {

// `Domain` is the component's own domain; `Others` are domains it only
// reads a little of (Of<MessageStore>()), named so that they are visible.
template <typename Domain, typename... Others>
class DomainStore {
 public:
  // Implicit, so that callers pass the Store they hold.
  DomainStore(Store* store)  // NOLINT(google-explicit-constructor)
      : domains_(static_cast<Domain*>(store), static_cast<Others*>(store)...),
        audit_(store),
        changes_(&store->changes()) {}

  Domain* operator->() const { return std::get<Domain*>(domains_); }
  Domain& operator*() const { return *std::get<Domain*>(domains_); }
  // One of `Others`.
  template <typename D>
  D& Of() const {
    return *std::get<D*>(domains_);
  }
  AuditStore& audit() const { return *audit_; }
  ChangeSequence& changes() const { return *changes_; }

 private:
  std::tuple<Domain*, Others*...> domains_;
  AuditStore* audit_;
  ChangeSequence* changes_;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_DOMAIN_STORE_H_
