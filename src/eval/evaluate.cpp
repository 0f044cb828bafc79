// run_eval: both models over the same samples, per-output comparisons and task metrics.
#include "eval/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/error.hpp"
#include "eval/class_names.hpp"
#include "eval/labels.hpp"
#include "eval/samples.hpp"

namespace qcal::eval {

Task parse_task(const std::string& name) {
  if (name == "raw") return Task::kRaw;
  if (name == "yolo") return Task::kYolo;
  if (name == "yunet") return Task::kYunet;
  if (name == "embedding") return Task::kEmbedding;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown task '" + name + "' (raw, yolo, yunet or embedding)");
}

const char* task_name(Task task) {
  switch (task) {
    case Task::kRaw:
      return "raw";
    case Task::kYolo:
      return "yolo";
    case Task::kYunet:
      return "yunet";
    case Task::kEmbedding:
      return "embedding";
  }
  return "raw";
}

std::optional<double> MetricValue::drop_pp() const {
  if (!fp32 || !std::isfinite(*fp32) || !std::isfinite(int8)) return std::nullopt;
  const double d = (*fp32 - int8) * 100.0;
  return higher_is_better ? d : -d;
}

namespace {

// A score threshold as printed in metric labels: "0.25", not "0.250000".
std::string format_score(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

// Which FP32 name each INT8 name corresponds to: the same names, else the same positions.
std::vector<std::pair<std::string, std::string>> pair_names(
    const std::vector<engine::ValueInfo>& fp32, const std::vector<engine::ValueInfo>& int8,
    const char* what, std::vector<std::string>& notes) {
  if (fp32.size() != int8.size()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("the models differ in their number of ") +
                                                 what + " (" + std::to_string(fp32.size()) +
                                                 " vs " + std::to_string(int8.size()) + ")");
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  bool same = true;
  for (const auto& f : fp32) {
    same = same && std::any_of(int8.begin(), int8.end(),
                               [&](const engine::ValueInfo& v) { return v.name == f.name; });
  }
  for (std::size_t i = 0; i < fp32.size(); ++i) {
    pairs.emplace_back(fp32[i].name, same ? fp32[i].name : int8[i].name);
  }
  if (!same) {
    notes.push_back(std::string("The models' ") + what +
                    " have different names; they were paired by position.");
  }
  return pairs;
}

// The per-task state fed one sample at a time.
struct TaskState {
  const EvalOptions& o;
  std::optional<CocoDataset> coco;
  bool yolo_labels = false;
  std::vector<ImageDetections> det_fp32, det_int8;  // scored detections + reference per image
  // With labels: INT8's detections against FP32's above reference_conf (agreement).
  std::vector<ImageDetections> det_int8_vs_fp32;
  FaceMatcher faces_agree{0.5}, faces_fp32_gt{0.5}, faces_int8_gt{0.5};
  // YOLO: the objects a deployed model reports (score above reference_conf), matched per class.
  FaceMatcher objects_agree{0.5}, objects_fp32_gt{0.5}, objects_int8_gt{0.5};
  std::vector<std::vector<float>> emb_fp32, emb_int8;
  std::vector<std::string> names;
  std::vector<double> cosines;
  // What the labels gave, so labels that cannot measure anything are an error, not mAP 0.
  std::size_t labelled_samples = 0;      // samples with a label file (YOLO) or COCO entry
  std::size_t label_objects = 0;         // non-crowd ground-truth boxes
  std::size_t known_class_objects = 0;   // ... whose class the model predicts
  std::int64_t model_classes = 0;        // YOLO: classes in the model's output
  std::optional<OverlapCheck> overlap;   // against calibration_samples.json
  std::vector<std::string> class_names;  // --names, else the COCO labels' categories

  explicit TaskState(const EvalOptions& options)
      : o(options),
        faces_agree(options.face_iou),
        faces_fp32_gt(options.face_iou),
        faces_int8_gt(options.face_iou),
        objects_agree(options.face_iou),
        objects_fp32_gt(options.face_iou),
        objects_int8_gt(options.face_iou) {
    if (!o.names.empty()) class_names = read_class_names(o.names);
    if (o.labels.empty()) return;
    if (o.task != Task::kYolo && o.task != Task::kYunet) {
      throw Error(ErrorCode::kInvalidArgument, "--labels applies to the yolo and yunet tasks");
    }
    if (std::filesystem::is_directory(o.labels)) {
      yolo_labels = true;
    } else if (std::filesystem::is_regular_file(o.labels)) {
      coco = read_coco_instances(o.labels);
      if (class_names.empty()) class_names = coco->category_names;
    } else {
      throw Error(ErrorCode::kIo, "labels not found (a YOLO labels folder or a COCO .json)")
          .with("file", o.labels.string());
    }
  }

  bool has_labels() const { return yolo_labels || coco.has_value(); }

  std::vector<GroundTruthBox> labels_for(const EvalSample& s) {
    std::vector<GroundTruthBox> boxes = read_labels(s);
    for (const GroundTruthBox& g : boxes) {
      if (g.crowd) continue;
      ++label_objects;
      if (o.task != Task::kYolo || g.class_id < model_classes) ++known_class_objects;
    }
    return boxes;
  }

  std::vector<GroundTruthBox> read_labels(const EvalSample& s) {
    if (!s.geometry) {
      throw Error(ErrorCode::kInvalidArgument,
                  "labels need the image's place in the network input: give images with a "
                  "recipe whose resize qcal can invert (letterbox or plain resize)")
          .with("image", s.name);
    }
    if (yolo_labels) {
      const std::string stem = std::filesystem::path(s.name).stem().string();
      std::error_code ec;
      if (std::filesystem::exists(o.labels / (stem + ".txt"), ec)) ++labelled_samples;
      return read_yolo_labels(o.labels, stem, s.geometry->image_w, s.geometry->image_h);
    }
    const CocoImage* im = coco->find(s.name);
    if (!im) {
      throw Error(ErrorCode::kInvalidArgument, "image is not in the COCO file")
          .with("image", s.name)
          .with("file", o.labels.string());
    }
    if (im->width != s.geometry->image_w || im->height != s.geometry->image_h) {
      throw Error(ErrorCode::kInvalidArgument, "image size differs from the COCO file's (" +
                                                   std::to_string(im->width) + "x" +
                                                   std::to_string(im->height) + ")")
          .with("image", s.name);
    }
    ++labelled_samples;
    return im->ground_truth;
  }

  // Labels that match no image, hold no objects, or only classes the model does not predict
  // would give mAP 0 (or undefined) that reads as a result: each is an error.
  void check_labels_measure(std::size_t samples) const {
    const std::string of = " of the " + std::to_string(samples) + " images evaluated";
    if (labelled_samples == 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "no label matches any" + of +
                      " (YOLO labels are looked up as <image name>.txt in the labels folder)")
          .with("file", o.labels.string());
    }
    if (label_objects == 0) {
      throw Error(ErrorCode::kInvalidArgument, "the labels hold no ground-truth objects for any" +
                                                   of + ": accuracy against them is undefined")
          .with("file", o.labels.string());
    }
    if (known_class_objects == 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "none of the " + std::to_string(label_objects) +
                      " labelled objects has a class id the model predicts (0.." +
                      std::to_string(model_classes - 1) + ")")
          .with("file", o.labels.string());
    }
  }

