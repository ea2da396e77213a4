#include "topk.h"

#include <algorithm>

namespace aff {

TopK::TopK(int64_t k) : k_(static_cast<size_t>(k)), capacity_(static_cast<size_t>(k) + std::max<size_t>(16, static_cast<size_t>(k) / 4)) {
  buf_.reserve(capacity_);
}

void TopK::reset() {
  buf_.clear();
  full_ = false;
  floor_ = {-std::numeric_limits<float>::infinity(), std::numeric_limits<int64_t>::max()};
}

void TopK::shrink() {
  std::nth_element(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(k_ - 1), buf_.end(), ranks_before);
  buf_.resize(k_);
  // The k-th best is the floor: only candidates that rank before it can still enter.
  floor_ = buf_[k_ - 1];
  full_ = true;
}

void TopK::merge(const TopK& other) {
  for (const Candidate& c : other.buf_) push(c.score, c.id);
}

const std::vector<Candidate>& TopK::finish() {
  if (buf_.size() > k_) shrink();
  std::sort(buf_.begin(), buf_.end(), ranks_before);
  return buf_;
}

}  // namespace aff
