// `qcal calibrate` end to end on a model the engine runs: outputs, determinism across
// --threads, shard merging through --save-stats/--from-stats, and bad input.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "core/rng.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

void add_value(onnx::ValueInfoProto* v, const std::string& name) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int d : {1, 4, 8, 8}) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// X -> Identity -> A -> Identity -> Y (the engine's Identity kernel runs it).
std::string identity_model(const std::string& producer) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name(producer);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto& g = *m.mutable_graph();
  g.set_name("ident");
  add_value(g.add_input(), "X");
  add_value(g.add_output(), "Y");
  for (auto [in, out, name] : {std::tuple{"X", "A", "id1"}, std::tuple{"A", "Y", "id2"}}) {
    auto* n = g.add_node();
    n->set_op_type("Identity");
    n->set_name(name);
    n->add_input(in);
    n->add_output(out);
  }
  return m.SerializeAsString();
}

Tensor samples(std::int64_t n, std::uint64_t seed, std::int64_t channels = 4) {
  Tensor t(DType::kFloat32, {n, channels, 8, 8});
  Rng rng(seed);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<float>(rng.next_normal() * static_cast<double>(1 + i % 7));
  return t;
}

Tensor rows(const Tensor& t, std::int64_t first, std::int64_t count) {
  Shape s = t.shape();
  s[0] = count;
  Tensor out(t.dtype(), s);
  const std::size_t row = t.nbytes() / static_cast<std::size_t>(t.shape()[0]);
  std::memcpy(out.raw_data(), static_cast<const std::byte*>(t.raw_data()) + row * first,
              row * count);
  return out;
}

class CalibrateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_ / "ident.onnx";
    write_file_atomic(model_, identity_model("qcal-test"));
    const Tensor all = samples(24, 1);
    write_npy(dir_ / "all.npy", all);
    write_npy(dir_ / "a.npy", rows(all, 0, 10));
    write_npy(dir_ / "b.npy", rows(all, 10, 14));
  }
  test::CommandResult qcal(const std::string& args) {
    return test::run_command(test::qcal_bin() + " calibrate " + model_.string() + " " + args);
  }
  std::string out(const std::string& name) { return (dir_ / name).string(); }

  test::TempDir dir_;
  std::filesystem::path model_;
};

TEST_F(CalibrateCli, WritesAllArtifacts) {
  const auto r = qcal("--data " + out("all.npy") + " -o " + out("o") + " --save-stats " +
                      out("o/stats.qcs") + " --trt-version 8601 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string cache = read_file(dir_ / "o" / "calibration.cache");
  EXPECT_EQ(cache.substr(0, cache.find('\n')), "TRT-8601-EntropyCalibration2");
  // Identity is not quantized: the QDQ model has no Q/DQ pair, so the cache (the same decision)
  // holds only its header while ranges.json still gives every observed tensor's range.
  EXPECT_EQ(cache, "TRT-8601-EntropyCalibration2\n");
  const auto ranges = nlohmann::json::parse(read_file(dir_ / "o" / "ranges.json"));
  EXPECT_EQ(ranges["calibration_data"]["samples"], 24);
  EXPECT_EQ(ranges["method"], "entropy");
  EXPECT_FALSE(ranges["calibration_data"]["synthetic"].get<bool>());
  EXPECT_GT(ranges["tensors"]["X"]["amax"].get<double>(), 0.0);
  EXPECT_EQ(ranges["tensors"]["X"]["zero_point"], 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "o" / "ident.qdq.onnx"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "o" / "stats.qcs"));
  // minmax writes a MinMaxCalibration cache.
  const auto m = qcal("--data " + out("all.npy") + " -o " + out("m") + " --method minmax");
  ASSERT_EQ(m.exit_code, 0) << m.output;
  EXPECT_EQ(read_file(dir_ / "m" / "calibration.cache").substr(0, 29),
            "TRT-100300-MinMaxCalibration\n");
}

