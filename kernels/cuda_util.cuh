// Small helpers shared by the CUDA kernels' host code: error checks that throw, owned device buffers, and whether a
// usable device is present.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace aff::cuda {

// Every CUDA failure reads "CUDA error: <what>: <reason>", so callers (the Java side) can tell a device problem from
// bad input, which throws std::invalid_argument with its own message.
inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error: ") + what + ": " + cudaGetErrorString(e));
  }
}

// Asked once per process: the answer does not change, and the query costs microseconds per kernel call otherwise.
inline bool have_device() {
  static const bool present = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver / no device" error
      return false;
    }
    return n > 0;
  }();
  return present;
}

// Makes `device` current for a scope and gives the caller's device back at its end: the library's calls leave the
// calling thread's own CUDA code on the device it chose.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ == device) {
      previous_ = -1;  // nothing to switch or give back
    } else {
      check(cudaSetDevice(device), "cudaSetDevice");
    }
  }
  ~DeviceGuard() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// Device memory freed on scope exit; may be empty (null) and grown with reserve().
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) { reserve(bytes); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), bytes_(other.bytes_) {
    other.ptr_ = nullptr;
    other.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(ptr_, other.ptr_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Makes room for at least `bytes`; the old content is dropped (use grow() to keep it).
  void reserve(size_t bytes) {
    if (bytes <= bytes_) return;
    cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
    check(cudaMalloc(&ptr_, bytes), "cudaMalloc");
    bytes_ = bytes;
  }
  // Makes room for at least `bytes`, keeping the first `keep` bytes.
  void grow(size_t bytes, size_t keep) {
    if (bytes <= bytes_) return;
    void* p = nullptr;
    check(cudaMalloc(&p, bytes), "cudaMalloc");
    if (keep > 0) check(cudaMemcpy(p, ptr_, keep, cudaMemcpyDeviceToDevice), "cudaMemcpy (grow)");
    cudaFree(ptr_);
    ptr_ = p;
    bytes_ = bytes;
  }
  size_t bytes() const { return bytes_; }
  void* get() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

inline DeviceBuffer upload(const void* host, size_t bytes) {
  DeviceBuffer b(bytes);
  check(cudaMemcpy(b.get(), host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
  return b;
}

}  // namespace aff::cuda
