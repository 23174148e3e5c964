//! TypeScript / JavaScript source to a small owned syntax tree.
//!
//! oxc parses the file; this module keeps only what the importer reads (calls, member
//! accesses, literals, object literals, functions, control flow, imports and exports), each
//! with its line and column, and drops the arena. Everything else becomes [`Expr::Other`] with
//! its sub-expressions kept, so a trigger call nested somewhere unusual is still found and
//! reported. Only this file knows oxc's API.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, ArrayExpressionElement, BindingPatternKind, ChainElement, Declaration, ExportDefaultDeclarationKind,
    Expression, ForStatementInit, ForStatementLeft, FunctionBody, ImportDeclarationSpecifier, ModuleExportName,
    ObjectPropertyKind, PropertyKey, Statement, TSType, TSTypeName, TSTypeQueryExprName, VariableDeclaration,
};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};

/// A place in a source file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Num(f64),
    Bool(bool),
    Ident(String),
    /// `object.name` (also `object?.name` and `object["name"]` with a literal key).
    Member(Box<Expr>, String),
    Call(Box<Call>),
    New(Box<Call>),
    Obj(Vec<Prop>),
    Arr(Vec<Expr>),
    Func(Box<Func>),
    Await(Box<Expr>),
    /// `a ? b : c`
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Anything else, with the expressions inside it.
    Other(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub callee: Expr,
    /// `X` of a `<typeof X>` type argument.
    pub type_of: Option<String>,
    pub args: Vec<Expr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// The key when it is static (`id`, `"id"`); `None` for computed keys and spreads.
    pub key: Option<String>,
    pub value: Expr,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Func {
    pub body: Vec<Stmt>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Expr(Expr, Loc),
    /// `const a = ...` (one per declarator; `name` is `None` for destructuring).
    Var {
        name: Option<String>,
        init: Option<Expr>,
        loc: Loc,
    },
    Return(Option<Expr>, Loc),
    Throw(Expr, Loc),
    If {
        test: Expr,
        then: Vec<Stmt>,
        els: Option<Vec<Stmt>>,
        loc: Loc,
    },
    Switch {
        disc: Expr,
        cases: Vec<(Option<Expr>, Vec<Stmt>)>,
        loc: Loc,
    },
    /// `for`, `for of`, `for in`, `while`, `do while`: `head` holds the test or the iterable.
    Loop {
        head: Vec<Expr>,
        body: Vec<Stmt>,
        loc: Loc,
    },
    Block(Vec<Stmt>),
    Try {
        block: Vec<Stmt>,
        handler: Vec<Stmt>,
        finalizer: Vec<Stmt>,
    },
    Function {
        name: String,
        func: Func,
    },
    Import {
        source: String,
        names: Vec<(String, String)>,
    },
    /// `export { a, b as c }` and `export { a } from "./x"`: (local, exported).
    ExportNames {
        names: Vec<(String, String)>,
        source: Option<String>,
    },
    Other,
}

/// One parsed file: its statements, the names it exports, and the source for locations.
#[derive(Debug, Clone)]
pub struct Module {
    pub body: Vec<Stmt>,
    pub exported: Vec<String>,
}

/// A syntax error, located.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub loc: Loc,
    pub message: String,
}

/// Parses `src` as the kind of file `path` names (`.ts`, `.tsx`, `.js`, `.mjs`, ...).
/// A file with syntax errors is refused with the first error's location.
pub fn parse(path: &std::path::Path, src: &str) -> Result<Module, SyntaxError> {
    // The parser recurses once per level of nesting: a thread with a large stack keeps
    // pathological input (thousands of nested brackets) from overflowing it.
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(PARSER_STACK)
            .spawn_scoped(s, || parse_here(path, src))
            .map_err(|e| SyntaxError {
                loc: Loc { line: 1, col: 1 },
                message: format!("cannot start the parser: {e}"),
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(SyntaxError { loc: Loc { line: 1, col: 1 }, message: "the parser failed on this file".to_owned() })
            })
    })
}

/// Stack of the parsing thread (reserved, not used unless the input nests deeply).
const PARSER_STACK: usize = 512 << 20;

