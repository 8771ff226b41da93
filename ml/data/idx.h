// Reading image data sets in the IDX format (MNIST, Fashion-MNIST), gzip-compressed.
//
// The IDX format (LeCun, Cortes & Burges, "The MNIST database of handwritten digits", whose page
// defines it; Fashion-MNIST reuses it unchanged) is:
//
//     bytes 0–1   0x00 0x00
//     byte  2     element type: 0x08 = unsigned byte (the only type these data sets use)
//     byte  3     number of dimensions d (3 for images: count, rows, cols; 1 for labels: count)
//     then d big-endian uint32 sizes, then the elements in row-major order (last index fastest).
//
// So the magic number, read as one big-endian uint32, is 0x00000803 for image files and
// 0x00000801 for label files. The files are distributed gzip-compressed; zlib's gzread
// decompresses them while reading (a plain, uncompressed IDX file is read as well, since gzread
// passes such files through unchanged).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ckks::ml {

/// A labelled set of grey-scale images.
/// images[i] holds rows·cols pixels of image i in row-major order (pixel (r, c) is at index
/// r·cols + c), each the stored byte divided by 255 in float, so in [0, 1] (0 = background,
/// 1 = full intensity). labels[i] is the class of image i (0..9 for (Fashion-)MNIST).
/// images.size() == labels.size().
struct ImageSet {
  std::size_t rows = 0, cols = 0;
  std::vector<std::vector<float>> images;
  std::vector<int> labels;
};

/// Where Debian's dataset-fashion-mnist package installs the four IDX .gz files
/// (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
/// t10k-labels-idx1-ubyte.gz): "/usr/share/datasets/fashion-mnist".
inline constexpr const char* kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Reads one IDX image file (magic 0x00000803: count × rows × cols unsigned bytes), gzipped or
/// not. Returns the images (pixels scaled to [0, 1] as in ImageSet) and sets rows and cols;
/// labels stays empty. If limit > 0 only the first min(limit, count) images are read.
/// Throws ckks::InputError naming the file when it is missing or unreadable, is not valid gzip,
/// has the wrong magic (e.g. a label file), a zero dimension, or is shorter or longer than its
/// header declares (truncated download, or trailing garbage).
ImageSet read_idx_images(const std::string& path, std::size_t limit = 0);

/// Reads one IDX label file (magic 0x00000801: count unsigned bytes), gzipped or not. If
/// limit > 0 only the first min(limit, count) labels are read.
/// Throws ckks::InputError as read_idx_images does (with magic 0x00000801 expected), and also if
/// a label is greater than 9.
std::vector<int> read_idx_labels(const std::string& path, std::size_t limit = 0);

/// Loads Fashion-MNIST (or MNIST, which uses the same file names) from `dir`:
/// train ? train-{images-idx3,labels-idx1}-ubyte.gz : t10k-{images-idx3,labels-idx1}-ubyte.gz.
/// If limit > 0 only the first min(limit, count) samples are loaded (in file order).
/// Use kDebianFashionMnistDir for the Debian package's copy (60 000 train, 10 000 test images of
/// 28 × 28). Throws ckks::InputError if a file is missing (the message suggests
/// `apt-get install dataset-fashion-mnist`), malformed (see read_idx_images), or if the image
/// and label files hold different numbers of samples.
ImageSet load_fashion_mnist(const std::string& dir, bool train, std::size_t limit = 0);

}  // namespace ckks::ml
