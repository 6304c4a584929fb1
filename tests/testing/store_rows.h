// File: tests/testing/store_rows.h
//
// Rows for store tests: an organisation with every field set, an
// accepted message with one delivery, and that delivery in a new state.
#ifndef SILTA_TESTS_TESTING_STORE_ROWS_H_
#define SILTA_TESTS_TESTING_STORE_ROWS_H_

#include <string>

#include "server/store/store.h"

namespace silta::testing {

inline v1::Organization MakeOrg(const std::string& id) {
  v1::Organization org;
  org.set_org_id(id);
  org.set_display_name("Test " + id);
  org.set_kind(v1::NGO);
  org.add_roles(v1::AGENCY);
  org.add_roles(v1::AUDITOR);
  org.set_state(v1::ACTIVE);
  org.set_region("oulu");
  org.mutable_created_at()->set_seconds(1700000000);
  org.mutable_updated_at()->set_seconds(1700000001);
  return org;
}

// An accepted message of police-hame to hml-youth (one delivery, pending).
inline store::MessageRecord MakeMessage(const std::string& id) {
  store::MessageRecord m;
  m.message_id = id;
  m.sender_org_id = "police-hame";
  m.content_hash = std::string(32, 'h');
  m.accepted_at_us = 1;
  m.expires_at_us = 1000000000000;
  v1::SealedMessage body;
  body.mutable_header()->set_message_id(id);
  m.body = body;
  store::DeliveryRecord d;
  d.delivery_id = id + "-d";
  d.recipient_org_id = "hml-youth";
  m.deliveries.push_back(d);
  return m;
}

// The first delivery of `m` in `state`, with the message's keys that an
// update of it needs.
inline store::DeliveryRecord FirstDelivery(const store::MessageRecord& m,
                                           v1::RecipientState state) {
  store::DeliveryRecord d = m.deliveries[0];
  d.sender_org_id = m.sender_org_id;
  d.message_id = m.message_id;
  d.state = state;
  return d;
}

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_STORE_ROWS_H_
