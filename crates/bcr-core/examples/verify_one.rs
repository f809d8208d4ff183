//! Prints the extracted answer and the verdict of one pair: `verify_one GOLD PRED`.
fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(gold), Some(pred)) = (args.next(), args.next()) else {
        eprintln!("usage: verify_one GOLD PRED");
        std::process::exit(2);
    };
    println!("extracted: {:?}", bcr_core::extract_answer(&pred));
    println!("verdict: {:?}", bcr_core::verify(&gold, &pred));
}
