// The sample-data layer every verb reads --data through: .npz members streamed by input name,
// rows carrying their own batch axis, the limit, DX-COM configs read with DX-COM's
// case-sensitive extensions (the same images as `qcal pack`), and the recipe's geometry.
#include "preprocess/sample_data.hpp"

#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "preprocess/sources.hpp"
#include "test_support.hpp"

namespace qcal::preprocess {
namespace {

namespace fs = std::filesystem;

Tensor ramp(const Shape& shape) {
  Tensor t(DType::kFloat32, shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

ModelInputInfo input(const std::string& name, Shape shape) {
  ModelInputInfo in;
  in.name = name;
  in.shape = std::move(shape);
  in.dtype = DType::kFloat32;
  in.source = "m.onnx";
  return in;
}

TEST(SampleData, NpzMembersByInputNameWithLimitAndOwnBatchAxis) {
  test::TempDir dir;
  {
    NpzWriter w(dir / "two.npz");
    w.add("b", ramp({5, 1, 2, 3}));  // rows carry a batch axis of 1
    w.add("a", ramp({5, 4}));
    w.finish();
  }
  DataRequest r = data_request(dir / "two.npz");
  r.limit = 3;
  auto data = open_sample_data(r, {input("a", {-1, 4}), input("b", {1, 2, 3})});
  EXPECT_EQ(data->size(), 3);
  ASSERT_EQ(data->row_shapes().size(), 2u);
  EXPECT_EQ(data->row_shapes()[1], (Shape{2, 3}));
  const auto rows = data->read(1, 2);
  EXPECT_EQ(rows[0].shape(), (Shape{2, 4}));
  EXPECT_EQ(rows[0].data<float>()[0], 4.0f);
  EXPECT_EQ(rows[1].shape(), (Shape{2, 2, 3}));
  const Sample s = data->sample(2, false);
  EXPECT_EQ(s.name, "two.npz[2]");
  EXPECT_EQ(s.inputs[1].shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(s.inputs[1].data<float>()[0], 12.0f);
  // A member that cannot feed its input names both shapes.
  try {
    (void)open_sample_data(r, {input("a", {-1, 5}), input("b", {1, 2, 3})});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("[4]"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("'a' [-1, 5]"), std::string::npos) << e.message();
  }
}

TEST(SampleData, DxcomConfigMatchesExtensionsAsPackDoes) {
  test::TempDir dir;
  fs::create_directories(dir / "imgs");
  fs::copy_file(test::opencv_data() / "messi5.jpg", dir / "imgs" / "a.jpg");
  fs::copy_file(test::opencv_data() / "baboon.jpg", dir / "imgs" / "b.JPG");
  write_file_atomic(dir / "cfg.json", R"({"inputs": {"images": [1, 3, 64, 64]},
    "calibration_num": 10, "calibration_method": "minmax",
    "default_loader": {"dataset_path": "imgs", "file_extensions": ["jpg"],
      "preprocessings": [{"resize": {"mode": "pad", "size": 64}}, {"div": {"x": 255}},
        {"transpose": {"axis": [2, 0, 1]}}, {"expandDim": {"axis": 0}}]}})");
  auto data = open_sample_data(data_request(dir / "cfg.json"), {input("images", {1, 3, 64, 64})});
  // b.JPG is skipped, as DX-COM and `qcal pack` skip it, and the user is told.
  EXPECT_EQ(data->size(), 1);
  EXPECT_EQ(static_cast<std::size_t>(data->size()),
            resolve_image_source(dir / "cfg.json").images.size());
  ASSERT_EQ(data->warnings().size(), 1u);
  EXPECT_NE(data->warnings()[0].find("b.JPG"), std::string::npos) << data->warnings()[0];
  EXPECT_EQ(data->defaults().calibration_num, 10);
  EXPECT_EQ(data->defaults().calibration_method, "minmax");
  const Sample s = data->sample(0, true);
  ASSERT_TRUE(s.geometry.has_value());
  // 548x342 letterboxed into 64: gain 64/548, padding above the image.
  EXPECT_DOUBLE_EQ(s.geometry->gain_x, 64.0 / 548.0);
  EXPECT_EQ(s.geometry->pad_left, 0);
  EXPECT_GT(s.geometry->pad_top, 0);
  EXPECT_EQ(s.image.cols, 548);
}

TEST(SampleData, ImagesNeedARecipeAndTensorsRefuseOne) {
  test::TempDir dir;
  fs::create_directories(dir / "imgs");
  fs::copy_file(test::opencv_data() / "messi5.jpg", dir / "imgs" / "a.jpg");
  EXPECT_THROW((void)open_sample_data(data_request(dir / "imgs"), {input("x", {1, 3, 64, 64})}),
               Error);
  write_npy(dir / "x.npy", ramp({2, 3, 64, 64}));
  EXPECT_THROW(
      (void)open_sample_data(data_request(dir / "x.npy", "yolo"), {input("x", {1, 3, 64, 64})}),
      Error);
  // One image file is data too; the preset takes the model's 64x64.
  auto one =
      open_sample_data(data_request(dir / "imgs" / "a.jpg", "yolo"), {input("x", {1, 3, 64, 64})});
  EXPECT_EQ(one->size(), 1);
  EXPECT_EQ(one->row_shapes()[0], (Shape{3, 64, 64}));
}

}  // namespace
}  // namespace qcal::preprocess
