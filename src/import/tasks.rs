//! Task definitions (`task({...})`, `schemaTask({...})`) and the names they are known by,
//! across files: top-level constants, imports and re-exports are followed to the value they
//! name (a shared `queue({...})`, a machine preset, a task object defined in another file).

use super::Note;
use super::parse::{Expr, Func, Loc, Module, Stmt};
use super::yaml_text::fmt_num;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One parsed source file.
pub struct Source {
    pub path: PathBuf,
    /// The path as messages print it.
    pub shown: String,
    pub module: Module,
}

/// A value resolved to where it is defined: the expression and the file it is in.
#[derive(Clone, Copy)]
pub struct Found<'p> {
    pub expr: &'p Expr,
    pub file: usize,
}

/// Every file's top-level names, for resolving identifiers across files.
pub struct Program<'p> {
    pub files: &'p [Source],
    /// Per file: name -> top-level value (constants and functions as [`Expr::Func`]).
    consts: Vec<BTreeMap<&'p str, Decl<'p>>>,
    /// Per file: local name -> (import source, imported name).
    imports: Vec<BTreeMap<&'p str, (&'p str, &'p str)>>,
    /// Per file: exported name -> (local name, re-export source).
    reexports: Vec<BTreeMap<&'p str, (&'p str, Option<&'p str>)>>,
}

