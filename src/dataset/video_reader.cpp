// FFmpeg-library video reader: demux-only pre-pass, then a decode that skips non-reference frames
// nobody wants, reproducing cv::VideoCapture's (OpenCV 4.6, FFmpeg backend) indices, timestamps
// and BGR conversion, and checking the decoder's output against the pre-pass as it goes.
#include "dataset/video_reader.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

namespace fs = std::filesystem;

namespace qcal::dataset {

namespace {

struct FormatCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecCloser {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameCloser {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketCloser {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsCloser {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecCloser>;
using FramePtr = std::unique_ptr<AVFrame, FrameCloser>;
using PacketPtr = std::unique_ptr<AVPacket, PacketCloser>;
using SwsPtr = std::unique_ptr<SwsContext, SwsCloser>;

// OpenCV's helpers, with its arithmetic, so that timestamps match to the last bit.
double r2d(AVRational r) {
  return r.num == 0 || r.den == 0 ? 0. : static_cast<double>(r.num) / r.den;
}
// OpenCV's eps_zero: a rate or duration below it counts as unknown.
constexpr double kEpsZero = 0.000025;
// OpenCV 4.6 gives up a grab after 2^9 packets of other streams in a row; files with runs
// anywhere near that are left to cv::VideoCapture itself.
constexpr std::int64_t kMaxForeignRun = 256;
// A container without a frame count whose packets fall this far short of the count estimated
// from its duration may be truncated: left to cv::VideoCapture, which reports truncation.
constexpr double kShortFraction = 0.9;
// EAGAIN from the demuxer is retried at most this often in a row (files never need it).
constexpr int kMaxAgain = 1000;

// Opens as OpenCV does: avformat_open_input, avformat_find_stream_info, the first video stream.
bool open_format(const fs::path& path, FormatPtr& fmt, int& stream, std::string& why) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0) {
    why = "libavformat cannot open it";
    return false;
  }
  fmt.reset(raw);
  if (avformat_find_stream_info(raw, nullptr) < 0) {
    why = "no stream information";
    return false;
  }
  stream = -1;
  for (unsigned i = 0; i < raw->nb_streams; ++i) {
    if (raw->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
      stream = static_cast<int>(i);
      break;
    }
  }
  if (stream < 0) {
    why = "no video stream";
    return false;
  }
  return true;
}

// Seconds as `cap.get(CAP_PROP_POS_MSEC) / 1000` gives them for a frame stamped `pts`.
double opencv_seconds(std::int64_t pts, std::int64_t start_time, AVRational time_base) {
  if (pts == AV_NOPTS_VALUE) return 0.0;  // OpenCV reports 0 ms for a frame without a stamp
  const double sec = static_cast<double>(pts - start_time) * r2d(time_base);
  const double msec = sec * 1000;
  return msec / 1000.0;
}

}  // namespace

struct VideoReader::Impl {
  fs::path path;
  FormatPtr fmt;  // the pre-pass's demuxer, rewound for decode() (saves a second stream probe)
  int stream = -1;
  AVRational time_base{0, 1};
  std::int64_t start_time = 0;
  AVCodecID codec_id = AV_CODEC_ID_NONE;
  int width = 0;
  int height = 0;
  // Degrees OpenCV 4.6 reads from the display matrix (CAP_PROP_ORIENTATION_META) and turns the
  // frame clockwise by (CAP_PROP_ORIENTATION_AUTO is on): 90 for a phone's `rotate=90` tag.
  int rotation = 0;
  double fps = 0.0;
  std::vector<std::int64_t> sorted_pts;      // display order
  std::vector<std::int64_t> packet_pts;      // decode order
  std::vector<std::int64_t> packet_display;  // decode order -> display index
  // Decode order; AV_NOPTS_VALUE where the container has none (Matroska's first packets of a
  // stream with B-frames): OpenCV then stamps the frame that comes out there with 0 ms.
  std::vector<std::int64_t> packet_dts;
  std::int64_t last_dts = AV_NOPTS_VALUE;  // the pre-pass's last known dts
  bool dts_gaps = false;                   // some packet has no dts
  std::vector<double> times;
  // The decoder outputs frame i while decoding packet i + delay only if every frame's packet
  // comes at most this many packets after its display position.
  std::int64_t reorder_depth = 0;
  std::int64_t decoded = 0;

