// Helpers for the preprocess tests: real photos from opencv-doc and the Python reference runner.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace qcal::test {

// A few real photos of different sizes and aspect ratios (landscape, portrait, square, odd sizes).
inline std::vector<std::filesystem::path> sample_photos() {
  const auto d = opencv_data();
  return {d / "messi5.jpg",       d / "baboon.jpg",    d / "fruits.jpg",  d / "lena.jpg",
          d / "squirrel_cls.jpg", d / "butterfly.jpg", d / "building.jpg"};
}

inline std::string reference_script() {
  return std::string(QCAL_SOURCE_DIR) + "/tests/unit/preprocess/reference_preprocess.py";
}

// Runs the Python reference on `images` with the recipe in recipe_json; returns the .npy paths
// (out_dir/0.npy ...). Fails the test when Python fails.
inline std::vector<std::filesystem::path> run_reference(
    const std::filesystem::path& recipe_json, const std::filesystem::path& out_dir,
    const std::vector<std::filesystem::path>& images) {
  std::string cmd = system_python() + " " + reference_script() + " " + recipe_json.string() + " " +
                    out_dir.string();
  for (const auto& i : images) cmd += " " + i.string();
  CommandResult r = run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::filesystem::path> out;
  for (std::size_t i = 0; i < images.size(); ++i)
    out.push_back(out_dir / (std::to_string(i) + ".npy"));
  return out;  // for a {"jobs": [...]} file the outputs are out_dir/<job>_<image>.npy
}

}  // namespace qcal::test
