// Output-path safety, checked by every verb before any work: an output never is, contains or
// lies inside one of the run's inputs, and output folders are created with errors that name them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qcal {

enum class OutputKind {
  kFile,            // a file written (or replaced) under this name
  kFolderWritten,   // a folder qcal writes its own files into; other entries stay
  kFolderReplaced,  // a folder whose whole content qcal replaces (pack --force, select, frames)
};

// The paths one run reads and writes. Empty paths are ignored, so optional flags can be added
// as they are.
class RunPaths {
 public:
  // `what` names the flag or argument in errors ("--data", "the model").
  RunPaths& input(const std::filesystem::path& path, std::string what);
  RunPaths& output(const std::filesystem::path& path, std::string what,
                   OutputKind kind = OutputKind::kFile);
  // Throws kInvalidArgument naming both paths when an output is an input (also through a
  // symlink or a hard link), lies inside an input folder, or is a folder to be replaced that
  // holds an input. Paths are compared canonically (symlinks resolved, "." and ".." removed).
  void check() const;

 private:
  struct Entry {
    std::filesystem::path path;
    std::string what;
    OutputKind kind = OutputKind::kFile;
  };
  std::vector<Entry> inputs_;
  std::vector<Entry> outputs_;
};

// Creates `dir` and its parents for outputs. Throws kIo naming the path when a component is a
// file, the disk is read-only, or permission is denied.
void create_output_dir(const std::filesystem::path& dir);

// Checked before any work, creating nothing: throws kIo naming the path when `dir` cannot become
// an output folder (an existing file, a file on its way, a read-only or unwritable parent).
void check_output_dir(const std::filesystem::path& dir, const std::string& what);

// Throws kIo naming the path when `file` cannot be an output file: it is an existing folder, or
// its folder does not exist (with parent_created: cannot be created, see check_output_dir) or
// cannot be written.
void check_output_file(const std::filesystem::path& file, const std::string& what,
                       bool parent_created = false);

}  // namespace qcal
