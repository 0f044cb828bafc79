// The public API (include/qcal) on a small Conv model built in memory: arrays, files and
// streams give the same calibration; streams are pulled one batch ahead; cancellation, errors
// with their context, and Session.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "api/data_sources.hpp"
#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "qcal/qcal.hpp"
#include "test_support.hpp"
#include "unit/engine/onnx_builder.hpp"

namespace qcal {
namespace {

// x [1, 2, 6, 6] -> Conv(3x3, 4 channels) -> Relu -> Conv(1x1, 2 channels) -> y.
std::filesystem::path write_model(const std::filesystem::path& dir) {
  test::OnnxBuilder b(13);
  b.input("x", {1, 2, 6, 6});
  b.output("y", {1, 2, 4, 4});
  std::vector<float> w1(4 * 2 * 3 * 3), w2(2 * 4);
  for (std::size_t i = 0; i < w1.size(); ++i) w1[i] = 0.05f * static_cast<float>(i % 7) - 0.1f;
  for (std::size_t i = 0; i < w2.size(); ++i) w2[i] = 0.25f * static_cast<float>(i % 3) - 0.2f;
  b.initializer("w1", {4, 2, 3, 3}, w1);
  b.initializer("w2", {2, 4, 1, 1}, w2);
  b.node("Conv", {"x", "w1"}, {"c1"}, "conv1");
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  b.node("Conv", {"r1", "w2"}, {"y"}, "conv2");
  const auto path = dir / "tiny.onnx";
  write_file_atomic(path, b.bytes());
  return path;
}

// N samples [N, 2, 6, 6] of seeded values.
Array samples(std::int64_t n) {
  Rng rng(7);
  std::vector<float> v(static_cast<std::size_t>(n * 2 * 6 * 6));
  for (auto& x : v) x = static_cast<float>(rng.next_double() * 4.0 - 1.0);
  return Array::from_floats({n, 2, 6, 6}, v);
}

// Sample i of an array as its own array sharing the memory.
Array row(const Array& a, std::int64_t i, bool with_batch_axis) {
  Array r;
  r.type = a.type;
  r.shape =
      with_batch_axis ? std::vector<std::int64_t>{1, 2, 6, 6} : std::vector<std::int64_t>{2, 6, 6};
  auto* base = static_cast<std::byte*>(a.data.get()) + i * r.nbytes();
  r.data = std::shared_ptr<void>(a.data, base);
  return r;
}

class VectorStream : public SampleStream {
 public:
  VectorStream(Array all, std::int64_t n, std::string name = "")
      : all_(std::move(all)), n_(n), name_(std::move(name)) {}
  std::optional<StreamSample> next() override {
    if (pulled >= n_) return std::nullopt;
    StreamSample s;
    s.inputs.emplace_back(name_, row(all_, pulled, pulled % 2 == 0));
    ++pulled;
    if (bad_at == pulled - 1) s.inputs[0].second.shape = {2, 36};
    return s;
  }
  std::int64_t pulled = 0;
  std::int64_t bad_at = -1;

