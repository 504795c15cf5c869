#!/usr/bin/env python3
"""Regenerates the seed corpora of fuzz_config and fuzz_qmp.

fuzz_config: every command line the config unit tests parse, one argv word
per line (each also with "--kernel /k" first, so validation runs past the
kernel check); with a markdown file as argument, also each of its ``` blocks
whose lines start with -- (e.g. a memory-options guide).
fuzz_qmp: a resize session as a management tool drives it (SESSION below),
whole and split, plus hand-written hostile streams. Each input is a 4-byte
header (see fuzz_qmp.c) and the stream.

Usage: fuzz/gen_seeds.py [MARKDOWN]; writes fuzz/corpus/ (adds and
overwrites, never deletes: seeds from earlier runs stay).
"""
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = sys.argv[1] if len(sys.argv) > 1 else None

# Grow a virtio-mem device to 1 GiB, shrink it to 256 MiB, poll the size
# between, then two requests QEMU's validation refuses (not a multiple of the
# block size, past the region) and quit.
_SET = ('{"execute": "qom-set", "arguments": {"path": "vm0", "property": "requested-size", '
        '"value": %d}}')
_SIZE = '{"execute": "qom-get", "arguments": {"path": "vm0", "property": "size"}}'
SESSION = ([
    '{"execute": "qmp_capabilities"}',
    '{"execute": "query-memory-devices"}',
    '{"execute": "query-memory-size-summary"}',
    _SET % (1 << 30), _SIZE, _SIZE,
    '{"execute": "query-memory-devices"}',
    '{"execute": "query-memory-size-summary"}',
    _SET % (256 << 20), _SIZE, _SIZE, _SIZE,
    '{"execute": "query-memory-devices"}',
    _SET % (3 << 20), _SET % (64 << 30),
    '{"execute": "quit"}',
])


def write(target, name, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def short(data):
    return hashlib.sha1(data.encode() if isinstance(data, str) else data).hexdigest()[:10]


def c_unescape(s):
    return bytes(s, "utf-8").decode("unicode_escape")


def config_lines():
    lines = []
    # The doc: each ``` block whose lines start with --, words split at blanks.
    text = ""
    if DOC:
        with open(DOC) as f:
            text = f.read()
    block, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            words = " ".join(block).split()
            if inside and words and words[0].startswith("--") and "<" not in line + " ".join(block):
                lines.append(words)
            block, inside = [], not inside
        elif inside:
            block.append(line)
    # The unit tests: every run of adjacent string literals that reads as a
    # command line (the VM macro of test_config_validate.c expanded).
    unit = os.path.join(ROOT, "tests", "unit")
    lit = r'"(?:[^"\\]|\\.)*"'
    for name in sorted(os.listdir(unit)):
        if not (name.startswith("test_config") and name.endswith(".c")):
            continue
        with open(os.path.join(unit, name)) as f:
            src = f.read()
        macros = dict(re.findall(r'#define (\w+) ("(?:[^"\\]|\\.)*")', src))
        for m in re.finditer(r"(?:(?:\b(?:%s)\b|%s)\s*)+" % ("|".join(macros) or "NOMACRO", lit),
                             src):
            parts = re.findall(r"\b\w+\b|%s" % lit, m.group(0))
            s = "".join(c_unescape(macros.get(p, p)[1:-1]) for p in parts)
            words = s.split()
            if words and words[0].startswith("--"):
                lines.append(words)
    seen, out = set(), []
    for words in lines:
        for w in (words, ["--kernel", "/k"] + words):
            key = "\n".join(w)
            if key not in seen:
                seen.add(key)
                out.append(key)
    return out


def qmp_seeds():
    reqs = SESSION
    seeds = {}
    whole = "\n".join(reqs) + "\n"
    seeds["transcript"] = b"\0\0\0\0" + whole.encode()
    seeds["transcript-chunked"] = b"\x03\x07\0\0" + whole.encode()
    seeds["transcript-bytes"] = b"\x10\0\0\0" + whole.encode()  # 2^0: one byte at a time
    seeds["transcript-events"] = b"\x05\x01\x02\0" + whole.encode()
    for i, r in enumerate(reqs):
        seeds["req-%02d" % i] = b"\0\0\x01\0" + r.encode()
    hostile = [
        # malformed JSON, then a usable request
        '{"execute": foo}\n{"execute": "query-status", "id": 1}\n',
        '}}}]]]',
        '{"execute": "qmp_capabilities"}{"execute"',
        '\0\n{"execute": "qmp_capabilities"}',
        '{"execute": "qmp_capabilities", "arguments": {"enable": ["oob", 1]}}',
        '[1, 2]"str"{"id": 3}{"execute": 1}{"execute": "quit", "bogus": 1}',
        '{"execute": "query-commands", "id": [1, {"a": null}, "x"]}',
        '{"execute": "qom-get", "arguments": {"path": "/machine/peripheral/vm1", '
        '"property": "block-size"}}',
        '{"execute": "qom-set", "arguments": {"path": "peripheral/vm0", '
        '"property": "requested-size", "value": -1}}',
        '{"execute": "qom-set", "arguments": {"path": "vm0", "property": "size", '
        '"value": 18446744073709551615}}',
        '{"execute": "human-monitor-command", "arguments": {"command-line": "info"}}',
        '{"execute": "human-monitor-command", "arguments": {"command-line": "info numa", '
        '"cpu-index": 0}}\n{"execute": "human-monitor-command", "arguments": '
        '{"command-line": "info memory-devices"}}',
        '{"execute": "system_reset"}{"execute": "system_powerdown"}{"execute": "quit"}'
        '{"execute": "query-version"}',
        '{"execute": "query-memory-size-summary", "arguments": {"x": 1e400}}',
        '{"execute": "query-status", "id": "\\ud800\\u0000\\"x"}',
        '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
        '{"id": ' + '[' * 31 + ']' * 31 + ', "execute": "query-status"}',
    ]
    for s in hostile:
        seeds["hostile-" + short(s)] = b"\0\0\x01\0" + s.encode()
        seeds["hostile-split-" + short(s)] = b"\x02\x05\x01\0" + s.encode()
    # Expanded: A 0xff M 0xff B with M repeated h[3] * 16 times; with flag 0x10
    # the message limit is 16 + h[3] * 8 bytes, so these strings exceed it.
    seeds["huge-string"] = (b"\0\0\x19\x30" + b'{"execute": "query-status", "id": "' + b"\xff"
                            + b'x{[]}\\"y' + b"\xff" + b'"}\n{"execute": "query-status"}')
    seeds["huge-string-chunked"] = b"\x0f\x03" + seeds["huge-string"][2:]
    seeds["deep-array"] = b"\0\0\x09\x10" + b'{"id": \xff[\xff, "execute": "quit"}'
    seeds["long-string"] = b"\x08\x01\x09\xff" + seeds["huge-string"][4:]
    seeds["oversized-then-ok"] = (b"\x06\x09\x11\x08" + b'{"execute": "query-status", '
                                  b'"arguments": {"s": "' + b"x" * 120 + b'"}}{"execute": "quit"}')
    seeds["deep-balanced"] = (b"\x0c\x02\x09\x01" + b'\xff{"a":[\xff{"execute": "quit"}')
    return seeds


def main():
    for key in config_lines():
        write("fuzz_config", "seed-" + short(key), key + "\n")
    for name, data in qmp_seeds().items():
        write("fuzz_qmp", "seed-" + name, data)


if __name__ == "__main__":
    main()
