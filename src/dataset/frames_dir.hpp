// The output folder of `qcal frames`: what may be replaced there. A run's folder holds the frames
// frames.csv lists, frames.csv and profile_sources.json; a later run replaces all of it at once
// (core AtomicDir), and refuses a folder that holds anything else.
#pragma once

#include <filesystem>

namespace qcal::dataset {

inline constexpr const char* kFramesCsvName = "frames.csv";
inline constexpr const char* kProfileSourcesName = "profile_sources.json";

// Throws kInvalidArgument naming the folder and the first foreign entry unless `out_dir` is
// absent, empty, or holds only an earlier frames run (its frames.csv and the files it lists);
// kIo when it exists and is not a folder.
void check_frames_out_dir(const std::filesystem::path& out_dir);

}  // namespace qcal::dataset