#[derive(Clone, Copy)]
pub enum Decl<'p> {
    Value(&'p Expr, Loc),
    Function(&'p Func),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetryDef {
    pub max_attempts: Option<f64>,
    pub factor: Option<f64>,
    pub min_timeout: Option<f64>,
    pub max_timeout: Option<f64>,
    pub randomize: Option<bool>,
    pub oom_machine: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueDef {
    pub name: String,
    pub limit: Option<f64>,
}

/// A task definition as the code writes it.
#[derive(Debug, Clone)]
pub struct TaskDef<'p> {
    pub id: String,
    pub file: usize,
    pub loc: Loc,
    /// The constant it is assigned to.
    pub var: Option<&'p str>,
    pub schema: bool,
    pub machine: Option<String>,
    pub retry: Option<RetryDef>,
    pub queue: Option<QueueDef>,
    pub max_duration: Option<f64>,
    pub ttl: Option<String>,
    pub run: Option<&'p Func>,
}

/// `defineConfig({...})` of `trigger.config.ts`: what tasks that set nothing get.
#[derive(Debug, Clone)]
pub struct ConfigDef {
    pub file: usize,
    pub loc: Loc,
    pub machine: Option<String>,
    pub retry: Option<RetryDef>,
    pub max_duration: Option<f64>,
}

pub const PRESETS: &[&str] = &["micro", "small-1x", "small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x"];

impl<'p> Program<'p> {
    pub fn new(files: &'p [Source]) -> Self {
        let mut consts = Vec::with_capacity(files.len());
        let mut imports = Vec::with_capacity(files.len());
        let mut reexports = Vec::with_capacity(files.len());
        for f in files {
            let mut c = BTreeMap::new();
            let mut im = BTreeMap::new();
            let mut re = BTreeMap::new();
            for s in &f.module.body {
                match s {
                    Stmt::Var { name: Some(n), init: Some(e), loc } => {
                        c.insert(n.as_str(), Decl::Value(e, *loc));
                    }
                    Stmt::Function { name, func } => {
                        c.insert(name.as_str(), Decl::Function(func));
                    }
                    Stmt::Import { source, names } => {
                        for (imported, local) in names {
                            im.insert(local.as_str(), (source.as_str(), imported.as_str()));
                        }
                    }
                    Stmt::ExportNames { names, source } => {
                        for (local, exported) in names {
                            re.insert(exported.as_str(), (local.as_str(), source.as_deref()));
                        }
                    }
                    _ => {}
                }
            }
            consts.push(c);
            imports.push(im);
            reexports.push(re);
        }
        Program { files, consts, imports, reexports }
    }

    /// The file a relative import from `from` names (`./queues` -> `queues.ts`,
    /// `./tasks` -> `tasks/index.ts`, `./a.js` -> `a.ts`).
    fn module_file(&self, from: usize, spec: &str) -> Option<usize> {
        if !spec.starts_with('.') {
            return self.aliased_file(spec);
        }
        let dir = self.files[from].path.parent().unwrap_or(Path::new(""));
        let base = normalize(&dir.join(spec));
        let stem = base.with_extension("");
        self.files.iter().position(|f| {
            let p = normalize(&f.path);
            p == base
                || p.with_extension("") == base
                || p.with_extension("") == stem && super::discover::is_source(&p)
                || p.parent() == Some(base.as_path()) && p.file_stem().is_some_and(|s| s == "index")
        })
    }

    /// A path alias (`@/trigger/chunk`, `~/lib/queues`, `src/trigger/chunk`, as tsconfig
    /// `paths` allow): the one imported file whose path, without extension, ends with the
    /// specifier's segments after the alias. Packages (`@trigger.dev/sdk`, `zod`) match no file.
    fn aliased_file(&self, spec: &str) -> Option<usize> {
        let rest = spec.strip_prefix("@/").or_else(|| spec.strip_prefix("~/")).unwrap_or(spec);
        let want: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        if want.is_empty() || (spec.starts_with('@') && !spec.starts_with("@/")) {
            return None;
        }
        let matches: Vec<usize> = (0..self.files.len())
            .filter(|&i| {
                let p = self.files[i].path.with_extension("");
                let mut segs: Vec<String> =
                    p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                if segs.last().is_some_and(|l| l == "index") && want.last() != Some(&"index") {
                    segs.pop();
                }
                segs.len() >= want.len() && segs[segs.len() - want.len()..].iter().zip(&want).all(|(a, b)| a == b)
            })
            .collect();
        match matches.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// What `name` means at the top level of file `file`.
    pub fn lookup(&self, file: usize, name: &str) -> Option<(Decl<'p>, usize)> {
        self.lookup_depth(file, name, 0)
    }

    fn lookup_depth(&self, file: usize, name: &str, depth: u32) -> Option<(Decl<'p>, usize)> {
        if depth > 16 {
            return None;
        }
        if let Some(d) = self.consts[file].get(name) {
            return Some((*d, file));
        }
        if let Some((src, imported)) = self.imports[file].get(name) {
            let f = self.module_file(file, src)?;
            return self.exported(f, imported, depth + 1);
        }
        None
    }

    fn exported(&self, file: usize, name: &str, depth: u32) -> Option<(Decl<'p>, usize)> {
        if depth > 16 {
            return None;
        }
        if let Some((local, src)) = self.reexports[file].get(name) {
            return match src {
                Some(s) => {
                    let f = self.module_file(file, s)?;
                    self.exported(f, local, depth + 1)
                }
                None => self.lookup_depth(file, local, depth + 1),
            };
        }
        if self.files[file].module.exported.iter().any(|e| e == name) {
            return self.lookup_depth(file, name, depth + 1);
        }
        // `export * from "./x"`-style barrels are not kept; a name defined at top level is
        // still found.
        self.consts[file].get(name).map(|d| (*d, file))
    }

    /// Follows identifiers to the value they stand for (at most a few steps).
    pub fn resolve(&self, file: usize, e: &'p Expr) -> Found<'p> {
        let mut cur = Found { expr: e, file };
        for _ in 0..16 {
            match cur.expr {
                Expr::Ident(n) => match self.lookup(cur.file, n) {
                    Some((Decl::Value(v, _), f)) => cur = Found { expr: v, file: f },
                    _ => return cur,
                },
                _ => return cur,
            }
        }
        cur
    }

    pub fn function(&self, file: usize, name: &str) -> Option<(&'p Func, usize)> {
        match self.lookup(file, name)? {
            (Decl::Function(f), file) => Some((f, file)),
            (Decl::Value(Expr::Func(f), _), file) => Some((f, file)),
            _ => None,
        }
    }

    pub fn string(&self, file: usize, e: &'p Expr) -> Option<String> {
        match self.resolve(file, e).expr {
            Expr::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn number(&self, file: usize, e: &'p Expr) -> Option<f64> {
        match self.resolve(file, e).expr {
            Expr::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// A task definition call (`task({...})`, `schemaTask({...})`), if `e` is one.
    pub fn task_call(e: &Expr) -> Option<(&Expr, bool)> {
        let Expr::Call(c) = e else { return None };
        let callee = c.callee.path()?;
        let schema = match callee.rsplit('.').next()? {
            "task" => false,
            "schemaTask" => true,
            _ => return None,
        };
        matches!(c.args.first(), Some(Expr::Obj(_))).then(|| (&c.args[0], schema))
    }

    /// The task id an expression names: a task object (a constant assigned `task({...})`,
    /// here or imported) or a string.
    pub fn task_id_of(&self, file: usize, e: &'p Expr) -> Option<String> {
        let f = self.resolve(file, e);
        match f.expr {
            Expr::Str(s) => Some(s.clone()),
            x => {
                let (cfg, _) = Self::task_call(x)?;
                self.string(f.file, cfg.get("id")?)
            }
        }
    }

    /// The project's `defineConfig({...})`, if a file has one.
    pub fn config(&self, notes: &mut Vec<Note>) -> Option<ConfigDef> {
        for (fi, f) in self.files.iter().enumerate() {
            for s in &f.module.body {
                let (e, loc) = match s {
                    Stmt::Var { init: Some(e), loc, .. } | Stmt::Expr(e, loc) => (e, *loc),
                    _ => continue,
                };
                let Expr::Call(c) = e else { continue };
                if c.callee.path().as_deref() != Some("defineConfig") {
                    continue;
                }
                let Some(cfg) = c.args.first().map(|a| self.resolve(fi, a)) else { continue };
                let (cfg, file) = (cfg.expr, cfg.file);
                let machine =
                    cfg.get("defaultMachine").and_then(|m| self.machine(file, m, cfg.loc_of("defaultMachine"), notes));
                let retry = cfg.get("retries").map(|r| self.resolve(file, r)).and_then(|r| {
                    let enabled = !matches!(r.expr.get("enabled"), Some(Expr::Bool(false)));
                    r.expr.get("default").filter(|_| enabled).map(|d| self.retry(r.file, d, notes))
                });
                let max_duration = cfg.get("maxDuration").and_then(|m| self.number(file, m));
                return Some(ConfigDef { file: fi, loc, machine, retry, max_duration });
            }
        }
        None
    }

    /// Every task definition, in file order.
    pub fn tasks(&self, notes: &mut Vec<Note>) -> Vec<TaskDef<'p>> {
        let mut out = Vec::new();
        for (fi, f) in self.files.iter().enumerate() {
            for s in &f.module.body {
                let (var, e, loc) = match s {
                    Stmt::Var { name, init: Some(e), loc } => (name.as_deref(), e, *loc),
                    Stmt::Expr(e, loc) => (None, e, *loc),
                    _ => continue,
                };
                if let Some((cfg, schema)) = Self::task_call(e) {
                    if let Some(t) = self.task(fi, var, cfg, schema, loc, notes) {
                        out.push(t);
                    }
                } else {
                    self.nested_task_calls(fi, e, notes);
                }
            }
        }
        out
    }

    fn nested_task_calls(&self, fi: usize, e: &Expr, notes: &mut Vec<Note>) {
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            if let Expr::Call(c) = x {
                if Self::task_call(x).is_some() {
                    notes.push(Note::unread(
                        fi,
                        c.loc,
                        "a task defined inside another expression (not a top-level constant) is not imported",
                    ));
                    continue;
                }
                stack.push(&c.callee);
                stack.extend(c.args.iter());
            } else {
                super::parse::children(x, &mut stack);
            }
        }
    }

    fn task(
        &self,
        fi: usize,
        var: Option<&'p str>,
        cfg: &'p Expr,
        schema: bool,
        loc: Loc,
        notes: &mut Vec<Note>,
    ) -> Option<TaskDef<'p>> {
        let id = match cfg.get("id") {
            Some(x) => match self.string(fi, x) {
                Some(s) => s,
                None => {
                    notes.push(Note::unread(
                        fi,
                        cfg.loc_of("id").unwrap_or(loc),
                        "a task id that is not a string literal or constant",
                    ));
                    return None;
                }
            },
            None => {
                notes.push(Note::unread(fi, loc, "a task without an `id`"));
                return None;
            }
        };
        let machine = cfg.get("machine").and_then(|m| self.machine(fi, m, cfg.loc_of("machine"), notes));
        let retry = cfg.get("retry").map(|r| self.retry(fi, r, notes));
        let queue = cfg.get("queue").and_then(|q| self.queue(fi, q, cfg.loc_of("queue").unwrap_or(loc), notes));
        let max_duration = cfg.get("maxDuration").and_then(|m| {
            let v = self.number(fi, m);
            if v.is_none() {
                notes.push(Note::unread(
                    fi,
                    cfg.loc_of("maxDuration").unwrap_or(loc),
                    "a maxDuration that is not a number",
                ));
            }
            v
        });
        let ttl = cfg.get("ttl").and_then(|t| self.duration_text(fi, t));
        let run = match cfg.get("run") {
            Some(Expr::Func(f)) => Some(&**f),
            Some(x) => match self.resolve(fi, x).expr {
                Expr::Func(f) => Some(&**f),
                _ => match x {
                    Expr::Ident(n) => self.function(fi, n).map(|(f, _)| f),
                    _ => None,
                },
            },
            None => None,
        };
        if run.is_none() {
            notes.push(Note::unread(
                fi,
                cfg.loc_of("run").unwrap_or(loc),
                &format!("task `{id}`: its `run` function was not found"),
            ));
        }
        Some(TaskDef { id, file: fi, loc, var, schema, machine, retry, queue, max_duration, ttl, run })
    }

    /// `"large-1x"` or `{ preset: "large-1x" }`.
    pub fn machine(&self, fi: usize, e: &'p Expr, at: Option<Loc>, notes: &mut Vec<Note>) -> Option<String> {
        let f = self.resolve(fi, e);
        let s = match f.expr {
            Expr::Str(s) => Some(s.clone()),
            o @ Expr::Obj(_) => o.get("preset").and_then(|p| self.string(f.file, p)),
            _ => None,
        };
        match s {
            Some(s) if PRESETS.contains(&s.as_str()) => Some(s),
            Some(s) => {
                notes.push(Note::unread(fi, at.unwrap_or_default(), &format!("unknown machine preset `{s}`")));
                None
            }
            None => {
                notes.push(Note::unread(fi, at.unwrap_or_default(), "a machine that is not a preset name"));
                None
            }
        }
    }

    pub fn retry(&self, fi: usize, e: &'p Expr, notes: &mut Vec<Note>) -> RetryDef {
        let f = self.resolve(fi, e);
        let r = f.expr;
        let num = |k: &str| r.get(k).and_then(|x| self.number(f.file, x));
        let oom = r.get("outOfMemory").and_then(|o| {
            let o = self.resolve(f.file, o);
            o.expr.get("machine").and_then(|m| self.machine(o.file, m, o.expr.loc_of("machine"), notes))
        });
        RetryDef {
            max_attempts: num("maxAttempts"),
            factor: num("factor"),
            min_timeout: num("minTimeoutInMs"),
            max_timeout: num("maxTimeoutInMs"),
            randomize: match r.get("randomize").map(|x| self.resolve(f.file, x).expr) {
                Some(Expr::Bool(b)) => Some(*b),
                _ => None,
            },
            oom_machine: oom,
        }
    }

    /// A queue: `queue({ name, concurrencyLimit })` (inline or a shared constant), an object
    /// literal, or `{ name }` naming a queue defined elsewhere.
    pub fn queue(&self, fi: usize, e: &'p Expr, at: Loc, notes: &mut Vec<Note>) -> Option<QueueDef> {
        let f = self.resolve(fi, e);
        let obj = match f.expr {
            Expr::Call(c) if c.callee.path().is_some_and(|p| p == "queue" || p.ends_with(".queue")) => {
                c.args.first().map(|a| (self.resolve(f.file, a), f.file))
            }
            Expr::Obj(_) => Some((f, f.file)),
            Expr::Str(s) => return Some(self.named_queue(s)),
            _ => None,
        };
        let Some((o, file)) = obj else {
            notes.push(Note::unread(fi, at, "a queue that is neither `queue({...})` nor an object literal"));
            return None;
        };
        let Some(name) = o.expr.get("name").and_then(|n| self.string(file, n)) else {
            notes.push(Note::unread(fi, at, "a queue without a literal `name`"));
            return None;
        };
        let limit = o.expr.get("concurrencyLimit").and_then(|l| self.number(file, l));
        if limit.is_none() {
            let named = self.named_queue(&name);
            return Some(named);
        }
        Some(QueueDef { name, limit })
    }

    /// A queue referred to by name: its limit from the `queue({...})` that defines it, if any file does.
    fn named_queue(&self, name: &str) -> QueueDef {
        for (fi, f) in self.files.iter().enumerate() {
            for s in &f.module.body {
                if let Stmt::Var { init: Some(Expr::Call(c)), .. } = s
                    && c.callee.path().is_some_and(|p| p == "queue" || p.ends_with(".queue"))
                    && let Some(a) = c.args.first()
                    && a.get("name").and_then(|n| self.string(fi, n)).as_deref() == Some(name)
                {
                    let limit = a.get("concurrencyLimit").and_then(|l| self.number(fi, l));
                    return QueueDef { name: name.to_owned(), limit };
                }
            }
        }
        QueueDef { name: name.to_owned(), limit: None }
    }

    /// A duration as the scenario language writes it: a string like `10m` as is, a number of seconds.
    pub fn duration_text(&self, fi: usize, e: &'p Expr) -> Option<String> {
        match self.resolve(fi, e).expr {
            Expr::Str(s) if crate::units::parse_duration(s).is_ok() => Some(s.clone()),
            Expr::Num(n) if *n >= 0.0 => Some(format!("{}s", fmt_num(*n))),
            _ => None,
        }
    }
}

/// `a/./b/../c` -> `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(path: &str, src: &str) -> Source {
        let module = super::super::parse::parse(Path::new(path), src).unwrap();
        Source { path: PathBuf::from(path), shown: path.to_owned(), module }
    }

    #[test]
    fn task_objects_are_found_through_relative_imports_and_path_aliases() {
        let files = vec![
            source(
                "app/src/trigger/chunk.ts",
                "import { task } from \"@trigger.dev/sdk\";\nexport const chunk = task({ id: \"chunk-audio\", run: async () => {} });\n",
            ),
            source("app/src/trigger/index.ts", "export { chunk as chunker } from \"./chunk\";\n"),
            source(
                "app/src/a.ts",
                "import { chunk } from \"@/trigger/chunk\";\nimport { chunker } from \"./trigger\";\nimport { task } from \"@trigger.dev/sdk\";\n",
            ),
        ];
        let prog = Program::new(&files);
        let e = Expr::Ident("chunk".into());
        assert_eq!(prog.task_id_of(2, &e).as_deref(), Some("chunk-audio"));
        let e = Expr::Ident("chunker".into());
        assert_eq!(prog.task_id_of(2, &e).as_deref(), Some("chunk-audio"));
        // A package import names no file.
        assert!(prog.lookup(2, "task").is_none());
    }
}