 private:
  Array all_;
  std::int64_t n_;
  std::string name_;
};

std::string file_bytes(const std::string& path) { return read_file(path); }

CalibrateOptions quick() {
  CalibrateOptions o;
  o.threads = 1;
  o.no_report = true;
  o.quantize_output_layers = true;  // otherwise both convs of this tiny model stay float
  return o;
}

TEST(PublicApi, ArrayFileAndStreamGiveTheSameCalibration) {
  test::TempDir dir;
  const auto model = write_model(dir.path()).string();
  const Array a = samples(6);
  auto o = quick();
  o.dominant_noise = "off";  // its probes differ by design: a stream's first samples
  const auto from_array = calibrate(model, Data::array(a), (dir / "array").string(), o);
  write_npy(dir / "data.npy", Tensor::from_values<float>({6, 2, 6, 6}, a.to_floats()));
  const auto from_file =
      calibrate(model, Data::path((dir / "data.npy").string()), (dir / "file").string(), o);
  auto stream = std::make_shared<VectorStream>(a, 6);
  const auto from_stream = calibrate(model, Data::stream(stream), (dir / "stream").string(), o);
  EXPECT_EQ(from_array.samples, 6);
  EXPECT_EQ(from_stream.samples, 6);
  EXPECT_EQ(stream->pulled, 6);
  ASSERT_FALSE(from_array.ranges.empty());
  for (const auto& [name, r] : from_array.ranges) {
    SCOPED_TRACE(name);
    for (const auto* other : {&from_file, &from_stream}) {
      ASSERT_TRUE(other->ranges.count(name));
      EXPECT_EQ(other->ranges.at(name).scale, r.scale);
      EXPECT_EQ(other->ranges.at(name).zero_point, r.zero_point);
    }
  }
  EXPECT_GT(from_array.ranges.at("x").scale, 0.0);
  EXPECT_TRUE(from_array.ranges.at("x").qdq);
  EXPECT_EQ(file_bytes(from_array.qdq_model), file_bytes(from_file.qdq_model));
  EXPECT_EQ(file_bytes(from_array.qdq_model), file_bytes(from_stream.qdq_model));
  EXPECT_NE(from_stream.command.find("--data 'a sample stream'"), std::string::npos)
      << from_stream.command;
}

TEST(PublicApi, StreamIsPulledOneBatchAheadAndKeepsItsProbes) {
  test::TempDir dir;
  const auto model = write_model(dir.path()).string();
  auto stream = std::make_shared<VectorStream>(samples(5), 5);
  std::int64_t most_ahead = 0;
  Control control;
  control.progress = [&](std::string_view stage, std::int64_t done, std::int64_t total) {
    EXPECT_EQ(stage, "calibrate");
    EXPECT_EQ(total, 0);  // unknown while streaming
    most_ahead = std::max(most_ahead, stream->pulled - done);
  };
  const auto r = calibrate(model, Data::stream(stream), dir.path().string(), quick(), control);
  EXPECT_EQ(r.samples, 5);
  EXPECT_LE(most_ahead, 1);
  EXPECT_TRUE(std::filesystem::exists(r.qdq_model));
}

TEST(PublicApi, StreamStopsAtNumSamples) {
  test::TempDir dir;
  const auto model = write_model(dir.path()).string();
  auto stream = std::make_shared<VectorStream>(samples(8), 8, "x");
  auto o = quick();
  o.num_samples = 3;
  const auto r = calibrate(model, Data::stream(stream), dir.path().string(), o);
  EXPECT_EQ(r.samples, 3);
  EXPECT_EQ(stream->pulled, 3);
}

TEST(PublicApi, CancelStopsWithoutOutputs) {
  test::TempDir dir;
  const auto model = write_model(dir.path()).string();
  std::atomic<bool> cancel{false};
  Control control;
  control.cancel = &cancel;
  control.progress = [&](std::string_view, std::int64_t done, std::int64_t) {
    if (done >= 2) cancel = true;
  };
  try {
    calibrate(model, Data::array(samples(6)), (dir / "out").string(), quick(), control);
    FAIL() << "not cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCancelled);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "tiny.qdq.onnx"));
}

TEST(PublicApi, StreamErrorsNameTheSample) {
  test::TempDir dir;
  const auto model = write_model(dir.path()).string();
  auto bad = std::make_shared<VectorStream>(samples(4), 4);
  bad->bad_at = 2;
  try {
    calibrate(model, Data::stream(bad), dir.path().string(), quick());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("sample 2 of"), std::string::npos) << e.describe();
    EXPECT_NE(e.describe().find("[2, 36]"), std::string::npos) << e.describe();
  }
  auto named = std::make_shared<VectorStream>(samples(2), 2, "images");
  try {
    calibrate(model, Data::stream(named), dir.path().string(), quick());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("'images'"), std::string::npos) << e.describe();
    EXPECT_NE(e.describe().find("'x'"), std::string::npos) << e.describe();
  }
  auto empty = std::make_shared<VectorStream>(samples(1), 0);
  EXPECT_THROW(calibrate(model, Data::stream(empty), dir.path().string(), quick()), Error);
}

TEST(PublicApi, ArrayOfTheWrongShapeNamesBothShapes) {
  test::TempDir dir;
  const auto model = write_model(dir.path()).string();
  const Array wrong = Array::zeros(ElementType::kFloat32, {3, 2, 5, 5});
  try {
    calibrate(model, Data::array(wrong), dir.path().string(), quick());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("[2, 5, 5]"), std::string::npos) << e.describe();
    EXPECT_NE(e.describe().find("[1, 2, 6, 6]"), std::string::npos) << e.describe();
  }
  auto o = quick();
  o.method = "median";
  EXPECT_THROW(calibrate(model, Data::array(samples(2)), dir.path().string(), o), Error);
}

TEST(PublicApi, ArrayRowsAreReadInPlace) {
  const Array a = samples(3);
  const std::vector<preprocess::ModelInputInfo> inputs = {
      {"x", {1, 2, 6, 6}, "m", DType::kFloat32}};
  auto data = api::open_array_data(a, inputs);
  const auto rows = data->read(2, 1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].shape(), (Shape{1, 2, 6, 6}));
  EXPECT_EQ(rows[0].raw_data(), static_cast<std::byte*>(a.data.get()) + 2 * 72 * sizeof(float));
}

TEST(PublicApi, SessionRunsTheModel) {
  test::TempDir dir;
  Session s(write_model(dir.path()).string(), 1);
  ASSERT_EQ(s.inputs().size(), 1u);
  EXPECT_EQ(s.inputs()[0].name, "x");
  EXPECT_EQ(s.outputs()[0].shape, (std::vector<std::int64_t>{1, 2, 4, 4}));
  const Array x = row(samples(1), 0, true);
  const auto out = s.run({{"x", x}});
  ASSERT_EQ(out.count("y"), 1u);
  const auto y = out.at("y").to_floats();
  ASSERT_EQ(y.size(), 32u);
  // Against the same computation by hand at one output position (channel 1, y 2, x 3).
  const auto xv = x.to_floats();
  double acc = 0;
  for (int c = 0; c < 4; ++c) {
    double conv = 0;
    for (int ic = 0; ic < 2; ++ic)
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          const int wi = ((c * 2 + ic) * 3 + ky) * 3 + kx;
          const float w = 0.05f * static_cast<float>(wi % 7) - 0.1f;
          conv += w * xv[static_cast<std::size_t>((ic * 6 + 2 + ky) * 6 + 3 + kx)];
        }
    acc += (0.25 * ((4 + c) % 3) - 0.2) * std::max(conv, 0.0);
  }
  EXPECT_NEAR(y[static_cast<std::size_t>(16 + 2 * 4 + 3)], acc, 1e-4);
  try {
    s.run({{"x", Array::zeros(ElementType::kFloat64, {1, 2, 6, 6})}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("float64"), std::string::npos) << e.describe();
  }
  try {
    Session missing((dir / "missing.onnx").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.describe().find("missing.onnx"), std::string::npos) << e.describe();
  }
}

}  // namespace
}  // namespace qcal
