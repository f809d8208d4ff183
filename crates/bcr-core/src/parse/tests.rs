use proptest::prelude::*;

use super::*;
use Diagnostic::*;

fn parse(text: &str, n: usize) -> Parsed {
    parse_answers(text, n, &ParseOptions::default())
}

fn some(items: &[&str]) -> Vec<Option<String>> {
    items.iter().map(|s| (!s.is_empty()).then(|| s.to_string())).collect()
}

#[test]
fn table_of_awkward_responses() {
    // (response, n, answers ("" = none), diagnostics)
    let cases: Vec<(&str, usize, Vec<&str>, Vec<Diagnostic>)> = vec![
        ("Answer 1: \\boxed{3}\nAnswer 2: \\boxed{5}", 2, vec!["3", "5"], vec![]),
        ("**Answer 1:** $\\boxed{3}$ and **Answer 2**: $\\boxed{x^2}$", 2, vec!["3", "x^2"], vec![]),
        ("Answer 1 : \\boxed {\\frac{1}{2}}  answer 2:\\fbox{ 7 }", 2, vec!["\\frac{1}{2}", "7"], vec![]),
        ("Answer 1: \\(\\boxed{\\{1,2\\}}\\)", 1, vec!["\\{1,2\\}"], vec![]),
        ("Answer 1: \\boxed{a{b{c}}d} Answer 2: \\boxed{\\}}", 2, vec!["a{b{c}}d", "\\}"], vec![]),
        ("Answer 2: \\boxed{5} Answer 1: \\boxed{3}", 2, vec!["3", "5"], vec![OutOfOrder { k: 1, after: 2 }]),
        (
            "Answer 1: \\boxed{3} wait, no. Answer 1: \\boxed{4}",
            2,
            vec!["4", ""],
            vec![Duplicate { k: 1, count: 2 }, Missing { k: 2 }],
        ),
        ("Answer 1: \\boxed{3}\nAnswer 2: \\boxed{\\frac{1}{", 2, vec!["3", ""], vec![Truncated { k: Some(2) }]),
        (
            "Answer 3: \\boxed{9} Answer 1: \\boxed{1}",
            2,
            vec!["1", ""],
            vec![LabelOutOfRange { k: 3 }, Missing { k: 2 }],
        ),
        ("Answer 0: \\boxed{9}", 1, vec![""], vec![LabelOutOfRange { k: 0 }, Missing { k: 1 }]),
        (
            "The answers are \\boxed{3} and \\boxed{5}.",
            2,
            vec!["", ""],
            vec![Unlabelled { index: 1 }, Unlabelled { index: 2 }, Missing { k: 1 }, Missing { k: 2 }],
        ),
        // N = 1: the standard format, the last box wins.
        ("So \\boxed{2}, no: \\boxed{3}.", 1, vec!["3"], vec![Unlabelled { index: 1 }]),
        ("<think>Answer 1: \\boxed{1}</think>\nAnswer 1: \\boxed{2}", 1, vec!["2"], vec![]),
        ("<think>Answer 1: \\boxed{1}</think>\nI ran out.", 1, vec![""], vec![Missing { k: 1 }]),
        ("a</think>b</think>Answer 1: \\boxed{7}", 1, vec!["7"], vec![]),
        // Labels must start a word and be directly before the box.
        (
            "FinalAnswer 1: \\boxed{3}",
            2,
            vec!["", ""],
            vec![Unlabelled { index: 1 }, Missing { k: 1 }, Missing { k: 2 }],
        ),
        (
            "Answer 1: it is \\boxed{3}",
            2,
            vec!["", ""],
            vec![Unlabelled { index: 1 }, Missing { k: 1 }, Missing { k: 2 }],
        ),
        // Not boxes: another command, an escaped backslash; `\boxed 3` takes one token.
        ("\\boxedx{1} \\\\boxed{2} \\boxed 3", 1, vec!["3"], vec![]),
        ("", 3, vec!["", "", ""], vec![Missing { k: 1 }, Missing { k: 2 }, Missing { k: 3 }]),
        ("Answer 1: \\boxed{}", 1, vec![""], vec![]),
        ("ANSWER #1: \\boxed{ü} — Answer 2:\n\n\\boxed{∞}", 2, vec!["ü", "∞"], vec![]),
    ];
    for (text, n, want, diags) in cases {
        let got = parse(text, n);
        let mut expected = some(&want);
        if text == "Answer 1: \\boxed{}" {
            expected = vec![Some(String::new())];
        }
        assert_eq!(got.answers, expected, "{text:?}");
        assert_eq!(got.diagnostics, diags, "{text:?}");
    }
}

