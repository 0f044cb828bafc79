// An installed-qcal consumer: calibrates MODEL on the images of a folder (recipe yolo, a few
// samples), checks the QDQ model and its ranges, and runs it in qcal::Session.
#include <cstdio>
#include <filesystem>
#include <qcal/qcal.hpp>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: qcal_consumer MODEL.onnx IMAGE_DIR OUT_DIR\n");
    return 2;
  }
  try {
    qcal::CalibrateOptions options;
    options.recipe = "yolo";
    options.num_samples = 2;
    options.dominant_noise = "off";
    options.threads = 2;
    const qcal::CalibrateResult r =
        qcal::calibrate(argv[1], qcal::Data::path(argv[2]), argv[3], options);
    if (!std::filesystem::is_regular_file(r.qdq_model) || r.samples != 2 || r.ranges.empty()) {
      std::fprintf(stderr, "consumer: unexpected result %s (%lld samples)\n", r.qdq_model.c_str(),
                   static_cast<long long>(r.samples));
      return 1;
    }
    qcal::Session session(r.qdq_model, 2);
    const auto& in = session.inputs().at(0);
    const auto out =
        session.run({{in.name, qcal::Array::zeros(qcal::ElementType::kFloat32, {1, 3, 640, 640})}});
    std::printf("qcal %s: %s, %zu Q/DQ pairs, %zu outputs\n", qcal::version(), r.qdq_model.c_str(),
                r.qdq_pairs, out.size());
  } catch (const qcal::Error& e) {
    std::fprintf(stderr, "consumer: error: %s\n", e.describe().c_str());
    return 1;
  }
  return 0;
}
