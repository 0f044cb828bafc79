// calibration_samples.json and the overlap of evaluation samples with it.
#include "eval/overlap.hpp"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

// XXH3-64 (libxxhash-dev, header-only use), the hash pack and calibrate fingerprint data with.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qcal::eval {

namespace fs = std::filesystem;

std::string sample_fingerprint(const void* bytes, std::size_t size) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64,
                static_cast<std::uint64_t>(XXH3_64bits(bytes, size)));
  return buf;
}

std::string normal_path(const fs::path& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) p = fs::absolute(path).lexically_normal();
  return p.generic_string();
}

std::string format_calibration_samples(const std::string& data,
                                       const std::vector<std::string>& fingerprints,
                                       const std::vector<std::string>& files) {
  nlohmann::ordered_json j;
  j["format"] = "qcal.calibration_samples/1";
  j["data"] = data;
  j["fingerprint"] = "XXH3-64 of each sample's input tensor bytes, as the model takes it";
  j["samples"] = fingerprints.size();
  j["fingerprints"] = fingerprints;
  j["files"] = files;
  return j.dump(1) + "\n";
}

std::optional<CalibrationSamples> read_calibration_samples(const fs::path& model) {
  const fs::path file = model.parent_path() / kCalibrationSamplesName;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  CalibrationSamples c;
  c.file = file;
  try {
    const auto j = nlohmann::json::parse(read_file(file));
    if (j.at("format") != "qcal.calibration_samples/1") throw std::runtime_error("format");
    c.data = j.at("data").get<std::string>();
    for (const auto& f : j.at("fingerprints")) c.fingerprints.insert(f.get<std::string>());
    for (const auto& f : j.at("files")) c.files.insert(f.get<std::string>());
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kFormat, std::string("not a qcal calibration_samples.json (format "
                                                "qcal.calibration_samples/1): ") +
                                        e.what())
        .with("file", file.string());
  }
  return c;
}

std::string OverlapResult::warning() const {
  if (overlapping == 0) return "";
  std::string w = std::to_string(overlapping) + " of " + std::to_string(checked) +
                  " evaluation samples are calibration samples (" + std::to_string(by_content) +
                  " the same input tensor, " + std::to_string(by_path) +
                  " the same file; calibration data " + calibration_data + ", listed in " +
                  manifest.string() +
                  "): the measured drop is optimistic; evaluate on held-out data (qcal select "
                  "--holdout)";
  if (!examples.empty()) {
    w += "; e.g.";
    for (const auto& e : examples) w += " " + e;
  }
  return w;
}

OverlapCheck::OverlapCheck(CalibrationSamples calibration) : calibration_(std::move(calibration)) {
  result_.manifest = calibration_.file;
  result_.calibration_data = calibration_.data;
}

void OverlapCheck::add(const std::string& name, const std::string& file, const void* bytes,
                       std::size_t size) {
  constexpr std::size_t kExamples = 3;
  ++result_.checked;
  const bool content = calibration_.fingerprints.count(sample_fingerprint(bytes, size)) > 0;
  const bool path = !file.empty() && calibration_.files.count(normal_path(file)) > 0;
  result_.by_content += content ? 1 : 0;
  result_.by_path += path ? 1 : 0;
  if (!content && !path) return;
  ++result_.overlapping;
  if (result_.examples.size() < kExamples) result_.examples.push_back(name);
}

}  // namespace qcal::eval
