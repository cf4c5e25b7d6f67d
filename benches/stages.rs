//! Per-stage benchmarks on the bundled `prod` example, and the whole pipeline on
//! generated sites of 10 to 10,000 nodes (1,000 subnets, IPv4 and IPv6).
//!
//! ```sh
//! cargo bench --bench stages
//! ```
//!
//! Results and the machine they ran on: BENCHMARKS.md.

mod fleet;

use std::collections::BTreeMap;

use divan::{Bencher, black_box};
use gcc::compile::input_digests;
use gcc::source::{MemSource, WorkDir};

fn main() {
    divan::main();
}

/// The bundled repository (environments/, inventory/).
fn repo() -> WorkDir {
    WorkDir::new(env!("CARGO_MANIFEST_DIR"))
}

/// The rendered files of `prod`.
fn prod_files() -> BTreeMap<String, Vec<u8>> {
    gcc::compile::compile(&repo(), "prod")
        .unwrap()
        .build
        .unwrap()
        .rendered
        .files
}

/// A generated site with `nodes` nodes and `subnets` subnets, as environment `gen`.
fn site(nodes: usize, subnets: usize) -> MemSource {
    let shape = fleet::Shape { nodes, subnets };
    MemSource::new()
        .with("environments/gen.yaml", fleet::environment("gen", false))
        .with("inventory/gen.yaml", fleet::inventory("gen", shape))
}

/// What a one-shot process pays once, before any stage: reading the embedded catalog and
/// compiling the two input schemas.
mod startup {
    use super::*;
    use gcc::schema::SchemaKind;

    #[divan::bench]
    fn catalog(b: Bencher) {
        b.bench(gcc::catalog::Catalog::read);
    }

    #[divan::bench]
    fn schemas(b: Bencher) {
        b.bench(|| {
            (
                SchemaKind::Inventory.compile(),
                SchemaKind::Environment.compile(),
            )
        });
    }
}

mod prod {
    use super::*;

    #[divan::bench]
    fn load(b: Bencher) {
        let src = repo();
        b.bench(|| gcc::load::load(black_box(&src), "prod").unwrap());
    }

    #[divan::bench]
    fn check(b: Bencher) {
        let loaded = gcc::load::load(&repo(), "prod").unwrap();
        b.bench(|| gcc::check::check(black_box(&loaded)));
    }

    #[divan::bench]
    fn plan(b: Bencher) {
        let loaded = gcc::load::load(&repo(), "prod").unwrap();
        let model = gcc::check::check(&loaded).model.unwrap();
        b.bench(|| gcc::plan::plan(black_box(&loaded), black_box(&model)));
    }

    /// The plan with provenance recorded, as `gcc explain` runs it (a build never does).
    #[divan::bench]
    fn plan_traced(b: Bencher) {
        let loaded = gcc::load::load(&repo(), "prod").unwrap();
        let model = gcc::check::check(&loaded).model.unwrap();
        b.bench(|| gcc::plan::plan_traced(black_box(&loaded), black_box(&model)));
    }

    #[divan::bench]
    fn emit(b: Bencher) {
        let loaded = gcc::load::load(&repo(), "prod").unwrap();
        let model = gcc::check::check(&loaded).model.unwrap();
        let plan = gcc::plan::plan(&loaded, &model).plan.unwrap();
        b.bench(|| gcc::emit::emit(black_box(&plan)));
    }

    #[divan::bench]
    fn render(b: Bencher) {
        let loaded = gcc::load::load(&repo(), "prod").unwrap();
        let model = gcc::check::check(&loaded).model.unwrap();
        let plan = gcc::plan::plan(&loaded, &model).plan.unwrap();
        let emitted = gcc::emit::emit(&plan);
        let digests = input_digests(&loaded);
        b.bench(|| gcc::render::render(black_box(&plan), black_box(&emitted), &digests).unwrap());
    }

    #[divan::bench]
    fn write(b: Bencher) {
        let files = prod_files();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prod");
        b.with_inputs(|| {
            let _ = std::fs::remove_dir_all(&out);
        })
        .bench_values(|()| gcc::ops::outdir::write_tree(&out, black_box(&files)).unwrap());
    }

    /// The output already holds exactly this tree: read back, compared, left alone.
    #[divan::bench]
    fn write_unchanged(b: Bencher) {
        let files = prod_files();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prod");
        gcc::ops::outdir::write_tree(&out, &files).unwrap();
        b.bench(|| gcc::ops::outdir::write_tree(&out, black_box(&files)).unwrap());
    }

    /// The output holds another build of the same environment (its lock differs): the new
    /// tree is staged and swapped in.
    #[divan::bench]
    fn write_changed(b: Bencher) {
        let files = prod_files();
        let mut older = files.clone();
        if let Some(lock) = older.get_mut("gcc.lock.json") {
            lock.extend_from_slice(b" ");
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prod");
        b.with_inputs(|| {
            gcc::ops::outdir::write_tree(&out, &older).unwrap();
        })
        .bench_values(|()| gcc::ops::outdir::write_tree(&out, black_box(&files)).unwrap());
    }

    /// load → check → plan → emit → render, no write.
    #[divan::bench]
    fn compile(b: Bencher) {
        let src = repo();
        b.bench(|| {
            gcc::compile::compile(black_box(&src), "prod")
                .unwrap()
                .build
                .unwrap()
        });
    }
}

mod nodes {
    use super::*;

    const NODES: &[usize] = &[10, 100, 1_000, 10_000];

    /// load + check on sites of 8 subnets: parsing, schema, names, and the address, MAC
    /// and pool checks, all sort-and-sweep.
    #[divan::bench(args = NODES, sample_count = 10)]
    fn check(b: Bencher, n: usize) {
        let src = site(n, 8);
        b.bench(|| gcc::check::check(&gcc::load::load(black_box(&src), "gen").unwrap()));
    }

    /// The whole pipeline, no write.
    #[divan::bench(args = NODES, sample_count = 10)]
    fn compile(b: Bencher, n: usize) {
        let src = site(n, 8);
        b.bench(|| {
            gcc::compile::compile(black_box(&src), "gen")
                .unwrap()
                .build
                .unwrap()
        });
    }
}

mod subnets {
    use super::*;

    const SUBNETS: &[usize] = &[10, 100, 1_000];

    /// load + check on sites of 1,000 nodes, half the subnets IPv4 and half IPv6, each
    /// with a DHCP pool.
    #[divan::bench(args = SUBNETS, sample_count = 10)]
    fn check(b: Bencher, n: usize) {
        let src = site(1_000, n);
        b.bench(|| gcc::check::check(&gcc::load::load(black_box(&src), "gen").unwrap()));
    }

    /// The largest site: 5,000 nodes on 1,000 subnets, the whole pipeline.
    #[divan::bench(sample_count = 10)]
    fn compile_5000_nodes(b: Bencher) {
        let src = site(5_000, 1_000);
        b.bench(|| {
            gcc::compile::compile(black_box(&src), "gen")
                .unwrap()
                .build
                .unwrap()
        });
    }
}