// .npz data (streamed by rows; stored by qcal, deflated by numpy) calibrates exactly like the
// same samples in an .npy.
TEST_F(CalibrateCli, NpzDataGivesTheSameRangesAsNpy) {
  {
    NpzWriter w(dir_ / "stored.npz");
    w.add("other", samples(2, 9));
    w.add("X", read_npy(dir_ / "all.npy"));
    w.finish();
  }
  const auto py =
      test::run_command(test::system_python() + " -c \"import numpy as np; np.savez_compressed('" +
                        out("packed.npz") + "', X=np.load('" + out("all.npy") + "'))\"");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  ASSERT_EQ(qcal("--data " + out("all.npy") + " -o " + out("n0")).exit_code, 0);
  for (const char* f : {"stored.npz", "packed.npz"}) {
    const std::string o = std::string("o_") + f;
    const auto r = qcal("--data " + out(f) + " -o " + out(o));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_file(dir_ / "n0" / "calibration.cache"),
              read_file(dir_ / o / "calibration.cache"))
        << f;
  }
}

TEST_F(CalibrateCli, ThreadCountDoesNotChangeBytes) {
  for (const char* method : {"entropy", "ema", "mse"}) {
    const std::string m = std::string(" --method ") + method;
    ASSERT_EQ(qcal("--data " + out("all.npy") + " -o " + out("t1") + " -j 1 --save-stats " +
                   out("t1/s.qcs") + m)
                  .exit_code,
              0);
    ASSERT_EQ(qcal("--data " + out("all.npy") + " -o " + out("t2") + " -j 2 --save-stats " +
                   out("t2/s.qcs") + m)
                  .exit_code,
              0);
    for (const char* f : {"calibration.cache", "ranges.json", "ident.qdq.onnx", "s.qcs"}) {
      EXPECT_EQ(read_file(dir_ / "t1" / f), read_file(dir_ / "t2" / f)) << f << " " << method;
    }
  }
}

TEST_F(CalibrateCli, MergedShardsEqualOneRun) {
  ASSERT_EQ(qcal("--data " + out("all.npy") + " -o " + out("whole")).exit_code, 0);
  ASSERT_EQ(qcal("--data " + out("a.npy") + " -o " + out("sa") + " --save-stats " + out("a.qcs"))
                .exit_code,
            0);
  ASSERT_EQ(qcal("--data " + out("b.npy") + " -o " + out("sb") + " --save-stats " + out("b.qcs"))
                .exit_code,
            0);
  for (const char* method : {"entropy", "minmax", "ema", "percentile", "mse"}) {
    const std::string m = std::string(" --method ") + method;
    // --save-stats makes minmax/ema runs keep histograms too, so ranges.json compares whole.
    ASSERT_EQ(
        qcal("--data " + out("all.npy") + " -o " + out("w") + m + " --save-stats " + out("w.qcs"))
            .exit_code,
        0);
    const auto r =
        qcal("--from-stats " + out("a.qcs") + " " + out("b.qcs") + " -o " + out("merged") + m);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_file(dir_ / "w" / "calibration.cache"),
              read_file(dir_ / "merged" / "calibration.cache"))
        << method;
    const auto w = nlohmann::json::parse(read_file(dir_ / "w" / "ranges.json"));
    const auto s = nlohmann::json::parse(read_file(dir_ / "merged" / "ranges.json"));
    EXPECT_EQ(w["tensors"], s["tensors"]) << method;
    EXPECT_EQ(s["calibration_data"]["samples"], 24);
    EXPECT_EQ(s["calibration_data"]["fingerprints"].size(), 2u);
  }
}

