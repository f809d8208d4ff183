//! Table-driven tests of the whole verifier: each row is (gold, pred, expected).

use super::{grade, verify, Reason};

fn check(rows: &[(&str, &str, bool)]) {
    let mut failures = Vec::new();
    for (gold, pred, want) in rows {
        let got = verify(gold, pred);
        if got.equivalent != *want {
            failures.push(format!("grade({gold:?}, {pred:?}) = {got:?}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn numbers() {
    check(&[
        ("42", "42", true),
        ("42", "42.0", true),
        ("42", "43", false),
        ("-5", "-5", true),
        ("-5", "5", false),
        ("0.5", "\\frac{1}{2}", true),
        (".0000672", "6.72\\times10^{-5}", true),
        ("1500", "1.5\\times10^{3}", true),
        ("1500", "1.5e3", true),
        ("1500", "1.5 \\cdot 10^3", true),
        ("7425000", "7,425,000", true),
        ("10080", "10,\\!080", true),
        ("11,\\! 111,\\! 111,\\! 100", "11111111100", true),
        ("1000", "1 000", true),
        ("12", "1,2", false),
        ("1,2", "2,1", true),
        ("\\frac12", "0.5", true),
        ("\\frac 34", "\\dfrac{3}{4}", true),
        ("\\frac9{19}", "9/19", true),
        ("\\tfrac{1}{3}", "\\cfrac{1}{3}", true),
        ("\\frac{1}{3}", "0.33", false),
        ("\\frac{1}{3}", "0.333", true),
        ("0.5", "0.50001", false),
        ("1\\frac{4}{5}", "\\frac{9}{5}", true),
        ("137 \\frac{1}{2}", "137.5", true),
        ("-\\frac{3}{8}", "\\frac{-3}{8}", true),
        ("-\\frac{3}{8}", "-0.375", true),
        ("\\$18.90", "18.9", true),
        ("\\$32,\\!348", "32348", true),
        ("5.4 \\text{ cents}", "5.4", true),
        ("15\\mbox{ cm}^2", "15", true),
        ("864 \\mbox{ inches}^2", "864", true),
        ("26000", "26000 dollars", true),
        ("204_5", "204", true),
        ("4210_{5}", "4210_5", true),
        ("2^{10}", "1024", true),
        ("2^10", "1024", true),
    ]);
}

#[test]
fn percent_and_degrees() {
    check(&[
        ("50\\%", "0.5", true),
        ("50\\%", "50", true),
        ("50\\%", "50\\%", true),
        ("0.08", "8\\%", true),
        ("50\\%", "5", false),
        ("30^\\circ", "30", true),
        ("30^\\circ", "\\frac{\\pi}{6}", true),
        ("\\frac{\\pi}{6}", "30^{\\circ}", true),
        ("30^\\circ", "60", false),
        ("\\frac{270}7\\text{ degrees}", "\\frac{270}{7}", true),
        ("106^\\circ", "106°", true),
    ]);
}

#[test]
fn symbolic() {
    check(&[
        ("2\\sqrt{5}", "\\sqrt{20}", true),
        ("\\sqrt3", "\\sqrt{3}", true),
        ("\\sqrt[3]{8}", "2", true),
        ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", true),
        ("\\frac{\\sqrt{3}}{3}", "0.577", true),
        ("\\sqrt{2}", "1.4", false),
        ("\\sqrt{2}", "1.41", true),
        ("\\sqrt{2}", "1.42", false),
        ("12\\pi", "12 \\pi", true),
        ("12\\pi", "37.699", true),
        ("12\\pi", "12", false),
        ("\\frac{20000}{\\pi}", "\\frac{20000}{3.14159265358979}", true),
        ("1+2i", "2i+1", true),
        ("-2 + 7i", "7i - 2", true),
        ("1+2i", "1-2i", false),
        ("i^2", "-1", true),
        ("e^{i\\pi}", "-1", true),
        ("x^3+3x-6", "3x + x^3 - 6", true),
        ("x^3+3x-6", "x^3+3x+6", false),
        ("1e-5", "0.00001", true),
        ("1e-5", "-5+1e", false),
        ("3\\sqrt{13}", "3\\sqrt 13", false),
        ("9", "3\\sqrt 13", true),
        ("(a+5)(b+2)", "ab+2a+5b+10", true),
        ("6r^2-4r-24", "2(3r^2-2r-12)", true),
        ("\\frac{11+9a}{20}", "\\frac{11}{20}+\\frac{9a}{20}", true),
        ("\\cot x", "\\frac{\\cos x}{\\sin x}", true),
        ("\\sin^2 x + \\cos^2 x", "1", true),
        ("2k+2", "2(k+1)", true),
        ("\\infty", "\\infty", true),
        ("\\log_2 8", "3", true),
        ("\\ln e", "1", true),
        ("5!", "120", true),
        ("\\binom{6}{2}", "15", true),
        ("|-3|", "3", true),
        ("\\lfloor 2.5 \\rfloor", "2", true),
        ("\\frac{4 \\cdot 999^{4}}{27}", "\\frac{4}{27} \\cdot 999^4", true),
    ]);
}

#[test]
fn structures() {
    check(&[
        ("x = 5", "5", true),
        ("5", "x=5", true),
        ("x=5", "x = -5", false),
        ("y = 2x + 3", "2x+3", true),
        ("y = 2x + 3", "y - 2x = 3", true),
        ("y = -2x", "y = 2x", false),
        ("5x - 7y + 11z + 4 = 0", "10x - 14y + 22z + 8 = 0", true),
        ("5x - 7y + 11z + 4 = 0", "5x - 7y + 11z - 4 = 0", false),
        ("f(n) = 2 n+1007", "2n+1007", true),
        ("(-1, 3]", "-1 < x \\le 3", true),
        ("-1 < x \\le 3", "(-1, 3]", true),
        ("(-1, 3]", "[-1, 3]", false),
        ("(2,4)", "2 < x < 4", true),
        ("2 < x < 4", "(2,4)", true),
        ("(2,4)", "(2,4)", true),
        ("(2,4)", "(4,2)", false),
        ("\\{1,2\\}", "(1,2)", false),
        ("(1,2)", "\\{1,2\\}", false),
        ("\\{1,2\\}", "\\{2,1\\}", true),
        ("(1,2)", "(2,1)", false),
        ("(5,\\infty)", "x > 5", true),
        ("(-\\infty, 0]", "x \\le 0", true),
        ("(-\\infty, 0]", "(-\\infty, 0)", false),
        ("x \\in [-2,7]", "[-2,7]", true),
        ("[2, \\infty)", "k \\geqslant 2", true),
        ("(-\\infty, 2) \\cup (3, \\infty)", "(3, \\infty) \\cup (-\\infty, 2)", true),
        ("(-\\infty, 2) \\cup (3, \\infty)", "x < 2 \\text{ or } x > 3", true),
        ("(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty, 2] \\cup (3, \\infty)", false),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", true),
        ("\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "(0.6, 8/3]", true),
        ("(1,-16,-4,43)", "(1, -16, -4, 43)", true),
        ("(1,-16,-4,43)", "(1, -16, 43, -4)", false),
        ("3, 5, 7", "7, 5, 3", true),
        ("3, 5, 7", "3, 5", false),
        ("-2,1", "1, -2", true),
        ("27,54,108,135", "\\{135, 108, 54, 27\\}", true),
        ("58,500", "58500", true),
        ("\\frac{32}{9}$,$\\frac{1}{2}", "\\dfrac{32}{9}$,$\\dfrac{1}{2}", true),
        ("\\frac{32}{9}$,$\\frac{1}{2}", "\\frac{1}{2}, \\frac{32}{9}", true),
        ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", true),
        ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}", false),
        ("3 \\pm 2 \\sqrt{2}", "3 - 2\\sqrt2, 3+2\\sqrt 2", true),
        ("\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt5, 1-\\sqrt5", true),
        (
            "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
            "\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}",
            true,
        ),
        (
            "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
            "\\begin{pmatrix} 1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
            false,
        ),
        ("\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", "\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}", true),
        ("\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", "(1/5, -18/5)", true),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\end{pmatrix}", false),
    ]);
}

#[test]
fn choices_and_text() {
    check(&[
        ("\\text{(C)}", "C", true),
        ("\\text{(C)}", "(C)", true),
        ("\\text{(C)}", "\\textbf{(C)}", true),
        ("\\text{(C)}", "(D)", false),
        ("C", "\\text{C}", true),
        ("\\text{Evelyn}", "Evelyn", true),
        ("\\text{Evelyn}", "evelyn", true),
        ("\\text{Evelyn}", "Navin", false),
        ("\\text{east}", "\\text{East}", true),
        ("\\text{ellipse}", "\\text{circle}", false),
        ("\\text{even}", "even", true),
        ("east", "East", true),
        ("no solution", "No Solution.", true),
        ("east", "west", false),
        ("abc", "cba", false),
        ("xy", "yx", true),
        ("5", "5 apples", true),
        ("12", "12 students", true),
        ("5", "5.", true),
        ("x = 5", "x=5.", true),
        ("\\sin x", "sin x", true),
    ]);
}

#[test]
fn whole_responses() {
    check(&[
        ("\\frac{1}{2}", "We compute... so the answer is $\\boxed{\\dfrac12}$.", true),
        ("(2,4)", "The point is \\boxed{\\left( 2,4 \\right)}.", true),
        ("(2,4)", "The point is \\boxed{\\left( 2,4 \\right)}.", true),
        ("24", "First \\boxed{12}, then corrected: \\boxed{24}", true),
        ("24", "First \\boxed{24}, then corrected: \\boxed{12}", false),
        ("7", "The final answer is 7.", true),
        ("7", "So we get $x = 3$ and finally $7$.", true),
        ("3", "", false),
        ("", "3", false),
    ]);
}

#[test]
fn hostile_inputs_get_a_quick_verdict() {
    let deep_braces = format!("{}1{}", "{".repeat(10_000), "}".repeat(10_000));
    let deep_parens = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let deep_frac = "\\frac{1}{".repeat(5_000);
    let megabyte = "1+".repeat(500_000);
    let bangs = format!("100{}", "!".repeat(10_000));
    let minus = "-".repeat(100_000) + "1";
    let rows: Vec<(&str, &str)> = vec![
        ("1", &deep_braces),
        (&deep_braces, "1"),
        ("1", &deep_parens),
        ("1", &deep_frac),
        ("1", &megabyte),
        (&megabyte, &megabyte),
        ("1", "10^{10^{10^{10}}}"),
        ("10^{10^{10^{10}}}", "10^{10^{10^{10}}}+1"),
        ("1", "100!!!"),
        ("100!!!", "100!!!!"),
        ("1", &bangs),
        ("1", &minus),
        ("1", "{{{{}"),
        ("1", "}}}{"),
        ("1", "\\frac{"),
        ("1", "\\begin{pmatrix}"),
        ("1", "\\sqrt["),
        ("1", "2^{-99999999}"),
        ("1", "1e99999"),
        ("1", "0^{-1}"),
        ("1", "\\frac{1}{0}"),
        ("x", "x^{x^{x^{x^{x^{x}}}}}"),
        ("\\{1,2\\}", "\\pm\\pm\\pm\\pm\\pm\\pm 1"),
        ("1", "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"),
        ("ÿ", "é\u{0}\u{FFFF}"),
    ];
    for (gold, pred) in rows {
        // Reaching the assertion at all is the test: no panic, no hang.
        let v = verify(gold, pred);
        assert!(!(v.equivalent && v.reason == Reason::Empty), "{v:?}");
    }
    assert!(!grade("1", &deep_braces) || grade("1", "{1}"));
    assert!(!grade("1", "10^{10^{10^{10}}}"));
    assert!(!grade("10^{10^{10^{10}}}", "10^{10^{10^{10}}}+1"));
    assert!(grade("100!!!", "100!!!"));
    assert!(!grade("1", "100!!!"));
}

#[test]
fn invalid_utf8_is_graded_after_lossy_decoding() {
    let bytes = [0x31u8, 0xFF, 0xFE];
    let pred = String::from_utf8_lossy(&bytes);
    assert!(!grade("1", &pred));
}

/// Every MATH-500 gold answer parses (so comparisons against it are
/// mathematical, not textual) and equals itself.
#[test]
fn math500_golds_parse_and_equal_themselves() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/benchmarks/math500.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut unparsed = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        let gold = v["answer"].as_str().unwrap_or_else(|| panic!("no answer in {line}"));
        assert!(grade(gold, gold), "{gold}");
        if super::parse(gold).is_none() {
            unparsed.push(gold.to_string());
        }
    }
    assert!(unparsed.is_empty(), "{} golds do not parse: {unparsed:?}", unparsed.len());
}

/// Issue 21's categories, a few rows each (the full labelled set is
/// `tests/fixtures/verifier/freeform.tsv`).
#[test]
fn free_form_categories() {
    check(&[
        // No box.
        ("17", "Final answer: the smallest $k$ is 17.", true),
        ("4096", "so there are 4096 ways", true),
        ("12", "Thus \\(x = 12\\).", true),
        ("7", "<think>\\boxed{5}</think>The answer is 7.", true),
        ("7", "<think>\\boxed{7}</think>The answer is 5.", false),
        // Numbers as people write them.
        ("3.75", "3,75", true),
        ("375", "3,75", false),
        ("3.75", "3,750", false),
        ("2500.5", "2,500.50", true),
        ("12", "12 €", true),
        ("5", "5 km²", true),
        ("0.25", "25 pct", true),
        ("\\frac{1}{7}", "0.142857", true),
        ("\\frac{1}{7}", "0.14", false),
        ("\\sqrt{3}", "\\approx 1.732", true),
        // Chains and equations.
        ("10", "y = 4 \\cdot 3 - 2 = 10", true),
        ("(4,1)", "(a,b)=(4,1)", true),
        ("(2,9),(9,2)", "a=2,b=9; a=9,b=2", true),
        ("(2,9),(9,2)", "a=2,b=9", false),
        // Relations.
        ("t \\neq 4", "t != 4", true),
        ("t > -3", "-2t < 6", true),
        ("t \\in [0,5)", "0 \\le t < 5", true),
        ("(-\\infty, -2) \\cup (2, \\infty)", "|t| > 2", true),
        ("(-3, 3)", "|t| \\le 3", false),
        // Sets and several answers.
        ("\\boxed{3,5}", "\\boxed{3}\\boxed{5}", true),
        ("\\{(1,2),(3,4)\\}", "(3,4),(1,2)", true),
        ("(1,2)", "\\{1,2\\}", false),
        // Matrices.
        ("\\begin{pmatrix} 2 & 4 \\\\ 6 & 8 \\end{pmatrix}", "2\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", true),
        ("\\begin{pmatrix} \\frac13 \\end{pmatrix}", "\\begin{pmatrix} 0.333 \\end{pmatrix}", true),
        ("\\begin{pmatrix} \\frac13 \\end{pmatrix}", "\\begin{pmatrix} 0.33 \\end{pmatrix}", false),
    ]);
}

/// The verdict reports the operations it spent, within the budget.
#[test]
fn verdicts_count_their_operations() {
    let v = verify("x^3+3x-6", "3x + x^3 - 6");
    assert!(v.equivalent && v.ops > 0 && v.ops <= super::OP_BUDGET, "{v:?}");
    let huge = "+x".repeat(1000);
    assert!(verify(&huge, &huge.replace('x', "y")).ops <= super::OP_BUDGET);
}
