"""Step 3 of the three-seed ablation, on the GPU machine: LoRA-train every arm from the
``train-<source>-s<seed>.jsonl`` files beside this script with improve's settings (2 epochs, batch 8,
learning rate 1e-3, rank 8, training seed = the arm's seed); the first six adapters' weights into
``$OUT`` (a reply holds at most 8 files, 64 MiB), everything else into ``$OUT/small.tar.gz``.

    OUT=/tmp/out python3 .dev/c/gpu_train.py
    # a second command, on the same machine, fetched the other three:
    for n in imitation-s0 imitation-s1 imitation-s2; do cp /tmp/adapters/$n/adapter_model.safetensors $OUT/$n.safetensors; done
"""

import json
import os
import shutil
import tarfile
import time
from pathlib import Path

from llm_modulo.training import commands

here = Path(__file__).parent
out = Path(os.environ["OUT"])
work = Path("/tmp/adapters")  # kept on the machine between calls
names = sorted(p.stem.removeprefix("train-") for p in here.glob("train-*.jsonl"))
print("arms:", names, flush=True)
t0 = time.time()
report = {}
for name in names:
    seed = int(name.rsplit("-s", 1)[1])
    start = time.time()
    info = commands.train_adapter(here / f"train-{name}.jsonl", work / name, epochs=2.0, lr=1e-3, rank=8, alpha=16,
                                  batch_size=8, max_len=512, seed=seed, device="cuda", progress=False)
    report[name] = {"seconds": round(time.time() - start, 1), **{k: v for k, v in info.items() if isinstance(v, (int, float, str))}}
    print(name, report[name], flush=True)
print("total", round(time.time() - t0, 1), flush=True)
with tarfile.open(out / "small.tar.gz", "w:gz") as tar:
    for name in names:
        for f in (work / name).iterdir():
            if f.is_file() and f.name != "adapter_model.safetensors":
                tar.add(f, arcname=f"{name}/{f.name}")
    (work / "report.json").write_text(json.dumps(report, indent=1))
    tar.add(work / "report.json", arcname="report.json")
for name in names[:6]:
    shutil.copy(work / name / "adapter_model.safetensors", out / f"{name}.safetensors")
