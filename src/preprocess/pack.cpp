// pack implementation: a bounded window of worker results, written strictly in input order (by
// whichever worker holds the next one), so the bytes do not depend on --threads.
#include "preprocess/pack.hpp"

#include <unistd.h>
#include <xxhash.h>
#if defined(__x86_64__)
// The library's runtime-dispatched XXH3 (AVX2/AVX-512 where the CPU has them, else SSE2): same
// hash values, about 3x the speed of the SSE2 build on the fingerprint of ~5 MB per image.
#include <xxh_x86dispatch.h>
#endif

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <opencv2/core.hpp>
#include <thread>

#include "core/atomic_file.hpp"
#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/list_file.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "core/rng.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess/recipe_json.hpp"

namespace fs = std::filesystem;

namespace qcal::preprocess {
namespace {

// XXH3 streaming update. The dispatched AVX2/AVX-512 code returns with the upper halves of the
// vector registers dirty (no vzeroupper), and the SSE code that runs next on this thread (the
// row conversion) was measured ~4x slower for it (0.35 -> 1.45 ms per 640x640 sample): clear
// them after each call.
void hash_update(XXH3_state_t* state, const void* data, std::size_t n) {
  XXH3_64bits_update(state, data, n);
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool kHasAvx = __builtin_cpu_supports("avx");
  if (kHasAvx) __asm__ __volatile__("vzeroupper" ::: "memory");
#endif
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct XxhDeleter {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

// Receives samples in order and writes them in the chosen format.
class SampleSink {
 public:
  // expected_count: the samples the caller will write (0: unknown); an .npy reserves their space
  // when the first sample's size is known.
  SampleSink(fs::path out, PackFormat format, std::string input_name, bool force,
             std::int64_t expected_count = 0)
      : out_(std::move(out)),
        format_(format),
        input_name_(std::move(input_name)),
        force_(force),
        expected_count_(expected_count) {}

  // One sample in pieces: begin (checks the shape), its bytes in order in any number of chunks,
  // end. The fingerprint is updated while each chunk is still in cache.
  void begin(const Shape& shape, DType dtype, const std::string& source) {
    if (count_ == 0) open(shape, dtype);
    if (shape != sample_shape_ || dtype != dtype_) {
      Error e(ErrorCode::kInvalidArgument, "sample shape " + shape_to_string(shape) +
                                               " differs from the first sample's " +
                                               shape_to_string(sample_shape_) +
                                               "; the recipe must give every image the same size "
                                               "(add a fixed resize or centercrop)");
      e.with("image", source);
      throw e;
    }
    sample_bytes_ = static_cast<std::uint64_t>(shape_numel(shape)) * dtype_size(dtype);
    written_ = 0;
    if (format_ == PackFormat::kNpz) {
      staged_.resize(sample_bytes_);
    } else if (format_ == PackFormat::kDirectory) {
      char name[32];
      std::snprintf(name, sizeof name, "sample_%06lld.npy", static_cast<long long>(count_));
      sample_name_ = name;
      sample_file_ = std::make_unique<AtomicFile>(temp_dir_ / name);
      sample_file_->write(make_npy_header(dtype, shape));
      sample_file_->reserve_space(sample_bytes_);
    }
  }

  // Room for the next n bytes of the sample, filled by the caller and then passed to commit(n):
  // pieces are produced straight into the staging buffer (no copy), hashed while in cache, and
  // written to the file about 1 MiB at a time (fewer, larger page-cache writes: ext4 then uses
  // large folios, which cost markedly less kernel time per byte than 64 KiB writes).
  unsigned char* reserve(std::size_t n) {
    if (written_ + n > sample_bytes_)
      throw Error(ErrorCode::kInternal, "pack: sample larger than its shape");
    if (format_ == PackFormat::kNpz) return staged_.data() + written_;
    if (staging_used_ + n > staging_.size()) flush();
    if (n > staging_.size()) staging_.resize(n);
    return staging_.data() + staging_used_;
  }

  void commit(std::size_t n) {
    const unsigned char* data =
        format_ == PackFormat::kNpz ? staged_.data() + written_ : staging_.data() + staging_used_;
    hash_update(hash_.get(), data, n);
    if (format_ != PackFormat::kNpz) staging_used_ += n;
    written_ += n;
  }

  void write_chunk(const void* data, std::size_t nbytes) {
    std::memcpy(reserve(nbytes), data, nbytes);
    commit(nbytes);
  }

  void end() {
    if (written_ != sample_bytes_)
      throw Error(ErrorCode::kInternal, "pack: sample shorter than its shape");
    if (format_ == PackFormat::kNpz) {
      npz_->append_rows(staged_.data(), 1);
    } else if (format_ == PackFormat::kDirectory) {
      flush();
      sample_file_->commit();
      sample_file_.reset();
      list_ += list_line((fs::absolute(out_) / sample_name_).lexically_normal()) + "\n";
    }
    ++count_;
  }

  // One whole sample.
  void write(const void* data, const Shape& shape, DType dtype, const std::string& source) {
    begin(shape, dtype, source);
    write_chunk(data, static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype));
    end();
  }

  // Finishes the output and its sidecar (the JSON text) and puts both under their final names
  // together (core/atomic_file.hpp's commit_together; a folder output is renamed once).
  void finish(const fs::path& sidecar, const std::string& sidecar_text) {
    if (count_ == 0) throw Error(ErrorCode::kInvalidArgument, "nothing to pack");
    if (format_ == PackFormat::kDirectory) {
      write_file_atomic(temp_dir_ / "dataset.txt", list_);
      write_file_atomic(temp_dir_ / sidecar.filename(), sidecar_text);
      dir_->commit();
      return;
    }
    AtomicFile side(sidecar);
    side.write(sidecar_text);
    if (format_ == PackFormat::kNpy) {
      flush();
      // The header reserved room for any row count: rewrite it in place with the final one.
      Shape shape = row_shape_of(sample_shape_);
      shape.insert(shape.begin(), count_);
      const std::string header = make_npy_header(dtype_, shape, npy_header_len_ - 10);
      if (header.size() != npy_header_len_)
        throw Error(ErrorCode::kInternal, "npy header grew past its reserved size");
      npy_file_->write_at(0, header.data(), header.size());
      commit_together({npy_file_.get(), &side});
    } else {
      npz_->end_archive();
      commit_together({&npz_->file(), &side});
    }
  }

  std::int64_t count() const { return count_; }
  const Shape& sample_shape() const { return sample_shape_; }
  DType dtype() const { return dtype_; }
  std::uint64_t fingerprint() const { return XXH3_64bits_digest(hash_.get()); }
  Shape stacked_shape() const {
    Shape s = row_shape_of(sample_shape_);
    s.insert(s.begin(), count_);
    return s;
  }

  // Checked before any work starts, so a run does not fail at the end.
  static void check_output(const fs::path& out, PackFormat format, bool force) {
    std::error_code ec;
    const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    if (!fs::is_directory(parent, ec)) {
      throw Error(ErrorCode::kIo, "the output's folder does not exist")
          .with("path", parent.string());
    }
    if (format == PackFormat::kDirectory && fs::exists(out, ec) && !force &&
        !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
      throw Error(ErrorCode::kInvalidArgument,
                  "output folder exists and is not empty (pass --force to replace it)")
          .with("path", out.string());
    }
    if (format != PackFormat::kDirectory && fs::is_directory(out, ec)) {
      throw Error(ErrorCode::kInvalidArgument, "output is an existing folder")
          .with("path", out.string());
    }
  }

 private:
  void open(const Shape& shape, DType dtype) {
    sample_shape_ = shape;
    dtype_ = dtype;
    const Shape row = row_shape_of(sample_shape_);
    if (format_ == PackFormat::kNpy) {
      // As NpyWriter does (byte for byte), written here so samples can arrive in pieces: a
      // header with room for a 19-digit leading dimension, rewritten by finish().
      npy_file_ = std::make_unique<AtomicFile>(out_);
      Shape empty = row;
      empty.insert(empty.begin(), 0);
      const std::string header = make_npy_header(dtype_, empty, 0);
      const std::string roomy = make_npy_header(dtype_, empty, header.size() - 10 + 20);
      npy_header_len_ = roomy.size();
      npy_file_->write(roomy);
      if (expected_count_ > 0) {
        const std::int64_t sample =
            checked_mul(checked_numel(shape), static_cast<std::int64_t>(dtype_size(dtype)));
        npy_file_->reserve_space(
            static_cast<std::uint64_t>(checked_mul(sample, expected_count_, "output size")));
      }
    } else if (format_ == PackFormat::kNpz) {
      npz_ = std::make_unique<NpzWriter>(out_);
      npz_->begin_array(input_name_, dtype_, row);
    } else {
      dir_ = std::make_unique<AtomicDir>(out_);
      temp_dir_ = dir_->path();
    }
  }

  fs::path out_;
  PackFormat format_;
  std::string input_name_;
  bool force_;
  std::int64_t expected_count_ = 0;
  std::unique_ptr<AtomicFile> npy_file_;
  std::size_t npy_header_len_ = 0;
  std::unique_ptr<NpzWriter> npz_;
  std::unique_ptr<AtomicDir> dir_;  // the folder format
  fs::path temp_dir_;
  std::string list_;
  // The sample being written.
  std::uint64_t sample_bytes_ = 0;
  std::uint64_t written_ = 0;
  std::vector<unsigned char> staged_;  // npz: members take whole rows
  std::vector<unsigned char> staging_ = std::vector<unsigned char>(std::size_t{1} << 20);
  std::size_t staging_used_ = 0;

  void flush() {
    if (staging_used_ == 0) return;
    if (format_ == PackFormat::kNpy) {
      npy_file_->write(staging_.data(), staging_used_);
    } else {
      sample_file_->write(staging_.data(), staging_used_);
    }
    staging_used_ = 0;
  }
  std::unique_ptr<AtomicFile> sample_file_;
  std::string sample_name_;
  std::int64_t count_ = 0;
  Shape sample_shape_;
  DType dtype_ = DType::kUndefined;
  // XXH3-64 of all tensor bytes in order (seed 0): the data's fingerprint.
  std::unique_ptr<XXH3_state_t, XxhDeleter> hash_{[] {
    XXH3_state_t* st = XXH3_createState();
    if (!st) throw std::bad_alloc();
    XXH3_64bits_reset(st);
    return st;
  }()};
};

void check_expected(const Shape& sample, const PackOptions& o, const std::string& image) {
  if (!o.expect_sample_shape) return;
  const Shape row = row_shape_of(sample);
  const Shape& want = *o.expect_sample_shape;
  bool ok = row.size() == want.size();
  for (std::size_t i = 0; ok && i < row.size(); ++i) ok = want[i] < 0 || want[i] == row[i];
  if (!ok) {
    Shape want_full = want;
    want_full.insert(want_full.begin(), 1);
    Shape got_full = row;
    got_full.insert(got_full.begin(), 1);
    Error e(ErrorCode::kInvalidArgument,
            "the recipe gives samples of " + shape_to_string(got_full) + " but " + o.expect_source +
                " needs " + shape_to_string(want_full) + " (-1: any size)");
    e.with("image", image);
    throw e;
  }
}

std::string sidecar_json(const PackResult& r, const PackOptions& o,
                         const std::vector<fs::path>& sources, std::optional<std::uint64_t> seed) {
  nlohmann::json j = nlohmann::json::object();
  j["qcal_pack"] = 1;
  j["synthetic"] = r.synthetic;
  if (r.synthetic) {
    j["warning"] =
        "SYNTHETIC random data, not real images: calibration ranges from it do not reflect "
        "deployment inputs";
    j["seed"] = *seed;
  }
  j["format"] = pack_format_name(r.format);
  j["output"] = r.output.filename().string();
  j["count"] = r.count;
  j["shape"] = r.shape;
  j["dtype"] = std::string(dtype_name(r.dtype));
  j["input_name"] = o.input_name;
  j["data_xxh3_64"] = r.fingerprint;
  if (!r.synthetic) j["recipe"] = recipe_to_json(o.recipe);
  nlohmann::json src = nlohmann::json::array();
  for (const auto& s : sources) src.push_back(s.string());
  j["sources"] = src;
  return j.dump(2) + "\n";
}

PackResult result_of(const SampleSink& sink, const fs::path& out, PackFormat format) {
  PackResult r;
  r.output = out;
  r.sidecar = pack_sidecar_path(out, format);
  r.format = format;
  r.count = sink.count();
  r.shape = sink.stacked_shape();
  r.dtype = sink.dtype();
  r.fingerprint = hex64(sink.fingerprint());
  return r;
}

// OpenCV's own thread pool stays out while the workers run (cv::resize would otherwise fan
// out over every core and oversubscribe against them): parallelism is across images. The
// setting is process-wide, so the caller's is restored afterwards.
struct OpenCvThreads {
  int saved = cv::getNumThreads();
  OpenCvThreads() { cv::setNumThreads(1); }
  ~OpenCvThreads() { cv::setNumThreads(saved); }
  OpenCvThreads(const OpenCvThreads&) = delete;
  OpenCvThreads& operator=(const OpenCvThreads&) = delete;
};

// `threads` workers and no other thread (the caller's thread is one of them). Each takes the
// next image, decodes it and runs the image steps (the expensive, parallel part) into slot
// i % window, then, if no one is writing, becomes the writer: it turns every prepared image
// that is next in input order into output values in cache-sized pieces, hashing and writing
// each piece while it is in cache, and goes back to decoding when the next one is not ready.
// The ordered part (~1 ms of ~3.3 ms per 640x640 sample) so moves between the workers: no
// third thread competes with them for the cores, and no worker waits for another to finish an
// image unless the window is full. A slot's buffers are reused, so there is no per-image
// allocation of the ~5 MB float sample.
class PackWorkers {
 public:
  PackWorkers(const std::vector<fs::path>& images, const PackOptions& o, const Pipeline& pipeline,
              const fs::path& out, PackFormat format, int threads)
      : images_(images),
        o_(o),
        pipeline_(pipeline),
        n_(static_cast<std::int64_t>(images.size())),
        threads_(threads),
        window_(2 * threads + 2),
        slots_(static_cast<std::size_t>(window_)),
        sink_(out, format, o.input_name, o.force, n_) {}

  // Runs the workers (this thread is the last one); the caller finishes the sink.
  void run() {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(threads_ - 1));
    try {
      for (int t = 1; t < threads_; ++t) pool.emplace_back([this] { work(); });
    } catch (...) {
      {
        std::lock_guard lock(mu_);
        abort_ = true;
      }
      cv_.notify_all();
      for (auto& t : pool) t.join();
      throw;
    }
    work();  // this thread is the last worker
    for (auto& t : pool) t.join();
    if (failure_) std::rethrow_exception(failure_);
    if (written_ != n_) throw Error(ErrorCode::kInternal, "pack: a sample was not written");
  }

  SampleSink& sink() { return sink_; }

 private:
  struct Slot {
    PreparedImage prepared;
    std::exception_ptr error;
    bool ready = false;
  };
  // About 64 KiB per piece: it stays in L2 between conversion, hashing and the copy into the file.
  static constexpr std::size_t kChunkBytes = 64 * 1024;

  // Sample i in order into the sink (only the writer runs this).
  void write_sample(std::int64_t i) {
    Slot& slot = slots_[static_cast<std::size_t>(i % window_)];
    if (slot.error) std::rethrow_exception(slot.error);
    const std::string& source = images_[static_cast<std::size_t>(i)].string();
    const PreparedImage& p = slot.prepared;
    const Shape& shape = p.info.shape;
    check_expected(shape, o_, source);
    sink_.begin(shape, o_.recipe.dtype, source);
    const std::size_t elem = dtype_size(o_.recipe.dtype);
    if (pipeline_.planar()) {
      const auto height = static_cast<int>(shape[static_cast<std::size_t>(p.info.height_axis)]);
      const auto width =
          static_cast<std::size_t>(shape[static_cast<std::size_t>(p.info.width_axis)]);
      const std::size_t row_bytes = width * elem;
      const int rows_per_chunk = static_cast<int>(
          std::max<std::size_t>(1, kChunkBytes / std::max<std::size_t>(row_bytes, 1)));
      for (int c = 0; c < p.info.channels; ++c) {
        for (int y = 0; y < height; y += rows_per_chunk) {
          const int y1 = std::min(height, y + rows_per_chunk);
          const std::size_t bytes = static_cast<std::size_t>(y1 - y) * row_bytes;
          pipeline_.write_plane_rows(p, c, y, y1, sink_.reserve(bytes));
          sink_.commit(bytes);
        }
      }
    } else {
      const std::size_t bytes = static_cast<std::size_t>(shape_numel(shape)) * elem;
      pipeline_.write_all(p, sink_.reserve(bytes));
      sink_.commit(bytes);
    }
    sink_.end();
    if (o_.progress) o_.progress(i + 1, n_);
  }

  // With mu_ held: while no one writes and the next sample in order is ready, write it (mu_ is
  // released meanwhile). A slot made ready while another worker writes is seen by that writer
  // when it looks again, so no ready sample is left behind.
  void drain(std::unique_lock<std::mutex>& lock) {
    while (!writing_ && !abort_ && written_ < n_ &&
           slots_[static_cast<std::size_t>(written_ % window_)].ready) {
      writing_ = true;
      const std::int64_t i = written_;
      lock.unlock();
      std::exception_ptr error;
      try {
        write_sample(i);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      writing_ = false;
      if (error) {
        if (!failure_) failure_ = error;
        abort_ = true;
      } else {
        slots_[static_cast<std::size_t>(i % window_)].ready = false;
        written_ = i + 1;
      }
      cv_.notify_all();
    }
  }

  void work() {
    std::vector<unsigned char> file_bytes;  // the JPEG being decoded, reused
    // Decoded into this thread's buffer (reused, so warm in cache and already faulted in; 1.3 MB
    // at 768x576). Where the prepared image still uses its pixels (no image step copied them) it
    // holds a reference to them, and decode_image_into then takes a fresh buffer.
    cv::Mat decoded;
    while (true) {
      const std::int64_t i = next_.fetch_add(1);
      if (i >= n_) return;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return abort_ || i < written_ + window_; });
        if (abort_) return;
      }
      // The slot is ours until we mark it ready: sample i - window is written.
      Slot& slot = slots_[static_cast<std::size_t>(i % window_)];
      slot.error = nullptr;
      try {
        decode_image_into(images_[static_cast<std::size_t>(i)], file_bytes, decoded);
        pipeline_.prepare(decoded, slot.prepared);
        const auto nbytes = static_cast<std::size_t>(shape_numel(slot.prepared.info.shape)) *
                            dtype_size(o_.recipe.dtype);
        check_alloc(nbytes, "one preprocessed sample");
      } catch (Error& e) {
        bool has_image = false;
        for (const auto& [k, v] : e.context()) has_image = has_image || k == "image";
        if (!has_image) e.with("image", images_[static_cast<std::size_t>(i)].string());
        slot.error = std::current_exception();
      } catch (...) {
        slot.error = std::current_exception();
      }
      std::unique_lock lock(mu_);
      slot.ready = true;
      drain(lock);
    }
  }

