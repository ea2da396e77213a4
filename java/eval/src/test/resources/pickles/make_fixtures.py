#!/usr/bin/env python3
"""Writes the pickle fixtures of PickleTest with Python's own pickle module, one per protocol, plus files the reader
must refuse. Run from this folder: python3 make_fixtures.py"""
import pickle

shared = [1, 2, 3]
value = {
    "imlist": ["all_souls_000013", "radcliffe_camera_000519", "caf\u00e9"],
    "qimlist": ["q0"],
    "gnd": [{"bbx": [136.5, 34.1, 648.5, 955.1], "easy": [0, 2], "hard": [1], "junk": []}],
    "ints": [0, 255, 256, 65535, 65536, -1, -70000, 2 ** 40, -(2 ** 40), 2 ** 70],
    "floats": [0.5, -1e300, 3.0],
    "flags": [True, False, None],
    "tuple": (1, "two", 3.0),
    "pair": (1, 2),
    "single": (7,),
    "empty": (),
    "bytes": b"\x00\x01\xff",
    "shared_a": shared,
    "shared_b": shared,
    "long_list": list(range(2500)),
    7: "int key",
}
for protocol in (2, 3, 4, 5):
    with open(f"value_p{protocol}.pkl", "wb") as out:
        # Protocol 2 has no bytes opcode (Python pickles bytes through a global there): leave them out.
        v = {k: x for k, x in value.items() if not (protocol == 2 and k == "bytes")}
        pickle.dump(v, out, protocol=protocol)
with open("text_p0.pkl", "wb") as out:
    pickle.dump({"a": 1}, out, protocol=0)
with open("object_p2.pkl", "wb") as out:
    pickle.dump({"a": {1, 2}}, out, protocol=2)  # a set: pickled through a global
with open("global_p4.pkl", "wb") as out:
    pickle.dump({"f": complex(1, 2)}, out, protocol=4)