  static std::vector<GroundTruthBox> as_reference(const std::vector<Detection>& dets,
                                                  float min_score) {
    std::vector<GroundTruthBox> g;
    for (const Detection& d : dets) {
      if (d.score > min_score) g.push_back({d.box, d.class_id, false});
    }
    return g;
  }

  void add_yolo(const EvalSample& s, const Tensor& out_fp32, const Tensor& out_int8) {
    model_classes = yolo_num_classes(out_fp32.view());
    auto a = decode_yolo(out_fp32.view(), o.yolo);
    auto b = decode_yolo(out_int8.view(), o.yolo);
    if (s.geometry) {
      undo_letterbox(a, *s.geometry);
      undo_letterbox(b, *s.geometry);
    }
    std::vector<GroundTruthBox> ref =
        has_labels() ? labels_for(s) : as_reference(a, o.reference_conf);
    match_per_class(objects_agree, as_reference(a, o.reference_conf), b, o.reference_conf);
    if (has_labels()) {
      match_per_class(objects_fp32_gt, ref, a, o.reference_conf);
      match_per_class(objects_int8_gt, ref, b, o.reference_conf);
      if (o.task == Task::kYolo) det_int8_vs_fp32.push_back({b, as_reference(a, o.reference_conf)});
    }
    det_fp32.push_back({std::move(a), ref});
    det_int8.push_back({std::move(b), std::move(ref)});
  }

