//! The module driven through an embedded interpreter, as Python would call it.

use super::*;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::types::{PyDict, PyList};

fn with_module<R>(f: impl FnOnce(Python<'_>, &Bound<'_, PyModule>) -> R) -> R {
    pyo3::prepare_freethreaded_python();
    Python::with_gil(|py| {
        let m = PyModule::new(py, "_bcr").expect("new module");
        _bcr(&m).expect("module init");
        f(py, &m)
    })
}

#[test]
fn grade_batch_equals_grade_one_by_one() {
    let cases = [("2", "2.0"), ("1/2", "\\boxed{\\frac{1}{2}}"), ("3", "4"), ("", ""), ("x", "\\boxed{x")];
    let golds: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
    let preds: Vec<String> = cases.iter().map(|c| c.1.to_string()).collect();
    let singles: Vec<bool> = cases.iter().map(|(g, p)| bcr_core::grade(g, p)).collect();
    assert_eq!(batch::grade_all(&golds, &preds), singles);
}

#[test]
fn functions_are_callable_with_keywords() {
    with_module(|py, m| {
        let kw = PyDict::new(py);
        kw.set_item("label", "Answer").unwrap();
        let parsed = m.getattr("parse").unwrap().call(("Answer 1: \\boxed{\\frac{1}{2}}", 1), Some(&kw)).unwrap();
        assert_eq!(parsed.extract::<Vec<Option<String>>>().unwrap(), vec![Some("\\frac{1}{2}".to_string())]);
        let score =
            m.getattr("score").unwrap().call1(("Answer 1: \\boxed{3}\nAnswer 2: \\boxed{5}", vec!["3", "4"])).unwrap();
        let score = score.downcast::<PyDict>().unwrap();
        let correct: Vec<bool> = score.get_item("correct").unwrap().unwrap().extract().unwrap();
        assert_eq!(correct, [true, false]);
        let accuracy: f64 = score.get_item("accuracy").unwrap().unwrap().extract().unwrap();
        assert!((accuracy - 0.5).abs() < 1e-12);
        assert!(m.getattr("__version__").unwrap().extract::<String>().unwrap().contains('.'));
    });
}

#[test]
fn bad_input_raises_python_errors() {
    with_module(|py, m| {
        let cases: Vec<(&str, Bound<'_, pyo3::types::PyTuple>, bool)> = vec![
            ("grade_batch", (vec!["1"], vec!["1", "2"]).into_pyobject(py).unwrap(), true),
            ("score", ("x", PyList::empty(py)).into_pyobject(py).unwrap(), true),
            ("parse", ("x", 0).into_pyobject(py).unwrap(), true),
            ("grade", (1, "1").into_pyobject(py).unwrap(), false),
            ("score", ("x", "not a list").into_pyobject(py).unwrap(), false),
        ];
        for (name, args, value_error) in cases {
            let err = m.getattr(name).unwrap().call1(args).unwrap_err();
            if value_error {
                assert!(err.is_instance_of::<PyValueError>(py), "{name}: {err}");
            } else {
                assert!(err.is_instance_of::<PyTypeError>(py), "{name}: {err}");
            }
        }
    });
}