#[test]
fn after_think_can_be_switched_off() {
    let text = "<think>Answer 1: \\boxed{1}</think>";
    let extract = ExtractOptions { after_think: false, ..ExtractOptions::default() };
    let opts = ParseOptions { extract, ..ParseOptions::default() };
    assert_eq!(parse_answers(text, 1, &opts).answers, some(&["1"]));
    assert_eq!(parse(text, 1).answers, some(&[""]));
}

#[test]
fn free_form_answers_for_one_problem() {
    // (response, answer ("" = none), diagnostics): N = 1, default options.
    let cases: Vec<(&str, &str, Vec<Diagnostic>)> = vec![
        ("Final answer: the smallest $k$ is 17.", "17", vec![FreeForm { k: 1 }]),
        ("so there are 4096 ways", "4096", vec![FreeForm { k: 1 }]),
        ("We find $x = 3$ in the end.", "x = 3", vec![FreeForm { k: 1 }]),
        ("42", "42", vec![FreeForm { k: 1 }]),
        ("<think>it is \\boxed{1}</think> I am not sure.", "", vec![Missing { k: 1 }]),
        ("I ran out of time.", "", vec![Missing { k: 1 }]),
        ("So \\boxed{3}, \\boxed{5}.", "3, 5", vec![]),
        // A cut box is not an answer, and hides the free-form rules.
        ("The answer is \\boxed{\\frac{1}{", "", vec![Truncated { k: None }, Missing { k: 1 }]),
    ];
    for (text, want, diags) in cases {
        let got = parse(text, 1);
        assert_eq!(got.answers, some(&[want]), "{text:?}");
        assert_eq!(got.diagnostics, diags, "{text:?}");
        assert_eq!(got.well_formed, vec![want.contains("3, 5")], "{text:?}");
    }
    // Free-form never fills an answer of N > 1.
    assert_eq!(parse("Answer: 17", 2).answers, some(&["", ""]));
}

#[test]
fn require_label_rejects_unlabelled_and_free_form_answers() {
    let strict = ParseOptions::labelled();
    for text in ["\\boxed{3}", "The answer is 3.", "so 3"] {
        let p = parse_answers(text, 1, &strict);
        assert_eq!(p.answers, some(&[""]), "{text}");
        assert_eq!(p.format_score(), 0.0);
    }
    let p = parse_answers("Answer 1: \\boxed{3}", 1, &strict);
    assert_eq!(p.answers, some(&["3"]));
    let positional = ParseOptions { positional_fallback: true, ..ParseOptions::labelled() };
    assert_eq!(parse_answers("\\boxed{3} \\boxed{4}", 2, &positional).answers, some(&["", ""]));
}

