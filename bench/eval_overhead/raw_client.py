"""Minimal OpenAI-compatible client, the peer of `bcr eval` in the overhead
benchmark: the same N=1 GSM8K prompts (bcr-core's default N=1 template:
question, newline, the standard boxed-answer instruction), the same
max_tokens and greedy decoding, the same concurrency, stdlib only.

usage: raw_client.py ENDPOINT MODEL GSM8K_JSONL LIMIT MAX_TOKENS CONCURRENCY OUT_JSONL
Prints the wall time in seconds; writes one {"id", "text", "completion_tokens"} per line.
"""
import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def main():
    endpoint, model, path, limit, max_tokens, conc, out = sys.argv[1:8]
    limit, max_tokens, conc = int(limit), int(max_tokens), int(conc)
    start = time.perf_counter()
    with open(path) as f:
        questions = [json.loads(line)["question"] for line in f if line.strip()][:limit]
    url = endpoint.rstrip("/") + "/chat/completions"

    def ask(i):
        body = {
            "model": model,
            "messages": [{"role": "user", "content": questions[i].strip() + "\n" + INSTRUCTION}],
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "top_p": 1.0,
            "stream": False,
        }
        req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            resp = json.load(r)
        return {
            "id": str(i),
            "text": resp["choices"][0]["message"]["content"],
            "completion_tokens": resp["usage"]["completion_tokens"],
        }

    with ThreadPoolExecutor(conc) as pool:
        results = list(pool.map(ask, range(len(questions))))
    wall = time.perf_counter() - start
    with open(out, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    print(f"{wall:.3f}")


if __name__ == "__main__":
    main()
