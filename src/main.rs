//! skimhunt's entry point: parse flags, run, map errors to exit codes
//! (0 no finding at the --fail-on level, 1 findings, 2 fatal error).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use skimhunt::app;
use skimhunt::cli::{Cli, Command, RulesCommand};

fn main() -> ExitCode {
    // glibc maps each allocation of more than 128 KiB to fresh pages and
    // unmaps it when freed, so every chunk's rendered findings (megabytes)
    // were faulted in and zeroed anew; keep such blocks in the heap for
    // reuse instead.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: plain tuning calls, made before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
    // A panic is a bug, never an answer to input; its default message can
    // quote the line being read, so it is shown with card numbers masked.
    // A panic while scanning a file also makes that file an error entry
    // and the exit status 2 (`scan::isolated`).
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "skimhunt: internal error{at}: {}",
            skimhunt::scan::panic_text(info.payload())
        );
    }));
    let cli = Cli::parse();
    let command_line: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result: anyhow::Result<u8> = match cli.command {
        Command::Scan(args) => app::scan(&args, command_line)
            .map_err(anyhow::Error::from)
            .and_then(|o| match o.incomplete {
                Some(why) => Err(anyhow::anyhow!(why)),
                None => Ok(u8::from(o.failed)),
            }),
        Command::Rules(RulesCommand::List(list)) => {
            app::rules_list(&list.src, list.format, &mut std::io::stdout().lock())
                .map(|()| 0)
                .map_err(Into::into)
        }
        Command::Rules(RulesCommand::Check { paths }) => {
            app::rules_check(&paths, &mut std::io::stdout().lock())
                .map(|ok| u8::from(!ok))
                .map_err(Into::into)
        }
        Command::Completions { shell } => {
            app::completions(shell, &mut std::io::stdout().lock());
            Ok(0)
        }
        Command::Man => app::man(&mut std::io::stdout().lock())
            .map(|()| 0)
            .map_err(Into::into),
        Command::Rules(RulesCommand::Test { paths }) => {
            app::rules_test(&paths, &mut std::io::stdout().lock())
                .map(|ok| u8::from(!ok))
                .map_err(Into::into)
        }
    };
    let _ = std::io::stdout().flush();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!(
                "skimhunt: error: {}",
                skimhunt::text::sanitize(&format!("{e}"))
            );
            ExitCode::from(2)
        }
    }
}