TEST_F(CalibrateCli, ShardedStatisticsReduceToOneRunByteForByte) {
  // EMA: the per-batch sequence's order matters. The statistics files compare too, so every
  // other method's ranges (functions of them) are the same as well.
  for (const char* method : {"ema"}) {
    const std::string m = std::string(" --method ") + method;
    // --save-stats keeps histograms in the one run too (the shards always keep them).
    ASSERT_EQ(qcal("--data " + out("all.npy") + " -o " + out("one") + m + " --save-stats " +
                   out("one.qcs"))
                  .exit_code,
              0);
    for (int n : {1, 2, 3}) {
      std::string files;
      for (int i = n - 1; i >= 0; --i) {  // given in reverse: merged in shard order
        const std::string f = out("s" + std::to_string(i) + "-of-" + std::to_string(n) + ".qcs");
        const auto r = qcal("--data " + out("all.npy") + m + " --shard " + std::to_string(i) + "/" +
                            std::to_string(n) + " --save-stats " + f);
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_NE(r.output.find("shard " + std::to_string(i) + "/" + std::to_string(n)),
                  std::string::npos)
            << r.output;
        files += " " + f;
      }
      const std::string reduced = "r" + std::to_string(n);
      const auto r = qcal("--from-stats" + files + " --data " + out("all.npy") + " -o " +
                          out(reduced) + m + " --save-stats " + out(reduced + ".qcs"));
      ASSERT_EQ(r.exit_code, 0) << r.output;
      for (const char* f : {"calibration.cache", "ranges.json", "ident.qdq.onnx"}) {
        EXPECT_EQ(read_file(dir_ / "one" / f), read_file(dir_ / reduced / f))
            << f << " " << method << " N=" << n;
      }
      EXPECT_EQ(read_file(dir_ / "one.qcs"), read_file(dir_ / (reduced + ".qcs")))
          << method << " N=" << n;
    }
  }
  // No samples for a shard, a missing shard, other data, a map step without --save-stats.
  auto expect_error = [&](const std::string& args, const std::string& text) {
    const auto r = qcal(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(text), std::string::npos) << args << "\n" << r.output;
  };
  expect_error("--data " + out("all.npy") + " --shard 30/31 --save-stats " + out("x.qcs"),
               "has no samples");
  expect_error("--data " + out("all.npy") + " --shard 0/2", "give --save-stats");
  expect_error(
      "--from-stats " + out("s0-of-3.qcs") + " " + out("s2-of-3.qcs") + " -o " + out("bad"),
      "2 files of 3 shards, shard 1 missing");
  expect_error(
      "--from-stats " + out("s0-of-3.qcs") + " " + out("s1-of-3.qcs") + " -o " + out("bad"),
      "are 2 of 3 shards");
  expect_error("--from-stats " + out("s0-of-2.qcs") + " " + out("s1-of-2.qcs") + " --data " +
                   out("a.npy") + " -o " + out("bad"),
               "were collected on");
  expect_error("--from-stats " + out("one.qcs") + " --data " + out("all.npy") + " -o " + out("bad"),
               "exclude each other");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.qcs"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad" / "ranges.json"));
}

TEST_F(CalibrateCli, BadInputFailsCleanlyWithoutOutputs) {
  auto expect_error = [&](const std::string& args, const std::string& text) {
    const auto dir = dir_ / "bad";
    std::filesystem::remove_all(dir);
    const auto r = qcal(args + " -o " + dir.string());
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(text), std::string::npos) << args << "\n" << r.output;
    if (std::filesystem::exists(dir)) {
      EXPECT_TRUE(std::filesystem::is_empty(dir)) << args;
    }
  };
  write_npy(dir_ / "wrong.npy", samples(3, 2, 3));
  expect_error("--data " + out("wrong.npy"), "does not match model input");
  write_npy(dir_ / "empty.npy", Tensor(DType::kFloat32, {0, 4, 8, 8}));
  expect_error("--data " + out("empty.npy"), "no calibration samples");
  write_file_atomic(dir_ / "corrupt.npy", "\x93NUMPY garbage");
  expect_error("--data " + out("corrupt.npy"), "corrupt.npy");
  Tensor nan = samples(4, 3);
  nan.data<float>()[2 * 256 + 5] = std::numeric_limits<float>::quiet_NaN();
  write_npy(dir_ / "nan.npy", nan);
  expect_error("--data " + out("nan.npy"), "sample: 2");
  EXPECT_EQ(qcal("--data " + out("nan.npy") + " --ignore-nonfinite -o " + out("nanok")).exit_code,
            0);
  // Statistics from another model are refused.
  write_file_atomic(dir_ / "other.onnx", identity_model("another-producer"));
  ASSERT_EQ(
      test::run_command(test::qcal_bin() + " calibrate " + out("other.onnx") + " --data " +
                        out("a.npy") + " -o " + out("oo") + " --save-stats " + out("other.qcs"))
          .exit_code,
      0);
  expect_error("--from-stats " + out("other.qcs"), "different model");
  // A pattern matching nothing is a warning, not an error.
  const auto w = qcal("--data " + out("a.npy") + " -o " + out("ex") + " --exclude nothing_matches");
  EXPECT_EQ(w.exit_code, 0);
  EXPECT_NE(w.output.find("warning: --exclude 'nothing_matches' matches no node"),
            std::string::npos)
      << w.output;
}

