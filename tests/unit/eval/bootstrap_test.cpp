// MapMatches re-accumulation (bit-identical to evaluate_map on the identity and on explicit
// duplicates) and the paired bootstrap of the mAP drop (seeded, thread-count independent).
#include "eval/bootstrap.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace qcal::eval {
namespace {

float uniform(Rng& rng, float lo, float hi) {
  return lo + static_cast<float>(rng.next_double()) * (hi - lo);
}

// Images with 1-5 objects of 4 classes (some crowd); each object is detected with a box
// jittered by `jitter` pixels (a miss now and then), plus random false positives. Scores are
// random floats, so no two detections tie.
std::vector<ImageDetections> make_images(std::size_t n, float jitter, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<ImageDetections> images(n);
  for (ImageDetections& img : images) {
    const auto objects = 1 + rng.next_below(5);
    for (std::uint64_t k = 0; k < objects; ++k) {
      const float x = uniform(rng, 0, 300), y = uniform(rng, 0, 300);
      const float w = uniform(rng, 10, 100), h = uniform(rng, 10, 100);
      const int cls = static_cast<int>(rng.next_below(4));
      img.ground_truth.push_back({{x, y, x + w, y + h}, cls, rng.next_below(10) == 0});
      if (rng.next_below(6) == 0) continue;  // missed
      Box b{x + uniform(rng, -jitter, jitter), y + uniform(rng, -jitter, jitter),
            x + w + uniform(rng, -jitter, jitter), y + h + uniform(rng, -jitter, jitter)};
      img.detections.push_back({b, uniform(rng, 0.3f, 1.0f), cls});
    }
    const auto false_positives = rng.next_below(4);
    for (std::uint64_t k = 0; k < false_positives; ++k) {
      const float x = uniform(rng, 0, 300), y = uniform(rng, 0, 300);
      img.detections.push_back(
          {{x, y, x + 40, y + 40}, uniform(rng, 0.0f, 0.8f), static_cast<int>(rng.next_below(4))});
    }
  }
  return images;
}

void expect_same_map(const MapResult& a, const MapResult& b) {
  EXPECT_EQ(a.map50_95, b.map50_95);  // bit for bit, not near
  EXPECT_EQ(a.map50, b.map50);
  EXPECT_EQ(a.images, b.images);
  ASSERT_EQ(a.classes.size(), b.classes.size());
  for (std::size_t c = 0; c < a.classes.size(); ++c) {
    EXPECT_EQ(a.classes[c].class_id, b.classes[c].class_id);
    EXPECT_EQ(a.classes[c].num_ground_truth, b.classes[c].num_ground_truth);
    EXPECT_EQ(a.classes[c].num_detections, b.classes[c].num_detections);
    EXPECT_EQ(a.classes[c].ap, b.classes[c].ap);
    EXPECT_EQ(a.classes[c].recall50, b.classes[c].recall50);
  }
}

TEST(MapMatches, IdentityResampleIsEvaluateMap) {
  const auto images = make_images(60, 6.0f, 1);
  const MapMatches matches(images);
  const std::vector<std::uint32_t> ones(images.size(), 1);
  const MapResult full = evaluate_map(images);
  expect_same_map(matches.accumulate(ones), full);
  EXPECT_GT(full.map50_95, 0.2);  // a real, imperfect score
  EXPECT_LT(full.map50_95, 0.95);
}

TEST(MapMatches, CountsEqualExplicitDuplicates) {
  const auto images = make_images(40, 8.0f, 2);
  const MapMatches matches(images);
  Rng rng(7);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<std::uint32_t> counts(images.size(), 0);
    for (std::size_t k = 0; k < images.size(); ++k) ++counts[rng.next_below(images.size())];
    std::vector<ImageDetections> listed;
    for (std::size_t i = 0; i < images.size(); ++i) {
      for (std::uint32_t c = 0; c < counts[i]; ++c) listed.push_back(images[i]);
    }
    expect_same_map(matches.accumulate(counts), evaluate_map(listed));
  }
}

TEST(MapMatches, WrongCountSizeIsAnError) {
  const auto images = make_images(3, 5.0f, 3);
  const MapMatches matches(images);
  const std::vector<std::uint32_t> two(2, 1);
  EXPECT_THROW((void)matches.accumulate(two), Error);
}

TEST(SortedQuantile, NumpyLinear) {
  const std::vector<double> v = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(sorted_quantile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(sorted_quantile(v, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(sorted_quantile(v, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(sorted_quantile(v, 0.1), 1.4);  // pos 0.4 between 1 and 2
  EXPECT_THROW((void)sorted_quantile({}, 0.5), Error);
}

TEST(BootstrapMapDrop, SameModelGivesZero) {
  const auto images = make_images(30, 6.0f, 4);
  const MapMatches a(images), b(images);
  const auto r = bootstrap_map_drop(a, b, {.resamples = 50});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->drop_pp, 0.0);
  EXPECT_EQ(r->lower_pp, 0.0);
  EXPECT_EQ(r->upper_pp, 0.0);
  EXPECT_EQ(r->used, 50);
}

TEST(BootstrapMapDrop, WorseModelIntervalAboveZeroAndAroundTheDrop) {
  // Same objects, same scores; the "INT8" boxes are jittered more (generated with the same
  // seed, so only the box noise differs).
  const auto good = make_images(80, 2.0f, 5);
  const auto bad = make_images(80, 12.0f, 5);
  const MapMatches fp32(good), int8(bad);
  const auto r = bootstrap_map_drop(fp32, int8, {.resamples = 200, .seed = 9});
  ASSERT_TRUE(r.has_value());
  EXPECT_GT(r->drop_pp, 5.0);
  EXPECT_GT(r->lower_pp, 0.0);
  EXPECT_LT(r->lower_pp, r->drop_pp);
  EXPECT_GT(r->upper_pp, r->drop_pp);
  EXPECT_EQ(r->resamples, 200);
}

TEST(BootstrapMapDrop, SeededAndThreadCountIndependent) {
  const auto good = make_images(50, 3.0f, 6);
  const auto bad = make_images(50, 9.0f, 6);
  const MapMatches fp32(good), int8(bad);
  const auto one = bootstrap_map_drop(fp32, int8, {.resamples = 64, .seed = 3, .threads = 1});
  const auto three = bootstrap_map_drop(fp32, int8, {.resamples = 64, .seed = 3, .threads = 3});
  const auto other = bootstrap_map_drop(fp32, int8, {.resamples = 64, .seed = 4, .threads = 1});
  ASSERT_TRUE(one && three && other);
  EXPECT_EQ(one->lower_pp, three->lower_pp);
  EXPECT_EQ(one->upper_pp, three->upper_pp);
  EXPECT_NE(one->lower_pp, other->lower_pp);  // the seed matters
}

TEST(BootstrapMapDrop, BadInput) {
  const auto a = make_images(5, 3.0f, 7), b = make_images(6, 3.0f, 7);
  const MapMatches ma(a), mb(b);
  EXPECT_THROW((void)bootstrap_map_drop(ma, mb), Error);
  EXPECT_THROW((void)bootstrap_map_drop(ma, ma, {.resamples = 0}), Error);
  const std::vector<ImageDetections> none;
  const MapMatches empty(none);
  EXPECT_FALSE(bootstrap_map_drop(empty, empty).has_value());
}

}  // namespace
}  // namespace qcal::eval
