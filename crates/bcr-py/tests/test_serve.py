"""`bcr serve` with the official `openai` client: chat, streaming and models,
in front of a small fake OpenAI server that answers every labelled problem of
a pack with the number its question names ("Reply with the number D.")."""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import re
import subprocess
import threading

import pytest

openai = pytest.importorskip("openai")


class FakeUpstream(http.server.BaseHTTPRequestHandler):
    """Answers /v1/chat/completions: `Answer k: \\boxed{D}` per question of a pack."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        numbers = re.findall(r"Reply with the number (\d+)\.", prompt)
        if len(numbers) == 1:
            text = f"The answer is \\boxed{{{numbers[0]}}}."
        else:
            text = "\n".join(f"Answer {k}: \\boxed{{{d}}}" for k, d in enumerate(numbers, start=1))
        reply = {
            "id": "up",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10 * len(numbers), "completion_tokens": 5 * len(numbers), "total_tokens": 15 * len(numbers)},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gateway(bcr_bin):
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{upstream.server_address[1]}/v1"
    cmd = [str(bcr_bin), "serve", "--endpoint", url, "--served-model", "fake", "--port", "0",
           "--n", "fixed:4", "--max-wait-ms", "100", "--concurrency", "2", "--name", "bcr-test"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    base = None
    for line in proc.stderr:
        m = re.search(r"on (http://\S+/v1)", line)
        if m:
            base = m.group(1)
            break
    assert base, "bcr serve did not report its address"
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    yield openai.OpenAI(base_url=base, api_key="test-key", max_retries=0)
    proc.terminate()
    assert proc.wait(timeout=30) == 0, "bcr serve did not exit cleanly on SIGTERM"
    upstream.shutdown()


def test_chat_packs_concurrent_questions(gateway):
    def ask(i: int):
        return gateway.chat.completions.with_raw_response.create(
            model="bcr-test", messages=[{"role": "user", "content": f"Reply with the number {300 + i}."}])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        raws = list(pool.map(ask, range(8)))
    sizes = []
    for i, raw in enumerate(raws):
        resp = raw.parse()
        content = resp.choices[0].message.content
        assert f"\\boxed{{{300 + i}}}" in content and content.count("\\boxed") == 1, content
        assert resp.choices[0].finish_reason == "stop"
        assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
        assert resp.model == "bcr-test"
        _, pos, n = raw.headers["x-bcr-pack"].split("/")
        sizes.append(int(n))
    assert max(sizes) > 1, sizes


def test_streaming(gateway):
    stream = gateway.chat.completions.create(
        model="bcr-test", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reply with the number 77."}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "\\boxed{77}" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_models_and_errors(gateway):
    assert [m.id for m in gateway.models.list()] == ["bcr-test"]
    with pytest.raises(openai.BadRequestError) as err:
        gateway.chat.completions.create(model="bcr-test", messages=[])
    assert "messages" in str(err.value)