#[test]
fn positional_fallback_only_when_counts_match() {
    let opts = ParseOptions { positional_fallback: true, ..ParseOptions::default() };
    let p = parse_answers("\\boxed{3} then Answer 2: \\boxed{5} and \\boxed{8}", 3, &opts);
    assert_eq!(p.answers, some(&["3", "5", "8"]));
    assert_eq!(p.well_formed, vec![false, true, false]);
    assert_eq!(p.diagnostics, vec![Positional { k: 1 }, Positional { k: 3 }]);
    assert!((p.format_score() - 1.0 / 3.0).abs() < 1e-12);
    // Two unlabelled boxes for one missing answer: ambiguous, not used.
    let p = parse_answers("\\boxed{3} \\boxed{4} Answer 2: \\boxed{5}", 2, &opts);
    assert_eq!(p.answers, some(&["", "5"]));
    assert_eq!(p.diagnostics, vec![Unlabelled { index: 1 }, Unlabelled { index: 2 }, Missing { k: 1 }]);
}

#[test]
fn custom_label_and_format_score() {
    let opts = ParseOptions { label: "Final answer".into(), ..ParseOptions::default() };
    let p = parse_answers("Final answer 1: \\boxed{1}\nAnswer 2: \\boxed{2}", 2, &opts);
    assert_eq!(p.answers, some(&["1", ""]));
    assert_eq!(p.format_score(), 0.5);
    assert_eq!(parse("", 0).format_score(), 0.0);
}

#[test]
fn diagnostics_render_as_text_and_json() {
    assert_eq!(Truncated { k: Some(2) }.to_string(), "answer 2 cut off (box never closed)");
    assert_eq!(
        serde_json::to_string(&Duplicate { k: 1, count: 2 }).unwrap(),
        r#"{"kind":"duplicate","k":1,"count":2}"#
    );
}

/// Box contents: plain text, escaped braces, LaTeX, nested balanced groups.
fn content() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        "[a-z0-9+=^_,.() -]{1,4}",
        Just("\\{".to_string()),
        Just("\\}".to_string()),
        Just("\\frac{1}{2}".to_string()),
        Just("\\sqrt{x}".to_string()),
    ];
    let tree = atom.prop_recursive(4, 24, 4, |inner| {
        prop::collection::vec(inner, 1..4).prop_map(|parts| format!("{{{}}}", parts.concat()))
    });
    prop::collection::vec(tree, 1..4).prop_map(|parts| parts.concat())
}

/// Surrounding prose: anything without a backslash, brace or the label.
fn prose() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 .,;!?\n()*$=+:-]{0,40}".prop_filter("no label", |s| !s.to_lowercase().contains("answer"))
}

fn render(k: usize, answer: &str, style: usize) -> String {
    match style % 4 {
        0 => format!("Answer {k}: \\boxed{{{answer}}}"),
        1 => format!("**Answer {k}:** $\\boxed{{{answer}}}$"),
        2 => format!("Answer {k} : \\boxed {{{answer}}}"),
        _ => format!("answer {k}:\n\\fbox{{{answer}}}"),
    }
}

