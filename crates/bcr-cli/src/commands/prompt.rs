//! `bcr prompt`: the prompt of each pack, as the model will see it.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bcr_core::run::{Progress, ProgressSpec};
use bcr_core::{ChatMessage, ChatTemplate, PackReader, PromptTemplate, TokenizerConfig};
use serde::Serialize;

const AFTER_HELP: &str = "\
Writes one JSON object per pack, in input order: {\"pack_id\", \"prompt\"}.
Without --model, \"prompt\" is the user message: for N = 1 the standard
single-problem prompt (\"...Please reason step by step, and put your final answer
within \\boxed{}.\"), for N > 1 one \"### Problem k\" section per problem and the
instruction to end each solution with \"Answer k: \\boxed{...}\". With --model it
is that message wrapped by the model's own chat template (system message if
--system, then the user turn, then the opening of the assistant turn).

--model accepts a Hugging Face model directory (its tokenizer_config.json, or
chat_template.jinja when present), a tokenizer_config.json file, or a .gguf file
(read from the metadata key tokenizer.chat_template; only the metadata is read).
A --template file is a minijinja/Jinja2 template with the variables n, label,
pack_id and problems (a list of {id, question}).

Examples:
  bcr prompt --packs packs.jsonl --output prompts.jsonl
  bcr prompt --packs packs.jsonl --model target/models/SmolLM2-135M-Instruct.Q4_1.gguf
  bcr prompt --packs packs.jsonl --model ~/models/Qwen3-4B-Thinking-2507 --label \"Final answer\"
  bcr prompt --packs packs.jsonl --model tok_dir --chat-arg enable_thinking=false";

/// Flags of `bcr prompt`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Pack JSONL file ({"pack_id", "n", "problems"}). Example: --packs packs.jsonl
    #[arg(long, value_name = "FILE")]
    packs: PathBuf,
    /// Wrap the prompt in this model's chat template: a model directory, a
    /// tokenizer_config.json or a .gguf file. Example: --model models/Qwen2.5-Math-1.5B-Instruct
    #[arg(long, value_name = "DIR_OR_GGUF")]
    model: Option<PathBuf>,
    /// Custom prompt template file (minijinja). Example: --template my_prompt.jinja
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// Answer label the prompt asks for. Example: --label "Final answer"
    #[arg(long, value_name = "TEXT", default_value = bcr_core::DEFAULT_LABEL)]
    label: String,
    /// System message (needs --model). Example: --system "You are a careful mathematician."
    #[arg(long, value_name = "TEXT", requires = "model")]
    system: Option<String>,
    /// Extra chat-template variable as KEY=JSON (repeatable; needs --model). Example: --chat-arg enable_thinking=false
    #[arg(long = "chat-arg", value_name = "KEY=JSON", requires = "model")]
    chat_args: Vec<String>,
    /// Output JSONL file (`-` or absent: stdout). Example: --output prompts.jsonl
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Serialize)]
struct PromptLine<'a> {
    pack_id: &'a str,
    prompt: String,
}

/// The model side: its chat template and the extra variables.
struct Chat {
    template: ChatTemplate,
    system: Option<String>,
    kwargs: serde_json::Map<String, serde_json::Value>,
}

/// Runs `bcr prompt`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let prompt = match &args.template {
        Some(path) => PromptTemplate::from_file(path)?,
        None => PromptTemplate::default(),
    }
    .with_label(&args.label)
    .context("--label")?;
    let chat = match &args.model {
        Some(model) => Some(Chat {
            template: TokenizerConfig::from_model(model)?.chat_template()?,
            system: args.system.clone(),
            kwargs: parse_chat_args(&args.chat_args)?,
        }),
        None => None,
    };
    let mut out = open_output(args.output.as_deref())?;
    let progress = Progress::new(&ProgressSpec::stream("prompt", "prompts"), true);
    let mut count = 0usize;
    for pack in PackReader::open(&args.packs)? {
        let pack = pack?;
        let mut text = prompt.render(&pack).with_context(|| at(&args.packs, &pack.pack_id))?;
        if let Some(chat) = &chat {
            let mut messages: Vec<ChatMessage> = chat.system.iter().map(ChatMessage::system).collect();
            messages.push(ChatMessage::user(text));
            text = chat
                .template
                .render_with(&messages, true, &chat.kwargs)
                .with_context(|| at(&args.packs, &pack.pack_id))?;
        }
        serde_json::to_writer(&mut out, &PromptLine { pack_id: &pack.pack_id, prompt: text })?;
        out.write_all(b"\n").context("writing the output")?;
        count += 1;
        progress.advance(1);
    }
    out.flush().context("writing the output")?;
    progress.finish();
    eprintln!("rendered {count} prompts");
    Ok(())
}

fn at(packs: &Path, pack_id: &str) -> String {
    format!("{}: pack `{pack_id}`", packs.display())
}

/// `KEY=JSON` pairs; a value that is not JSON is taken as a string.
fn parse_chat_args(pairs: &[String]) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut map = serde_json::Map::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--chat-arg {pair:?}: expected KEY=JSON, e.g. enable_thinking=false");
        };
        if key.is_empty() {
            bail!("--chat-arg {pair:?}: empty key");
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        map.insert(key.to_string(), value);
    }
    Ok(map)
}

/// A buffered writer on the file, or on stdout for `-` / no file.
pub(super) fn open_output(path: Option<&Path>) -> anyhow::Result<BufWriter<Box<dyn Write>>> {
    let sink: Box<dyn Write> = match path {
        Some(p) if p != Path::new("-") => Box::new(super::create_output(p)?),
        _ => Box::new(std::io::stdout().lock()),
    };
    Ok(BufWriter::new(sink))
}