  const std::vector<fs::path>& images_;
  const PackOptions& o_;
  const Pipeline& pipeline_;
  const std::int64_t n_;
  const int threads_;
  const std::int64_t window_;
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<std::int64_t> next_{0};
  std::int64_t written_ = 0;    // guarded by mu_
  bool writing_ = false;        // guarded by mu_: a worker is writing sample `written_`
  bool abort_ = false;          // guarded by mu_
  std::exception_ptr failure_;  // guarded by mu_: the first error in input order (or the writer's)
  SampleSink sink_;
};

}  // namespace

Shape row_shape_of(const Shape& sample_shape) {
  if (!sample_shape.empty() && sample_shape[0] == 1 && sample_shape.size() > 1) {
    return Shape(sample_shape.begin() + 1, sample_shape.end());
  }
  return sample_shape;
}

PackFormat pack_format_for(const fs::path& out) {
  const std::string ext = out.extension().string();
  std::error_code ec;
  if (ext == ".npy") return PackFormat::kNpy;
  if (ext == ".npz") return PackFormat::kNpz;
  if (ext.empty() || fs::is_directory(out, ec) || out.string().back() == '/')
    return PackFormat::kDirectory;
  throw Error(ErrorCode::kInvalidArgument,
              "output '" + out.string() +
                  "' must end in .npy (one [N, ...] array), .npz (keyed by input name), or name a "
                  "folder (per-sample .npy + dataset.txt)");
}