  // open()'s steps, each false with the reason in `why`.
  bool read_stream_parameters(AVStream* st, std::string& why);
  bool read_packets(std::string& why);
  bool index_packets(const AVStream* st, std::string& why);
  struct DecodePass;  // decode()'s state
};

VideoReader::VideoReader() : impl_(std::make_unique<Impl>()) {}
VideoReader::~VideoReader() = default;

std::int64_t VideoReader::frame_count() const {
  return static_cast<std::int64_t>(impl_->sorted_pts.size());
}
double VideoReader::fps() const { return impl_->fps; }
const std::vector<double>& VideoReader::times() const { return impl_->times; }
bool VideoReader::can_skip() const { return impl_->codec_id == AV_CODEC_ID_H264; }
std::int64_t VideoReader::frames_decoded() const { return impl_->decoded; }

bool VideoReader::open(const fs::path& path, std::string& why) {
  Impl& m = *impl_;
  m = Impl{};
  m.path = path;
  if (!open_format(path, m.fmt, m.stream, why)) return false;
  AVStream* st = m.fmt->streams[m.stream];
  return m.read_stream_parameters(st, why) && m.read_packets(why) && m.index_packets(st, why);
}

// The stream's decoder, size, start, rate and rotation.
bool VideoReader::Impl::read_stream_parameters(AVStream* st, std::string& why) {
  const AVCodecParameters* par = st->codecpar;
  if (avcodec_find_decoder(par->codec_id) == nullptr) {
    why = "no decoder";
    return false;
  }
  if (par->width <= 0 || par->height <= 0) {
    why = "unknown frame size";
    return false;
  }
  if (st->start_time == AV_NOPTS_VALUE) {
    why = "no stream start time";
    return false;
  }
  time_base = st->time_base;
  start_time = st->start_time;
  codec_id = par->codec_id;
  width = par->width;
  height = par->height;
  // CAP_PROP_FPS: the average rate (files without one are left to OpenCV).
  fps = r2d(st->avg_frame_rate);
  if (!(fps >= kEpsZero) || !std::isfinite(fps)) {
    why = "no average frame rate";
    return false;
  }
  // The display matrix, as OpenCV 4.6 turns it into an angle.
  if (const std::uint8_t* matrix =
          av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr)) {
    rotation = cvRound(av_display_rotation_get(reinterpret_cast<const std::int32_t*>(matrix)));
    if (rotation < 0) rotation += 360;
  }
  return true;
}

// The pre-pass: every video packet's pts and dts, checked, without decoding.
bool VideoReader::Impl::read_packets(std::string& why) {
  PacketPtr pkt(av_packet_alloc());
  if (!pkt) {
    why = "out of memory";
    return false;
  }
  std::int64_t foreign_run = 0;
  int again = 0;
  for (;;) {
    const int r = av_read_frame(fmt.get(), pkt.get());
    if (r == AVERROR(EAGAIN) && ++again < kMaxAgain) continue;
    again = 0;
    if (r == AVERROR_EOF) break;
    if (r < 0) {
      why = "demux error";
      return false;
    }
    const bool video = pkt->stream_index == stream;
    const std::int64_t pts = pkt->pts;
    const std::int64_t dts = pkt->dts;
    const int flags = pkt->flags;
    av_packet_unref(pkt.get());
    if (!video) {
      if (++foreign_run > kMaxForeignRun) {
        why = "long runs of other streams";
        return false;
      }
      continue;
    }
    foreign_run = 0;
    if (pts == AV_NOPTS_VALUE || pts < 0 ||
        (dts != AV_NOPTS_VALUE && last_dts != AV_NOPTS_VALUE && dts <= last_dts)) {
      why = "a packet without a usable timestamp";
      return false;
    }
    if (dts == AV_NOPTS_VALUE) {
      dts_gaps = true;
    } else {
      last_dts = dts;
    }
    if ((flags & (AV_PKT_FLAG_DISCARD | AV_PKT_FLAG_CORRUPT)) != 0) {
      why = "a corrupt or discarded packet";
      return false;
    }
    packet_pts.push_back(pts);
    packet_dts.push_back(dts);
  }
  if (foreign_run > kMaxForeignRun) {
    why = "long runs of other streams";
    return false;
  }
  return true;
}

// Display order, the container's frame count, and each packet's display index.
bool VideoReader::Impl::index_packets(const AVStream* st, std::string& why) {
  const auto n = static_cast<std::int64_t>(packet_pts.size());
  if (n == 0) {
    why = "no video packets";
    return false;
  }
  sorted_pts = packet_pts;
  std::sort(sorted_pts.begin(), sorted_pts.end());
  if (std::adjacent_find(sorted_pts.begin(), sorted_pts.end()) != sorted_pts.end()) {
    why = "duplicate timestamps";
    return false;
  }
  // The container's count (CAP_PROP_FRAME_COUNT): OpenCV stops after it, and reports a file with
  // far fewer frames as truncated; both cases are left to OpenCV.
  if (st->nb_frames > 0) {
    if (st->nb_frames != n) {
      why = "packet count differs from the container's frame count";
      return false;
    }
  } else {
    double duration = static_cast<double>(fmt->duration) / AV_TIME_BASE;
    if (duration < kEpsZero) duration = static_cast<double>(st->duration) * r2d(st->time_base);
    const double estimate = std::floor(duration * fps + 0.5);
    if (estimate > 0 && static_cast<double>(n) < kShortFraction * estimate) {
      why = "fewer packets than the duration implies";
      return false;
    }
  }
  packet_display.reserve(packet_pts.size());
  for (std::size_t k = 0; k < packet_pts.size(); ++k) {
    const std::int64_t d =
        std::lower_bound(sorted_pts.begin(), sorted_pts.end(), packet_pts[k]) - sorted_pts.begin();
    packet_display.push_back(d);
    reorder_depth = std::max(reorder_depth, static_cast<std::int64_t>(k) - d);
  }
  times.assign(sorted_pts.size(), 0.0);  // known once the decoder's delay is (decode())
  return true;
}

// decode()'s state: the demuxer and decoder, the plan, and what the decoder's output has shown.
struct VideoReader::Impl::DecodePass {
  enum class Outcome { kMore, kDone, kFailed };

