//! The `bedrock-meter` binary: parses the command line and hands over to [`bedrock_meter::cli`].
use std::process::ExitCode;

fn main() -> ExitCode {
    bedrock_meter::cli::main()
}