fs::path pack_sidecar_path(const fs::path& out, PackFormat format) {
  if (format == PackFormat::kDirectory) return out / "pack.json";
  return out.string() + ".json";
}

const char* pack_format_name(PackFormat format) {
  switch (format) {
    case PackFormat::kNpy:
      return "npy";
    case PackFormat::kNpz:
      return "npz";
    case PackFormat::kDirectory:
      return "directory";
  }
  return "?";
}

PackResult pack_images(const std::vector<fs::path>& images, const fs::path& out_arg,
                       const PackOptions& o) {
  if (images.empty()) throw Error(ErrorCode::kInvalidArgument, "no images to pack");
  const PackFormat format = pack_format_for(out_arg);
  fs::path out = out_arg;
  if (format == PackFormat::kDirectory && out.filename().empty()) out = out.parent_path();
  SampleSink::check_output(out, format, o.force);
  const Pipeline pipeline(o.recipe);
  // A recipe whose fixed output cannot feed the model is refused before any decoding.
  {
    ShapeInfo info = infer_shape(o.recipe);
    bool fixed =
        std::all_of(info.shape.begin(), info.shape.end(), [](std::int64_t d) { return d >= 0; });
    if (fixed) check_expected(info.shape, o, "(recipe)");
  }

  const int threads = std::max(1, o.threads);
  const OpenCvThreads opencv_threads;
  PackWorkers workers(images, o, pipeline, out, format, threads);
  workers.run();
  SampleSink& sink = workers.sink();
  PackResult r = result_of(sink, out, format);
  sink.finish(r.sidecar, sidecar_json(r, o, images, std::nullopt));
  return r;
}

