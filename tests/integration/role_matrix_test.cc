// The role table as the real siltad enforces it over mutual TLS: every
// unary RPC of every silta.v1 service, called as an organisation of every
// role through a generic stub (an empty request, so nothing is changed).
// A role the table refuses gets PERMISSION_DENIED naming the method; an
// allowed role is never refused for its role or identity (it may still get
// INVALID_ARGUMENT for the empty request, or NOT_FOUND). Subscribe, which
// parses its own request, is called with bytes that are not one.
#include <future>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "server/identity/role_table.h"
#include "silta/v1/message.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/contract.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One call of `method` with `bytes` as its request, as a unary call: a
// server stream that is refused ends with its status and no message.
grpc::Status CallWith(grpc::GenericStub& stub, const std::string& method,
                      const std::string& bytes) {
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

grpc::Status CallEmpty(grpc::GenericStub& stub, const std::string& method) {
  return CallWith(stub, method, "");  // "" encodes an empty message
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

// MessageService.Subscribe parses its request itself (it is registered raw,
// to write deliveries from the stored message): bytes that are not a
// SubscribeRequest, or a bound out of range, get INVALID_ARGUMENT saying
// what is wrong; an organisation whose role may not subscribe learns only
// that, whatever it sends.
TEST(RoleMatrixOverMtlsTest, SubscribeRefusesARequestItCannotParseOrAllow) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("subscribe-input");
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  const std::string method = "/silta.v1.MessageService/Subscribe";
  const std::string not_a_request = "\xff\xff\xff\xff";  // a truncated field tag
  grpc::GenericStub agency(
      ChannelWith(siltad->address(), OrgCert("police-hame"), OrgKey("police-hame")));

  grpc::Status status = CallWith(agency, method, not_a_request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("not a silta.v1.SubscribeRequest"));

  v1::SubscribeRequest too_long;
  too_long.set_ack_timeout_seconds(3601);
  status = CallWith(agency, method, too_long.SerializeAsString());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("ack_timeout_seconds: at most 3600"));

  grpc::GenericStub auditor(ChannelWith(siltad->address(), OrgCert("wba-dpo"), OrgKey("wba-dpo")));
  status = CallWith(auditor, method, not_a_request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("has no role that may call " + method));
}

}  // namespace
}  // namespace silta::testing
