"""Writes C stubs of the CUDA libraries cudarc links against: one function
per name that cudarc's bindings declare, so that a `--features cuda` build
links on a machine without the libraries (bench/gpu/build.sh). The stubs
are never run: the real libraries are loaded by SONAME on the GPU machine.

    python3 stubs.py CUDARC_SRC_DIR OUT_DIR
"""
import pathlib
import re
import sys

LIBS = {"driver": "cuda", "cublas": "cublas", "cublaslt": "cublasLt", "curand": "curand", "nvrtc": "nvrtc"}

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for module, lib in LIBS.items():
    names = set()
    for f in (src / module / "sys").glob("*.rs"):
        names.update(re.findall(r"pub unsafe fn (\w+)\(", f.read_text()))
    (out / f"{lib}.c").write_text("".join(f"void {n}(void) {{}}\n" for n in sorted(names)))
    print(f"{lib}: {len(names)} symbols")
