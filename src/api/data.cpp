// qcal::Data: which of the three kinds of calibration data, and the value.
#include "qcal/data.hpp"

namespace qcal {

Data Data::path(std::string path) {
  Data d;
  d.kind_ = Kind::kPath;
  d.path_ = std::move(path);
  return d;
}

Data Data::array(Array samples) {
  Data d;
  d.kind_ = Kind::kArray;
  d.array_ = std::move(samples);
  return d;
}

Data Data::stream(std::shared_ptr<SampleStream> stream) {
  Data d;
  d.kind_ = Kind::kStream;
  d.stream_ = std::move(stream);
  return d;
}

}  // namespace qcal
