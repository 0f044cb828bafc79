// The Python module qcal._qcal: calibrate, eval and Session over the public API (include/qcal),
// numpy arrays shared both ways, qcal.Error with the context, the GIL released during work.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <functional>
#include <map>

#include "numpy_array.hpp"
#include "qcal/qcal.hpp"
#include "sample_stream.hpp"

namespace py = pybind11;

namespace qcal::python {
namespace {

PyObject* g_error_type = nullptr;  // qcal.Error, created at import

void raise_qcal_error(const Error& e) {
  py::dict context;
  for (const auto& [key, value] : e.context()) context[py::str(key)] = value;
  py::object exc = py::reinterpret_borrow<py::object>(g_error_type)(e.describe());
  exc.attr("code") = error_code_name(e.code());
  exc.attr("message") = e.message();
  exc.attr("context") = context;
  PyErr_SetObject(g_error_type, exc.ptr());
}

// A list of strings from a str or an iterable of str.
std::vector<std::string> strings(const py::handle& v) {
  if (py::isinstance<py::str>(v)) return {v.cast<std::string>()};
  return v.cast<std::vector<std::string>>();
}

std::string path_string(const py::handle& v) {
  return py::str(py::module_::import("os").attr("fspath")(v)).cast<std::string>();
}

using Setter = std::function<void(CalibrateOptions&, const py::handle&)>;

template <typename T, typename Field>
Setter set(Field CalibrateOptions::*field) {
  return [field](CalibrateOptions& o, const py::handle& v) { o.*field = v.cast<T>(); };
}

// Keyword options, spelled as `qcal calibrate`'s long flags with '-' as '_'.
const std::map<std::string, Setter>& calibrate_setters() {
  static const std::map<std::string, Setter> setters = {
      {"recipe", set<std::string>(&CalibrateOptions::recipe)},
      {"size", set<std::vector<int>>(&CalibrateOptions::size)},
      {"num_samples", set<std::int64_t>(&CalibrateOptions::num_samples)},
      {"method",
       [](CalibrateOptions& o, const py::handle& v) { o.method = v.cast<std::string>(); }},
      {"percentile", set<double>(&CalibrateOptions::percentile)},
      {"entropy_floor", set<double>(&CalibrateOptions::entropy_floor)},
      {"ema_momentum", set<double>(&CalibrateOptions::ema_momentum)},
      {"num_bins", set<int>(&CalibrateOptions::num_bins)},
      {"save_stats",
       [](CalibrateOptions& o, const py::handle& v) { o.save_stats = path_string(v); }},
      {"from_stats", [](CalibrateOptions& o, const py::handle& v) { o.from_stats = strings(v); }},
      {"ignore_nonfinite", set<bool>(&CalibrateOptions::ignore_nonfinite)},
      {"per_channel", set<bool>(&CalibrateOptions::per_channel)},
      {"per_tensor", set<bool>(&CalibrateOptions::per_tensor)},
      {"separate_concat_scales", set<bool>(&CalibrateOptions::separate_concat_scales)},
      {"quantize_output_layers", set<bool>(&CalibrateOptions::quantize_output_layers)},
      {"quantize_residual_inputs", set<bool>(&CalibrateOptions::quantize_residual_inputs)},
      {"dominant_noise",
       [](CalibrateOptions& o, const py::handle& v) {
         o.dominant_noise = py::str(v).cast<std::string>();
       }},
      {"dominant_noise_samples", set<std::size_t>(&CalibrateOptions::dominant_noise_samples)},
      {"exclude", [](CalibrateOptions& o, const py::handle& v) { o.exclude = strings(v); }},
      {"activations", set<std::string>(&CalibrateOptions::activations)},
      {"trt_version", set<int>(&CalibrateOptions::trt_version)},
      {"sensitivity", set<bool>(&CalibrateOptions::sensitivity)},
      {"max_drop", [](CalibrateOptions& o, const py::handle& v) { o.max_drop = v.cast<double>(); }},
      {"metric", set<std::string>(&CalibrateOptions::metric)},
      {"eval_data", [](CalibrateOptions& o, const py::handle& v) { o.eval_data = path_string(v); }},
      {"labels", [](CalibrateOptions& o, const py::handle& v) { o.labels = path_string(v); }},
      {"eval_samples", set<std::size_t>(&CalibrateOptions::eval_samples)},
      {"saturation", set<bool>(&CalibrateOptions::saturation)},
      {"no_report", set<bool>(&CalibrateOptions::no_report)},
      {"threads", set<int>(&CalibrateOptions::threads)},
  };
  return setters;
}

std::string option_names() {
  std::string names;
  for (const auto& [name, setter] : calibrate_setters())
    names += (names.empty() ? "" : ", ") + name;
  return names;
}

CalibrateOptions calibrate_options(const py::kwargs& kwargs) {
  CalibrateOptions o;
  for (const auto& [key, value] : kwargs) {
    const std::string name = py::str(key);
    const auto it = calibrate_setters().find(name);
    if (it == calibrate_setters().end()) {
      throw py::type_error("calibrate() got an unknown option '" + name +
                           "'; options are the long flags of `qcal calibrate`: " + option_names());
    }
    try {
      it->second(o, value);
    } catch (const py::cast_error&) {
      throw py::type_error("calibrate() option '" + name + "' got a value of type " +
                           std::string(py::str(py::type::of(value).attr("__name__"))));
    }
  }
  return o;
}

// The data argument: a path, an array of samples, or an iterable of samples.
Data to_data(const py::handle& data, std::shared_ptr<PyStream>& stream) {
  if (data.is_none()) return Data::path("");
  if (py::isinstance<py::str>(data) || py::hasattr(data, "__fspath__")) {
    return Data::path(path_string(data));
  }
  if (py::isinstance<py::array>(data)) return Data::array(array_from_numpy(data, "data"));
  if (py::isinstance<py::dict>(data)) {
    throw py::type_error(
        "calibrate() data: give an array [N, ...], a path, or an iterable of samples (arrays or "
        "{input name: array} dicts); a dict alone is one sample: wrap it in a list");
  }
  if (py::hasattr(data, "get_next") || py::hasattr(data, "__iter__")) {
    stream = std::make_shared<PyStream>(data);
    return Data::stream(stream);
  }
  throw py::type_error("calibrate() data: expected a path, a numpy array or an iterable, got " +
                       std::string(py::str(py::type::of(data).attr("__name__"))));
}

// Progress to a Python callable (under the GIL); Ctrl-C and the callable's exceptions cancel.
struct PyControl {
  Control control;
  std::atomic<bool> cancel{false};
  std::shared_ptr<py::error_already_set> pending;

