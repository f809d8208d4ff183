"""Requantise a GGUF file with llama.cpp's own quantiser, offline (the
K-quant rows of docs/performance.md were made from the Q4_1 file):

    python bench/decode/requantize.py SmolLM2-135M-Instruct.Q4_1.gguf OUT.gguf 15   # Q4_K_M
    python bench/decode/requantize.py SmolLM2-135M-Instruct.Q4_1.gguf OUT.gguf 18   # Q6_K

(ftype numbers: llama_cpp.LLAMA_FTYPE_MOSTLY_*). Requantising an already
quantised file loses accuracy; here it only gives files of other block
types to time.
"""

import ctypes
import sys

import llama_cpp


def main():
    src, dst, ftype = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ftype
    p.allow_requantize = True
    p.nthread = 1
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p))
    sys.exit(rc)


if __name__ == "__main__":
    main()