fn parse_here(path: &std::path::Path, src: &str) -> Result<Module, SyntaxError> {
    let source_type = SourceType::from_path(path).unwrap_or_else(|_| SourceType::ts());
    let alloc = Allocator::default();
    let ret = Parser::new(&alloc, src, source_type).parse();
    let lines = Lines::new(src);
    if ret.panicked || !ret.errors.is_empty() {
        let (loc, message) = match ret.errors.first() {
            Some(e) => {
                let start = e.labels.as_ref().and_then(|l| l.first()).map(|l| l.offset()).unwrap_or(0);
                (lines.loc(start as u32), e.message.to_string())
            }
            None => (Loc { line: 1, col: 1 }, "the parser gave up on this file".to_owned()),
        };
        return Err(SyntaxError { loc, message });
    }
    let cv = Conv { lines, depth: std::cell::Cell::new(0) };
    let mut exported = Vec::new();
    let mut body = Vec::new();
    for s in &ret.program.body {
        cv.top(s, &mut body, &mut exported);
    }
    Ok(Module { body, exported })
}

/// Byte offset to line and column.
struct Lines<'s> {
    src: &'s str,
    starts: Vec<u32>,
}

impl<'s> Lines<'s> {
    fn new(src: &'s str) -> Self {
        let mut starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i as u32 + 1);
            }
        }
        Lines { src, starts }
    }
    fn loc(&self, offset: u32) -> Loc {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1] as usize;
        let end = (offset as usize).min(self.src.len()).max(start);
        let col = self.src.get(start..end).map(|s| s.chars().count()).unwrap_or(end - start) + 1;
        Loc { line: line as u32, col: col as u32 }
    }
}

struct Conv<'s> {
    lines: Lines<'s>,
    /// Nesting depth of the conversion; past [`MAX_DEPTH`] the rest is left out.
    depth: std::cell::Cell<u32>,
}

/// How deeply nested code is kept: deeper expressions and statements become [`Expr::Other`]
/// and [`Stmt::Other`] (no task code nests this deep; it bounds the recursion of every pass).
const MAX_DEPTH: u32 = 400;

/// Counts one level of nesting while it lives.
struct Deeper<'a>(&'a std::cell::Cell<u32>);

impl Drop for Deeper<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

fn name_of(n: &ModuleExportName) -> String {
    match n {
        ModuleExportName::IdentifierName(i) => i.name.to_string(),
        ModuleExportName::IdentifierReference(i) => i.name.to_string(),
        ModuleExportName::StringLiteral(s) => s.value.to_string(),
    }
}

