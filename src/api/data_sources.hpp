// The public API's in-memory calibration data as the sample-data layer's sources: an array of
// samples read in place, and a stream pulled one sample at a time while the calibration runs.
#pragma once

#include <memory>
#include <vector>

#include "preprocess/sample_data.hpp"
#include "qcal/array.hpp"
#include "qcal/data.hpp"

namespace qcal::api {

// Rows of an [N, row...] array; each read is a view of the array (no copy).
std::unique_ptr<preprocess::SampleData> open_array_data(
    const Array& samples, const std::vector<preprocess::ModelInputInfo>& inputs);

struct StreamOptions {
  std::int64_t limit = 0;            // pull at most this many samples (0: until the end)
  std::int64_t keep = 1;             // the first samples kept for reading again (the probes)
  const Control* control = nullptr;  // cancellation, checked before each pull
};

// A stream read once, in order (SampleData::streamed): it pulls a batch ahead, so that size()
// says whether another batch exists, and keeps its first `keep` samples.
std::unique_ptr<preprocess::SampleData> open_stream_data(
    std::shared_ptr<SampleStream> stream, const std::vector<preprocess::ModelInputInfo>& inputs,
    const StreamOptions& options);

}  // namespace qcal::api
