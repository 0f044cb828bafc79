// Feeds each committed corpus file (seeds and the inputs of past findings) through its fuzz
// target: each must be read or refused with a qcal::Error naming the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"

namespace qcal::fuzz {
namespace {

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::filesystem::path> corpus_files(const std::string& target) {
  const std::filesystem::path dir = std::filesystem::path(QCAL_SOURCE_DIR) / "fuzz/corpus" / target;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class FuzzCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzCorpus, EveryFileIsReadOrRefusedNamingTheFile) {
  const Target* target = find_target(GetParam());
  ASSERT_NE(target, nullptr);
  const auto files = corpus_files(GetParam());
  ASSERT_FALSE(files.empty()) << "no corpus under fuzz/corpus/" << GetParam();
  int accepted = 0;
  for (const auto& file : files) {
    try {
      accepted += run_target(*target, read_bytes(file)) ? 1 : 0;
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
    }
  }
  // Each corpus holds at least one valid file, so the reader's success path is covered too.
  EXPECT_GT(accepted, 0) << "no file of fuzz/corpus/" << GetParam() << " was accepted";
}

std::vector<std::string> target_names() {
  std::vector<std::string> names;
  for (const auto& t : all_targets()) names.emplace_back(t.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(target_names()),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace qcal::fuzz
