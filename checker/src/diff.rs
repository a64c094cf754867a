//! `coord diff zk`: the differential tester. Plays seeded plans of ZooKeeper calls over
//! several sessions against a coord zk cluster and a ZooKeeper 3.8 ensemble, and reports
//! every seed whose answers differ, with the shortest prefix that shows it.

use crate::both::BothArgs;
use coord_checker::diff_plan::Shape;
use coord_checker::zk_diff::Pair;

#[derive(clap::Subcommand, Debug)]
pub enum DiffCommand {
    /// coord's ZooKeeper against ZooKeeper 3.8, reply by reply and event by event.
    Zk(DiffArgs),
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// How many seeds to play.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// The first seed (seeds are played in order from it).
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Steps in each seed's plan (the final closes not counted).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..=10_000))]
    steps: u64,
    /// Never leave a session to expire (each expiry waits about 10 s).
    #[arg(long)]
    no_expiry: bool,
    #[command(flatten)]
    both: BothArgs,
}

pub fn run(command: &DiffCommand) -> Result<bool, String> {
    let DiffCommand::Zk(args) = command;
    let both = args.both.start()?;
    let pair = Pair {
        coord: &both.coord,
        zookeeper: &both.zookeeper,
    };
    let shape = Shape {
        steps: args.steps as usize,
        members: both.coord.len().min(both.zookeeper.len()),
        expiry: !args.no_expiry,
    };
    let tag = format!("{}", std::process::id());
    let mut differ = Vec::new();
    for seed in args.first_seed..args.first_seed + args.seeds {
        both.go_on()?;
        match pair.compare(seed, shape, &tag) {
            Ok(agreed) => {
                println!("seed {seed}: {} steps, the same answers", agreed.steps);
                for (step, known) in agreed.known {
                    println!(
                        "    but for a known difference from step {step}: {}",
                        known.what
                    );
                }
                if let Some(first) = agreed.unconfirmed {
                    println!("    (a first play differed, which a second did not show:)");
                    print!("{first}");
                }
            }
            Err(mismatch) => {
                print!("{mismatch}");
                differ.push(seed);
            }
        }
    }
    println!(
        "{} of {} seeds gave the same answers{}",
        args.seeds as usize - differ.len(),
        args.seeds,
        match differ.is_empty() {
            true => String::new(),
            false => format!("; differences at seeds {differ:?}"),
        }
    );
    Ok(differ.is_empty())
}
