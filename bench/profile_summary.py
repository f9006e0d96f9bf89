"""Where the time goes, from py-spy's raw output (collapsed stacks: `frame;frame;... count` per line).

    uv run python bench/profile_summary.py PROFILE.txt [--top 20]

`self` is the share of samples in which a frame was the innermost one (time spent in the function's own
code); `total` is the share in which it was anywhere on the stack (its own time plus its callees').
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# py-spy writes a frame as `function (path/to/module.py:line)`; the line is dropped to group by function.
_LINE = re.compile(r":\d+\)$")


def _frame(raw: str) -> str:
    name = _LINE.sub(")", raw.strip())
    return re.sub(r"\(.*site-packages/", "(", name).replace("(/work/main/src/", "(")


def summarize(path: Path, top: int) -> list[str]:
    """The top frames by self and by total share, as printable lines."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    if not samples:
        return ["no samples"]
    lines = [f"{samples} samples", "", "self %  frame"]
    lines += [f"{count * 100 / samples:6.1f}  {frame}" for frame, count in own.most_common(top)]
    lines += ["", "total % frame"]
    lines += [f"{count * 100 / samples:6.1f}  {frame}" for frame, count in total.most_common(top)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    print("\n".join(summarize(args.profile, args.top)))


if __name__ == "__main__":
    main()