  explicit PyControl(py::object progress) {
    control.cancel = &cancel;
    control.progress = [this, progress](std::string_view stage, std::int64_t done,
                                        std::int64_t total) {
      py::gil_scoped_acquire gil;
      try {
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (!progress.is_none()) progress(std::string(stage), done, total);
      } catch (py::error_already_set& e) {
        pending = std::make_shared<py::error_already_set>(std::move(e));
        cancel = true;
      }
    };
  }
  ~PyControl() {
    py::gil_scoped_acquire gil;
    pending.reset();
  }
};

// Runs `work` without the GIL; a Python exception raised inside (by the data or the progress
// callable) is re-raised as itself rather than as the qcal.Error that stopped the run.
template <typename Work>
auto run_released(PyControl& pc, const std::shared_ptr<PyStream>& stream, Work work) {
  try {
    py::gil_scoped_release release;
    return work();
  } catch (const Error&) {
    if (stream && stream->pending_error()) throw py::error_already_set(*stream->pending_error());
    if (pc.pending) throw py::error_already_set(*pc.pending);
    throw;
  }
}

py::dict range_dict(const TensorRange& r) {
  py::dict d;
  d["min"] = r.min;
  d["max"] = r.max;
  d["scale"] = r.scale;
  d["zero_point"] = r.zero_point;
  d["qdq"] = r.qdq;
  return d;
}

py::object py_calibrate(const py::object& model, const py::object& data, const py::object& output,
                        const py::kwargs& kwargs) {
  py::object progress = py::none();
  py::kwargs rest;
  for (const auto& [key, value] : kwargs) {
    if (py::str(key).cast<std::string>() == "progress") {
      progress = py::reinterpret_borrow<py::object>(value);
    } else {
      rest[key] = value;
    }
  }
  const CalibrateOptions options = calibrate_options(rest);
  std::shared_ptr<PyStream> stream;
  const Data d = to_data(data, stream);
  const std::string model_path = path_string(model), out = path_string(output);
  PyControl pc(progress);
  return py::cast(run_released(
      pc, stream, [&] { return qcal::calibrate(model_path, d, out, options, pc.control); }));
}

EvalOptions eval_options(const py::kwargs& kwargs) {
  py::dict d;
  for (const auto& [key, value] : kwargs) d[key] = value;
  EvalOptions o;
  auto take = [&](const char* name, auto& field) {
    if (!d.contains(name)) return;
    try {
      field = d[name].cast<std::remove_reference_t<decltype(field)>>();
    } catch (const py::cast_error&) {
      throw py::type_error(std::string("eval() option '") + name + "' has the wrong type");
    }
    PyDict_DelItemString(d.ptr(), name);
  };
  take("recipe", o.recipe), take("size", o.size), take("task", o.task);
  take("labels", o.labels), take("pairs", o.pairs), take("runtime", o.runtime);
  take("limit", o.limit), take("conf", o.conf), take("iou", o.iou);
  take("reference_conf", o.reference_conf), take("face_score", o.face_score);
  take("face_nms", o.face_nms), take("threads", o.threads);
  for (const auto& [key, value] : d) {
    throw py::type_error("eval() got an unknown option '" + py::str(key).cast<std::string>() +
                         "'; options are the long flags of `qcal eval`");
  }
  return o;
}

py::object py_eval(const py::object& fp32, const py::object& int8, const py::object& data,
                   const py::object& output, const py::kwargs& kwargs) {
  const EvalOptions options = eval_options(kwargs);
  const std::string f = path_string(fp32), q = path_string(int8), dp = path_string(data);
  const std::string out = output.is_none() ? std::string() : path_string(output);
  PyControl pc{py::none()};
  return py::cast(run_released(pc, nullptr,
                               [&] { return qcal::evaluate(f, q, dp, out, options, pc.control); }));
}

py::dict metrics_dict(const EvalResult& r) {
  py::dict out;
  for (const auto& [key, m] : r.metrics) {
    py::dict d;
    d["label"] = m.label;
    d["fp32"] = m.fp32 ? py::object(py::float_(*m.fp32)) : py::object(py::none());
    d["int8"] = m.int8;
    d["drop_pp"] = m.drop_pp ? py::object(py::float_(*m.drop_pp)) : py::object(py::none());
    out[py::str(key)] = d;
  }
  return out;
}

py::dict outputs_dict(const EvalResult& r) {
  py::dict out;
  for (const auto& [name, m] : r.outputs) {
    py::dict d;
    d["cosine"] = m.cosine;
    d["sqnr_db"] = m.sqnr_db;
    d["max_abs_error"] = m.max_abs_error;
    d["mean_abs_error"] = m.mean_abs_error;
    out[py::str(name)] = d;
  }
  return out;
}

py::list infos(const std::vector<TensorInfo>& values) {
  py::list out;
  for (const auto& v : values) {
    py::dict d;
    d["name"] = v.name;
    d["dtype"] = std::string(element_type_name(v.type));
    d["shape"] = v.shape;
    out.append(d);
  }
  return out;
}

// feeds: {input name: array}, or one array for a single-input model.
py::dict session_run(Session& s, const py::object& feeds) {
  std::map<std::string, Array> in;
  if (py::isinstance<py::dict>(feeds)) {
    for (const auto& [key, value] : feeds.cast<py::dict>()) {
      const std::string name = py::str(key);
      in.emplace(name, array_from_numpy(value, "input '" + name + "'"));
    }
  } else {
    if (s.inputs().size() != 1) {
      throw py::type_error("Session.run: the model has " + std::to_string(s.inputs().size()) +
                           " inputs: give {input name: array}");
    }
    in.emplace(s.inputs()[0].name, array_from_numpy(feeds, "input '" + s.inputs()[0].name + "'"));
  }
  std::map<std::string, Array> out;
  {
    py::gil_scoped_release release;
    out = s.run(in);
  }
  py::dict result;
  for (const auto& [name, array] : out) result[py::str(name)] = numpy_from_array(array);
  return result;
}

void bind_results(py::module_& m) {
  py::class_<CalibrateResult>(m, "CalibrateResult")
      .def_readonly("qdq_model", &CalibrateResult::qdq_model)
      .def_readonly("calibration_cache", &CalibrateResult::calibration_cache)
      .def_readonly("ranges_json", &CalibrateResult::ranges_json)
      .def_readonly("stats", &CalibrateResult::stats)
      .def_readonly("report", &CalibrateResult::report)
      .def_readonly("sensitivity", &CalibrateResult::sensitivity)
      .def_readonly("mixed_precision", &CalibrateResult::mixed_precision)
      .def_readonly("exclude_list", &CalibrateResult::exclude_list)
      .def_readonly("saturation", &CalibrateResult::saturation)
      .def_property_readonly("ranges",
                             [](const CalibrateResult& r) {
                               py::dict d;
                               for (const auto& [k, v] : r.ranges) d[py::str(k)] = range_dict(v);
                               return d;
                             })
      .def_readonly("samples", &CalibrateResult::samples)
      .def_readonly("tensors", &CalibrateResult::tensors)
      .def_readonly("qdq_pairs", &CalibrateResult::qdq_pairs)
      .def_readonly("int8_weights", &CalibrateResult::int8_weights)
      .def_readonly("float_nodes", &CalibrateResult::float_nodes)
      .def_readonly("warnings", &CalibrateResult::warnings)
      .def_readonly("method", &CalibrateResult::method)
      .def_readonly("command", &CalibrateResult::command)
      .def_readonly("json", &CalibrateResult::json)
      .def("__repr__", [](const CalibrateResult& r) {
        return "<qcal.CalibrateResult " + r.qdq_model + ": " + std::to_string(r.samples) +
               " samples, " + std::to_string(r.qdq_pairs) + " Q/DQ pairs>";
      });
  py::class_<EvalResult>(m, "EvalResult")
      .def_readonly("samples", &EvalResult::samples)
      .def_readonly("reference", &EvalResult::reference)
      .def_readonly("primary_metric", &EvalResult::primary_metric)
      .def_property_readonly("metrics", &metrics_dict)
      .def_property_readonly("outputs", &outputs_dict)
      .def_readonly("notes", &EvalResult::notes)
      .def_readonly("eval_json", &EvalResult::eval_json)
      .def_readonly("report", &EvalResult::report)
      .def_readonly("json", &EvalResult::json);
}

void bind_session(py::module_& m) {
  py::class_<Session>(m, "Session")
      .def(py::init([](const py::object& model, int threads) {
             const std::string path = path_string(model);
             py::gil_scoped_release release;
             return std::make_unique<Session>(path, threads);
           }),
           py::arg("model"), py::arg("threads") = 0)
      .def_property_readonly("inputs", [](const Session& s) { return infos(s.inputs()); })
      .def_property_readonly("outputs", [](const Session& s) { return infos(s.outputs()); })
      .def("run", &session_run, py::arg("feeds"));
}

}  // namespace
}  // namespace qcal::python

PYBIND11_MODULE(_qcal, m) {
  using namespace qcal::python;
  m.doc() = "qcal: INT8 calibration of ONNX vision models (QDQ ONNX, TensorRT cache, eval)";
  g_error_type = PyErr_NewException("qcal.Error", PyExc_Exception, nullptr);
  m.attr("Error") = py::handle(g_error_type);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const qcal::Error& e) {
      raise_qcal_error(e);
    }
  });
  m.attr("__version__") = qcal::version();
  bind_results(m);
  bind_session(m);
  m.def("calibrate", &py_calibrate, py::arg("model"), py::arg("data"), py::arg("output"));
  m.def("eval", &py_eval, py::arg("fp32_model"), py::arg("int8_model"), py::arg("data"),
        py::arg("output") = py::none());
}
