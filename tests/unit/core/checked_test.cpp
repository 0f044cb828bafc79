// Checked arithmetic: overflow and negative sizes become qcal::Error, never UB.
#include "core/checked.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace qcal {
namespace {

TEST(Checked, MulAndAdd) {
  EXPECT_EQ(checked_mul(3, 4), 12);
  EXPECT_EQ(checked_add(3, 4), 7);
  EXPECT_THROW(checked_mul(INT64_MAX / 2 + 1, 2), Error);
  EXPECT_THROW(checked_add(INT64_MAX, 1), Error);
  EXPECT_THROW(checked_mul(-1, 2), Error);
}

TEST(Checked, Numel) {
  std::vector<std::int64_t> dims{1, 3, 640, 640};
  EXPECT_EQ(checked_numel(dims), 1228800);
  std::vector<std::int64_t> huge{1LL << 40, 1LL << 40};
  EXPECT_THROW(checked_numel(huge), Error);
  std::vector<std::int64_t> neg{2, -1};
  EXPECT_THROW(checked_numel(neg), Error);
  EXPECT_EQ(checked_numel(std::vector<std::int64_t>{}), 1);
}

TEST(Checked, AllocLimit) {
  EXPECT_NO_THROW(check_alloc(1024, "small"));
  try {
    check_alloc(kMaxAllocBytes + 1, "tensor x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimit);
    EXPECT_NE(std::string(e.what()).find("tensor x"), std::string::npos);
  }
}

}  // namespace
}  // namespace qcal