PackResult pack_synthetic(std::int64_t count, const Shape& sample_shape, std::uint64_t seed,
                          const fs::path& out_arg, const PackOptions& o) {
  if (count <= 0) throw Error(ErrorCode::kInvalidArgument, "--synthetic needs a positive count");
  for (std::int64_t d : sample_shape) {
    if (d <= 0)
      throw Error(ErrorCode::kInvalidArgument,
                  "--shape needs positive dimensions, got " + shape_to_string(sample_shape));
  }
  const PackFormat format = pack_format_for(out_arg);
  fs::path out = out_arg;
  if (format == PackFormat::kDirectory && out.filename().empty()) out = out.parent_path();
  SampleSink::check_output(out, format, o.force);
  check_expected(sample_shape, o, "(synthetic --shape)");
  SampleSink sink(out, format, o.input_name, o.force, count);
  Rng rng(seed);
  for (std::int64_t i = 0; i < count; ++i) {
    Tensor t(DType::kFloat32, sample_shape);
    float* p = t.data<float>();
    for (std::int64_t k = 0; k < t.numel(); ++k) p[k] = static_cast<float>(rng.next_double());
    sink.write(t.raw_data(), t.shape(), t.dtype(), "synthetic sample " + std::to_string(i));
    if (o.progress) o.progress(i + 1, count);
  }
  PackResult r = result_of(sink, out, format);
  r.synthetic = true;
  sink.finish(r.sidecar, sidecar_json(r, o, {}, seed));
  return r;
}

}  // namespace qcal::preprocess