impl Conv<'_> {
    fn at(&self, span: Span) -> Loc {
        self.lines.loc(span.start)
    }

    fn top(&self, s: &Statement, out: &mut Vec<Stmt>, exported: &mut Vec<String>) {
        match s {
            Statement::ImportDeclaration(i) => {
                let mut names = Vec::new();
                for sp in i.specifiers.iter().flatten() {
                    match sp {
                        ImportDeclarationSpecifier::ImportSpecifier(x) => {
                            names.push((name_of(&x.imported), x.local.name.to_string()))
                        }
                        ImportDeclarationSpecifier::ImportDefaultSpecifier(x) => {
                            names.push(("default".to_owned(), x.local.name.to_string()))
                        }
                        ImportDeclarationSpecifier::ImportNamespaceSpecifier(x) => {
                            names.push(("*".to_owned(), x.local.name.to_string()))
                        }
                    }
                }
                out.push(Stmt::Import { source: i.source.value.to_string(), names });
            }
            Statement::ExportNamedDeclaration(e) => {
                if let Some(d) = &e.declaration {
                    let before = out.len();
                    self.decl(d, out);
                    for st in &out[before..] {
                        match st {
                            Stmt::Var { name: Some(n), .. } => exported.push(n.clone()),
                            Stmt::Function { name, .. } => exported.push(name.clone()),
                            _ => {}
                        }
                    }
                }
                if !e.specifiers.is_empty() {
                    let names: Vec<(String, String)> =
                        e.specifiers.iter().map(|sp| (name_of(&sp.local), name_of(&sp.exported))).collect();
                    if e.source.is_none() {
                        exported.extend(names.iter().map(|(_, x)| x.clone()));
                    }
                    out.push(Stmt::ExportNames { names, source: e.source.as_ref().map(|s| s.value.to_string()) });
                }
            }
            Statement::ExportDefaultDeclaration(e) => match &e.declaration {
                ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                    if let Some(body) = &f.body {
                        let name = f.id.as_ref().map(|i| i.name.to_string()).unwrap_or_else(|| "default".into());
                        out.push(Stmt::Function { name, func: Func { body: self.body(body), loc: self.at(f.span) } });
                    }
                }
                ExportDefaultDeclarationKind::ClassDeclaration(_)
                | ExportDefaultDeclarationKind::TSInterfaceDeclaration(_) => {}
                other => {
                    if let Some(x) = other.as_expression() {
                        out.push(Stmt::Var {
                            name: Some("default".to_owned()),
                            init: Some(self.expr(x)),
                            loc: self.at(x.span()),
                        });
                        exported.push("default".to_owned());
                    }
                }
            },
            other => self.stmt(other, out),
        }
    }

    fn decl(&self, d: &Declaration, out: &mut Vec<Stmt>) {
        match d {
            Declaration::VariableDeclaration(v) => self.vars(v, out),
            Declaration::FunctionDeclaration(f) => {
                if let (Some(id), Some(body)) = (&f.id, &f.body) {
                    out.push(Stmt::Function {
                        name: id.name.to_string(),
                        func: Func { body: self.body(body), loc: self.at(f.span) },
                    });
                }
            }
            _ => {}
        }
    }

    fn vars(&self, v: &VariableDeclaration, out: &mut Vec<Stmt>) {
        for d in &v.declarations {
            let name = match &d.id.kind {
                BindingPatternKind::BindingIdentifier(b) => Some(b.name.to_string()),
                _ => None,
            };
            out.push(Stmt::Var { name, init: d.init.as_ref().map(|e| self.expr(e)), loc: self.at(d.span) });
        }
    }

    fn body(&self, b: &FunctionBody) -> Vec<Stmt> {
        self.stmts(&b.statements)
    }

    fn stmts(&self, list: &[Statement]) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(list.len());
        for s in list {
            self.stmt(s, &mut out);
        }
        out
    }

    fn block(&self, s: &Statement) -> Vec<Stmt> {
        let mut out = Vec::new();
        self.stmt(s, &mut out);
        match out.pop() {
            Some(Stmt::Block(b)) if out.is_empty() => b,
            Some(x) => {
                out.push(x);
                out
            }
            None => out,
        }
    }

    fn stmt(&self, s: &Statement, out: &mut Vec<Stmt>) {
        let Some(_d) = self.deeper() else { return out.push(Stmt::Other) };
        let loc = self.at(s.span());
        let st = match s {
            Statement::ExpressionStatement(e) => Stmt::Expr(self.expr(&e.expression), loc),
            Statement::VariableDeclaration(v) => return self.vars(v, out),
            Statement::FunctionDeclaration(_) => {
                if let Some(d) = s.as_declaration() {
                    self.decl(d, out);
                }
                return;
            }
            Statement::ReturnStatement(r) => Stmt::Return(r.argument.as_ref().map(|e| self.expr(e)), loc),
            Statement::ThrowStatement(t) => Stmt::Throw(self.expr(&t.argument), loc),
            Statement::BlockStatement(b) => Stmt::Block(self.stmts(&b.body)),
            Statement::IfStatement(i) => Stmt::If {
                test: self.expr(&i.test),
                then: self.block(&i.consequent),
                els: i.alternate.as_ref().map(|a| self.block(a)),
                loc,
            },
            Statement::SwitchStatement(sw) => Stmt::Switch {
                disc: self.expr(&sw.discriminant),
                cases: sw
                    .cases
                    .iter()
                    .map(|c| (c.test.as_ref().map(|t| self.expr(t)), self.stmts(&c.consequent)))
                    .collect(),
                loc,
            },
            Statement::ForStatement(f) => {
                let mut head = Vec::new();
                match &f.init {
                    Some(ForStatementInit::VariableDeclaration(v)) => {
                        head.extend(v.declarations.iter().filter_map(|d| d.init.as_ref()).map(|e| self.expr(e)))
                    }
                    Some(init) => head.extend(init.as_expression().map(|e| self.expr(e))),
                    None => {}
                }
                head.extend(f.test.as_ref().map(|e| self.expr(e)));
                Stmt::Loop { head, body: self.block(&f.body), loc }
            }
            Statement::ForOfStatement(f) => {
                let _ = matches!(f.left, ForStatementLeft::VariableDeclaration(_));
                Stmt::Loop { head: vec![self.expr(&f.right)], body: self.block(&f.body), loc }
            }
            Statement::ForInStatement(f) => {
                Stmt::Loop { head: vec![self.expr(&f.right)], body: self.block(&f.body), loc }
            }
            Statement::WhileStatement(w) => {
                Stmt::Loop { head: vec![self.expr(&w.test)], body: self.block(&w.body), loc }
            }
            Statement::DoWhileStatement(w) => {
                Stmt::Loop { head: vec![self.expr(&w.test)], body: self.block(&w.body), loc }
            }
            Statement::TryStatement(t) => Stmt::Try {
                block: self.stmts(&t.block.body),
                handler: t.handler.as_ref().map(|h| self.stmts(&h.body.body)).unwrap_or_default(),
                finalizer: t.finalizer.as_ref().map(|f| self.stmts(&f.body)).unwrap_or_default(),
            },
            Statement::LabeledStatement(l) => return self.stmt(&l.body, out),
            _ => Stmt::Other,
        };
        out.push(st);
    }

    fn args(&self, args: &[Argument]) -> Vec<Expr> {
        args.iter()
            .map(|a| match a.as_expression() {
                Some(e) => self.expr(e),
                None => match a {
                    Argument::SpreadElement(s) => Expr::Other(vec![self.expr(&s.argument)]),
                    _ => Expr::Other(Vec::new()),
                },
            })
            .collect()
    }

    fn type_of(&self, t: Option<&oxc_ast::ast::TSTypeParameterInstantiation>) -> Option<String> {
        let t = t?;
        match t.params.first()? {
            TSType::TSTypeQuery(q) => match &q.expr_name {
                TSTypeQueryExprName::IdentifierReference(i) => Some(i.name.to_string()),
                TSTypeQueryExprName::QualifiedName(q) => Some(q.right.name.to_string()),
                _ => None,
            },
            TSType::TSTypeReference(r) => match &r.type_name {
                TSTypeName::IdentifierReference(i) => Some(i.name.to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    fn func_body(&self, body: &FunctionBody, expression: bool, span: Span) -> Expr {
        let mut stmts = self.body(body);
        if expression && let Some(Stmt::Expr(e, loc)) = stmts.pop() {
            stmts.push(Stmt::Return(Some(e), loc));
        }
        Expr::Func(Box::new(Func { body: stmts, loc: self.at(span) }))
    }

    fn deeper(&self) -> Option<Deeper<'_>> {
        if self.depth.get() >= MAX_DEPTH {
            return None;
        }
        self.depth.set(self.depth.get() + 1);
        Some(Deeper(&self.depth))
    }

    fn expr(&self, e: &Expression) -> Expr {
        let Some(_d) = self.deeper() else { return Expr::Other(Vec::new()) };
        match e {
            Expression::StringLiteral(s) => Expr::Str(s.value.to_string()),
            Expression::NumericLiteral(n) => Expr::Num(n.value),
            Expression::BooleanLiteral(b) => Expr::Bool(b.value),
            Expression::TemplateLiteral(t) => {
                if t.expressions.is_empty() {
                    Expr::Str(t.quasis.iter().map(|q| q.value.cooked.unwrap_or(q.value.raw).to_string()).collect())
                } else {
                    Expr::Other(t.expressions.iter().map(|x| self.expr(x)).collect())
                }
            }
            Expression::Identifier(i) => Expr::Ident(i.name.to_string()),
            Expression::StaticMemberExpression(m) => {
                Expr::Member(Box::new(self.expr(&m.object)), m.property.name.to_string())
            }
            Expression::ComputedMemberExpression(m) => match &m.expression {
                Expression::StringLiteral(s) => Expr::Member(Box::new(self.expr(&m.object)), s.value.to_string()),
                x => Expr::Other(vec![self.expr(&m.object), self.expr(x)]),
            },
            Expression::CallExpression(c) => Expr::Call(Box::new(Call {
                callee: self.expr(&c.callee),
                type_of: self.type_of(c.type_arguments.as_deref()),
                args: self.args(&c.arguments),
                loc: self.at(c.span),
            })),
            Expression::NewExpression(c) => Expr::New(Box::new(Call {
                callee: self.expr(&c.callee),
                type_of: None,
                args: self.args(&c.arguments),
                loc: self.at(c.span),
            })),
            Expression::ChainExpression(c) => match &c.expression {
                ChainElement::CallExpression(c) => Expr::Call(Box::new(Call {
                    callee: self.expr(&c.callee),
                    type_of: self.type_of(c.type_arguments.as_deref()),
                    args: self.args(&c.arguments),
                    loc: self.at(c.span),
                })),
                ChainElement::StaticMemberExpression(m) => {
                    Expr::Member(Box::new(self.expr(&m.object)), m.property.name.to_string())
                }
                other => match other.as_member_expression() {
                    Some(m) => Expr::Other(vec![self.expr(m.object())]),
                    None => Expr::Other(Vec::new()),
                },
            },
            Expression::ObjectExpression(o) => Expr::Obj(
                o.properties
                    .iter()
                    .map(|p| match p {
                        ObjectPropertyKind::ObjectProperty(p) => Prop {
                            key: match &p.key {
                                PropertyKey::StaticIdentifier(i) => Some(i.name.to_string()),
                                PropertyKey::StringLiteral(s) => Some(s.value.to_string()),
                                PropertyKey::NumericLiteral(n) => Some(n.value.to_string()),
                                _ => None,
                            },
                            value: self.expr(&p.value),
                            loc: self.at(p.span),
                        },
                        ObjectPropertyKind::SpreadProperty(s) => {
                            Prop { key: None, value: self.expr(&s.argument), loc: self.at(s.span) }
                        }
                    })
                    .collect(),
            ),
            Expression::ArrayExpression(a) => Expr::Arr(
                a.elements
                    .iter()
                    .map(|el| match el {
                        ArrayExpressionElement::SpreadElement(s) => Expr::Other(vec![self.expr(&s.argument)]),
                        ArrayExpressionElement::Elision(_) => Expr::Other(Vec::new()),
                        other => other.as_expression().map(|x| self.expr(x)).unwrap_or(Expr::Other(Vec::new())),
                    })
                    .collect(),
            ),
            Expression::ArrowFunctionExpression(f) => self.func_body(&f.body, f.expression, f.span),
            Expression::FunctionExpression(f) => match &f.body {
                Some(b) => self.func_body(b, false, f.span),
                None => Expr::Other(Vec::new()),
            },
            Expression::AwaitExpression(a) => Expr::Await(Box::new(self.expr(&a.argument))),
            Expression::ParenthesizedExpression(p) => self.expr(&p.expression),
            Expression::TSAsExpression(x) => self.expr(&x.expression),
            Expression::TSSatisfiesExpression(x) => self.expr(&x.expression),
            Expression::TSNonNullExpression(x) => self.expr(&x.expression),
            Expression::TSTypeAssertion(x) => self.expr(&x.expression),
            Expression::TSInstantiationExpression(x) => self.expr(&x.expression),
            Expression::ConditionalExpression(c) => Expr::Cond(
                Box::new(self.expr(&c.test)),
                Box::new(self.expr(&c.consequent)),
                Box::new(self.expr(&c.alternate)),
            ),
            Expression::UnaryExpression(u) => {
                if u.operator.as_str() == "-"
                    && let Expression::NumericLiteral(n) = &u.argument
                {
                    return Expr::Num(-n.value);
                }
                Expr::Other(vec![self.expr(&u.argument)])
            }
            Expression::BinaryExpression(b) => Expr::Other(vec![self.expr(&b.left), self.expr(&b.right)]),
            Expression::LogicalExpression(b) => Expr::Other(vec![self.expr(&b.left), self.expr(&b.right)]),
            Expression::AssignmentExpression(a) => Expr::Other(vec![self.expr(&a.right)]),
            Expression::SequenceExpression(s) => Expr::Other(s.expressions.iter().map(|x| self.expr(x)).collect()),
            Expression::TaggedTemplateExpression(t) => {
                Expr::Other(t.quasi.expressions.iter().map(|x| self.expr(x)).collect())
            }
            _ => Expr::Other(Vec::new()),
        }
    }
}

impl Expr {
    /// `a.b.c` as a dotted path, when the expression is one.
    pub fn path(&self) -> Option<String> {
        match self {
            Expr::Ident(s) => Some(s.clone()),
            Expr::Member(o, p) => Some(format!("{}.{p}", o.path()?)),
            _ => None,
        }
    }

    /// The value of a static key of an object literal.
    pub fn get(&self, key: &str) -> Option<&Expr> {
        match self {
            Expr::Obj(props) => props.iter().rev().find(|p| p.key.as_deref() == Some(key)).map(|p| &p.value),
            _ => None,
        }
    }

    /// Where a static key of an object literal is written.
    pub fn loc_of(&self, key: &str) -> Option<Loc> {
        match self {
            Expr::Obj(props) => props.iter().rev().find(|p| p.key.as_deref() == Some(key)).map(|p| p.loc),
            _ => None,
        }
    }

    /// The expression without `await`.
    pub fn unawait(&self) -> &Expr {
        match self {
            Expr::Await(x) => x.unawait(),
            x => x,
        }
    }
}

/// Pushes the direct sub-expressions of `e` (not into function bodies).
pub fn children<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::Member(o, _) => out.push(o),
        Expr::Call(c) | Expr::New(c) => {
            out.push(&c.callee);
            out.extend(c.args.iter());
        }
        Expr::Obj(ps) => out.extend(ps.iter().map(|p| &p.value)),
        Expr::Arr(xs) | Expr::Other(xs) => out.extend(xs.iter()),
        Expr::Await(x) => out.push(x),
        Expr::Cond(a, b, c) => out.extend([&**a, &**b, &**c]),
        Expr::Str(_) | Expr::Num(_) | Expr::Bool(_) | Expr::Ident(_) | Expr::Func(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn lines_and_columns_count_characters() {
        let l = Lines::new("ab\ncé d\n");
        assert_eq!(l.loc(0), Loc { line: 1, col: 1 });
        assert_eq!(l.loc(3), Loc { line: 2, col: 1 });
        // `d` is byte 7 (é is two bytes) but column 4.
        assert_eq!(l.loc(7), Loc { line: 2, col: 4 });
    }

    #[test]
    fn a_task_definition_is_kept_with_its_run_body() {
        let src = "import { task } from \"@trigger.dev/sdk\";\nexport const a = task({ id: \"a\", run: async () => { await b.triggerAndWait({}); } });\n";
        let m = parse(Path::new("a.ts"), src).unwrap();
        assert_eq!(m.exported, vec!["a".to_owned()]);
        let Stmt::Var { init: Some(Expr::Call(c)), loc, .. } = &m.body[1] else { panic!("{:?}", m.body) };
        assert_eq!(*loc, Loc { line: 2, col: 14 });
        assert_eq!(c.callee, Expr::Ident("task".into()));
        let Some(Expr::Func(f)) = c.args[0].get("run") else { panic!() };
        assert_eq!(f.body.len(), 1);
    }

    #[test]
    fn a_syntax_error_is_located() {
        let e = parse(Path::new("a.ts"), "const a = task({\n  id: \"a\",,\n});\n").unwrap_err();
        assert_eq!(e.loc.line, 2, "{e:?}");
    }
}
