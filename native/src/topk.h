// Streaming top-k selection: candidates arrive in any order, the k best (highest score, then smallest id) stay.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace aff {

struct Candidate {
  float score;
  int64_t id;
};

// a ranks before b: higher score first, then the smaller id, so results never depend on arrival order.
inline bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// Keeps up to 2k candidates and, when full, cuts back to the best k (nth_element). Cheaper than a heap for large k;
// threshold() lets callers discard most scores with a SIMD compare before they reach push().
class TopK {
 public:
  explicit TopK(int64_t k);

  void reset();
  // Scores below this can never enter the result.
  float threshold() const { return floor_.score; }
  void push(float score, int64_t id) {
    const Candidate c{score, id};
    if (full_ && !ranks_before(c, floor_)) return;
    buf_.push_back(c);
    if (buf_.size() == capacity_) shrink();
  }
  void merge(const TopK& other);
  // The best k (fewer if fewer were pushed), best first.
  const std::vector<Candidate>& finish();

 private:
  void shrink();
  size_t k_;
  size_t capacity_;
  bool full_ = false;
  Candidate floor_{-std::numeric_limits<float>::infinity(), std::numeric_limits<int64_t>::max()};
  std::vector<Candidate> buf_;
};

}  // namespace aff
