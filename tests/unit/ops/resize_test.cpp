// Resize and Upsample: the modes the target models use (nearest asymmetric/floor for YOLO's
// upsampling, linear half_pixel/align_corners/pytorch_half_pixel), scales vs sizes, opset-10 and
// Upsample rounding, tf_crop_and_resize extrapolation, errors, and a sweep against the
// separable reference.
#include "ops/resize.hpp"

#include "op_test_util.hpp"

namespace qcal::test {
namespace {

ops::NodeDef resize_node(const std::string& mode, const std::string& transform, int opset = 13) {
  auto node = make_node("Resize", 3, 1, opset);
  node.attributes["mode"] = mode;
  node.attributes["coordinate_transformation_mode"] = transform;
  return node;
}

TEST(Resize, NearestAsymmetricFloorDoublesLikeYolo) {
  auto node = resize_node("nearest", "asymmetric");
  node.attributes["nearest_mode"] = std::string("floor");
  const Tensor x = tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor y =
      run1(node, {x, Tensor(), tensor<float>({4}, {1, 1, 2, 2})}, 1, {false, true, true});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(values_of<float>(y),
            (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(Resize, LinearHalfPixelAndAlignCorners) {
  const Tensor x = tensor<float>({1, 1, 1, 2}, {0, 4});
  auto half = resize_node("linear", "half_pixel");
  // Output x=1 maps to (1.5 / 2) - 0.5 = 0.25 -> 0 * 0.75 + 4 * 0.25 = 1.
  EXPECT_EQ(values_of<float>(run1(half, {x, Tensor(), tensor<float>({4}, {1, 1, 1, 2})})),
            (std::vector<float>{0, 1, 3, 4}));
  auto corners = resize_node("linear", "align_corners");
  EXPECT_EQ(values_of<float>(
                run1(corners, {x, Tensor(), Tensor(), tensor<std::int64_t>({4}, {1, 1, 1, 5})})),
            (std::vector<float>{0, 1, 2, 3, 4}));
  // pytorch_half_pixel: an output length of 1 samples coordinate 0.
  auto pt = resize_node("linear", "pytorch_half_pixel");
  EXPECT_EQ(
      values_of<float>(run1(pt, {x, Tensor(), Tensor(), tensor<std::int64_t>({4}, {1, 1, 1, 1})})),
      (std::vector<float>{0}));
}

TEST(Resize, Opset10AndUpsampleUseFloorForUpsampling) {
  const Tensor x = tensor<float>({1, 1, 1, 3}, {1, 2, 3});
  auto r10 = make_node("Resize", 2, 1, 10);
  EXPECT_EQ(values_of<float>(run1(r10, {x, tensor<float>({4}, {1, 1, 1, 2})})),
            (std::vector<float>{1, 1, 2, 2, 3, 3}));
  auto up9 = make_node("Upsample", 2, 1, 9);
  EXPECT_EQ(values_of<float>(run1(up9, {x, tensor<float>({4}, {1, 1, 1, 2})})),
            (std::vector<float>{1, 1, 2, 2, 3, 3}));
  auto up7 = make_node("Upsample", 1, 1, 7);
  up7.attributes["scales"] = std::vector<float>{1, 1, 1, 2};
  up7.attributes["mode"] = std::string("linear");
  EXPECT_EQ(values_of<float>(run1(up7, {x})), (std::vector<float>{1, 1.5f, 2, 2.5f, 3, 3}));
}

TEST(Resize, CropAndResizeExtrapolates) {
  auto node = resize_node("linear", "tf_crop_and_resize");
  node.attributes["extrapolation_value"] = 10.0f;
  const Tensor x = tensor<float>({1, 3}, {0, 1, 2});
  // roi [0, 0.5] .. [1, 1.5] on the last axis: samples 1, 2 and then beyond the input.
  const Tensor y = run1(node, {x, tensor<float>({4}, {0, 0.5f, 1, 1.5f}), Tensor(),
                               tensor<std::int64_t>({2}, {1, 3})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{1, 2, 10}));
}

TEST(Resize, Errors) {
  const Tensor x(DType::kFloat32, {1, 1, 2, 2});
  auto node = resize_node("linear", "half_pixel");
  expect_error(
      [&] {
        run1(node, {x, Tensor(), tensor<float>({4}, {1, 1, 2, 2}),
                    tensor<std::int64_t>({4}, {1, 1, 4, 4})});
      },
      {"exactly one of scales and sizes"});
  expect_error(
      [&] {
        run1(node, {x, Tensor(), tensor<float>({2}, {2, 2})});
      },
      {"scales has 2 values for 4 axes"});
  auto bad = resize_node("linear", "sideways");
  expect_error([&] { ops::make_resize(bad); }, {"sideways", "test_Resize"});
  auto aa = resize_node("linear", "half_pixel", 18);
  aa.attributes["antialias"] = std::int64_t{1};
  expect_error([&] { ops::make_resize(aa); }, {"antialias"});
}

TEST(Resize, SweepMatchesSeparableReference) {
  Rng rng(31);
  const char* modes[] = {"nearest", "linear", "cubic"};
  const char* transforms[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"};
  for (int trial = 0; trial < 36; ++trial) {
    auto node = resize_node(modes[trial % 3], transforms[(trial / 3) % 4]);
    const Shape in{1 + trial % 2, 2, 2 + static_cast<std::int64_t>(rng.next_double() * 7),
                   2 + static_cast<std::int64_t>(rng.next_double() * 7)};
    const Shape out{in[0], in[1], 1 + static_cast<std::int64_t>(rng.next_double() * 14),
                    1 + static_cast<std::int64_t>(rng.next_double() * 14)};
    const Tensor x = random_tensor(rng, in);
    const Tensor sizes = tensor<std::int64_t>({4}, {out[0], out[1], out[2], out[3]});
    const Tensor y = run1(node, {x, Tensor(), Tensor(), sizes}, 2);
    ASSERT_EQ(y.shape(), out);
    ops::ResizeAttrs attrs;
    attrs.mode = modes[trial % 3];
    attrs.coordinate_transformation_mode = transforms[(trial / 3) % 4];
    const ops::ResizePlan plan = ops::infer_resize(node, attrs, in, nullptr, nullptr, &sizes);
    std::vector<float> ref(static_cast<std::size_t>(y.numel()));
    ops::resize_f32_ref(attrs, x.data<float>(), in, plan, ref.data());
    for (std::size_t i = 0; i < ref.size(); ++i) {
      ASSERT_NEAR(y.data<float>()[i], ref[i], 1e-5)
          << modes[trial % 3] << " " << transforms[(trial / 3) % 4];
    }
  }
}

}  // namespace
}  // namespace qcal::test
