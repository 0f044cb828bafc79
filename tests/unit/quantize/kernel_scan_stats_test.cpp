// Kernel scans on real yolov8n (every ONNX tensor observed, real photos preprocessed as YOLO
// wants them): the min/max the engine's kernels hand to a MinMaxObserver equal reading each
// tensor, and min/max statistics collected with them are byte-identical to reading every
// tensor, with and without derived tensors, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>

#include "core/atomic_file.hpp"
#include "core/minmax_scan.hpp"
#include "core/npy.hpp"
#include "engine/session.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess/recipe.hpp"
#include "quantize/derived_tensors.hpp"
#include "test_support.hpp"
#include "unit/quantize/collect_support.hpp"

namespace qcal::quantize {
namespace {

// Under the sanitizers (CI's ASan+UBSan unit run) every yolov8n run costs seconds: one image and
// the two ends of the comparison there, the whole matrix in the normal build.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::filesystem::path yolov8n() { return test::deps_dir() / "models" / "yolov8n.onnx"; }

// Photos through the yolo preset (letterbox to 640, RGB, /255, NCHW): [2, 3, 640, 640] (one
// under the sanitizers).
Tensor photos() {
  const preprocess::Pipeline pipeline(preprocess::make_preset("yolo"));
  const char* files[] = {"messi5.jpg", "basketball1.png"};
  const std::int64_t n = kSanitized ? 1 : 2;
  Tensor batch(DType::kFloat32, {n, 3, 640, 640});
  for (std::int64_t i = 0; i < n; ++i) {
    const Tensor one = pipeline.run(preprocess::decode_image(test::opencv_data() / files[i]));
    EXPECT_EQ(one.numel(), 3 * 640 * 640);
    std::copy_n(one.data<float>(), 3 * 640 * 640, batch.data<float>() + i * 3 * 640 * 640);
  }
  return batch;
}

std::vector<std::string> every_tensor(const engine::Model& model) {
  std::vector<std::string> names;
  for (const auto& in : model.inputs()) names.push_back(in.name);
  for (const auto& node : model.nodes()) {
    for (const auto& o : node.outputs) {
      if (!o.empty()) names.push_back(o);
    }
  }
  return names;
}

TEST(KernelScans, Yolov8nScansEqualReadingEveryTensor) {
  const auto model = std::make_shared<const engine::Model>(engine::Model::load(yolov8n()));
  const Tensor batch = photos();
  Tensor first(DType::kFloat32, {1, 3, 640, 640});
  std::copy_n(batch.data<float>(), first.numel(), first.data<float>());
  for (int threads : {1, 2}) {
    if (kSanitized && threads == 1) continue;
    engine::Session s(model, {.num_threads = threads});
    std::size_t seen = 0, scanned = 0;
    s.set_minmax_observer([&](const std::string& name, const TensorView& v,
                              const MinMaxScan* minmax) {
      ++seen;
      if (!minmax || v.dtype != DType::kFloat32) return;
      ++scanned;
      const MinMaxScan direct = scan_min_max(v.values<float>());
      ASSERT_TRUE(direct.all_finite) << name;
      EXPECT_EQ(minmax->all_finite, direct.all_finite) << name;
      EXPECT_EQ(std::bit_cast<std::uint32_t>(minmax->min), std::bit_cast<std::uint32_t>(direct.min))
          << name;
      EXPECT_EQ(std::bit_cast<std::uint32_t>(minmax->max), std::bit_cast<std::uint32_t>(direct.max))
          << name;
    });
    s.run(std::vector<Tensor>{first});
    EXPECT_EQ(seen, every_tensor(*model).size());
    // The SiLUs' Sigmoid and Mul outputs, the convolutions they read, the C2f Slices and Adds...
    // (205 of 243 on yolov8n: the input, the head's convolutions, MaxPools, Concats... are not.)
    EXPECT_GT(scanned, 195u) << threads << " threads";
  }
}

TEST(KernelScans, Yolov8nMinMaxStatisticsAreByteIdenticalToReadingEveryTensor) {
  test::TempDir dir;
  write_npy(dir.path() / "x.npy", photos());
  const auto model = engine::Model::load(yolov8n());
  const std::vector<std::string> all = every_tensor(model);
  // Reading every tensor at 1 thread is the reference; then kernel scans without and with
  // derived tensors (what calibrate does) at 1 and 2 threads.
  struct Way {
    bool derive, scans;
    int threads;
  };
  std::string reference;
  for (const Way w :
       {Way{false, false, 1}, Way{false, true, 2}, Way{true, true, 1}, Way{true, true, 2}}) {
    if (kSanitized && w.derive != w.scans) continue;
    CollectOptions o;
    o.histogram = false;  // minmax: no histogram, so the scans are used
    o.threads = w.threads;
    o.derive_unions = w.derive;
    o.kernel_scans = w.scans;
    const auto stats = test::collect(yolov8n(), all, dir.path() / "x.npy", o);
    EXPECT_EQ(stats.tensors().size(), all.size());
    const std::string bytes = stats.serialize();
    if (reference.empty()) reference = bytes;
    EXPECT_EQ(bytes, reference) << "derive " << w.derive << ", kernel scans " << w.scans << ", "
                                << w.threads << " threads";
  }
}

}  // namespace
}  // namespace qcal::quantize
