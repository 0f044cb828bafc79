// ONNX backend node test runner: loads <data>/<test>/model.onnx, runs every test_data_set_*,
// compares outputs with the ONNX backend tolerances. `--xfail REASON` inverts the verdict: the
// test must fail, and passing is an error (so stale expected failures get removed).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"

namespace fs = std::filesystem;
using qcal::DType;
using qcal::Tensor;

namespace {

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

template <typename T>
double as_double(const Tensor& t, std::int64_t i) {
  return static_cast<double>(t.data<T>()[i]);
}

double value_at(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat32:
      return as_double<float>(t, i);
    case DType::kFloat64:
      return as_double<double>(t, i);
    case DType::kInt8:
      return as_double<std::int8_t>(t, i);
    case DType::kUInt8:
      return as_double<std::uint8_t>(t, i);
    // bool is one byte per element (0/1); compared as its byte value.
    case DType::kBool:
      return static_cast<const std::uint8_t*>(t.raw_data())[i];
    case DType::kInt16:
      return as_double<std::int16_t>(t, i);
    case DType::kUInt16:
      return as_double<std::uint16_t>(t, i);
    // float16 is compared by its bit pattern (no float16 kernels run in conformance).
    case DType::kFloat16:
      return static_cast<const std::uint16_t*>(t.raw_data())[i];
    case DType::kInt32:
      return as_double<std::int32_t>(t, i);
    case DType::kUInt32:
      return as_double<std::uint32_t>(t, i);
    case DType::kInt64:
      return as_double<std::int64_t>(t, i);
    case DType::kUInt64:
      return as_double<std::uint64_t>(t, i);
    case DType::kUndefined:
      return 0;
  }
  return 0;
}

// ONNX backend test tolerances: |got - want| <= atol + rtol * |want| (rtol 1e-3, atol 1e-7
// as onnx/backend/test/case/node uses); integers and bools exactly; NaN matches NaN.
std::string compare(const Tensor& got, const Tensor& want, const std::string& name) {
  if (got.dtype() != want.dtype()) {
    return name + ": dtype " + std::string(qcal::dtype_name(got.dtype())) + ", expected " +
           std::string(qcal::dtype_name(want.dtype()));
  }
  if (got.shape() != want.shape()) {
    return name + ": shape " + qcal::shape_to_string(got.shape()) + ", expected " +
           qcal::shape_to_string(want.shape());
  }
  const bool exact = got.dtype() != DType::kFloat32 && got.dtype() != DType::kFloat64;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double g = value_at(got, i);
    const double w = value_at(want, i);
    if (std::isnan(w) && std::isnan(g)) continue;
    const bool ok = exact ? g == w : std::fabs(g - w) <= 1e-7 + 1e-3 * std::fabs(w);
    if (!ok || std::isnan(g) != std::isnan(w)) {
      return name + ": element " + std::to_string(i) + " is " + std::to_string(g) + ", expected " +
             std::to_string(w);
    }
  }
  return "";
}

// Empty string on success, the reason otherwise.
std::string run_test(const fs::path& dir) {
  try {
    auto model =
        std::make_shared<const qcal::engine::Model>(qcal::engine::Model::load(dir / "model.onnx"));
    qcal::engine::Session session(model, {.num_threads = 1});
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
        sets.push_back(e.path());
      }
    }
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) return "no test_data_set_* folder";
    for (const auto& set : sets) {
      std::vector<Tensor> inputs;
      for (const auto& p : numbered(set, "input_"))
        inputs.push_back(qcal::engine::read_tensor_pb(p));
      const auto expected = numbered(set, "output_");
      const auto outputs = session.run(inputs);
      if (outputs.size() != expected.size()) return "output count differs";
      for (std::size_t i = 0; i < outputs.size(); ++i) {
        const std::string diff =
            compare(outputs[i], qcal::engine::read_tensor_pb(expected[i]),
                    set.filename().string() + " output " + model->outputs()[i].name);
        if (!diff.empty()) return diff;
      }
    }
  } catch (const qcal::Error& e) {
    return "error: " + e.describe();
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: conformance_runner DATA_DIR TEST_NAME [--xfail REASON]\n");
    return 2;
  }
  const fs::path dir = fs::path(argv[1]) / argv[2];
  const bool xfail = argc >= 4 && std::strcmp(argv[3], "--xfail") == 0;
  if (!fs::is_directory(dir)) {
    std::printf("FAIL %s: listed test has no folder %s\n", argv[2], dir.c_str());
    return 1;
  }
  const std::string failure = run_test(dir);
  if (xfail) {
    if (failure.empty()) {
      std::printf("FAIL %s: expected to fail (%s) but passed; remove the xfail\n", argv[2],
                  argc >= 5 ? argv[4] : "");
      return 1;
    }
    std::printf("XFAIL %s: %s\n  (%s)\n", argv[2], argc >= 5 ? argv[4] : "", failure.c_str());
    return 0;
  }
  if (!failure.empty()) {
    std::printf("FAIL %s: %s\n", argv[2], failure.c_str());
    return 1;
  }
  std::printf("PASS %s\n", argv[2]);
  return 0;
}
