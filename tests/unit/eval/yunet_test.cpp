// YuNet decoding against hand-computed anchors (OpenCV FaceDetectorYN's formulas) and face
// matching metrics.
#include "eval/yunet.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"

namespace qcal::eval {
namespace {

// Zero-filled outputs for a 32x32 input: 16 anchors at stride 8, 4 at 16, 1 at 32.
struct YunetOutputs {
  std::map<std::string, Tensor> tensors;
  YunetOutputs() {
    for (int s : {8, 16, 32}) {
      const std::int64_t n = (32 / s) * (32 / s);
      const std::string k = std::to_string(s);
      tensors["cls_" + k] = Tensor(DType::kFloat32, {1, n, 1});
      tensors["obj_" + k] = Tensor(DType::kFloat32, {1, n, 1});
      tensors["bbox_" + k] = Tensor(DType::kFloat32, {1, n, 4});
      tensors["kps_" + k] = Tensor(DType::kFloat32, {1, n, 10});
    }
  }
  float* at(const std::string& name) { return tensors.at(name).data<float>(); }
  std::map<std::string, TensorView> views() const {
    std::map<std::string, TensorView> v;
    for (const auto& [name, t] : tensors) v[name] = t.view();
    return v;
  }
};

TEST(DecodeYunet, HandComputedAnchor) {
  YunetOutputs o;
  // Stride 8, row 1, column 2 (index 6): score sqrt(0.81 * 1) = 0.9, exactly at the threshold.
  o.at("cls_8")[6] = 0.81f;
  o.at("obj_8")[6] = 1.0f;
  float* bb = o.at("bbox_8") + 6 * 4;
  bb[0] = 0.5f;
  bb[1] = 0.5f;
  bb[2] = std::log(2.0f);
  bb[3] = 0.0f;
  for (int k = 0; k < 10; ++k) o.at("kps_8")[6 * 10 + k] = 0.25f;
  // Stride 8 index 0: score sqrt(0.8) < 0.9, dropped.
  o.at("cls_8")[0] = 0.8f;
  o.at("obj_8")[0] = 1.0f;
  // Stride 16 index 0 (row 0, col 0): cls clamps from 1.5 to 1; score 0.95; zero offsets put
  // the centre on the anchor point (0, 0), 16x16 - IoU with the first face is 0, so both stay.
  o.at("cls_16")[0] = 1.5f;
  o.at("obj_16")[0] = 0.9025f;
  const auto faces = decode_yunet(o.views(), 32, 32);
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_NEAR(faces[0].score, 0.95f, 1e-6);
  EXPECT_FLOAT_EQ(faces[0].box.x1, -8);
  EXPECT_FLOAT_EQ(faces[0].box.x2, 8);
  const Face& f = faces[1];
  EXPECT_NEAR(f.score, 0.9f, 1e-6);
  // cx = (2 + 0.5) * 8 = 20, cy = (1 + 0.5) * 8 = 12, w = 2 * 8 = 16, h = 8.
  EXPECT_NEAR(f.box.x1, 12, 1e-5);
  EXPECT_NEAR(f.box.y1, 8, 1e-5);
  EXPECT_NEAR(f.box.x2, 28, 1e-5);
  EXPECT_NEAR(f.box.y2, 16, 1e-5);
  // Landmarks: ((2 + 0.25) * 8, (1 + 0.25) * 8) = (18, 10) for each point.
  for (int k = 0; k < 5; ++k) {
    EXPECT_FLOAT_EQ(f.landmarks[2 * k], 18);
    EXPECT_FLOAT_EQ(f.landmarks[2 * k + 1], 10);
  }
}

TEST(DecodeYunet, OverlappingFacesSuppressed) {
  YunetOutputs o;
  // Two stride-8 anchors side by side with the same large box: the lower score goes.
  for (int idx : {5, 6}) {
    o.at("cls_8")[idx] = 1.0f;
    o.at("obj_8")[idx] = idx == 5 ? 0.99f : 0.95f;
    o.at("bbox_8")[idx * 4 + 2] = std::log(4.0f);  // 32 px wide
    o.at("bbox_8")[idx * 4 + 3] = std::log(4.0f);
  }
  const auto faces = decode_yunet(o.views(), 32, 32);
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_NEAR(faces[0].score, std::sqrt(0.99f), 1e-6);
  YunetDecodeOptions loose;
  loose.nms_threshold = 0.9;  // IoU of two 32px boxes 8px apart is 24/40 = 0.6
  EXPECT_EQ(decode_yunet(o.views(), 32, 32, loose).size(), 2u);
}

TEST(DecodeYunet, Errors) {
  YunetOutputs o;
  auto v = o.views();
  EXPECT_THROW((void)decode_yunet(v, 30, 32), Error);  // not a multiple of 32
  EXPECT_THROW((void)decode_yunet(v, 64, 32), Error);  // sizes disagree with the outputs
  v.erase("kps_16");
  try {
    (void)decode_yunet(v, 32, 32);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("kps_16"), std::string::npos);
  }
  EXPECT_EQ(yunet_output_names().size(), 12u);
}

Face face(Box b, float score, float lm_offset = 0) {
  Face f;
  f.box = b;
  f.score = score;
  for (int k = 0; k < 5; ++k) {
    f.landmarks[2 * k] = b.x1 + 1 + lm_offset * 3;
    f.landmarks[2 * k + 1] = b.y1 + 1 + lm_offset * 4;
  }
  return f;
}

TEST(FaceMatcher, F1AndLandmarkError) {
  FaceMatcher m;
  const std::vector<Face> ref = {face({0, 0, 10, 10}, 1), face({50, 50, 60, 60}, 1)};
  // One match (landmarks 5 px off: 3-4-5 triangle), one false positive, one miss.
  const std::vector<Face> test = {face({0, 0, 10, 10}, 0.9f, 1), face({100, 100, 110, 110}, 0.8f)};
  m.add(ref, test, true);
  const FaceMatchResult r = m.result();
  EXPECT_EQ(r.matched, 1);
  EXPECT_DOUBLE_EQ(r.precision, 0.5);
  EXPECT_DOUBLE_EQ(r.recall, 0.5);
  EXPECT_DOUBLE_EQ(r.f1, 0.5);
  EXPECT_NEAR(r.landmark_error_px, 5.0, 1e-6);
  EXPECT_NEAR(r.landmark_error_norm, 0.5, 1e-6);  // sqrt(10 * 10) = 10
}

TEST(FaceMatcher, EdgeCases) {
  FaceMatcher empty;
  empty.add({}, {}, true);
  EXPECT_DOUBLE_EQ(empty.result().f1, 1.0);
  // IoU exactly 0.5 matches; each reference is matched once.
  FaceMatcher m;
  const std::vector<Face> ref = {face({0, 0, 2, 2}, 1)};
  const std::vector<Face> test = {face({0, 0, 2, 1}, 0.9f), face({0, 0, 2, 2}, 0.5f)};
  m.add(ref, test, false);
  EXPECT_EQ(m.result().matched, 1);
  EXPECT_EQ(m.result().landmark_pairs, 0);
  EXPECT_DOUBLE_EQ(m.result().precision, 0.5);
  FaceMatcher missed;
  missed.add(ref, {}, true);
  EXPECT_DOUBLE_EQ(missed.result().f1, 0.0);
}

}  // namespace
}  // namespace qcal::eval