  // The detections scoring above min_score (what a deployed model reports) matched to the
  // reference one to one within each class, by FaceMatcher's greedy rule. Crowd references are
  // left out (a detection inside a crowd region then counts as a false positive, for both
  // models alike).
  static void match_per_class(FaceMatcher& matcher, const std::vector<GroundTruthBox>& reference,
                              const std::vector<Detection>& test, float min_score) {
    std::map<int, std::pair<std::vector<Face>, std::vector<Face>>> by_class;
    for (const GroundTruthBox& g : reference) {
      if (g.crowd) continue;
      Face f;
      f.box = g.box;
      by_class[g.class_id].first.push_back(f);
    }
    for (const Detection& d : test) {
      if (!(d.score > min_score)) continue;
      Face f;
      f.box = d.box;
      f.score = d.score;
      by_class[d.class_id].second.push_back(f);
    }
    for (const auto& [cls, sets] : by_class) matcher.add(sets.first, sets.second, false);
  }

  void add_yunet(const EvalSample& s, const std::map<std::string, Tensor>& out_fp32,
                 const std::map<std::string, Tensor>& out_int8) {
    const Tensor& input = s.inputs.begin()->second;
    const auto& shape = input.shape();
    if (shape.size() != 4) {
      throw Error(ErrorCode::kInvalidArgument,
                  "YuNet input must be [1, 3, H, W], got " + shape_to_string(shape));
    }
    const int h = static_cast<int>(shape[2]), w = static_cast<int>(shape[3]);
    auto views = [](const std::map<std::string, Tensor>& m) {
      std::map<std::string, TensorView> v;
      for (const auto& [k, t] : m) v[k] = t.view();
      return v;
    };
    auto a = decode_yunet(views(out_fp32), w, h, o.yunet);
    auto b = decode_yunet(views(out_int8), w, h, o.yunet);
    if (s.geometry) {
      undo_letterbox(a, *s.geometry);
      undo_letterbox(b, *s.geometry);
    }
    faces_agree.add(a, b, true);
    std::vector<GroundTruthBox> ref;
    if (has_labels()) {
      for (GroundTruthBox g : labels_for(s)) {
        g.class_id = 0;  // faces: one class whatever the label file says
        ref.push_back(g);
      }
      std::vector<Face> gt_faces;
      for (const GroundTruthBox& g : ref) {
        if (g.crowd) continue;
        Face f;
        f.box = g.box;
        gt_faces.push_back(f);
      }
      faces_fp32_gt.add(gt_faces, a, false);
      faces_int8_gt.add(gt_faces, b, false);
    } else {
      for (const Face& f : a) ref.push_back({f.box, 0, false});
    }
    det_fp32.push_back({faces_to_detections(a), ref});
    det_int8.push_back({faces_to_detections(b), std::move(ref)});
  }

  void add_embedding(const EvalSample& s, const Tensor& out_fp32, const Tensor& out_int8) {
    if (out_fp32.dtype() != DType::kFloat32 || out_int8.dtype() != DType::kFloat32) {
      throw Error(ErrorCode::kInvalidArgument, "embedding outputs must be float32");
    }
    auto va = out_fp32.values<float>();
    auto vb = out_int8.values<float>();
    cosines.push_back(cosine_similarity(va, vb));
    if (!o.pairs.empty()) {
      emb_fp32.emplace_back(va.begin(), va.end());
      emb_int8.emplace_back(vb.begin(), vb.end());
    }
    names.push_back(s.name);
  }
};

}  // namespace

EvalResult run_eval(const EvalOptions& o, const Progress& progress) {
  const RunnerOptions ro{.threads = o.threads};
  auto fp32 = make_runner(o.runtime, o.fp32_model, ro);
  auto int8 = make_runner(o.runtime, o.int8_model, ro);
  return run_eval(o, *fp32, *int8, progress);
}