// PaddleOCR exports are opset 9 (cls, rec) and 11 (det), with weights in Constant nodes: calibrate
// converts them to opset 13 (Q/DQ with per-channel weights) and the QDQ model runs in ONNX Runtime.
TEST(CalibrateOpsetUpgrade, PaddleOcrModelsGetAnOpset13QdqModelThatOnnxRuntimeRuns) {
  const auto models = test::deps_dir() / "models";
  test::TempDir dir;
  struct Case {
    const char* file;
    const char* kind;
    int opset;
    double min_cosine;  // FP32 vs INT8 output in ONNX Runtime
  };
  for (const Case& c : {Case{"ch_ppocr_mobile_v2.0_cls_infer.onnx", "cls", 9, 0.99},
                        Case{"ch_PP-OCRv4_det_infer.onnx", "det", 11, 0.5}}) {
    SCOPED_TRACE(c.file);
    // Four photos with text, preprocessed as PaddleOCR does (the parity tests' script).
    std::string rows;
    for (const char* image :
         {"imageTextN.png", "imageTextR.png", "text_motion.jpg", "licenseplate_motion.jpg"}) {
      const auto npy = dir / (std::string(c.kind) + "_" + image + ".npy");
      const auto r =
          test::run_command(test::system_python() + " " + QCAL_SOURCE_DIR +
                            "/tests/integration/engine_parity_inputs.py " + c.kind + " " +
                            (test::opencv_data() / image).string() + " " + npy.string());
      ASSERT_EQ(r.exit_code, 0) << r.output;
      rows += (rows.empty() ? "" : ", ") + std::string("np.load('") + npy.string() + "')";
    }
    const auto data = dir / (std::string(c.kind) + ".npy");
    ASSERT_EQ(test::run_command(test::system_python() + " -c \"import numpy as np; np.save('" +
                                data.string() + "', np.concatenate([" + rows + "]))\"")
                  .exit_code,
              0);
    const auto out = dir / c.kind;
    const auto r = test::run_command(test::qcal_bin() + " calibrate " + (models / c.file).string() +
                                     " --data " + data.string() + " -o " + out.string() +
                                     " --no-report -j 2 --dominant-noise-samples 1 --save-stats " +
                                     (dir / (std::string(c.kind) + ".qcs")).string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(
        r.output.find("the model is opset " + std::to_string(c.opset) + ": converted to opset 13"),
        std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find(" 0 int8 weights"), std::string::npos)
        << r.output;  // Constant-node weights
    const auto qdq = out / (std::filesystem::path(c.file).stem().string() + ".qdq.onnx");
    // From the statistics the conversion gives the same QDQ model (the dominant-noise rule
    // measures on --eval-data there: the same samples give the same selection; one probe
    // sample keeps its ~100 single-tensor runs per model affordable here).
    const auto again = dir / (std::string(c.kind) + "_from_stats");
    const auto fs = test::run_command(
        test::qcal_bin() + " calibrate " + (models / c.file).string() + " --from-stats " +
        (dir / (std::string(c.kind) + ".qcs")).string() + " -o " + again.string() +
        " --no-report -j 2 --dominant-noise-samples 1 --eval-data " + data.string());
    ASSERT_EQ(fs.exit_code, 0) << fs.output;
    EXPECT_EQ(read_file(again / qdq.filename()), read_file(qdq));
    onnx::ModelProto m;
    std::ifstream f(qdq, std::ios::binary);
    ASSERT_TRUE(m.ParseFromIstream(&f));
    ASSERT_GT(m.opset_import_size(), 0);
    EXPECT_EQ(m.opset_import(0).version(), 13);
    std::size_t per_channel = 0;
    for (const auto& n : m.graph().node()) {
      if (n.op_type() != "DequantizeLinear") continue;
      for (const auto& a : n.attribute()) per_channel += a.name() == "axis" ? 1 : 0;
    }
    EXPECT_GT(per_channel, 10u);  // per-channel weight scales need opset 13
    const auto e = test::run_command(
        "{ " + test::qcal_bin() + " eval " + (models / c.file).string() + " " + qdq.string() +
        " --data " + data.string() + " --runtime ort --json -o " +
        (dir / (std::string(c.kind) + "_eval")).string() + " -j 2 2>/dev/null; }");
    ASSERT_EQ(e.exit_code, 0) << e.output;
    const auto j = nlohmann::json::parse(e.output.substr(e.output.find('{')));
    double worst = 1.0;
    for (const auto& o : j["outputs"]) worst = std::min(worst, o["cosine"].get<double>());
    EXPECT_GT(worst, c.min_cosine) << e.output;
  }
}

}  // namespace
}  // namespace qcal
