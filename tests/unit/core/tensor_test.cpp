// Tensor: allocation, typed access checks, reshape, limits.
#include "core/tensor.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace qcal {
namespace {

TEST(Tensor, AllocatesZeroedAligned) {
  Tensor t(DType::kFloat32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u);
  for (float v : t.values<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, TypedAccessChecksDtype) {
  Tensor t(DType::kInt64, {4});
  EXPECT_THROW(t.data<float>(), Error);
  EXPECT_NO_THROW(t.data<std::int64_t>());
}

TEST(Tensor, FromValuesAndReshape) {
  std::vector<float> v{1, 2, 3, 4, 5, 6};
  Tensor t = Tensor::from_values<float>({2, 3}, v);
  Tensor r = t.reshaped({3, 2});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(r.data<float>(), t.data<float>());  // shares the buffer
  EXPECT_THROW(t.reshaped({4}), Error);
  Tensor c = t.clone();
  c.data<float>()[0] = 9;
  EXPECT_EQ(t.data<float>()[0], 1);
}

TEST(Tensor, AbsurdSizeIsAnErrorNotAnOom) {
  EXPECT_THROW(Tensor(DType::kFloat32, {1LL << 20, 1LL << 20, 1LL << 10}), Error);
  EXPECT_THROW(Tensor(DType::kFloat32, {-1, 3}), Error);
}

TEST(Tensor, ShapeToString) {
  Shape s{1, 3, 640, 640};
  EXPECT_EQ(shape_to_string(s), "[1, 3, 640, 640]");
  EXPECT_EQ(shape_to_string(Shape{}), "[]");
}

}  // namespace
}  // namespace qcal