namespace {

using NamePairs = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<SampleSource> open_eval_source(const EvalOptions& o, const engine::Model& fp32) {
  preprocess::DataRequest request;
  request.data = o.data;
  request.recipe = o.recipe;
  request.size_wh = o.size_wh;
  request.limit = static_cast<std::int64_t>(o.limit);
  auto source = open_samples(request, fp32, o.fp32_model.string(), o.seed);
  if (source->size() == 0) throw Error(ErrorCode::kInvalidArgument, "the data holds no samples");
  if (!o.labels.empty() && !source->has_images()) {
    throw Error(ErrorCode::kInvalidArgument,
                "--labels needs image data (a folder with --recipe): boxes are mapped back to "
                "each image through the recipe's letterbox")
        .with("file", o.data.string());
  }
  return source;
}

// Both models' outputs of one sample by FP32 output name, each pair fed to its comparator.
void compare_outputs(const EvalSample& s, const TensorMap& out_a, const TensorMap& out_b,
                     const NamePairs& output_pairs, std::vector<TensorComparator>& comparators,
                     std::map<std::string, Tensor>& a, std::map<std::string, Tensor>& b) {
  for (std::size_t j = 0; j < output_pairs.size(); ++j) {
    const auto& [fname, qname] = output_pairs[j];
    a[fname] = out_a.at(fname);
    b[fname] = out_b.at(qname);
    const Tensor& ta = a[fname];
    const Tensor& tb = b[fname];
    if (ta.shape() != tb.shape() || ta.dtype() != DType::kFloat32 ||
        tb.dtype() != DType::kFloat32) {
      throw Error(ErrorCode::kInvalidArgument,
                  "outputs differ: FP32 " + std::string(dtype_name(ta.dtype())) + " " +
                      shape_to_string(ta.shape()) + ", INT8 " +
                      std::string(dtype_name(tb.dtype())) + " " + shape_to_string(tb.shape()) +
                      " (only float32 outputs are compared)")
          .with("tensor", fname)
          .with("image", s.name);
    }
    try {
      comparators[j].add(ta.values<float>(), tb.values<float>());
    } catch (Error& e) {
      e.with("tensor", fname).with("image", s.name);
      throw;
    }
  }
}

void add_to_task(TaskState& task, Task kind, const EvalSample& s,
                 const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b,
                 const std::string& first_output) {
  const Tensor& first_a = a.at(first_output);
  const Tensor& first_b = b.at(first_output);
  switch (kind) {
    case Task::kRaw:
      break;
    case Task::kYolo:
      task.add_yolo(s, first_a, first_b);
      break;
    case Task::kYunet:
      task.add_yunet(s, a, b);
      break;
    case Task::kEmbedding:
      task.add_embedding(s, first_a, first_b);
      break;
  }
}

// The last sample's detections on its thumbnail: what a deployed model reports (YOLO: score
// above reference_conf; YuNet: the decoded faces), at most kMaxBoxes per model by score.
void add_boxes(const EvalOptions& o, const TaskState& task, const EvalSample& s,
               ReportThumbnail& t) {
  constexpr std::size_t kMaxBoxes = 30;
  const float min_score = o.task == Task::kYolo ? o.reference_conf : 0.0f;
  const Tensor& in = s.inputs.begin()->second;
  t.boxes_on_source = s.geometry.has_value();
  t.source_w = s.geometry ? s.geometry->image_w : static_cast<int>(in.shape().back());
  t.source_h =
      s.geometry ? s.geometry->image_h : static_cast<int>(in.shape()[in.shape().size() - 2]);
  for (const bool int8 : {false, true}) {
    std::vector<Detection> d = (int8 ? task.det_int8 : task.det_fp32).back().detections;
    std::erase_if(d, [&](const Detection& x) { return !(x.score > min_score); });
    std::stable_sort(d.begin(), d.end(),
                     [](const Detection& a, const Detection& b) { return a.score > b.score; });
    if (d.size() > kMaxBoxes) d.resize(kMaxBoxes);
    for (const Detection& x : d) {
      const std::size_t id = static_cast<std::size_t>(x.class_id);
      std::string label = id < task.class_names.size() && !task.class_names[id].empty()
                              ? task.class_names[id]
                              : std::to_string(x.class_id);
      label += " " + format_number(x.score, 2);
      t.boxes.push_back({x.box.x1, x.box.y1, x.box.x2, x.box.y2, std::move(label), int8});
    }
  }
}

// Samples [first, first + count) through both models, into the comparators and the task.
void evaluate_chunk(const EvalOptions& o, SampleSource& source, std::size_t first,
                    std::size_t count, ModelRunner& fp32, ModelRunner& int8,
                    const NamePairs& input_pairs, const NamePairs& output_pairs,
                    std::vector<TensorComparator>& comparators, TaskState& task, EvalResult& r) {
  std::vector<EvalSample> samples;
  std::vector<TensorMap> in_fp32, in_int8;
  for (std::size_t i = first; i < first + count; ++i) {
    samples.push_back(source.get(i, i < o.thumbnails));
    in_fp32.push_back(samples.back().inputs);
    TensorMap m;
    for (const auto& [f, q] : input_pairs) m[q] = samples.back().inputs.at(f);
    in_int8.push_back(std::move(m));
  }
  const std::vector<TensorMap> out_a = fp32.run(in_fp32);
  const std::vector<TensorMap> out_b = int8.run(in_int8);
  for (std::size_t k = 0; k < count; ++k) {
    const EvalSample& s = samples[k];
    if (task.overlap) {
      const Tensor& in = s.inputs.begin()->second;
      task.overlap->add(s.name, s.file, in.raw_data(), static_cast<std::size_t>(in.nbytes()));
    }
    std::map<std::string, Tensor> a, b;  // by FP32 output name
    compare_outputs(s, out_a[k], out_b[k], output_pairs, comparators, a, b);
    add_to_task(task, o.task, s, a, b, output_pairs[0].first);
    if (first + k >= o.thumbnails) continue;
    if (auto t = sample_thumbnail(s)) {
      if (o.task == Task::kYolo || o.task == Task::kYunet) add_boxes(o, task, s, *t);
      r.thumbnails.push_back(std::move(*t));
    }
  }
}

void yolo_object_metrics(const EvalOptions& o, const TaskState& task, EvalResult& r) {
  r.objects_int8_vs_fp32 = task.objects_agree.result();
  const std::string label = "F1 @ IoU 0.5, score > " + format_score(o.reference_conf);
  if (task.has_labels()) {
    r.objects_fp32_vs_labels = task.objects_fp32_gt.result();
    r.objects_int8_vs_labels = task.objects_int8_gt.result();
    r.metrics.push_back(
        {"f1", label, r.objects_fp32_vs_labels->f1, r.objects_int8_vs_labels->f1, true});
  } else {
    r.metrics.push_back({"f1", label + " (vs FP32's)", 1.0, r.objects_int8_vs_fp32->f1, true});
  }
}

void yunet_face_metrics(const TaskState& task, EvalResult& r) {
  r.faces_int8_vs_fp32 = task.faces_agree.result();
  if (task.has_labels()) {
    r.faces_fp32_vs_labels = task.faces_fp32_gt.result();
    r.faces_int8_vs_labels = task.faces_int8_gt.result();
    r.metrics.push_back(
        {"f1", "F1 @ IoU 0.5", r.faces_fp32_vs_labels->f1, r.faces_int8_vs_labels->f1, true});
  } else {
    r.metrics.push_back(
        {"f1", "F1 @ IoU 0.5 (vs FP32 faces)", 1.0, r.faces_int8_vs_fp32->f1, true});
    r.primary_metric = "f1";
  }
  r.metrics.push_back({"landmark_error_norm", "landmark error (/ face size, vs FP32)", 0.0,
                       r.faces_int8_vs_fp32->landmark_error_norm, false});
}

void detection_metrics(const EvalOptions& o, const TaskState& task, EvalResult& r) {
  if (task.has_labels()) task.check_labels_measure(task.det_fp32.size());
  r.reference = task.has_labels() ? "labels" : "fp32";
  if (o.task == Task::kYolo) r.class_names = task.class_names;
  const MapMatches matches_fp32(task.det_fp32), matches_int8(task.det_int8);
  r.map_fp32 = matches_fp32.accumulate();
  r.map_int8 = matches_int8.accumulate();
  if (task.has_labels() && o.bootstrap_resamples > 0) {
    r.map_drop_interval = bootstrap_map_drop(
        matches_fp32, matches_int8,
        {.resamples = o.bootstrap_resamples, .seed = o.bootstrap_seed, .threads = o.threads});
  }
  r.metrics.push_back({"map50_95", "mAP50-95", r.map_fp32->map50_95, r.map_int8->map50_95, true});
  r.metrics.push_back({"map50", "mAP50", r.map_fp32->map50, r.map_int8->map50, true});
  r.primary_metric = "map50_95";
  if (!task.det_int8_vs_fp32.empty()) r.map_int8_vs_fp32 = evaluate_map(task.det_int8_vs_fp32);
  if (o.task == Task::kYolo) yolo_object_metrics(o, task, r);
  if (o.task == Task::kYunet) yunet_face_metrics(task, r);
  if (std::isnan(r.map_int8->map50_95)) {
    r.notes.push_back(r.reference == "labels"
                          ? "No ground-truth objects in the labels: mAP is undefined."
                          : "The FP32 model found nothing above the reference score: mAP "
                            "against its detections is undefined.");
  }
}

void embedding_metrics(const EvalOptions& o, const TaskState& task, EvalResult& r) {
  r.reference = "fp32";
  r.embedding_cosines = task.cosines;
  double sum = 0, mn = 1.0;
  for (double c : task.cosines) {
    sum += c;
    mn = std::min(mn, c);
  }
  const double mean = sum / static_cast<double>(task.cosines.size());
  r.metrics.push_back({"cosine", "mean cosine (FP32, INT8)", 1.0, mean, true});
  r.metrics.push_back({"min_cosine", "min cosine (FP32, INT8)", 1.0, mn, true});
  r.primary_metric = "cosine";
  if (!o.pairs.empty()) {
    const auto pairs = read_pairs(o.pairs, task.names);
    std::vector<std::uint8_t> same;
    for (const auto& p : pairs) same.push_back(p.same ? 1 : 0);
    r.verification_fp32 = verification_accuracy(pair_scores(task.emb_fp32, pairs), same);
    r.verification_int8 = verification_accuracy(pair_scores(task.emb_int8, pairs), same);
    r.metrics.push_back({"verification_accuracy", "verification accuracy (best threshold)",
                         r.verification_fp32->accuracy, r.verification_int8->accuracy, true});
  }
}

void task_metrics(const EvalOptions& o, const TaskState& task, EvalResult& r) {
  double worst_cos = 1.0;
  for (const auto& oc : r.outputs) worst_cos = std::min(worst_cos, oc.comparison.cosine);
  if (o.task == Task::kRaw) {
    r.reference = "fp32";
    r.metrics.push_back({"cosine", "cosine (worst output)", 1.0, worst_cos, true});
    r.primary_metric = "cosine";
  } else if (o.task == Task::kYolo || o.task == Task::kYunet) {
    detection_metrics(o, task, r);
  } else if (o.task == Task::kEmbedding) {
    embedding_metrics(o, task, r);
  }
}

}  // namespace

