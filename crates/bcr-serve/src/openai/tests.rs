use super::*;

/// A question given as two text parts.
const PARTS: &str =
    r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}"#;

fn parse(body: &str) -> Result<ChatRequest, ApiError> {
    parse_request(body.as_bytes(), false)
}

#[test]
fn bad_requests_name_the_field() {
    // (body, status, param, words in the message)
    let cases: &[(&str, u16, Option<&str>, &str)] = &[
        ("{", 400, None, "not valid JSON"),
        ("", 400, None, "not valid JSON"),
        ("[1]", 400, None, "JSON object"),
        ("{}", 400, Some("messages"), "required"),
        (r#"{"messages": []}"#, 400, Some("messages"), "at least one"),
        (r#"{"messages": "hi"}"#, 400, Some("messages"), "array"),
        (r#"{"messages": [{"content": "x"}]}"#, 400, Some("messages[0].role"), "string"),
        (r#"{"messages": [{"role": "wizard", "content": "x"}]}"#, 400, Some("messages[0].role"), "unknown role"),
        (r#"{"messages": [{"role": "user", "content": 5}]}"#, 400, Some("messages[0].content"), "string"),
        (r#"{"messages": [{"role": "user", "content": "x"}], "stream": "yes"}"#, 400, Some("stream"), "boolean"),
        (r#"{"messages": [{"role": "user", "content": "x"}], "temperature": 7}"#, 400, Some("temperature"), "[0, 2]"),
        (r#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#, 400, Some("max_tokens"), "positive"),
        (r#"{"messages": [{"role": "user", "content": "x"}], "n": "2"}"#, 400, Some("n"), "positive"),
        (r#"{"messages": [{"role": "user", "content": "x"}], "model": 3}"#, 400, Some("model"), "string"),
    ];
    for &(body, status, param, words) in cases {
        let e = parse(body).unwrap_err();
        assert_eq!(e.status.as_u16(), status, "{body}");
        assert_eq!(e.param.as_deref(), param, "{body}");
        assert!(e.message.contains(words), "{body}: {}", e.message);
        let b = e.body();
        assert_eq!(b["error"]["type"], "invalid_request_error");
        assert!(b["error"].get("code").is_some() && b["error"].get("param").is_some());
    }
}

#[test]
fn packability() {
    // (body, opt_out, packable, needs_upstream)
    let q = r#"{"role": "user", "content": "What is 2+2?"}"#;
    let cases: Vec<(String, bool, bool, bool)> = vec![
        (format!(r#"{{"messages": [{q}]}}"#), false, true, false),
        (format!(r#"{{"messages": [{{"role": "system", "content": "Be brief."}}, {q}]}}"#), false, true, false),
        (format!(r#"{{"messages": [{q}]}}"#), true, false, false),
        (format!(r#"{{"messages": [{q}, {{"role": "assistant", "content": "4"}}, {q}]}}"#), false, false, false),
        (format!(r#"{{"messages": [{q}], "tools": [{{"type": "function"}}]}}"#), false, false, true),
        (format!(r#"{{"messages": [{q}], "tools": []}}"#), false, true, false),
        (format!(r#"{{"messages": [{q}], "n": 2}}"#), false, false, true),
        (format!(r#"{{"messages": [{q}], "n": 1, "logprobs": false}}"#), false, true, false),
        (format!(r#"{{"messages": [{q}], "logprobs": true}}"#), false, false, true),
        (format!(r#"{{"messages": [{q}], "stop": ["\n"]}}"#), false, false, true),
        (PARTS.to_string(), false, true, false),
    ];
    for (body, opt_out, packable, needs_upstream) in cases {
        let r = parse_request(body.as_bytes(), opt_out).unwrap();
        assert_eq!(r.unpackable.is_none(), packable, "{body}");
        assert_eq!(r.needs_upstream, needs_upstream, "{body}");
    }
    let r = parse(PARTS).unwrap();
    assert_eq!(r.question(), Some((None, "ab")));
}

#[test]
fn stream_body_is_openai_chunks_then_done() {
    let c =
        Completion { text: "hi".into(), finish: bcr_core::FinishReason::Stop, prompt_tokens: 3, completion_tokens: 2 };
    let body = stream_body("id1", "m", 5, &c, true);
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "hi");
    assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[3]["usage"]["total_tokens"], 5);
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk" && c["id"] == "id1"));
}
