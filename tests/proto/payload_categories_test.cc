// Every top-level field of every typed payload must carry a data category:
// the broker decides disclosure by it, so a field without one could never
// be permitted and would silently vanish.
#include "gtest/gtest.h"
#include "silta/v1/options.pb.h"
#include "silta/v1/payloads.pb.h"

namespace silta::v1 {
namespace {

TEST(PayloadCategoriesTest, EveryTopLevelPayloadFieldHasACategory) {
  const google::protobuf::FileDescriptor* file = Referral::descriptor()->file();
  int payloads = 0;
  for (int m = 0; m < file->message_type_count(); ++m) {
    const google::protobuf::Descriptor* message = file->message_type(m);
    if (message->name() == "ServiceTask") continue;  // nested in ServicePlan.tasks
    ++payloads;
    for (int f = 0; f < message->field_count(); ++f) {
      const google::protobuf::FieldDescriptor* field = message->field(f);
      const Category category = field->options().GetExtension(silta::v1::category);
      EXPECT_NE(category, CATEGORY_UNSPECIFIED) << message->full_name() << "." << field->name();
    }
  }
  EXPECT_EQ(payloads, 9);  // the nine payload types of DESIGN.md §5
}

}  // namespace
}  // namespace silta::v1
