// Checksummed, atomically replaced files: every index file ends with a CRC-32 of all bytes before it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace aff {

// Writes to "<path>.tmp"; commit() appends the CRC, fsyncs, renames over path and fsyncs the directory,
// so readers see either the old file or the complete new one. Destroyed without commit: the temporary is removed.
class FileWriter {
 public:
  explicit FileWriter(const std::string& path);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void write(const void* data, size_t bytes);
  template <typename T>
  void put(T value) { write(&value, sizeof(T)); }
  void commit();

 private:
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  uint32_t crc_ = 0;
};

// Reads a file written by FileWriter. Reads past the payload throw "truncated"; finish() checks the CRC.
class FileReader {
 public:
  FileReader(const std::string& path, const char* what);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  void read(void* data, size_t bytes);
  template <typename T>
  T get() {
    T v;
    read(&v, sizeof(T));
    return v;
  }
  // Reads the 8-byte magic and the version that start every index file; throws on a mismatch.
  void expect_header(const char (&magic)[8], uint32_t version);
  // Bytes of payload not yet read (the CRC trailer excluded).
  uint64_t remaining() const { return payload_ - pos_; }
  // Throws unless the whole payload was read and its CRC matches.
  void finish();
  [[noreturn]] void fail(const std::string& why) const;

 private:
  std::string path_;
  const char* what_;
  std::FILE* file_ = nullptr;
  uint64_t payload_ = 0, pos_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace aff
