// Bad input end to end (issue 18, the input side): each class of bad input gives exit 1 with an
// error naming the file, never a crash, an internal error or a silently wrong result.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace qcal::test {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

CommandResult qcal(const std::string& args) { return run_command(qcal_bin() + " " + args); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

fs::path make_image_dir(const TempDir& tmp, const std::string& name = "images") {
  const fs::path dir = tmp / name;
  fs::create_directories(dir);
  fs::copy_file(opencv_data() / "baboon.jpg", dir / "baboon.jpg");
  return dir;
}

// A recipe nested 100,000 levels deep once killed every verb that reads recipes (SIGSEGV while
// serialising the bad value into the error); a number beyond double's range was exit 70.
TEST(InputErrorsCli, DeepOrOverflowingRecipeIsAnErrorInEveryVerb) {
  TempDir tmp;
  const fs::path images = make_image_dir(tmp);
  const fs::path deep = tmp / "deep.json";
  write_file_atomic(
      deep, "{\"preprocessings\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  const fs::path big = tmp / "big.json";
  write_file_atomic(big,
                    "{\"preprocessings\": [{\"resize\": {\"mode\": \"default\", \"size\": 64}},\n"
                    "  {\"div\": {\"x\": 1e400}}]}");
  const fs::path nested_value = tmp / "nested_value.json";
  write_file_atomic(nested_value,
                    "{\"preprocessings\": [{\"resize\": {\"mode\": \"default\", "
                    "\"size\": " +
                        std::string(120, '[') + "1" + std::string(120, ']') + "}}]}");
  for (const std::string& verb :
       {"pack " + q(images) + " -o " + q(tmp / "o.npy"), "check " + q(images),
        "config --model-type custom --dataset-path " + q(images) + " -o " + q(tmp / "c.json")}) {
    auto r = qcal(verb + " --recipe " + q(deep));
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "nested deeper than 128 levels")) << r.output;
    EXPECT_TRUE(contains(r.output, "file: " + deep.string())) << r.output;
    r = qcal(verb + " --recipe " + q(big));
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "1e400")) << r.output;
    EXPECT_TRUE(contains(r.output, "line 2, column 17")) << r.output;
    r = qcal(verb + " --recipe " + q(nested_value));
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "size must be a number, got [[[[")) << r.output;
    EXPECT_LT(r.output.size(), 400u) << r.output;
  }
  EXPECT_FALSE(fs::exists(tmp / "o.npy"));
}

}  // namespace
}  // namespace qcal::test
