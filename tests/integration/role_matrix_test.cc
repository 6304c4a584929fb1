// The role table as the real siltad enforces it over mutual TLS: every
// unary RPC of every silta.v1 service, called as an organisation of every
// role through a generic stub (an empty request, so nothing is changed).
// A role the table refuses gets PERMISSION_DENIED naming the method; an
// allowed role is never refused for its role or identity (it may still get
// INVALID_ARGUMENT for the empty request, or NOT_FOUND).
#include <future>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "server/identity/role_table.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/contract.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

grpc::Status CallEmpty(grpc::GenericStub& stub, const std::string& method) {
  grpc::Slice empty("");  // the encoding of an empty message
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST(RoleMatrixOverMtlsTest, EveryUnaryRpcAsEveryRole) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("role-matrix");
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  const std::vector<std::pair<std::string, v1::Role>> orgs = {{"police-hame", v1::AGENCY},
                                                              {"wba-registrar", v1::CONSENT_REGISTRAR},
                                                              {"wba-dpo", v1::AUDITOR},
                                                              {"silta-admin", v1::ADMIN}};
  const std::set<std::string> methods = ContractMethods(Streaming::kExclude);
  ASSERT_GE(methods.size(), 30u);

  for (const auto& [org, role] : orgs) {
    grpc::GenericStub stub(ChannelWith(siltad->address(), OrgCert(org), OrgKey(org)));
    for (const std::string& method : methods) {
      const grpc::Status status = CallEmpty(stub, method);
      if (identity::RoleMayCall(role, method)) {
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << org << " " << method;
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << org << " " << method;
        EXPECT_THAT(status.error_message(), Not(HasSubstr("has no role that may call")))
            << org << " " << method;
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << org << " " << method << ": " << status.error_message();
        EXPECT_THAT(status.error_message(), HasSubstr("has no role that may call " + method));
      }
    }
  }
  // Every refusal is evidence.
  EXPECT_THAT(siltad->Log(), HasSubstr("\"reason\":\"role_not_allowed\""));
}

}  // namespace
}  // namespace silta::testing
