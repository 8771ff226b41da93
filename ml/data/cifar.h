// Reading CIFAR-10 in its "binary version" (data_batch_1.bin … data_batch_5.bin, test_batch.bin).
//
// CIFAR-10 (Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", tech. report,
// University of Toronto, 2009; key [CIFAR10] in docs/references.md) is 60 000 colour images of
// 32 × 32 pixels in 10 classes: 50 000 for training in five files of 10 000, 10 000 for testing.
// The binary format, as the data set's page (https://www.cs.toronto.edu/~kriz/cifar.html)
// defines it, is a bare sequence of 3073-byte records with no header:
//
//     byte  0            the label, 0..9 (see kCifar10Classes)
//     bytes 1..1024      the red channel,   row-major 32 × 32 (pixel (r, c) at 1 + r·32 + c)
//     bytes 1025..2048   the green channel, same order
//     bytes 2049..3072   the blue channel,  same order
//
// so a full batch file is exactly 10 000 · 3073 = 30 730 000 bytes. The data set is not packaged
// by Debian; users who want it download "CIFAR-10 binary version (suitable for C programs)" from
// that page and extract it (the archive unpacks to a directory cifar-10-batches-bin/).
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace ckks::ml {

/// A labelled set of multi-channel images, stored channel-major ("CHW", PyTorch's layout).
/// images[i] holds channels·rows·cols values of image i: channel ch, pixel (r, c) is at index
/// (ch·rows + r)·cols + c, each the stored byte divided by 255 in float, so in [0, 1].
/// labels[i] is the class of image i (0..9 for CIFAR-10). images.size() == labels.size().
struct ChannelImageSet {
  std::size_t channels = 0, rows = 0, cols = 0;
  std::vector<std::vector<float>> images;
  std::vector<int> labels;
};

/// The CIFAR-10 class names, indexed by label (from the data set's batches.meta.txt).
inline constexpr std::array<const char*, 10> kCifar10Classes = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

/// Bytes of one CIFAR-10 binary record: 1 label byte + 3 · 32 · 32 pixel bytes = 3073.
inline constexpr std::size_t kCifar10RecordBytes = 1 + 3 * 32 * 32;

/// Reads one CIFAR-10 binary batch file (any number of 3073-byte records, not only 10 000).
/// Returns channels = 3, rows = cols = 32, and per record the label and the 3072 pixels
/// converted to byte/255 in channel-major order (R plane, then G, then B: the file's own order).
/// If limit > 0 only the first min(limit, count) records are returned (and checked).
/// Throws ckks::InputError naming the file when: it does not exist or is a directory (the message
/// says where to download CIFAR-10); it cannot be opened or read; it is empty; its size is not a
/// multiple of 3073 (a truncated download; the message gives the size and the number of trailing
/// bytes, and suggests CIFAR-100 when the size is a multiple of its 3074-byte records); a label
/// byte is greater than 9 (the message names the record index and the value).
ChannelImageSet read_cifar10_batch(const std::string& path, std::size_t limit = 0);

/// Loads CIFAR-10 from `dir` (the extracted cifar-10-batches-bin/ directory):
/// train ? data_batch_1.bin … data_batch_5.bin concatenated in that order : test_batch.bin.
/// If limit > 0 only the first min(limit, total) images are loaded (in file order; later batch
/// files are not opened once the limit is reached).
/// Throws ckks::InputError if a file is missing (naming it, with the download address) or
/// malformed (see read_cifar10_batch).
ChannelImageSet load_cifar10(const std::string& dir, bool train, std::size_t limit = 0);

}  // namespace ckks::ml
