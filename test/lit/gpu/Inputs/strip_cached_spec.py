"""Rewrites every kernel-cache entry in a directory as a third party with
write access could: the manifests lose their "spec" object and the entry's
SHA-256 is recomputed, so the checksum still verifies. Entry layout
(lib/Runtime/KernelCache.cpp): "ATTNCKC1", u32 version, u32 key length, key,
u32 file count, per file (u32 name length, name, u64 size, bytes), then the
SHA-256 of everything before it."""
import glob
import hashlib
import json
import os
import stat
import struct
import sys


def rewrite(path):
    data = open(path, "rb").read()
    body = data[:-32]
    pos = 8
    version, klen = struct.unpack_from("<II", body, pos)
    pos += 8
    key = body[pos:pos + klen]
    pos += klen
    (count,) = struct.unpack_from("<I", body, pos)
    pos += 4
    files = []
    for _ in range(count):
        (nlen,) = struct.unpack_from("<I", body, pos)
        pos += 4
        name = body[pos:pos + nlen].decode()
        pos += nlen
        (size,) = struct.unpack_from("<Q", body, pos)
        pos += 8
        content = body[pos:pos + size]
        pos += size
        if name.endswith(".json"):
            manifest = json.loads(content)
            manifest.pop("spec", None)
            content = json.dumps(manifest).encode()
        files.append((name, content))
    out = b"ATTNCKC1" + struct.pack("<II", version, len(key)) + key + struct.pack("<I", len(files))
    for name, content in files:
        out += struct.pack("<I", len(name)) + name.encode() + struct.pack("<Q", len(content)) + content
    open(path, "wb").write(out + hashlib.sha256(out).digest())


for entry in glob.glob(sys.argv[1] + "/*.entry"):
    if stat.S_ISREG(os.stat(entry).st_mode):  # a FIFO left by an earlier step would block
        rewrite(entry)