  DecodePass(Impl& impl, const PlanFn& plan_fn, const FrameFn& deliver_fn, bool skippable,
             std::string& reason)
      : m(impl),
        plan(plan_fn),
        deliver(deliver_fn),
        can_skip(skippable),
        why(reason),
        n(static_cast<std::int64_t>(impl.sorted_pts.size())),
        skipped(static_cast<std::size_t>(n), false) {}

  bool rewind();
  bool open_decoder();
  bool run();
  Outcome on_frame();
  bool check_frame_order(std::int64_t pts);
  Outcome learn_delay(std::int64_t index);
  bool convert_and_deliver(std::int64_t index);
  Outcome send_next_packet();
  void make_plan();
  std::int64_t predicted_dts(std::int64_t index) const {
    return index + delay < n ? m.packet_dts[static_cast<std::size_t>(index + delay)]
                             : AV_NOPTS_VALUE;
  }

  Impl& m;
  const PlanFn& plan;
  const FrameFn& deliver;
  const bool can_skip;
  std::string& why;

  FormatPtr fmt;
  int stream = -1;
  CodecPtr ctx;
  PacketPtr pkt;
  FramePtr frame;
  FramePtr bgr;
  SwsPtr sws;
  int sws_format = -1;
  int sws_w = 0;
  int sws_h = 0;

