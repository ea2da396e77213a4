#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace aff {
namespace {

uint32_t crc_update(uint32_t crc, const void* data, size_t bytes) {
  const auto* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {  // zlib takes uInt lengths
    const uInt chunk = bytes > (1u << 30) ? (1u << 30) : static_cast<uInt>(bytes);
    crc = static_cast<uint32_t>(crc32(crc, p, chunk));
    p += chunk;
    bytes -= chunk;
  }
  return crc;
}

std::string errno_text() { return std::strerror(errno); }

void fsync_directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

FileWriter::FileWriter(const std::string& path) : path_(path), tmp_(path + ".tmp") {
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw std::runtime_error("cannot write " + tmp_ + ": " + errno_text());
  crc_ = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
}

FileWriter::~FileWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(tmp_.c_str());
  }
}

void FileWriter::write(const void* data, size_t bytes) {
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, file_) != bytes) throw std::runtime_error("cannot write " + tmp_ + ": " + errno_text());
  crc_ = crc_update(crc_, data, bytes);
}

void FileWriter::commit() {
  const uint32_t crc = crc_;
  if (std::fwrite(&crc, 1, sizeof crc, file_) != sizeof crc || std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
    throw std::runtime_error("cannot write " + tmp_ + ": " + errno_text());
  }
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = errno_text();
    std::remove(tmp_.c_str());
    throw std::runtime_error("cannot replace " + path_ + ": " + why);
  }
  fsync_directory_of(path_);
}

FileReader::FileReader(const std::string& path, const char* what) : path_(path), what_(what) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw std::runtime_error("cannot open " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fileno(file_), &st) != 0 || !S_ISREG(st.st_mode)) fail("not a regular file");
  if (st.st_size < 4) fail("truncated");
  payload_ = static_cast<uint64_t>(st.st_size) - 4;
  crc_ = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
}

FileReader::~FileReader() {
  if (file_) std::fclose(file_);
}

void FileReader::fail(const std::string& why) const {
  throw std::runtime_error(path_ + " is not a valid " + what_ + " file: " + why);
}

void FileReader::read(void* data, size_t bytes) {
  if (bytes > remaining()) fail("truncated");
  if (bytes > 0 && std::fread(data, 1, bytes, file_) != bytes) fail("read error: " + errno_text());
  crc_ = crc_update(crc_, data, bytes);
  pos_ += bytes;
}

void FileReader::expect_header(const char (&magic)[8], uint32_t version) {
  char found[8];
  read(found, sizeof found);
  if (std::memcmp(found, magic, sizeof found) != 0) fail("wrong magic (another kind of file)");
  const auto v = get<uint32_t>();
  if (v != version) fail("unsupported version " + std::to_string(v));
}

void FileReader::finish() {
  if (remaining() != 0) fail("unexpected trailing bytes");
  uint32_t stored = 0;
  if (std::fread(&stored, 1, sizeof stored, file_) != sizeof stored) fail("truncated");
  if (stored != crc_) fail("checksum mismatch (file corrupted)");
}

}  // namespace aff
