// Sample sources: .npy rows, .npz members, images through a recipe (with letterbox geometry),
// and the errors for data that does not fit the model.
#include "eval/samples.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "preprocess/recipe.hpp"
#include "preprocess/recipe_json.hpp"
#include "test_support.hpp"

namespace qcal::eval {
namespace {

namespace fs = std::filesystem;

engine::Model relu_model() {
  // x: float32 [3, 4, 5] -> y
  return engine::Model::load("/usr/share/libonnx-testdata/data/node/test_relu/model.onnx");
}

Tensor ramp(Shape shape) {
  Tensor t(DType::kFloat32, std::move(shape));
  float* d = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) d[i] = static_cast<float>(i);
  return t;
}

TEST(Samples, NpyRows) {
  test::TempDir dir;
  write_npy(dir / "x.npy", ramp({2, 3, 4, 5}));
  const engine::Model m = relu_model();
  auto src = open_samples(dir / "x.npy", "", m);
  ASSERT_EQ(src->size(), 2u);
  EXPECT_FALSE(src->has_images());
  const EvalSample s = src->get(1, false);
  EXPECT_EQ(s.name, "x.npy[1]");
  const Tensor& t = s.inputs.at("x");
  EXPECT_EQ(t.shape(), (Shape{3, 4, 5}));
  EXPECT_EQ(t.data<float>()[0], 60.0f);
  EXPECT_FALSE(s.geometry.has_value());
  EXPECT_EQ(open_samples(dir / "x.npy", "", m, 1)->size(), 1u);  // --limit
}

TEST(Samples, NpyThatDoesNotFit) {
  test::TempDir dir;
  write_npy(dir / "bad.npy", ramp({2, 3, 4, 6}));
  try {
    (void)open_samples(dir / "bad.npy", "", relu_model());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("does not match model input 'x'"), std::string::npos) << e.message();
    EXPECT_NE(e.describe().find("bad.npy"), std::string::npos);
  }
  Tensor ints(DType::kInt32, {1, 3, 4, 5});
  write_npy(dir / "ints.npy", ints);
  EXPECT_THROW((void)open_samples(dir / "ints.npy", "", relu_model()), Error);
}

TEST(Samples, NpzMembers) {
  test::TempDir dir;
  {
    NpzWriter w(dir / "named.npz");
    w.add("other", ramp({4}));
    w.add("x", ramp({3, 3, 4, 5}));
    w.finish();
  }
  auto src = open_samples(dir / "named.npz", "", relu_model());
  ASSERT_EQ(src->size(), 3u);
  EXPECT_EQ(src->get(2, false).inputs.at("x").data<float>()[0], 120.0f);
  {
    NpzWriter w(dir / "single.npz");
    w.add("arr_0", ramp({1, 3, 4, 5}));  // one member for a one-input model: used whatever its name
    w.finish();
  }
  EXPECT_EQ(open_samples(dir / "single.npz", "", relu_model())->size(), 1u);
  {
    NpzWriter w(dir / "wrong.npz");
    w.add("a", ramp({1, 3, 4, 5}));
    w.add("b", ramp({1, 3, 4, 5}));
    w.finish();
  }
  try {
    (void)open_samples(dir / "wrong.npz", "", relu_model());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("members: a, b"), std::string::npos) << e.message();
  }
}

TEST(Samples, ImagesThroughRecipeWithGeometry) {
  test::TempDir dir;
  fs::create_directories(dir / "img");
  fs::copy_file(test::opencv_data() / "messi5.jpg", dir / "img" / "messi5.jpg");
  // yolov8n's IO only (qcal may not run all its ops): [1, 3, 640, 640].
  const engine::Model yolo = engine::Model::load(test::deps_dir() / "models" / "yolov8n.onnx",
                                                 engine::LoadOptions{.check_ops = false});
  EXPECT_THROW((void)open_samples(dir / "img", "", yolo), Error);  // images need a recipe
  auto src = open_samples(dir / "img", "yolo", yolo);
  ASSERT_EQ(src->size(), 1u);
  EXPECT_TRUE(src->has_images());
  const EvalSample s = src->get(0, true);
  EXPECT_EQ(s.name, "messi5.jpg");
  EXPECT_EQ(s.inputs.at("images").shape(), (Shape{1, 3, 640, 640}));
  ASSERT_TRUE(s.geometry.has_value());
  // 548x342 letterboxed into 640: gain 640/548, resized 640x399, padding 241 = 120 + 121.
  EXPECT_DOUBLE_EQ(s.geometry->gain_x, 640.0 / 548.0);
  EXPECT_EQ(s.geometry->pad_left, 0);
  EXPECT_EQ(s.geometry->pad_top, 120);
  EXPECT_EQ(s.source.width, 548);
  EXPECT_EQ(s.source.pixels.size(), 548u * 342u * 3u);
  // Plain resize: separate gains.
  const EvalSample r = open_samples(dir / "img", "yolo-resize", yolo)->get(0, false);
  ASSERT_TRUE(r.geometry.has_value());
  EXPECT_DOUBLE_EQ(r.geometry->gain_y, 640.0 / 342.0);
  // A preset is fitted to the model's input (edgeface's default is 112x112).
  EXPECT_EQ(open_samples(dir / "img", "edgeface", yolo)->get(0, false).inputs.at("images").shape(),
            (Shape{1, 3, 640, 640}));
  // A recipe file is kept as written: one whose output cannot feed the model is refused,
  // naming both shapes.
  preprocess::save_recipe_file(dir / "r112.json", preprocess::make_preset("edgeface", 112, 112));
  try {
    (void)open_samples(dir / "img", (dir / "r112.json").string(), yolo);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("[1, 3, 112, 112]"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[1, 3, 640, 640]"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace qcal::eval