  const std::int64_t n;
  std::vector<bool> wanted;
  std::vector<bool> skipped;
  std::int64_t last_wanted = -1;
  bool planned = false;
  // OpenCV 4.6 stamps a decoded frame with its pkt_dts: the dts of the packet being decoded when
  // the frame came out, so frame i gets the dts of packet i + delay, where delay is the decoder's
  // reorder delay (has_b_frames), and the last `delay` frames, flushed at the end, get no stamp
  // (0 ms). The delay is read from the first frame out, before anything is skipped, so the
  // decoder has seen exactly OpenCV's packets until then; every later frame's pkt_dts is checked
  // against that rule while nothing has been skipped, and the delay must not change after.
  std::int64_t delay = -1;
  int delay_has_b = 0;
  bool skipping_started = false;

  std::int64_t next = 0;       // next display index the decoder should output
  std::int64_t packet_no = 0;  // video packets sent, in decode order
  bool flushing = false;
  int again = 0;
};

bool VideoReader::decode(const PlanFn& plan, const FrameFn& deliver, std::string& why) {
  Impl& m = *impl_;
  m.decoded = 0;
  Impl::DecodePass pass(m, plan, deliver, can_skip(), why);
  return pass.rewind() && pass.open_decoder() && pass.run();
}

// Back to the first packet: the decode pass must read exactly the pre-pass's packets (each is
// checked), as a fresh open would give them; if the demuxer cannot seek there, open again.
bool VideoReader::Impl::DecodePass::rewind() {
  fmt = std::move(m.fmt);
  stream = m.stream;
  // The first packet's dts, or the earliest pts when it has none: at or before every packet.
  const std::int64_t first_ts = m.packet_dts.front() != AV_NOPTS_VALUE
                                    ? std::min(m.packet_dts.front(), m.sorted_pts.front())
                                    : m.sorted_pts.front();
  if (!fmt || av_seek_frame(fmt.get(), stream, first_ts, AVSEEK_FLAG_BACKWARD) < 0) {
    fmt.reset();
    if (!open_format(m.path, fmt, stream, why)) return false;
  }
  if (stream != m.stream || fmt->streams[stream]->start_time != m.start_time) {
    why = "the file changed";
    return false;
  }
  return true;
}

bool VideoReader::Impl::DecodePass::open_decoder() {
  const AVCodecParameters* par = fmt->streams[stream]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  ctx.reset(codec != nullptr ? avcodec_alloc_context3(codec) : nullptr);
  if (!ctx) {
    why = "no decoder";
    return false;
  }
  // OpenCV 4.6: one decoder thread per online CPU, set before the stream parameters.
  ctx->thread_count = std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  if (avcodec_parameters_to_context(ctx.get(), par) < 0 ||
      avcodec_open2(ctx.get(), codec, nullptr) < 0) {
    why = "the decoder cannot be opened";
    return false;
  }
  pkt.reset(av_packet_alloc());
  frame.reset(av_frame_alloc());
  bgr.reset(av_frame_alloc());
  if (!pkt || !frame || !bgr) {
    why = "out of memory";
    return false;
  }
  return true;
}

void VideoReader::Impl::DecodePass::make_plan() {
  wanted = plan(m.times);
  wanted.resize(static_cast<std::size_t>(n), false);
  for (std::int64_t i = n - 1; i >= 0; --i) {
    if (wanted[static_cast<std::size_t>(i)]) {
      last_wanted = i;
      break;
    }
  }
  planned = true;
}

bool VideoReader::Impl::DecodePass::run() {
  for (;;) {
    const int r = avcodec_receive_frame(ctx.get(), frame.get());
    if (r >= 0) {
      const Outcome o = on_frame();
      if (o != Outcome::kMore) return o == Outcome::kDone;
      av_frame_unref(frame.get());
      continue;
    }
    if (r == AVERROR_EOF) break;
    if (r != AVERROR(EAGAIN) || flushing) {
      why = "decoder error";
      return false;
    }
    if (send_next_packet() == Outcome::kFailed) return false;
  }
  if (!planned || last_wanted >= next) {
    why = "the decoder's output ended before frame " +
          std::to_string(std::max<std::int64_t>(next, 0));
    return false;
  }
  return true;
}

// Reads the next packet and sends it to the decoder (or starts the flush at the end).
VideoReader::Impl::DecodePass::Outcome VideoReader::Impl::DecodePass::send_next_packet() {
  int r = av_read_frame(fmt.get(), pkt.get());
  if (r == AVERROR(EAGAIN) && ++again < kMaxAgain) return Outcome::kMore;
  again = 0;
  if (r == AVERROR_EOF) {
    flushing = true;
    if (avcodec_send_packet(ctx.get(), nullptr) < 0) {
      why = "decoder error at the end";
      return Outcome::kFailed;
    }
    return Outcome::kMore;
  }
  if (r < 0) {
    why = "demux error";
    return Outcome::kFailed;
  }
  if (pkt->stream_index != stream) {
    av_packet_unref(pkt.get());
    return Outcome::kMore;
  }
  if (packet_no >= n || pkt->pts != m.packet_pts[static_cast<std::size_t>(packet_no)]) {
    av_packet_unref(pkt.get());
    why = "packets differ from the pre-pass";
    return Outcome::kFailed;
  }
  const std::int64_t d = m.packet_display[static_cast<std::size_t>(packet_no++)];
  // A frame nobody wants is sent with AVDISCARD_NONREF: the decoder drops it if no other frame
  // refers to it. Frame threading copies skip_frame into the worker with each packet.
  const bool skip = can_skip && planned && !wanted[static_cast<std::size_t>(d)];
  skipped[static_cast<std::size_t>(d)] = skip;
  skipping_started = skipping_started || skip;
  ctx->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
  r = avcodec_send_packet(ctx.get(), pkt.get());
  av_packet_unref(pkt.get());
  if (r < 0) {
    why = "the decoder rejected a packet";
    return Outcome::kFailed;
  }
  return Outcome::kMore;
}

// A frame the decoder output: checked against the pre-pass, then delivered when wanted.
VideoReader::Impl::DecodePass::Outcome VideoReader::Impl::DecodePass::on_frame() {
  ++m.decoded;
  const std::int64_t pts = frame->pts;
  if (pts == AV_NOPTS_VALUE) {
    why = "a decoded frame without a timestamp";
    return Outcome::kFailed;
  }
  if (!check_frame_order(pts)) return Outcome::kFailed;
  if (frame->decode_error_flags != 0 || (frame->flags & AV_FRAME_FLAG_CORRUPT) != 0) {
    why = "a corrupt frame";
    return Outcome::kFailed;
  }
  if (frame->width != m.width || frame->height != m.height) {
    why = "the frame size changes";
    return Outcome::kFailed;
  }
  const std::int64_t index = next++;
  if (delay < 0) {
    const Outcome o = learn_delay(index);
    if (o != Outcome::kMore) return o;
  } else if (!skipping_started ? frame->pkt_dts != predicted_dts(index)
                               : ctx->has_b_frames != delay_has_b) {
    why = "the decoder's delay changed";
    return Outcome::kFailed;
  }
  if (planned && wanted[static_cast<std::size_t>(index)]) {
    if (!convert_and_deliver(index)) return Outcome::kFailed;
    if (index == last_wanted) return Outcome::kDone;
  }
  return Outcome::kMore;
}

// Moves `next` to the frame stamped `pts`: only skipped frames may be missing before it.
bool VideoReader::Impl::DecodePass::check_frame_order(std::int64_t pts) {
  while (next < n && m.sorted_pts[static_cast<std::size_t>(next)] < pts) {
    if (!skipped[static_cast<std::size_t>(next)]) {
      why = "the decoder dropped frame " + std::to_string(next);
      return false;
    }
    ++next;
  }
  if (next >= n || m.sorted_pts[static_cast<std::size_t>(next)] != pts) {
    why = "a decoded frame with an unexpected timestamp";
    return false;
  }
  return true;
}

// The first frame out (display index 0): the decoder's delay, hence every frame's timestamp,
// hence the plan. kDone when the plan wants nothing.
VideoReader::Impl::DecodePass::Outcome VideoReader::Impl::DecodePass::learn_delay(
    std::int64_t index) {
  if (frame->pkt_dts == AV_NOPTS_VALUE) {
    if (m.dts_gaps) {
      why = "the first frame came out at a packet without a dts";
      return Outcome::kFailed;
    }
    delay = n;  // every frame came out only at the end
  } else {
    const auto it = std::find(m.packet_dts.begin(), m.packet_dts.end(), frame->pkt_dts);
    if (it == m.packet_dts.end()) {
      why = "a decoded frame with an unknown packet dts";
      return Outcome::kFailed;
    }
    delay = (it - m.packet_dts.begin()) - index;
  }
  if (delay < m.reorder_depth) {
    why = "the decoder's delay is shorter than the stream's reordering";
    return Outcome::kFailed;
  }
  delay_has_b = ctx->has_b_frames;
  for (std::int64_t i = 0; i < n; ++i) {
    m.times[static_cast<std::size_t>(i)] =
        opencv_seconds(predicted_dts(i), m.start_time, m.time_base);
  }
  make_plan();
  if (last_wanted < 0) return Outcome::kDone;
  return Outcome::kMore;
}

// OpenCV's conversion: a BICUBIC-flagged swscale context over the coded size into a
// 32-byte-aligned BGR24 frame, created at the first retrieved frame, viewed at the stream's size,
// then rotated by the display matrix.
bool VideoReader::Impl::DecodePass::convert_and_deliver(std::int64_t index) {
  const int cw = ctx->coded_width;
  const int ch = ctx->coded_height;
  if (!sws) {
    sws.reset(sws_getCachedContext(nullptr, cw, ch, static_cast<AVPixelFormat>(frame->format), cw,
                                   ch, AV_PIX_FMT_BGR24, SWS_BICUBIC, nullptr, nullptr, nullptr));
    bgr->format = AV_PIX_FMT_BGR24;
    bgr->width = cw;
    bgr->height = ch;
    if (!sws || av_frame_get_buffer(bgr.get(), 32) != 0) {
      why = "no conversion to BGR";
      return false;
    }
    sws_format = frame->format;
    sws_w = cw;
    sws_h = ch;
  } else if (frame->format != sws_format || cw != sws_w || ch != sws_h) {
    why = "the pixel format changes";
    return false;
  }
  if (m.width > cw || m.height > ch) {
    why = "coded size smaller than the frame";
    return false;
  }
  sws_scale(sws.get(), frame->data, frame->linesize, 0, frame->height, bgr->data, bgr->linesize);
  const cv::Mat view(m.height, m.width, CV_8UC3, bgr->data[0],
                     static_cast<std::size_t>(bgr->linesize[0]));
  if (m.rotation == 90 || m.rotation == 180 || m.rotation == 270) {
    cv::Mat rotated;
    cv::rotate(view, rotated,
               m.rotation == 90
                   ? cv::ROTATE_90_CLOCKWISE
                   : (m.rotation == 180 ? cv::ROTATE_180 : cv::ROTATE_90_COUNTERCLOCKWISE));
    deliver(index, rotated);
  } else {
    deliver(index, view);
  }
  return true;
}

}  // namespace qcal::dataset