EvalResult run_eval(const EvalOptions& o, ModelRunner& fp32, ModelRunner& int8,
                    const Progress& progress) {
  EvalResult r;
  r.options = o;
  const auto input_pairs =
      pair_names(fp32.model().inputs(), int8.model().inputs(), "inputs", r.notes);
  const auto output_pairs =
      pair_names(fp32.model().outputs(), int8.model().outputs(), "outputs", r.notes);
  if (!o.pairs.empty() && o.task != Task::kEmbedding) {
    throw Error(ErrorCode::kInvalidArgument, "--pairs applies to the embedding task");
  }
  auto source = open_eval_source(o, fp32.model());
  TaskState task(o);
  if (o.check_calibration_overlap && fp32.model().inputs().size() == 1) {
    if (auto calibration = read_calibration_samples(o.int8_model)) {
      task.overlap.emplace(std::move(*calibration));
    }
  }
  std::vector<TensorComparator> comparators(output_pairs.size());
  const std::size_t total = source->size();
  const std::size_t chunk = std::max<std::size_t>(1, o.chunk);
  for (std::size_t first = 0; first < total; first += chunk) {
    const std::size_t count = std::min(chunk, total - first);
    evaluate_chunk(o, *source, first, count, fp32, int8, input_pairs, output_pairs, comparators,
                   task, r);
    if (progress) progress(first + count, total);
  }
  r.samples = total;
  for (std::size_t j = 0; j < output_pairs.size(); ++j) {
    r.outputs.push_back({output_pairs[j].first, comparators[j].result()});
  }
  task_metrics(o, task, r);
  if (task.overlap) {
    r.overlap = task.overlap->result();
    if (r.overlap->overlapping > 0) r.notes.push_back("warning: " + r.overlap->warning());
  }
  return r;
}

}  // namespace qcal::eval
