"""File formats shared by the training scripts (scripts/train_mlp.py, scripts/train_resnet.py):
the gzipped IDX files of Debian's dataset-fashion-mnist (the files ml/data/idx.cpp reads) and
Hugging Face's safetensors layout (the files ml/data/safetensors.cpp reads). Debian 12 packages no
safetensors library for Python, so the writer is here, short and checked by the C++ reader's tests.
"""
import gzip
import json
import struct
import sys

import numpy as np


def read_idx(path, expected_magic):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        sys.exit(f"{path}: too short to be an IDX file")
    magic, = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        sys.exit(f"{path}: magic 0x{magic:08x}, expected 0x{expected_magic:08x}")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        sys.exit(f"{path}: {len(body)} data bytes, header says {int(np.prod(dims))}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array of float32/float64/int32). Hugging Face's safetensors
    layout: u64 LE header length, JSON header (space-padded to a multiple of 8), raw LE data with
    the tensors back to back in list order (no holes)."""
    dtype_name = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<i4"): "I32"}
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        blob = arr.tobytes()
        header[name] = {"dtype": dtype_name[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * (-len(hbytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """The inverse of write_safetensors: (dict name -> numpy array, metadata dict). Only the dtypes
    the writer produces (F32, F64, I32); anything else is refused with the file and tensor named."""
    dtypes = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I32": np.dtype("<i4")}
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        sys.exit(f"{path}: {len(blob)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base, tensors = 8 + n, {}
    for name, entry in header.items():
        if entry["dtype"] not in dtypes:
            sys.exit(f"{path}: tensor {name} has dtype {entry['dtype']}; this reader takes F32, F64 and I32")
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(blob[base + begin:base + end], dtype=dtypes[entry["dtype"]]).reshape(
            entry["shape"])
    return tensors, metadata
