#!/usr/bin/env python3
"""corpus_split: the fixed train/test split of the labelled corpus.

An incident belongs to the test split when the first byte of the SHA-256 of its title, a
newline and its description is below 52 (about 20%); otherwise to train. The split depends
on nothing but the text, so adding incidents never moves existing ones.

  scripts/corpus_split.py check            # every file in data/corpus/{train,test} is in the right split
  scripts/corpus_split.py write NAME FILE  # split FILE (JSONL) into train/NAME.jsonl and test/NAME.jsonl
"""
import hashlib
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "corpus")
TEST_BELOW = 52


def split_of(inc):
    h = hashlib.sha256((inc["title"] + "\n" + inc["description"]).encode()).digest()
    return "test" if h[0] < TEST_BELOW else "train"


def check():
    bad, counts = 0, {"train": 0, "test": 0}
    seen = set()
    for split in ("train", "test"):
        d = os.path.join(ROOT, split)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".jsonl"):
                continue
            for n, line in enumerate(open(os.path.join(d, name), encoding="utf-8"), 1):
                if not line.strip():
                    continue
                inc = json.loads(line)
                key = (inc["title"], inc["description"])
                if key in seen:
                    print(f"{split}/{name}:{n}: duplicate incident", file=sys.stderr)
                    bad += 1
                seen.add(key)
                if split_of(inc) != split:
                    print(f"{split}/{name}:{n}: belongs to {split_of(inc)}", file=sys.stderr)
                    bad += 1
                counts[split] += 1
    print(f"train {counts['train']}, test {counts['test']}, misplaced or duplicate {bad}")
    return 1 if bad else 0


def write(name, path):
    out = {"train": [], "test": []}
    for line in open(path, encoding="utf-8"):
        if line.strip():
            inc = json.loads(line)
            out[split_of(inc)].append(json.dumps(inc, ensure_ascii=False))
    for split, lines in out.items():
        with open(os.path.join(ROOT, split, name + ".jsonl"), "w", encoding="utf-8") as f:
            f.write("".join(l + "\n" for l in lines))
    print(f"{name}: train {len(out['train'])}, test {len(out['test'])}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        sys.exit(check())
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
        sys.exit(0)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
