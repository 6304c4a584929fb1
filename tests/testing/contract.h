// File: tests/testing/contract.h
//
// The methods of the silta.v1 gRPC contract, read from the compiled
// descriptors, so that tests over "every RPC" cannot miss a new one.
#ifndef SILTA_TESTS_TESTING_CONTRACT_H_
#define SILTA_TESTS_TESTING_CONTRACT_H_

#include <set>
#include <string>

#include "google/protobuf/descriptor.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/broker.pb.h"
#include "silta/v1/case.pb.h"
#include "silta/v1/consent.pb.h"
#include "silta/v1/message.pb.h"
#include "silta/v1/org.pb.h"

namespace silta::testing {

enum class Streaming { kInclude, kExclude };

// Full method names ("/silta.v1.OrgService/AddOrg") of every service in the
// contract; kExclude leaves out client- and server-streaming methods.
inline std::set<std::string> ContractMethods(Streaming streaming = Streaming::kInclude) {
  std::set<std::string> methods;
  for (const google::protobuf::FileDescriptor* file :
       {v1::AddOrgRequest::descriptor()->file(), v1::CreateCaseRequest::descriptor()->file(),
        v1::RecordConsentRequest::descriptor()->file(), v1::SendRequest::descriptor()->file(),
        v1::QueryEntriesRequest::descriptor()->file(), v1::WhoAmIRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const google::protobuf::MethodDescriptor* method = service->method(m);
        if (streaming == Streaming::kExclude &&
            (method->client_streaming() || method->server_streaming())) {
          continue;
        }
        methods.insert("/" + service->full_name() + "/" + method->name());
      }
    }
  }
  return methods;
}

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_CONTRACT_H_