proptest! {
    #[test]
    fn rendered_answers_parse_back_exactly(
        items in prop::collection::vec((content(), prose(), 0usize..4), 1..=8),
        tail in prose(),
    ) {
        let n = items.len();
        let mut text = String::new();
        for (k, (answer, before, style)) in items.iter().enumerate() {
            text.push_str(before);
            text.push_str("\n\n");
            text.push_str(&render(k + 1, answer, *style));
        }
        text.push_str(&tail);
        let p = parse(&text, n);
        let want: Vec<Option<String>> = items.iter().map(|(a, _, _)| Some(a.trim().to_string())).collect();
        prop_assert_eq!(&p.answers, &want, "{}", text);
        prop_assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        prop_assert_eq!(p.format_score(), 1.0);
    }

    #[test]
    fn any_order_parses_and_reports_inversions(
        answers in prop::collection::vec(content(), 2..=8),
        seed in any::<u64>(),
    ) {
        let n = answers.len();
        let mut order: Vec<usize> = (0..n).collect();
        // A deterministic shuffle from the seed (Fisher-Yates with an LCG).
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        let text: Vec<String> = order.iter().map(|&i| render(i + 1, &answers[i], i)).collect();
        let p = parse(&text.join("\n"), n);
        let want: Vec<Option<String>> = answers.iter().map(|a| Some(a.trim().to_string())).collect();
        prop_assert_eq!(&p.answers, &want);
        let sorted = order.windows(2).all(|w| w[0] < w[1]);
        let inversions = p.diagnostics.iter().filter(|d| matches!(d, OutOfOrder { .. })).count();
        prop_assert_eq!(inversions == 0, sorted);
    }

    #[test]
    fn cutting_inside_the_last_box_truncates_it(
        answers in prop::collection::vec(content(), 1..=6),
        cut in 0usize..1000,
    ) {
        let n = answers.len();
        let mut text = String::new();
        for (k, a) in answers.iter().enumerate() {
            text.push_str(&render(k + 1, a, 0));
            text.push('\n');
        }
        // Cut strictly inside the last box: after its `{`, before its final `}`.
        let open = text.rfind("\\boxed{").unwrap() + "\\boxed{".len();
        let close = text.len() - 2; // the last box's `}` (before the newline)
        let at = open + cut % (close - open + 1);
        let cut_text = &text[..at];
        let p = parse(cut_text, n);
        for (got, want) in p.answers.iter().zip(&answers).take(n - 1) {
            prop_assert_eq!(got.as_deref(), Some(want.trim()));
        }
        prop_assert_eq!(&p.answers[n - 1], &None);
        prop_assert!(p.diagnostics.contains(&Truncated { k: Some(n) }), "{:?} {:?}", p.diagnostics, cut_text);
    }
}

/// Each case: response, n, the sections' texts (None: not separable).
#[test]
fn sections_split_at_labelled_boxes() {
    let cases: &[(&str, usize, &[Option<&str>])] = &[
        (
            "A. Answer 1: \\boxed{1} B. Answer 2: \\boxed{2} tail",
            2,
            &[Some("A. Answer 1: \\boxed{1}"), Some(" B. Answer 2: \\boxed{2}")],
        ),
        // The reasoning before </think> belongs to no section.
        ("<think>all of it</think>x Answer 1: \\boxed{1}", 1, &[Some("x Answer 1: \\boxed{1}")]),
        // A correction right after its first box stays in the section.
        (
            "Answer 1: \\boxed{1} no, Answer 1: \\boxed{7} Answer 2: \\boxed{2}",
            2,
            &[Some("Answer 1: \\boxed{1} no, Answer 1: \\boxed{7}"), Some(" Answer 2: \\boxed{2}")],
        ),
        // Answer 2 missing: section 3 would hold problem 2's work, so it is not separable.
        ("a Answer 1: \\boxed{1} b c Answer 3: \\boxed{3}", 3, &[Some("a Answer 1: \\boxed{1}"), None, None]),
        // Answer 1 given again after answer 2: section 1 is not clean, section 2 is.
        ("Answer 1: \\boxed{1} Answer 2: \\boxed{2} Answer 1: \\boxed{9}", 2, &[None, Some(" Answer 2: \\boxed{2}")]),
        // Out of order: 2 before 1.
        ("Answer 2: \\boxed{2} Answer 1: \\boxed{1}", 2, &[None, None]),
        // A truncated box is no answer; an out-of-range label is a boundary.
        ("Answer 1: \\boxed{1} Answer 2: \\boxed{2", 2, &[Some("Answer 1: \\boxed{1}"), None]),
        ("Answer 1: \\boxed{1} Answer 5: \\boxed{5} Answer 2: \\boxed{2}", 2, &[Some("Answer 1: \\boxed{1}"), None]),
        ("no boxes at all", 2, &[None, None]),
        ("", 0, &[]),
    ];
    for &(response, n, want) in cases {
        let got: Vec<Option<&str>> = split_sections(response, n, &ParseOptions::default())
            .into_iter()
            .map(|r| r.map(|r| &response[r]))
            .collect();
        assert_eq!(got, want, "{response:?}");
    }
}
